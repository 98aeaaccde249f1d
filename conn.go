package ftp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Conn is one FTP session: one control connection. It is safe for use by
// several goroutines: calls are serialised, and a call made while a
// Response is open returns ErrBusy at once instead of waiting.
type Conn struct {
	cfg  config
	host string // the host part of the dialled address
	ctl  *control
	tls  *secure // nil without TLS

	// dataHost is where passive data connections go: the control peer's
	// IP, or the dialled host when a WithDialFunc decides where names lead.
	dataHost string
	peerIP   net.IP // the control connection's peer, for active-mode checks
	localIP  net.IP // the control connection's local address
	ipv6     bool   // the control connection runs over IPv6

	mu       sync.Mutex // serialises calls
	busy     bool       // a Response is open
	features map[string]string
	can      caps      // what the server can do, as FEAT said or trying showed
	epsvOff  bool      // EPSV failed once: PASV for the rest of the session
	pipe     pipeState // what pipelining may do (pipeline.go)
	// listAll starts as WithListAll's choice; with ListAllDetect, List
	// replaces it with what the server turned out to do. lsDots is set
	// once a LIST -a has shown "." or "..", so that an empty listing
	// without them is suspicious.
	listAll ListAll
	lsDots  bool
	// zone is the time zone of LIST times: WithLocation's, or the offset
	// found by comparing a LIST time with MDTM (findZone); nil until then,
	// and LIST times are taken as UTC. zoneAsked is set once the one MDTM
	// for it has been sent.
	zone      *time.Location
	zoneAsked bool

	cur    atomic.Pointer[transfer] // the transfer under way, for Close
	parked net.Conn                 // the unused data connection of a refused transfer
}

func newConn(cfg config, host string, nc net.Conn) *Conn {
	if tc, ok := nc.(*net.TCPConn); ok {
		// Also for WithDialFunc connections: a NAT box that sees no
		// packet for minutes during a long transfer drops the control
		// connection, and the final reply with it.
		tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: tcpKeepAlive, Interval: tcpKeepAlive, Count: 9})
	}
	c := &Conn{cfg: cfg, host: host, ctl: newControl(nc, cfg.timeout, cfg.debug), dataHost: host, listAll: cfg.listAll, zone: cfg.location}
	if cfg.encoding != nil {
		c.ctl.names = &nameCodec{enc: cfg.encoding}
	} else {
		c.ctl.detect = cfg.detect
	}
	if cfg.tlsMode != tlsNone {
		c.tls = newSecure(cfg.tlsConfig, host)
	}
	if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		c.peerIP = a.IP
		if !cfg.customDial {
			c.dataHost = a.IP.String()
		}
	}
	if a, ok := nc.LocalAddr().(*net.TCPAddr); ok {
		c.localIP = a.IP
	}
	if ip := net.ParseIP(c.dataHost); ip != nil {
		c.ipv6 = ip.To4() == nil
	} else {
		c.ipv6 = c.peerIP != nil && c.peerIP.To4() == nil
	}
	return c
}

// greeting reads the server's welcome: 220. A 120 ("ready in a while",
// RFC 959 §5.4) before it is skipped like any preliminary reply that
// answers no command.
func (c *Conn) greeting(ctx context.Context) error {
	r, err := c.ctl.readReply(ctx, "(greeting)")
	if err != nil {
		return err
	}
	if r.Code != 220 {
		return &Error{Cmd: "(greeting)", Code: r.Code, Msg: r.Message()}
	}
	return nil
}

// ErrAccountRequired is returned by Login when the server asks for an
// account (ACCT, reply 332), which this package does not send.
var ErrAccountRequired = errors.New("ftp: server requires an account (ACCT), which is not supported")

// Login authenticates with USER and PASS, then prepares the session: FEAT
// (read once, see Features), OPTS UTF8 ON when the server offers UTF8, and
// TYPE I (binary; every transfer of this package is binary). With TLS, it
// also sends PBSZ 0 and PROT P so that data connections are protected.
func (c *Conn) Login(ctx context.Context, user, password string) error {
	return c.locked(ctx, func() error {
		if err := c.login(ctx, user, password); err != nil {
			return err
		}
		return c.prepare(ctx)
	})
}

func (c *Conn) login(ctx context.Context, user, password string) error {
	r, sent, err := c.userPass(ctx, user, password)
	switch {
	case err != nil:
		return err
	case r.class() == 2:
		return nil
	case r.Code == 332:
		return errorf("%w: %w", ErrAccountRequired, replyError(sent, r))
	}
	return replyError(sent, r)
}

// userPass sends USER, then PASS if the server asks for it (331), and
// returns the last reply that counts and what it answers. Where the
// session pipelines, PASS goes in the same write as USER; the reply to a
// PASS the server did not ask for (USER answered 230, or refused) is read
// and dropped. Both are checked before either is sent.
func (c *Conn) userPass(ctx context.Context, user, password string) (*Reply, string, error) {
	userLine, err := commandLine("USER", user)
	if err != nil {
		return nil, "", err
	}
	passLine, err := commandLine("PASS", password)
	if err != nil {
		return nil, "", err
	}
	if c.pipelines() {
		rs, err := c.pipeline(ctx, userLine, passLine)
		switch {
		case len(rs) > 0 && rs[0].class() >= 4:
			return rs[0], userLine, nil // refused: PASS's reply, if any, adds nothing
		case err != nil:
			return nil, "", err
		case rs[0].Code == 331:
			return rs[1], "PASS", nil
		}
		return rs[0], userLine, nil
	}
	r, err := c.ctl.exchange(ctx, userLine)
	if err != nil || r.Code != 331 {
		return r, userLine, err
	}
	r, err = c.ctl.exchange(ctx, passLine)
	return r, "PASS", err
}

// prepare runs the commands that follow a login.
func (c *Conn) prepare(ctx context.Context) error {
	if c.tls != nil {
		if err := c.protect(ctx); err != nil {
			return err
		}
	}
	lines := []string{"FEAT", "TYPE I"}
	port := c.cfg.portAtLogin && c.pipelines() && !c.cfg.active && c.cfg.keepAlive == 0
	if port {
		lines = append(lines, c.passiveVerb())
	}
	rs, err := c.pipeline(ctx, lines...)
	if err != nil {
		return err
	}
	r := rs[0]
	if rs[1].class() != 2 {
		return replyError("TYPE I", rs[1])
	}
	if port {
		c.keepReady(lines[2], rs[2])
	}
	c.features = map[string]string{}
	c.can = caps{}
	if r.class() == 2 && !c.cfg.ignoreFEAT {
		c.features = parseFeatures(r)
		c.can.feat = true
	} else {
		c.ctl.trace("# ", "no FEAT: MLST, MLSD, SIZE, MDTM and MFMT are each tried when first needed")
	}
	if _, ok := c.features["UTF8"]; ok && c.cfg.encoding == nil {
		// Best effort: RFC 2640 servers need no OPTS, others want it. Not
		// with WithEncoding: the server would then read names as UTF-8.
		// Where the session pipelines, it goes with the next command.
		if c.pipelines() {
			c.ctl.sendDeferred("OPTS UTF8 ON")
		} else if _, err := c.send(ctx, "OPTS", "UTF8 ON"); err != nil {
			return err
		}
	}
	return nil
}

// parseFeatures reads a FEAT reply (RFC 2389): one feature a line between
// the first and last lines, a name and optional parameters.
func parseFeatures(r *Reply) map[string]string {
	feats := map[string]string{}
	if len(r.Lines) < 3 {
		return feats
	}
	for _, line := range r.Lines[1 : len(r.Lines)-1] {
		name, params, _ := strings.Cut(strings.TrimSpace(line), " ")
		if name != "" {
			feats[strings.ToUpper(name)] = strings.TrimSpace(params)
		}
	}
	return feats
}

// Features returns what the server listed in its FEAT reply after Login:
// upper-case feature names mapped to their parameters ("MLST" →
// "type*;size*;modify*;"). The map is a copy.
func (c *Conn) Features() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.features)
}

// hasFeature reports whether FEAT listed name. The caller holds mu.
func (c *Conn) hasFeature(name string) bool {
	_, ok := c.features[name]
	return ok
}

// caps is what the server can do: the fast path is FEAT's list, which is
// trusted when the server answered FEAT; without it (500, 502) each
// command is tried when it is first needed, and a 500 or 502 ("not
// implemented") is remembered for the session. Every check of a
// feature goes through it (may, tried).
type caps struct {
	feat   bool              // FEAT answered: its list is trusted
	absent map[string]*Error // commands found not implemented, and the reply
	warned map[string]bool   // checks already reported as not possible
	// sizeDirs says whether SIZE answers for a directory: 0 not known
	// yet, 1 it refuses, 2 it gives a number (see sizeForDirs).
	sizeDirs int8
}

// may reports whether verb is worth sending: FEAT listed it (as feature,
// or through the feature that implies it: MLST for MLSD), or, without
// FEAT, nothing has shown it missing yet. The caller holds the lock.
func (c *Conn) may(verb string) bool {
	if c.can.absent[verb] != nil {
		return false
	}
	if !c.can.feat {
		return true
	}
	return c.hasFeature(verb) || verb == "MLSD" && c.hasFeature("MLST")
}

// tried records what a command of verb showed: a 500 or 502 reply means
// the server does not implement it, for the rest of the session. It
// reports whether err is such a reply. The caller holds the lock.
func (c *Conn) tried(verb string, err error) bool {
	var ferr *Error
	if !errors.As(err, &ferr) || ferr.Code != 500 && ferr.Code != 502 {
		return false
	}
	if c.can.absent == nil {
		c.can.absent = map[string]*Error{}
	}
	if c.can.absent[verb] == nil {
		c.can.absent[verb] = ferr
		c.ctl.trace("# ", fmt.Sprintf("%s is not implemented (%d %s): not sent again in this session", verb, ferr.Code, clip(ferr.Msg)))
	}
	return true
}

// absent returns the remembered refusal of verb for the command verb arg,
// without sending it, or nil when verb may be sent. The caller holds the
// lock.
func (c *Conn) absent(verb, arg string) error {
	ferr := c.can.absent[verb]
	if ferr == nil {
		return nil
	}
	return &Error{Cmd: verb + " " + arg, Code: ferr.Code, Msg: ferr.Msg, note: "remembered from earlier in the session: the server does not implement " + verb}
}

// unchecked reports a check that the server made impossible: check says
// which, and why, the same words for each path; path is the first path
// it concerns. The WithDebug trace has it once a session, report (if not
// nil) each time. The caller holds the lock.
func (c *Conn) unchecked(check, path string, report func(string)) {
	if !c.can.warned[check] {
		if c.can.warned == nil {
			c.can.warned = map[string]bool{}
		}
		c.can.warned[check] = true
		c.ctl.trace("# ", "warning: "+check+" (first: "+path+")")
	}
	if report != nil {
		report(check)
	}
}

// Quit sends QUIT, waits for the goodbye and closes the connection. The
// connection is closed even when the server does not answer.
func (c *Conn) Quit(ctx context.Context) error {
	return c.locked(ctx, func() error {
		_, err := c.expect(ctx, 2, "QUIT", "")
		c.unpark()
		c.ctl.close(ErrClosed)
		return err
	})
}

// quitNow sends QUIT and closes the connection without waiting for the
// reply, which says nothing a caller acts on: what a Pool does when it
// closes, a round trip sooner than Quit.
func (c *Conn) quitNow(ctx context.Context) {
	c.locked(ctx, func() error { //nolint:errcheck // the connection closes either way
		err := c.ctl.sendLine(ctx, "QUIT")
		c.unpark()
		c.ctl.close(ErrClosed)
		return err
	})
}

// Close closes the connection without QUIT, and the data connection of a
// transfer under way, which then fails.
func (c *Conn) Close() error {
	if t := c.cur.Load(); t != nil {
		t.data.Close()
	}
	if c.mu.TryLock() { // a call under way closes its own
		c.unpark()
		c.mu.Unlock()
	}
	return c.ctl.close(ErrClosed)
}

// NoOp sends NOOP: a round trip that keeps an idle session alive and tells
// whether it still works.
func (c *Conn) NoOp(ctx context.Context) error {
	_, err := c.do(ctx, 2, "NOOP", "")
	return err
}

// Quote sends one raw command line and returns the server's reply, for
// commands this package has no method for (SITE CHMOD, HASH, STAT …).
// A 4xx or 5xx reply is returned together with an *Error. Commands that
// open a data connection are refused: use the methods for them.
func (c *Conn) Quote(ctx context.Context, line string) (*Reply, error) {
	v, arg, _ := strings.Cut(line, " ")
	if kindOf(v)&kindTransfer != 0 {
		return nil, errorf("Quote %s: transfer commands need a data connection; use the methods", v)
	}
	var r *Reply
	err := c.locked(ctx, func() (err error) {
		r, err = c.send(ctx, v, arg)
		return err
	})
	if err == nil && r.class() >= 4 {
		err = replyError(line, r)
	}
	return r, err
}

// acquire takes the connection for one call. It fails at once when a
// Response is open, when ctx is already done, or when the connection is
// closed.
func (c *Conn) acquire(ctx context.Context) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.busy {
		c.mu.Unlock()
		return nil, ErrBusy
	}
	if err := c.ctl.closedErr(); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	return c.mu.Unlock, nil
}

// locked runs fn with the Conn taken for one call (acquire): every public
// method is one such call, however many commands it sends.
func (c *Conn) locked(ctx context.Context, fn func() error) error {
	unlock, err := c.acquire(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}

// do runs one command under the lock and checks its reply's class.
func (c *Conn) do(ctx context.Context, want int, verb, arg string) (r *Reply, err error) {
	err = c.locked(ctx, func() (err error) { r, err = c.expect(ctx, want, verb, arg); return err })
	return r, err
}

// expect sends one command and requires a reply of class want (the first
// digit). The caller holds the lock.
func (c *Conn) expect(ctx context.Context, want int, verb, arg string) (*Reply, error) {
	r, err := c.send(ctx, verb, arg)
	if err != nil {
		return nil, err
	}
	if r.class() != want {
		return nil, replyError(verb+" "+arg, r)
	}
	return r, nil
}

// send sends one command and reads its reply, whatever the code.
func (c *Conn) send(ctx context.Context, verb, arg string) (*Reply, error) {
	line, err := commandLine(verb, arg)
	if err != nil {
		return nil, err
	}
	return c.ctl.exchange(ctx, line)
}
