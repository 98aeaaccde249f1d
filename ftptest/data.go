package ftptest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// dataTimeout bounds the wait for a passive data connection and the dial
// of an active one.
const dataTimeout = 10 * time.Second

var (
	errNoData    = errors.New("cannot open data connection")
	errTruncated = errors.New("transfer truncated on purpose")
)

// dataPlan is how the next transfer gets its data connection: by accepting
// on the listener of the last PASV/EPSV, or by dialing the address of the
// last PORT/EPRT. A transfer consumes it.
type dataPlan struct {
	ln    *net.TCPListener
	addr  string
	eager *eagerData // ln's connection, accepted at once (WithEarlyDataLost)
}

// reset forgets the plan, closing a pending passive listener.
func (d *dataPlan) reset() {
	if d.ln != nil {
		d.ln.Close()
	}
	if d.eager != nil {
		d.eager.drop()
	}
	*d = dataPlan{}
}

// addrIP returns the IP of a TCP address, or nil.
func addrIP(a net.Addr) net.IP {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP
	}
	return nil
}

// family is the RFC 2428 protocol number of the control connection.
func (s *session) family() string {
	if addrIP(s.conn.LocalAddr()).To4() != nil {
		return "1"
	}
	return "2"
}

// listen replaces the data plan with a new passive listener and returns its
// port, or replies 425 and returns 0.
func (s *session) listen() int {
	s.data.reset()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: addrIP(s.conn.LocalAddr())})
	if err != nil {
		s.reply(425, "Cannot open passive listener: %v.", err)
		return 0
	}
	s.data.ln = ln
	if s.cfg.earlyDataLost {
		s.data.eager = s.acceptEagerly(ln)
	}
	return ln.Addr().(*net.TCPAddr).Port
}

func (s *session) cmdPASV(string) {
	ip := addrIP(s.conn.LocalAddr())
	if s.cfg.pasvIP != nil {
		ip = s.cfg.pasvIP
	}
	switch ip4 := ip.To4(); {
	case s.epsvAll:
		s.reply(503, "PASV not allowed after EPSV ALL.")
	case ip4 == nil:
		s.reply(522, "PASV needs IPv4; use EPSV.")
	default:
		if port := s.listen(); port != 0 {
			s.reply(227, "Entering Passive Mode (%d,%d,%d,%d,%d,%d).", ip4[0], ip4[1], ip4[2], ip4[3], port>>8, port&0xff)
		}
	}
}

func (s *session) cmdEPSV(arg string) {
	switch {
	case strings.EqualFold(arg, "ALL"):
		s.epsvAll = true
		s.reply(200, "EPSV ALL ok.")
	case arg != "" && arg != s.family():
		s.reply(522, "Network protocol not supported, use (%s).", s.family())
	default:
		if port := s.listen(); port != 0 {
			s.reply(229, "Entering Extended Passive Mode (|||%d|).", port)
		}
	}
}

func (s *session) cmdPORT(arg string) { s.active(parsePORT(arg)) }

func (s *session) cmdEPRT(arg string) { s.active(parseEPRT(arg)) }

// errProto is an EPRT network protocol the server does not speak.
var errProto = errors.New("network protocol not supported")

// active sets the data plan to dial addr, refusing any host but the
// client's own (RFC 2577 bounce protection).
func (s *session) active(addr *net.TCPAddr, err error) {
	switch {
	case s.epsvAll:
		s.reply(503, "Active mode not allowed after EPSV ALL.")
	case errors.Is(err, errProto):
		s.reply(522, "Network protocol not supported, use (%s).", s.family())
	case err != nil:
		s.reply(501, "Syntax error in address: %v.", err)
	case !addr.IP.Equal(addrIP(s.conn.RemoteAddr())):
		s.reply(504, "Data connections go to the client's own address only.")
	default:
		s.data.reset()
		s.data.addr = addr.String()
		s.reply(200, "Command okay.")
	}
}

// parsePORT parses "h1,h2,h3,h4,p1,p2".
func parsePORT(arg string) (*net.TCPAddr, error) {
	parts := strings.Split(arg, ",")
	if len(parts) != 6 {
		return nil, fmt.Errorf("want 6 numbers, got %q", arg)
	}
	var b [6]byte
	for i, p := range parts {
		n, err := strconv.ParseUint(strings.TrimSpace(p), 10, 8)
		if err != nil {
			return nil, fmt.Errorf("bad number %q", p)
		}
		b[i] = byte(n)
	}
	return checkPort(net.IPv4(b[0], b[1], b[2], b[3]), int(b[4])<<8|int(b[5]))
}

// parseEPRT parses "|proto|ip|port|" with any delimiter (RFC 2428).
func parseEPRT(arg string) (*net.TCPAddr, error) {
	if arg == "" {
		return nil, errors.New("empty argument")
	}
	parts := strings.Split(arg, arg[:1])
	if len(parts) != 5 || parts[4] != "" {
		return nil, fmt.Errorf("want |proto|ip|port|, got %q", arg)
	}
	ip := net.ParseIP(parts[2])
	port, err := strconv.ParseUint(parts[3], 10, 16)
	switch {
	case parts[1] != "1" && parts[1] != "2":
		return nil, errProto
	case ip == nil || err != nil || (ip.To4() != nil) != (parts[1] == "1"):
		return nil, fmt.Errorf("bad address %q", arg)
	}
	return checkPort(ip, int(port))
}

func checkPort(ip net.IP, port int) (*net.TCPAddr, error) {
	if port == 0 {
		return nil, errors.New("port 0")
	}
	return &net.TCPAddr{IP: ip, Port: port}, nil
}

// opener opens a data connection, or fails once ctx is done.
type opener func(ctx context.Context) (net.Conn, error)

// takeData consumes the data plan, returning how to open its connection.
func (s *session) takeData() opener {
	plan := s.data
	s.data = dataPlan{}
	if plan.eager != nil {
		return plan.eager.take
	}
	if plan.ln != nil {
		peer := addrIP(s.conn.RemoteAddr())
		return func(ctx context.Context) (net.Conn, error) { return acceptFrom(ctx, plan.ln, peer) }
	}
	if plan.addr != "" {
		d := net.Dialer{Timeout: dataTimeout}
		if s.cfg.activeSource != nil {
			d.LocalAddr = &net.TCPAddr{IP: s.cfg.activeSource}
		}
		return func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", plan.addr) }
	}
	return nil
}

// acceptFrom accepts one connection on ln from peer, dropping any other,
// within dataTimeout. It closes ln.
func acceptFrom(ctx context.Context, ln *net.TCPListener, peer net.IP) (net.Conn, error) {
	defer ln.Close()
	defer context.AfterFunc(ctx, func() { ln.Close() })()
	if err := ln.SetDeadline(time.Now().Add(dataTimeout)); err != nil {
		return nil, err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return nil, err
		}
		if addrIP(c.RemoteAddr()).Equal(peer) {
			return c, nil
		}
		c.Close()
	}
}

// transfer runs body over a new data connection with the 150 and final
// replies around it. Meanwhile it keeps reading the control connection: an
// ABOR stops the transfer, other commands wait their turn.
func (s *session) transfer(what string, sends bool, body func(net.Conn) error) {
	open := s.takeData()
	if open == nil {
		s.reply(425, "Use PORT, EPRT, PASV or EPSV first.")
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	early := sends && s.cfg.earlyFinal
	prelim := fmt.Sprintf("150 Opening %s mode data connection for %s.\r\n", s.mode(), what)
	protect := s.protect
	done := make(chan error, 1)
	var ended atomic.Bool // the data are all sent or received
	began := make(chan struct{})
	s.began = began // closed once the preliminary reply is out, or the transfer over
	markBegan := sync.OnceFunc(func() { close(began) })
	moved := body
	body = func(c net.Conn) error { markBegan(); err := moved(c); ended.Store(true); return err }
	s.srv.wg.Go(func() { defer markBegan(); done <- s.runData(ctx, open, protect, prelim, early, body) })
	lines := s.lines
	var abor *line
	killed := false // by a command during the transfer (pipeline.go)
	kill := func() { killed = true; cancel() }
	bundled := s.bundled
	s.bundled = nil
	s.duringAll(bundled, kill)
	for {
		select {
		case err := <-done:
			if !killed {
				s.finish(err, abor, early)
			}
			return
		case l, ok := <-lines:
			switch {
			case !ok:
				lines = nil
				cancel()
			case abor == nil && !l.tooLong && isABOR(l.text):
				abor = &l
				cancel()
			case ended.Load() || !s.during(l, kill):
				s.queue = append(s.queue, l)
			}
		}
	}
}

func isABOR(text string) bool {
	verb, _ := parseCommand(text)
	return verb == "ABOR"
}

// runData opens the data connection, sends the preliminary reply, runs
// the TLS handshake if protect (PROT P), sends the early final reply, runs
// body and closes the connection, with a TLS close_notify first if body
// succeeded. It runs on its own goroutine; cancelling ctx closes the
// connection under it.
func (s *session) runData(ctx context.Context, open opener, protect bool, prelim string, early bool, body func(net.Conn) error) error {
	conn, err := open(ctx)
	if err != nil {
		return fmt.Errorf("%w: %v", errNoData, err)
	}
	defer conn.Close()
	defer context.AfterFunc(ctx, func() { conn.Close() })()
	body = s.dropOnEarlyClose(conn, body)
	if !s.cfg.noPrelim && !(protect && s.cfg.engine.late150) {
		s.send(prelim)
	}
	var tc *tls.Conn
	var secured net.Conn
	if protect {
		if tc, err = s.secureData(ctx, conn); err != nil {
			return err
		}
		if secured, err = s.latePreliminary(tc, prelim); err != nil {
			return err
		}
	}
	if early {
		s.reply(226, "Transfer complete.")
	}
	if tc == nil {
		return body(conn)
	}
	if err := body(secured); err != nil {
		return err // no close_notify: the peer can tell the data is cut
	}
	tc.Close() // a peer gone after the last byte is no failure
	return nil
}

// finish sends the final reply of a transfer that ended with err. An ABOR
// that came too late to stop the transfer is handled after it, as usual.
func (s *session) finish(err error, abor *line, early bool) {
	switch {
	case abor != nil && err != nil:
		s.reply(426, "Connection closed; transfer aborted.")
		s.reply(226, "Abort successful.")
		return
	case errors.Is(err, errNoData):
		s.reply(425, "%v.", err)
	case errors.Is(err, errDataTLS):
		s.reply(522, "%v", err)
	case errors.Is(err, errTruncated):
		s.send(s.cfg.truncateFinal)
	case early:
	case errors.Is(err, errLocal):
		s.fail(451, err)
	case err != nil:
		s.reply(426, "Connection closed; transfer aborted.")
	default:
		s.reply(226, "Transfer complete.")
	}
	if abor != nil {
		s.queue = append([]line{*abor}, s.queue...)
	}
}

// sendBody returns a transfer body that writes data, or with WithTruncate
// only its first bytes.
func (s *session) sendBody(data []byte) func(net.Conn) error {
	return func(c net.Conn) error {
		if n := s.cfg.truncate; n >= 0 {
			_, err := c.Write(data[:min(n, int64(len(data)))])
			return orElse(err, errTruncated)
		}
		_, err := c.Write(data)
		return err
	}
}

// orElse returns err if it is not nil, else fallback.
func orElse(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}
