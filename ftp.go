// Package ftp is an FTP client (RFC 959) that works with the servers
// people actually run, including the ones behind NAT.
//
// It implements these extensions:
//
//	FEAT, OPTS   RFC 2389
//	EPSV, EPRT   RFC 2428 (IPv6 and NAT-proof passive mode)
//	SIZE, MDTM, REST STREAM, MLST, MLSD   RFC 3659
//	UTF8         RFC 2640 (OPTS UTF8 ON when offered)
//	MFMT         draft-somers-ftp-mfxx
//
// A Conn is one control connection. Every method that touches the network
// takes a context: cancelling it, or the per-wait timeout (WithTimeout,
// default 30 s), ends the wait promptly and leaves the Conn either usable
// or closed, never out of step with the server.
//
// Replies out of place do not put a Conn out of step: a preliminary (1xx)
// or "transfer complete" (225, 226) reply read in answer to a command that
// is not a transfer belongs to an earlier transfer, and a 2xx other than
// 226 or 250 read in answer to a transfer command (a late "200" to PORT)
// answers an earlier command; both are skipped, a few at most. Server text
// quoted in errors and traces has its control characters escaped.
//
// Data connections are passive by default: EPSV first, then PASV, always to
// the address of the control connection's peer, so a server that
// advertises a private address in its PASV reply (a NAT trap) still works.
// WithActive selects PORT/EPRT with a local listener instead.
package ftp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
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
	epsvOff  bool // EPSV failed once: PASV for the rest of the session
	mlsdOff  bool // MLSD failed once: LIST for the rest of the session

	cur    atomic.Pointer[transfer] // the transfer under way, for Close
	parked net.Conn                 // the unused data connection of a refused transfer
}

// Dial connects to addr ("host:port", or "host" for port 21) and reads the
// server's greeting. It does not log in: call Login next.
func Dial(ctx context.Context, addr string, opts ...Option) (*Conn, error) {
	cfg := newConfig(opts)
	defaultPort := "21"
	if cfg.tlsMode == tlsImplicit {
		defaultPort = "990"
	}
	addr, host, err := splitAddr(addr, defaultPort)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	nc, err := cfg.dial(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ftp: dial %s: %w", addr, err)
	}
	c := newConn(cfg, host, nc)
	if err := c.open(ctx); err != nil {
		c.ctl.close(err)
		return nil, err
	}
	return c, nil
}

// open starts the session: TLS first when implicit, the greeting, then
// AUTH TLS when explicit.
func (c *Conn) open(ctx context.Context) error {
	if c.cfg.tlsMode == tlsImplicit {
		if err := c.startTLS(ctx); err != nil {
			return err
		}
	}
	if err := c.greeting(ctx); err != nil {
		return err
	}
	if c.cfg.tlsMode == tlsExplicit {
		return c.authTLS(ctx)
	}
	return nil
}

// DialURL dials and logs in from a URL: ftp://user:password@host:port/,
// or ftps://… for implicit TLS (port 990 by default; the tls.Config of a
// WithImplicitTLS option is used if given). A URL without a user logs in
// as anonymous. The path of the URL is not used: callers that want it read
// it from the URL themselves.
func DialURL(ctx context.Context, rawURL string, opts ...Option) (*Conn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, urlError(err)
	}
	switch u.Scheme {
	case "ftp":
	case "ftps":
		opts = append([]Option{WithImplicitTLS(nil)}, opts...)
		opts = append(opts, func(c *config) { c.tlsMode = tlsImplicit })
	default:
		return nil, fmt.Errorf("ftp: %s: scheme must be ftp:// or ftps://", u.Redacted())
	}
	user, pass := "anonymous", "anonymous@"
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	c, err := Dial(ctx, u.Host, opts...)
	if err != nil {
		return nil, err
	}
	if err := c.Login(ctx, user, pass); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// urlError reports a URL that does not parse without quoting it, since it
// may hold a password (url.Parse's errors quote the whole URL).
func urlError(err error) error {
	var uerr *url.Error
	var eerr url.EscapeError
	switch {
	case errors.As(err, &eerr):
		return errors.New("ftp: parsing URL: invalid %-escape (the URL is not shown: it may hold a password)")
	case errors.As(err, &uerr):
		return fmt.Errorf("ftp: parsing URL (not shown: it may hold a password): %w", uerr.Err)
	}
	return errors.New("ftp: parsing URL: invalid (the URL is not shown: it may hold a password)")
}

// splitAddr adds the default port where addr has none and returns the
// host part.
func splitAddr(addr, defaultPort string) (hostport, host string, err error) {
	host, _, err = net.SplitHostPort(addr)
	if err != nil {
		if !strings.Contains(err.Error(), "missing port") {
			return "", "", fmt.Errorf("ftp: address %q: %w", addr, err)
		}
		host = strings.Trim(addr, "[]")
		addr = net.JoinHostPort(host, defaultPort)
	}
	if host == "" {
		return "", "", fmt.Errorf("ftp: address %q has no host", addr)
	}
	return addr, host, nil
}

func newConn(cfg config, host string, nc net.Conn) *Conn {
	if tc, ok := nc.(*net.TCPConn); ok {
		// Also for WithDialFunc connections: a NAT box that sees no
		// packet for minutes during a long transfer drops the control
		// connection, and the final reply with it.
		tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: tcpKeepAlive, Interval: tcpKeepAlive, Count: 9})
	}
	c := &Conn{cfg: cfg, host: host, ctl: newControl(nc, cfg.timeout, cfg.debug), dataHost: host}
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
	unlock, err := c.acquire(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := c.login(ctx, user, password); err != nil {
		return err
	}
	return c.prepare(ctx)
}

func (c *Conn) login(ctx context.Context, user, password string) error {
	// Both are checked before either is sent.
	if _, err := commandLine("PASS", password); err != nil {
		return err
	}
	sent := "USER " + user
	r, err := c.send(ctx, "USER", user)
	if err == nil && r.Code == 331 {
		sent = "PASS"
		r, err = c.send(ctx, "PASS", password)
	}
	switch {
	case err != nil:
		return err
	case r.class() == 2:
		return nil
	case r.Code == 332:
		return fmt.Errorf("%w: %w", ErrAccountRequired, replyError(sent, r))
	}
	return replyError(sent, r)
}

// prepare runs the commands that follow a login.
func (c *Conn) prepare(ctx context.Context) error {
	if c.tls != nil {
		if err := c.protect(ctx); err != nil {
			return err
		}
	}
	r, err := c.send(ctx, "FEAT", "")
	if err != nil {
		return err
	}
	c.features = map[string]string{}
	if r.class() == 2 {
		c.features = parseFeatures(r)
	}
	if _, ok := c.features["UTF8"]; ok {
		// Best effort: RFC 2640 servers need no OPTS, others want it.
		if _, err := c.send(ctx, "OPTS", "UTF8 ON"); err != nil {
			return err
		}
	}
	_, err = c.expect(ctx, 2, "TYPE", "I")
	return err
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

// Quit sends QUIT, waits for the goodbye and closes the connection. The
// connection is closed even when the server does not answer.
func (c *Conn) Quit(ctx context.Context) error {
	unlock, err := c.acquire(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	_, err = c.expect(ctx, 2, "QUIT", "")
	c.unpark()
	c.ctl.close(ErrClosed)
	return err
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

// transferVerbs open a data connection; Quote refuses them because their
// data would be left unread.
var transferVerbs = map[string]bool{
	"RETR": true, "STOR": true, "STOU": true, "APPE": true,
	"LIST": true, "NLST": true, "MLSD": true,
}

// Quote sends one raw command line and returns the server's reply, for
// commands this package has no method for (SITE CHMOD, HASH, STAT …).
// A 4xx or 5xx reply is returned together with an *Error. Commands that
// open a data connection are refused: use the methods for them.
func (c *Conn) Quote(ctx context.Context, line string) (*Reply, error) {
	v, arg, _ := strings.Cut(line, " ")
	if transferVerbs[strings.ToUpper(v)] {
		return nil, fmt.Errorf("ftp: Quote %s: transfer commands need a data connection; use the methods", v)
	}
	unlock, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	r, err := c.send(ctx, v, arg)
	if err != nil {
		return nil, err
	}
	if r.class() >= 4 {
		return r, replyError(line, r)
	}
	return r, nil
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

// do runs one command under the lock and checks its reply's class.
func (c *Conn) do(ctx context.Context, want int, verb, arg string) (*Reply, error) {
	unlock, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return c.expect(ctx, want, verb, arg)
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

// replyError makes the *Error for an unwanted reply to cmd.
func replyError(cmd string, r *Reply) *Error {
	return &Error{Cmd: mask(strings.TrimSpace(cmd)), Code: r.Code, Msg: r.Message()}
}
