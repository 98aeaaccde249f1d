package ftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"time"
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

// aLongTimeAgo is a deadline in the past: setting it interrupts a blocked
// read or write at once.
var aLongTimeAgo = time.Unix(1, 0)

// control is the control connection: commands out, replies in, one
// exchange at a time, every wait bounded by the timeout and the caller's
// context.
type control struct {
	nc      net.Conn
	text    *textproto.Conn
	watch   *watchdog
	debug   io.Writer
	traceMu sync.Mutex
	closeMu sync.Mutex
	err     error // why the connection was closed; nil while open
}

func newControl(nc net.Conn, timeout time.Duration, debug io.Writer) *control {
	return &control{
		nc:    nc,
		text:  textproto.NewConn(nc),
		watch: newWatchdog(nc, timeout),
		debug: debug,
	}
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

// sendLine sends a command without reading its reply: the transfer
// commands, whose replies are read in the background.
func (c *control) sendLine(ctx context.Context, line string) error {
	if err := c.closedErr(); err != nil {
		return err
	}
	c.watch.start(ctx)
	err := c.send(line)
	if cerr := c.watch.stop(); cerr != nil && err != nil {
		err = cerr
	}
	if err != nil {
		err = fmt.Errorf("ftp: sending %s: %w", mask(line), err)
		c.close(err)
	}
	return err
}

func (c *control) do(ctx context.Context, line, about string) (*Reply, error) {
	if err := c.closedErr(); err != nil {
		return nil, err
	}
	c.watch.start(ctx)
	var reply *Reply
	err := c.send(line)
	for strays := 0; err == nil; strays++ {
		reply, err = c.receive()
		if err != nil || strays == 3 || !stray(line, reply) {
			break
		}
		c.trace("# ", fmt.Sprintf("ignoring a %d reply that answers no command", reply.Code))
	}
	if cerr := c.watch.stop(); cerr != nil && err != nil {
		err = cerr
	}
	return c.check(about, reply, err)
}

// stray reports whether reply, read after sending line, belongs to an
// earlier transfer instead: a 225 or 226 ("transfer complete") answers only
// a transfer command or ABOR. pyftpdlib, for one, sends a 226 when the
// client closes a data connection it never used.
func stray(line string, reply *Reply) bool {
	if line == "" || reply.Code != 225 && reply.Code != 226 {
		return false
	}
	v := verb(line)
	return !transferVerbs[v] && v != "ABOR"
}

// check closes the connection after a failed or 421 exchange and says
// what was being done.
func (c *control) check(about string, reply *Reply, err error) (*Reply, error) {
	what := "reply to " + mask(about)
	if err != nil {
		err = fmt.Errorf("ftp: %s: %w", what, err)
		c.close(err)
		return nil, err
	}
	if reply.Code == 421 {
		err := &Error{Cmd: mask(about), Code: reply.Code, Msg: reply.Message()}
		c.close(err)
		return nil, fmt.Errorf("%w: server closing: %w", ErrClosed, err)
	}
	return reply, nil
}

func (c *control) send(line string) error {
	if line == "" {
		return nil
	}
	c.trace("> ", mask(line))
	if err := c.text.PrintfLine("%s", line); err != nil {
		// The server may have said why it hung up (421) before closing.
		if reply, rerr := readReply(c.text.R); rerr == nil {
			c.traceReply(reply)
			return fmt.Errorf("%w (server said %d %s)", err, reply.Code, reply.Message())
		}
		return err
	}
	return nil
}

func (c *control) receive() (*Reply, error) {
	reply, err := readReply(c.text.R)
	if err != nil {
		return nil, err
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
	return c.nc.Close()
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
		return fmt.Errorf("%w: %w", ErrClosed, c.err)
	}
}

func (c *control) trace(prefix, line string) {
	if c.debug != nil {
		c.traceMu.Lock()
		defer c.traceMu.Unlock()
		fmt.Fprintf(c.debug, "%s%s\n", prefix, line)
	}
}

func (c *control) traceReply(r *Reply) {
	for _, l := range r.Lines {
		c.trace("< ", l)
	}
}

// commandLine builds "VERB arg", refusing arguments that would inject
// commands and escaping the Telnet IAC byte (0xFF) as RFC 959 requires.
func commandLine(verb, arg string) (string, error) {
	if strings.ContainsAny(verb+arg, "\r\n\x00") {
		return "", fmt.Errorf("%w: %s %q", ErrInvalidArgument, verb, arg)
	}
	if arg == "" {
		return verb, nil
	}
	return verb + " " + strings.ReplaceAll(arg, "\xff", "\xff\xff"), nil
}

// mask hides the argument of PASS and ACCT in traces and errors.
func mask(line string) string {
	switch verb(line) {
	case "PASS", "ACCT":
		return line[:4] + " ****"
	}
	return line
}

// watchdog applies a context and an idle timeout to one connection's
// deadlines for the span of one operation: start arms it, extend pushes
// the idle deadline forward after progress, stop disarms it. Cancelling the
// context interrupts a blocked read or write at once.
type watchdog struct {
	nc      net.Conn
	timeout time.Duration

	mu        sync.Mutex
	ctx       context.Context
	gen       uint64 // which start the cancellation callback belongs to
	cancelled bool
	active    bool      // between start and stop
	limit     time.Time // no deadline later than this, when set
	release   func() bool
}

func newWatchdog(nc net.Conn, timeout time.Duration) *watchdog {
	return &watchdog{nc: nc, timeout: timeout}
}

func (w *watchdog) start(ctx context.Context) {
	w.mu.Lock()
	w.gen++
	gen := w.gen
	w.ctx, w.cancelled, w.active = ctx, false, true
	w.mu.Unlock()
	w.extend()
	w.release = context.AfterFunc(ctx, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.gen == gen {
			w.cancelled = true
			w.nc.SetDeadline(aLongTimeAgo)
		}
	})
}

// cancelErr returns the context's error if the context cancelled the
// operation under way, else nil.
func (w *watchdog) cancelErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return ctxErr(w.ctx)
}

// ctxErr is ctx.Err(), also when the deadline has passed but the context's
// own timer has not fired yet (the connection's deadline may fire first).
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// extend sets the deadline to the timeout from now, or the context's
// deadline if that is sooner.
func (w *watchdog) extend() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancelled || !w.active {
		return
	}
	d := time.Now().Add(w.timeout)
	if cd, ok := w.ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	if !w.limit.IsZero() && w.limit.Before(d) {
		d = w.limit
	}
	w.nc.SetDeadline(d)
}

// cap brings the deadline forward to d at the latest, for this and later
// operations, until cap is called with the zero time.
func (w *watchdog) cap(d time.Time) {
	w.mu.Lock()
	w.limit = d
	w.mu.Unlock()
	w.extend()
}

// stop disarms the watchdog and clears the deadline, so that nothing of
// this operation poisons the next one. It returns the context's error if
// the context ended the operation.
func (w *watchdog) stop() error {
	w.release()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.gen++
	w.active = false
	w.nc.SetDeadline(time.Time{})
	return ctxErr(w.ctx)
}
