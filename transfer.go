package ftp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// ErrShortTransfer is wrapped by the error of a download that ended before
// the size the server announced: the data connection closed early, though
// the server may have called the transfer complete.
var ErrShortTransfer = errors.New("ftp: transfer ended early")

// transfer is one command with a data connection (RETR, STOR, APPE, LIST,
// NLST, MLSD), written once for every data mode: it sets up the data
// connection and sends the command (startTransfer), moves the data, and
// ends with the final reply (finish) or with ABOR (abandon, abort.go).
// Its replies are heard while the client waits on the data connection, so
// that a refusal ends the wait at once, and a server that omits the 1xx
// or sends the final reply early does no harm (replies.go says how).
type transfer struct {
	c      *Conn
	ctx    context.Context // the caller's: it ends any wait of the transfer
	cmd    string          // the command line, for errors
	rep    *replies        // the replies to cmd
	data   net.Conn        // nil until connected
	watch  *watchdog       // the data connection's deadline
	poll   *poller         // a download's first wait, where there is one (poller_linux.go)
	upload bool            // data flow to the server
	n      int64           // data bytes moved
	werr   error           // the first write error on the data connection
	low    *lowWater       // a download's receive low-water mark, or nil
	onData func(n int64)   // told of each piece of data moved, when set (WithProgress)

	stopKeepAlive func() // stops the NOOP keepalive; nil when none runs
}

// startTransfer sets up the data connection, sends REST (if offset > 0)
// and the command, and returns once the data connection is open. The
// caller holds the lock.
func (c *Conn) startTransfer(ctx context.Context, verb, arg string, offset int64) (*transfer, error) {
	line, err := commandLine(verb, arg)
	if err != nil {
		return nil, err
	}
	var conn net.Conn
	var ln net.Listener
	if c.cfg.active {
		ln, err = c.listenActive(ctx)
	} else {
		conn, err = c.dialPassive(ctx)
	}
	if err != nil {
		return nil, err
	}
	if offset > 0 {
		if _, err := c.expect(ctx, 3, "REST", strconv.FormatInt(offset, 10)); err != nil {
			closeBoth(conn, ln)
			return nil, err
		}
	}
	upload := kindOf(verb)&kindUpload != 0
	if err := c.sendTransfer(ctx, line, upload); err != nil {
		closeBoth(conn, ln)
		return nil, err
	}
	t := &transfer{c: c, ctx: ctx, cmd: line, rep: newReplies(c.ctl, ctx, line), upload: upload}
	if ln != nil {
		if conn, err = t.accept(ctx, ln); err != nil {
			return nil, t.abandon(err)
		}
	}
	if c.tls != nil {
		conn = c.tls.client(conn)
	} else if !t.upload && ln == nil && !c.cfg.noPoller {
		t.poll = c.ctl.poller()
	}
	t.data = conn
	if !t.upload {
		t.low = newLowWater(conn, c.cfg.fastMiB)
	}
	t.watch = newWatchdog(conn.SetDeadline, c.cfg.timeout)
	t.watch.start(ctx)
	c.cur.Store(t)
	if c.cfg.keepAlive > 0 {
		t.keepAlive(c.cfg.keepAlive)
	}
	return t, nil
}

// keepAlive sends NOOP on the control connection every interval until
// closeData stops it (see WithKeepAlive). It is the only writer on the
// control connection while it runs; the answers, counted in noops, are
// read with the transfer's replies or, if they come after the final one,
// up to the PWD marker of resync.
func (t *transfer) keepAlive(interval time.Duration) {
	ctl := t.c.ctl
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
			}
			ctl.noops.Add(1)
			if ctl.sendAside(t.rep.quiet, "NOOP") != nil {
				return
			}
		}
	}()
	t.stopKeepAlive = func() {
		close(quit)
		<-done
	}
}

// endKeepAlive stops the NOOP keepalive, if one runs.
func (t *transfer) endKeepAlive() {
	if t.stopKeepAlive != nil {
		t.stopKeepAlive()
		t.stopKeepAlive = nil
	}
}

func closeBoth(conn net.Conn, ln net.Listener) {
	if conn != nil {
		conn.Close()
	}
	if ln != nil {
		ln.Close()
	}
}

// interruptData is what a refusal does to a caller busy on the data
// connection: it fails the wait at once. The server refused (or the
// control connection failed), so no data will come or be taken, though
// the server may keep the data connection open.
func (t *transfer) interruptData() { t.watch.cap(aLongTimeAgo) }

// waitFirst waits on the caller's goroutine for the first data (or the
// end of them) into buf, unless a refusal comes first, and reports
// whether one did. With a poller it waits on both connections at once and
// reads each reply as it comes; else a listener reads the replies, and a
// refusal interrupts the wait.
func (t *transfer) waitFirst(buf *bufio.Reader) (refused bool, err error) {
	if t.poll != nil && t.poll.add(t.data) == nil {
		defer t.poll.remove(t.data)
		return t.pollFirst(buf)
	}
	t.rep.listen()
	if t.rep.guard(t.interruptData) {
		return true, nil
	}
	_, err = buf.Peek(1)
	if t.rep.unguard() {
		t.watch.cap(time.Time{})
		return true, nil
	}
	return false, err
}

// pollFirst is waitFirst with the poller. It ends at the first data, the
// end of the data, a refusal, or when nothing at all came within the
// timeout (errNoAnswer).
func (t *transfer) pollFirst(buf *bufio.Reader) (refused bool, err error) {
	p := t.poll
	p.watch.start(t.ctx)
	defer p.watch.stop()
	for !t.rep.complete() {
		if t.c.ctl.text.R.Buffered() == 0 { // else a reply is in already
			data, err := p.wait()
			if err != nil {
				return false, t.pollErr(err)
			}
			if data {
				break
			}
		}
		t.rep.next()
	}
	if t.rep.complete() && t.rep.last().refusal() {
		return true, nil
	}
	_, err = buf.Peek(1)
	return false, err
}

// errNoAnswer is wrapped by the error of a download that got neither data
// nor a reply within the timeout.
var errNoAnswer = errors.New("neither data nor a reply came")

// pollErr says why a wait of pollFirst failed.
func (t *transfer) pollErr(err error) error {
	if cerr := t.poll.watch.cancelErr(); cerr != nil {
		return errorf("%s: %w", t.cmd, cerr)
	}
	if cerr := t.c.ctl.closedErr(); cerr != nil {
		return errorf("%s: %w", t.cmd, cerr)
	}
	return errorf("%s: %w within %v: %w", t.cmd, errNoAnswer, t.c.cfg.timeout, err)
}

// bytesInParens finds the first "(N bytes)" in s, N of 1 to 19 digits.
func bytesInParens(s string) (int64, bool) {
	const tail = " bytes)"
	for {
		i := strings.Index(s, tail)
		if i < 0 {
			return 0, false
		}
		j := strings.LastIndexByte(s[:i], '(')
		if digits := s[j+1 : i]; j >= 0 && len(digits) <= 19 && isListDigits(digits) {
			if n, err := strconv.ParseInt(digits, 10, 64); err == nil {
				return n, true
			}
		}
		s = s[i+len(tail):]
	}
}

// read reads data, keeping both connections' deadlines ahead while data
// moves.
func (t *transfer) read(p []byte) (int, error) {
	t.watch.extend()
	t.c.ctl.reads.extend()
	t.low.before()
	n, err := t.data.Read(p)
	t.moved(int64(n))
	t.low.after(t.n)
	return n, t.dataErr(err)
}

// moved counts n bytes of data moved, and reports them to onData.
func (t *transfer) moved(n int64) {
	t.n += n
	if t.onData != nil && n > 0 {
		t.onData(n)
	}
}

func (t *transfer) write(p []byte) (int, error) {
	t.watch.extend()
	t.c.ctl.reads.extend()
	n, err := t.data.Write(p)
	t.moved(int64(n))
	if err != nil && t.werr == nil {
		t.werr = t.dataErr(err)
		return n, t.werr
	}
	return n, t.dataErr(err)
}

// dataErr reports a cancellation as the context's error.
func (t *transfer) dataErr(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	if cerr := t.watch.cancelErr(); cerr != nil {
		return errorf("%s: %w", t.cmd, cerr)
	}
	return errorf("%s: data connection: %w", t.cmd, err)
}

// sendTransfer sends a transfer command; the first upload of a session
// that pipelines takes a NOOP with it, as a probe (pipeline.go).
func (c *Conn) sendTransfer(ctx context.Context, line string, upload bool) error {
	if c.pipe.probing { // the last probe went wrong (an upload abandoned): no more
		c.pipe.probing, c.pipe.uploads = false, 1
		c.ctl.trace("# ", "an upload that probed was abandoned: uploads are not pipelined")
	}
	if !c.probeUploads(upload) {
		return c.ctl.sendLine(ctx, line)
	}
	c.pipe.probing = true
	c.ctl.noops.Add(1)
	return c.ctl.sendLines(ctx, line, "NOOP")
}

// finish closes the data connection after the data ended and waits for the
// final reply, which must be 2xx, then for the answers to keepalive NOOPs
// still owed. The next transfer's passive command goes out meanwhile,
// where the session pipelines (pipeline.go).
func (t *transfer) finish() error {
	t.closeData(false)
	ahead := t.sendAhead()
	defer t.c.ctl.ahead.Store(nil)
	if err := t.rep.await(t.ctx, t.rep.complete); err != nil {
		return err
	}
	err := t.rep.failed(t.c.tls != nil)
	if ahead != nil {
		err = t.endAhead(ahead, err)
	}
	if t.c.pipe.probing {
		err = t.endProbe(err)
	}
	if err != nil {
		return err
	}
	if t.c.ctl.noops.Load() > 0 {
		return t.c.resync(t.ctx)
	}
	return nil
}

// closeData closes the data connection; reset makes it a TCP reset, so
// that an upload cut short is not taken for a complete file.
func (t *transfer) closeData(reset bool) {
	t.endKeepAlive()
	t.c.cur.CompareAndSwap(t, nil)
	t.low.release()
	if t.data == nil {
		return
	}
	if t.rep.refusedOutright() {
		t.watch.stop()
		t.c.park(t.data)
		return
	}
	raw := t.data
	if tc, ok := t.data.(*tls.Conn); ok {
		raw = tc.NetConn()
		if t.upload && !reset {
			t.closeTLSUpload(tc)
		}
	}
	if tc, ok := raw.(*net.TCPConn); ok && reset {
		tc.SetLinger(0)
	}
	t.data.Close()
	t.watch.stop()
}

// readerFunc adapts a read function to io.Reader.
type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// writerFunc adapts a write function to io.Writer.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// plainTCP returns the data connection as a *net.TCPConn when nothing
// (TLS) stands between it and the kernel.
func (t *transfer) plainTCP() (*net.TCPConn, bool) {
	tc, ok := t.data.(*net.TCPConn)
	return tc, ok
}
