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
	"sync"
	"time"
)

// ErrShortTransfer is wrapped by the error of a download that ended before
// the size the server announced: the data connection closed early, though
// the server may have called the transfer complete.
var ErrShortTransfer = errors.New("ftp: transfer ended early")

// transfer is one command with a data connection (RETR, STOR, APPE, LIST,
// NLST, MLSD). Its replies, a preliminary 1xx and the final one, are
// heard while the client waits on the data connection, so that a refusal
// ends the wait at once, and a server that omits the 1xx or sends the
// final reply early does no harm. On plain passive connections (Linux)
// the replies are read on the caller's goroutine: a download waits for
// its first data on the control connection's poller, which wakes for
// whichever connection speaks first, and an upload reads them once its
// data are out. Other transfers have a goroutine read the replies in the
// background (readReplies).
type transfer struct {
	c       *Conn
	ctx     context.Context  // the caller's: it ends any wait of the transfer
	quiet   context.Context  // ctx without its cancellation, for reading replies (readOne)
	cmd     string           // the command line, for errors
	data    net.Conn         // nil until connected
	watch   *watchdog        // the data connection's deadlines
	poll    *poller          // waits on both connections; nil when replies come from readReplies
	replies chan replyResult // from the background reader
	got     []replyResult    // received so far
	upload  bool             // data flows to the server
	n       int64            // data bytes moved
	werr    error            // the first write error on the data connection
	low     *lowWater        // a download's receive low-water mark, or nil
	onData  func(n int64)    // told of each piece of data moved, when set (WithProgress)

	stopKeepAlive func() // stops the NOOP keepalive; nil when none runs

	wakeMu  sync.Mutex
	waiting bool // the caller waits for the first data (waitFirst), or sends an upload (watchData)
	woken   bool // and a refusal ended the wait (wake)
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
	if err := c.ctl.sendLine(ctx, line); err != nil {
		closeBoth(conn, ln)
		return nil, err
	}
	t := &transfer{c: c, ctx: ctx, quiet: context.WithoutCancel(ctx), cmd: line, upload: verb == "STOR" || verb == "APPE"}
	if ln == nil && c.tls == nil && !c.cfg.noPoller {
		t.poll = c.ctl.poller()
	}
	if t.poll == nil {
		t.background()
	}
	if ln != nil {
		if conn, err = t.accept(ctx, ln); err != nil {
			return nil, t.abandon(err)
		}
	}
	if c.tls != nil {
		conn = c.tls.client(conn)
	}
	t.data = conn
	if !t.upload {
		t.low = newLowWater(conn, c.cfg.fastMiB)
	}
	t.watch = newWatchdog(conn, c.cfg.timeout)
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
			ctl.trace("> ", "NOOP")
			if err := ctl.writeLine("NOOP"); err != nil {
				ctl.close(errorf("%s: sending a keepalive NOOP: %w", t.cmd, err))
				return
			}
		}
	}()
	t.stopKeepAlive = func() {
		close(quit)
		<-done
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

// waitFirst waits on the caller's goroutine for the first data (or the end
// of it) into buf, unless a refusal comes first (wake, or pollFirst). It
// reports whether one did.
func (t *transfer) waitFirst(buf *bufio.Reader) (woken bool, err error) {
	if t.poll != nil {
		return t.pollFirst(buf)
	}
	t.wakeMu.Lock()
	if t.woken {
		t.wakeMu.Unlock()
		return true, nil
	}
	t.waiting = true
	t.wakeMu.Unlock()
	_, err = buf.Peek(1)
	t.wakeMu.Lock()
	defer t.wakeMu.Unlock()
	t.waiting = false
	if t.woken {
		t.watch.cap(time.Time{})
	}
	return t.woken, err
}

// pollFirst is waitFirst with the poller: it waits on both connections,
// reads each reply as it comes, and ends at the first data, the end of the
// data, a refusal, or when nothing at all came within the timeout
// (errNoAnswer).
func (t *transfer) pollFirst(buf *bufio.Reader) (woken bool, err error) {
	p := t.poll
	if p.add(t.data) != nil {
		t.background()
		return t.waitFirst(buf)
	}
	defer p.remove(t.data)
	p.watch.start(t.ctx)
	defer p.watch.stop()
	for !t.complete() {
		if t.c.ctl.text.R.Buffered() == 0 { // else a reply is in already
			data, err := p.wait()
			if err != nil {
				return false, t.pollErr(err)
			}
			if data {
				break
			}
		}
		t.got = append(t.got, t.readOne(len(t.got)))
	}
	if t.complete() && t.got[len(t.got)-1].refusal() {
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

// announced returns the size in a 150 reply's "(N bytes)", or -1.
func (t *transfer) announced() int64 {
	for _, g := range t.got {
		if g.r == nil || g.r.class() != 1 {
			continue
		}
		for _, line := range g.r.Lines {
			if n, ok := bytesInParens(line); ok {
				return n
			}
		}
	}
	return -1
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
	t.c.ctl.watch.extend()
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
	t.c.ctl.watch.extend()
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

// finish closes the data connection after the data ended and waits for the
// final reply, which must be 2xx, then for the answers to keepalive NOOPs
// still owed.
func (t *transfer) finish() error {
	t.closeData(false)
	if err := t.await(t.complete); err != nil {
		return err
	}
	if err := t.failed(); err != nil {
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
	if t.stopKeepAlive != nil {
		t.stopKeepAlive()
		t.stopKeepAlive = nil
	}
	t.c.cur.CompareAndSwap(t, nil)
	t.low.release()
	if t.data == nil {
		return
	}
	if t.refused() {
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

// refused reports whether the server refused the command outright (a
// negative first reply), so the data connection was never used.
func (t *transfer) refused() bool {
	return len(t.got) > 0 && t.got[0].err == nil && t.got[0].r.class() >= 4
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
