package ftp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
)

// Response is a download in progress: an io.ReadCloser and io.WriterTo
// over the data connection. Read returns io.EOF only after the server's
// final reply confirmed the transfer; a transfer that failed or ended
// short is an error instead, so io.Copy reports it. Close before the end
// aborts the transfer (ABOR) and leaves the Conn usable. Until Close, the
// Conn refuses other calls with ErrBusy.
type Response struct {
	t      *transfer
	buf    *bufio.Reader
	offset int64
	err    error // the outcome, once known
	done   bool  // the final reply has been read
	closed bool
	free   func() // makes the Conn free for other calls

	ascii        *crlfDecoder // an ASCII download's text, or nil (RetrASCII)
	typeRestored bool         // TYPE I was sent back after it
}

// Read reads downloaded data.
func (r *Response) Read(p []byte) (int, error) {
	if r.done || r.closed {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	var n int
	var err error
	if r.ascii != nil {
		n, err = r.ascii.Read(p)
	} else {
		n, err = r.buf.Read(p)
	}
	switch {
	case err == io.EOF:
		r.done = true
		if r.err = r.end(); r.err != nil {
			return n, r.err
		}
	case err != nil:
		r.err = err
	}
	return n, err
}

// report has f told of each piece of the download's data as it arrives,
// by whatever path (splice included), starting with what has been read
// already.
func (r *Response) report(f func(n int64)) {
	r.t.onData = f
	if r.t.n > 0 {
		f(r.t.n)
	}
}

// end completes a download that reached the end of its data.
func (r *Response) end() error {
	err := r.t.finish()
	if terr := r.restoreType(); err == nil {
		err = terr
	}
	if err != nil {
		return err
	}
	if want := r.t.rep.announced(); want >= 0 && r.offset == 0 && r.t.n < want && r.ascii == nil {
		return errorf("%s: %w: received %d of %d bytes", r.t.cmd, ErrShortTransfer, r.t.n, want)
	}
	return nil
}

// WriteTo writes the rest of the download to w; it returns an error, not
// a short count, when the transfer fails.
func (r *Response) WriteTo(w io.Writer) (int64, error) {
	if f, ok := w.(*os.File); ok && !r.done && !r.closed && r.ascii == nil {
		if tc, ok := r.t.plainTCP(); ok {
			return r.spliceTo(tc, f)
		}
	}
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	buf := *bp
	var total int64
	for {
		n, err := r.fill(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// fill reads into buf until it is at least half full or the data end, so
// that WriteTo writes in large pieces even when reads return little at a
// time (a TLS record is at most 16 KiB). It reads at most readPiece at a
// time.
func (r *Response) fill(buf []byte) (int, error) {
	n := 0
	for n < len(buf)/2 {
		m, err := r.Read(buf[n:min(n+r.t.low.piece(), len(buf))])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Close ends the download. After the end of the data it returns the
// transfer's outcome; before it, it aborts the transfer and returns nil if
// the Conn is still usable. Either way the Conn is free for other calls.
func (r *Response) Close() error {
	if r.closed {
		return r.err
	}
	r.closed = true
	if !r.done {
		if err := r.t.abandon(nil); err != nil && r.err == nil {
			r.err = err
		}
	}
	if err := r.restoreType(); err != nil && r.err == nil {
		r.err = err
	}
	r.free()
	return r.err
}

// Retr starts downloading a file (RETR). Read the Response to the end and
// Close it; the Conn serves no other call until then.
//
// A download shorter than the size the server announced in its 150 reply
// ("(N bytes)") is ErrShortTransfer even if the server says 226. Retr
// sends no SIZE of its own (a round trip per file, and a size that may
// change while the file is being written): a caller that fetched
// FileSize must compare it with the bytes read, as a resumable download
// does.
func (c *Conn) Retr(ctx context.Context, path string) (*Response, error) {
	return c.RetrFrom(ctx, path, 0)
}

// RetrFrom starts downloading a file from byte offset on (REST, then RETR),
// to resume a download.
func (c *Conn) RetrFrom(ctx context.Context, path string, offset int64) (*Response, error) {
	if offset < 0 {
		return nil, errorf("RetrFrom %s: negative offset %d", path, offset)
	}
	return c.download(ctx, path, offset, false)
}

// download starts a transfer that reads data and returns once the first
// data has arrived or the data has ended, or the server has refused the
// command: a refusal (no such file) is returned here even from a server
// that keeps the data connection open, and a server that sends no 1xx at
// all does not stall.
//
// With ascii, the transfer runs in TYPE A (RetrASCII) and TYPE I is
// restored after it.
func (c *Conn) download(ctx context.Context, path string, offset int64, ascii bool) (*Response, error) {
	unlock, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if ascii {
		if err := c.setType(ctx, "A"); err != nil {
			return nil, err
		}
	}
	r, err := c.startDownload(ctx, "RETR", path, offset)
	if err != nil {
		if ascii {
			if terr := c.setType(ctx, "I"); terr != nil {
				return nil, errorf("%w (%w)", err, terr)
			}
		}
		return nil, err
	}
	if ascii {
		r.ascii = &crlfDecoder{src: r.buf}
	}
	c.busy = true
	r.free = func() {
		c.mu.Lock()
		c.busy = false
		c.mu.Unlock()
	}
	return r, nil
}

// startDownload starts a download for a caller that holds the lock until
// the Response is closed.
func (c *Conn) startDownload(ctx context.Context, verb, arg string, offset int64) (*Response, error) {
	t, err := c.startTransfer(ctx, verb, arg, offset)
	if err != nil {
		return nil, err
	}
	r := &Response{t: t, offset: offset, free: func() {}}
	// A small buffer: it holds the first byte that tells data has come;
	// reads as large as it go around it, straight into the caller's buffer.
	r.buf = bufio.NewReaderSize(readerFunc(t.limitedRead), 4<<10)
	if c.cfg.beforeFirst != nil {
		c.cfg.beforeFirst(t)
	}
	refused, err := t.waitFirst(r.buf)
	if err == nil && !refused {
		return r, nil // data: the transfer is on
	}
	if t.watch.cancelErr() != nil || errors.Is(err, errNoAnswer) {
		return nil, t.abandon(err)
	}
	// No data, only an end or a failure: wait for the reply that says why
	// (the refusal, if one came).
	enough := func() bool { return len(t.rep.got) > 0 }
	if refused {
		enough = t.rep.complete
	}
	if werr := t.rep.await(t.ctx, enough); werr != nil {
		t.closeData(true)
		return nil, werr
	}
	if err := t.rep.failed(c.tls != nil); err != nil {
		t.closeData(true)
		return nil, err
	}
	if err != nil && err != io.EOF { // the server is on, the data connection is not
		return nil, t.abandon(err)
	}
	return r, nil
}

// readPiece bounds each read of WriteTo from a plain data connection
// until its receive low-water mark is up (then a read takes the mark's
// 128 KiB: lowwater.go). Short reads keep a fast sender going: the
// kernel holds the socket while it copies a read out (bench/DECISIONS.md).
const readPiece = 16 << 10

// copyBuffers recycles the buffers of Response.WriteTo, so that many small
// downloads do not each allocate one.
var copyBuffers = sync.Pool{New: func() any {
	b := make([]byte, 128<<10)
	return &b
}}

// spliceTo writes the rest of a download into f: what the reader has
// buffered, then the data connection by splice.
func (r *Response) spliceTo(tc *net.TCPConn, f *os.File) (int64, error) {
	var total int64
	if n := r.buf.Buffered(); n > 0 {
		b, _ := r.buf.Peek(n)
		m, err := f.Write(b)
		total += int64(m)
		r.buf.Discard(m)
		if err != nil {
			return total, err
		}
	}
	n, err := r.t.spliceTo(tc, f)
	total += n
	if err != nil {
		r.err = err
		return total, err
	}
	r.done = true
	r.err = r.end()
	return total, r.err
}
