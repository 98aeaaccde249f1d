package ftp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// Errors of the control connection that callers may test with errors.Is.
var (
	// ErrClosed is wrapped by every error of a call on a closed Conn; the
	// error also wraps the reason the connection was closed, if any.
	ErrClosed = errors.New("ftp: connection closed")
	// ErrBusy is returned at once by a call made while a Response is
	// open: one control connection carries one transfer at a time.
	ErrBusy = errors.New("ftp: a transfer is in progress on this connection (close its Response first)")
	// ErrInvalidArgument is returned, before anything is sent, for a path
	// or argument containing CR, LF or NUL (command injection).
	ErrInvalidArgument = errors.New("ftp: argument contains CR, LF or NUL")
)

// control is the control connection: commands out, replies in, one
// exchange at a time, every wait bounded by the timeout and the caller's
// context.
type control struct {
	nc      net.Conn
	text    *textproto.Conn
	reads   *watchdog // bounds reading replies
	writes  *watchdog // bounds writing commands: an ABOR or a keepalive NOOP may go out while a listener reads
	debug   io.Writer
	traceMu sync.Mutex
	closeMu sync.Mutex
	err     error // why the connection was closed; nil while open
	// noops counts the NOOPs a transfer's keepalive sent whose answers
	// have not been read yet.
	noops atomic.Int32
	// ahead is the passive command sent ahead at the end of a transfer
	// whose reply is still owed (pipeline.go), or nil; portOpen is set
	// while the port of such a reply is open on the server, unused.
	ahead    atomic.Pointer[aheadCmd]
	portOpen atomic.Bool
	// poll waits on this connection and a data connection at once; made
	// by the first transfer (poller), nil where there is none.
	poll      *poller
	pollTried bool
	// names converts names to and from the server's encoding
	// (WithEncoding, charset.go); nil: bytes pass as they are.
	names *nameCodec
	// detect finds the encoding instead (WithEncodingDetection, detect.go).
	detect *detector
	// deferred is a command whose reply does not matter, sent in the same
	// write as the next command instead of costing a round trip of its
	// own (OPTS UTF8 ON after login); deferredOwed is set once it is sent
	// until its reply, the next to come, is read and dropped.
	deferred string
	// owed takes a reply that is owed before any other (that of the
	// deferred command, or of a passive command sent ahead and not waited
	// for: pipeline.go), once it is read; nil when none is owed.
	owed      func(*Reply)
	owedAbout string // the command owed answers
}

// sendDeferred has line sent with the next command, in the same write,
// its reply read and dropped before that command's (see deferred).
func (c *control) sendDeferred(line string) {
	c.deferred = line
}

// traceDeferred traces the deferred command, if any, where it goes: before
// the command about to be traced and written.
func (c *control) traceDeferred() {
	if c.deferred != "" {
		c.trace("> ", c.deferred)
	}
}

// writeDeferred puts the deferred command, if any, in the write buffer
// ahead of what follows; the caller flushes. Only commands whose replies
// the caller reads take it along: never one sent aside while a listener
// reads a transfer's replies.
func (c *control) writeDeferred(w *bufio.Writer) {
	if c.deferred == "" {
		return
	}
	line, err := c.wireLine(c.deferred)
	c.deferred = ""
	if err != nil {
		return // a constant of this package: never
	}
	w.WriteString(line)
	w.WriteString("\r\n")
	c.owed, c.owedAbout = func(*Reply) {}, line // read and dropped
}

func newControl(nc net.Conn, timeout time.Duration, debug io.Writer) *control {
	c := &control{debug: debug}
	c.attach(nc, timeout)
	return c
}

// attach makes nc the connection the control connection speaks over: the
// first one, or a TLS connection over it.
func (c *control) attach(nc net.Conn, timeout time.Duration) {
	c.nc = nc
	c.text = textproto.NewConn(nc)
	c.reads = newWatchdog(nc.SetReadDeadline, timeout)
	c.writes = newWatchdog(nc.SetWriteDeadline, timeout)
}

// exchange sends line and reads one reply. Any failure on the way leaves
// the stream out of step, so it closes the connection; a 421 reply closes
// it too (RFC 959: the server is closing).
func (c *control) exchange(ctx context.Context, line string) (*Reply, error) {
	return c.do(ctx, line, line)
}

// readReply reads one more reply without sending anything: the replies
// that follow the preliminary one of a transfer. about names the command
// for errors.
func (c *control) readReply(ctx context.Context, about string) (*Reply, error) {
	return c.do(ctx, "", about)
}

// sendLine sends a command without reading its reply: a transfer
// command, whose replies the transfer reads.
func (c *control) sendLine(ctx context.Context, line string) error {
	if err := c.closedErr(); err != nil {
		return err
	}
	if _, err := c.wireLine(line); err != nil {
		return err // nothing sent: the connection stays in step
	}
	c.reads.start(ctx) // send may read why the server hung up
	err := c.write(ctx, line)
	if cerr := c.reads.stop(); cerr != nil && err != nil {
		err = cerr
	}
	if err != nil {
		err = errorf("sending %s: %w", mask(line), err)
		c.close(err)
	}
	return err
}

// write sends line under the writes watchdog, reading nothing.
func (c *control) write(ctx context.Context, line string) error {
	c.writes.start(ctx)
	err := c.send(line)
	if cerr := c.writes.stop(); cerr != nil && err != nil {
		err = cerr
	}
	return err
}

// sendAside sends a command whose reply is read later, with the replies
// of a transfer (ABOR, a keepalive NOOP), without reading anything: a
// listener may be reading. A failure closes the connection.
func (c *control) sendAside(ctx context.Context, line string) error {
	c.trace("> ", line)
	c.writes.start(ctx)
	err := c.writeLine(line)
	if cerr := c.writes.stop(); cerr != nil && err != nil {
		err = cerr
	}
	if err != nil {
		err = errorf("sending %s: %w", line, err)
		c.close(err)
	}
	return err
}

func (c *control) do(ctx context.Context, line, about string) (*Reply, error) {
	if err := c.closedErr(); err != nil {
		return nil, err
	}
	if _, err := c.wireLine(line); err != nil {
		return nil, err // nothing sent: the connection stays in step
	}
	c.reads.start(ctx)
	var reply *Reply
	var err error
	if line != "" {
		err = c.write(ctx, line)
	}
	var closing *Reply // a 421 that may be about an unused port (pipeline.go)
	for strays := 0; err == nil; {
		reply, err = c.receive()
		if err == nil && kindOf(about)&kindTransfer != 0 && c.answersKeepAlive(reply) {
			c.trace("# ", fmt.Sprintf("a %d reply answers a keepalive NOOP", reply.Code))
			continue
		}
		if err == nil && kindOf(about)&kindTransfer != 0 && c.answersAhead(reply) {
			c.trace("# ", fmt.Sprintf("a %d reply answers the command sent ahead", reply.Code))
			continue
		}
		if err == nil && reply.Code == 421 && c.portOpen.CompareAndSwap(true, false) {
			// pyftpdlib's "421 Passive data channel timed out." closes
			// only the port; a server that is closing sends nothing more.
			closing = reply
			c.trace("# ", "a 421 may be about the unused passive port: reading on")
			continue
		}
		if err != nil || !stray(about, reply) {
			break
		}
		if strays++; strays > maxStrays {
			err = errorf("%w: more than %d replies that answer no command", ErrMalformedReply, maxStrays)
			break
		}
		c.trace("# ", fmt.Sprintf("ignoring a %d reply that answers no command", reply.Code))
	}
	if cerr := c.reads.stop(); cerr != nil && err != nil {
		err = cerr
	}
	if err != nil && closing != nil {
		reply, err = closing, nil
	}
	return c.check(about, reply, err)
}

// maxStrays bounds the replies skipped as answering no command before the
// one awaited: more means the server is not speaking FTP.
const maxStrays = 4

// answersKeepAlive reports whether reply, read while a transfer runs, is
// the answer to a NOOP its keepalive sent (see WithKeepAlive), and counts
// it. NOOP is answered 200, or 500 to 502 by servers that take no command
// but ABOR during a transfer (pure-ftpd); those syntax errors never end a
// transfer under way.
func (c *control) answersKeepAlive(reply *Reply) bool {
	if reply.Code != 200 && (reply.Code < 500 || reply.Code > 502) {
		return false
	}
	for {
		n := c.noops.Load()
		if n <= 0 {
			return false
		}
		if c.noops.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// check closes the connection after a failed or 421 exchange and says
// what was being done.
func (c *control) check(about string, reply *Reply, err error) (*Reply, error) {
	if err != nil {
		what := "reply to " + mask(about)
		if cerr := c.closedErr(); cerr != nil {
			return nil, errorf("%s: %w", what, cerr) // Close came first
		}
		err = errorf("%s: %w", what, err)
		c.close(err)
		return nil, err
	}
	if reply.Code == 421 {
		err := &Error{Cmd: mask(about), Code: reply.Code, Msg: reply.Message()}
		c.close(err)
		return nil, errorf("%w: server closing: %w", ErrClosed, err)
	}
	return reply, nil
}

func (c *control) send(line string) error {
	if line == "" {
		return nil
	}
	c.traceDeferred()
	c.trace("> ", mask(line))
	c.writeDeferred(c.text.W) // flushed with line
	if err := c.writeLine(line); err != nil {
		// The server may have said why it hung up (421) before closing.
		if reply, rerr := readReply(c.text.R); rerr == nil {
			c.traceReply(reply)
			return errorf("%w (server said %d %s)", err, reply.Code, printable(reply.Message()))
		}
		return err
	}
	return nil
}

// writeLine sends one command line, as textproto's PrintfLine would
// without formatting it.
func (c *control) writeLine(line string) error {
	line, err := c.wireLine(line)
	if err != nil {
		return err
	}
	w := c.text.W
	w.WriteString(line)
	w.WriteString("\r\n")
	return w.Flush()
}

// receiveOwed reads the reply that is owed and hands it to owed. A 421
// is returned instead: the server is closing, and that is the news.
func (c *control) receiveOwed() (*Reply, error) {
	var reply *Reply
	for strays := 0; ; strays++ {
		var err error
		if reply, err = readReply(c.text.R); err != nil {
			return nil, err
		}
		c.traceReply(reply)
		if !stray(c.owedAbout, reply) || strays == maxStrays {
			break
		}
		c.trace("# ", fmt.Sprintf("ignoring a %d reply that answers no command", reply.Code)) // a late 1xx or 226
	}
	f := c.owed
	c.owed = nil
	if reply.Code == 421 {
		return reply, nil
	}
	f(reply)
	return nil, nil
}

// settleOwed reads the reply that is owed, if one is, and nothing more.
// A failure closes the connection.
func (c *control) settleOwed(ctx context.Context) error {
	if c.owed == nil {
		return nil
	}
	if err := c.closedErr(); err != nil {
		return err
	}
	c.reads.start(ctx)
	reply, err := c.receiveOwed()
	if cerr := c.reads.stop(); cerr != nil && err != nil {
		err = cerr
	}
	if reply == nil && err == nil {
		return nil
	}
	_, err = c.check("a reply owed", reply, err)
	return err
}

func (c *control) receive() (*Reply, error) {
	if c.owed != nil {
		if reply, err := c.receiveOwed(); err != nil || reply != nil {
			return reply, err
		}
	}
	reply, err := readReply(c.text.R)
	if err != nil {
		return nil, err
	}
	if n := c.codec(); n != nil {
		for i, l := range reply.Lines {
			reply.Lines[i] = n.decodeText(l)
		}
	}
	c.traceReply(reply)
	return reply, nil
}

// close closes the connection once, remembering why.
func (c *control) close(reason error) error {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.err != nil {
		return nil
	}
	c.err = reason
	if c.err == nil {
		c.err = ErrClosed
	}
	if c.poll != nil {
		c.poll.close()
	}
	return c.nc.Close()
}

// poller returns the connection's poller, made on first use, or nil where
// there is none: not on Linux, or not a plain TCP connection (a TLS
// record may hold a reply that the socket no longer shows).
func (c *control) poller() *poller {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.err != nil {
		return nil
	}
	if !c.pollTried {
		c.pollTried = true
		c.poll = newPoller(c.nc, c.reads.timeout)
	}
	if _, plain := c.nc.(*net.TCPConn); !plain {
		return nil
	}
	return c.poll
}

// closedErr returns the error for a call on a closed connection, or nil.
func (c *control) closedErr() error {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	switch {
	case c.err == nil:
		return nil
	case errors.Is(c.err, ErrClosed):
		return c.err
	default:
		return errorf("%w: %w", ErrClosed, c.err)
	}
}

func (c *control) trace(prefix, line string) {
	if c.debug != nil {
		c.traceMu.Lock()
		defer c.traceMu.Unlock()
		fmt.Fprintf(c.debug, "%s%s\n", prefix, printable(line))
	}
}

func (c *control) traceReply(r *Reply) {
	for _, l := range r.Lines {
		c.trace("< ", l)
	}
}

// commandLine builds "VERB arg", refusing arguments that would inject
// commands and escaping the Telnet IAC byte (0xFF) as RFC 959 requires.
// The error quotes the argument, unless it is a password.
func commandLine(verb, arg string) (string, error) {
	if strings.ContainsAny(verb+arg, "\r\n\x00") {
		return "", errorf("%w: %s", ErrInvalidArgument, mask(fmt.Sprintf("%s %q", verb, arg)))
	}
	if arg == "" {
		return verb, nil
	}
	return verb + " " + strings.ReplaceAll(arg, "\xff", "\xff\xff"), nil
}

// mask hides the argument of PASS and ACCT in traces and errors, however
// the verb is spelt or separated from it.
func mask(line string) string {
	if len(line) >= 4 && (strings.EqualFold(line[:4], "PASS") || strings.EqualFold(line[:4], "ACCT")) {
		return line[:4] + " ****"
	}
	return line
}

// printable escapes what would act on a terminal in server text quoted in
// errors and traces (control characters but newline, invalid UTF-8), so
// that printing an error cannot drive the user's terminal. Other text is
// left as it is.
func printable(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch size := utf8.RuneLen(r); {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r != '\n' && unicode.IsControl(r) && size == 1:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r != '\n' && unicode.IsControl(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
