package ftp

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// Large transfers between a file and a plain TCP data connection go
// through the kernel's zero-copy paths (splice for downloads into a file,
// sendfile for uploads from one), which Go uses when *os.File and
// *net.TCPConn meet in ReadFrom. The bytes then never pass through this
// process, which leaves the CPU to the server on a shared machine.
//
// One call would move the whole file with no chance to push the idle
// deadline forward, so the copy goes in chunks: each is sized to take about
// a quarter of the timeout at the rate of the one before, and the deadline
// moves after each. A stall still ends within the timeout; a slow link gets
// small chunks, a fast one large ones. A transfer that reports progress
// (WithProgress) takes chunks of at most progressEvery, so that its
// reports keep coming on a slow link too.

const (
	minChunk      = 64 << 10
	maxChunk      = 64 << 20
	progressEvery = 250 * time.Millisecond
)

// chunker sizes the chunks of a zero-copy transfer.
type chunker struct {
	every time.Duration // the time a chunk should take
	size  int64
}

// newChunker returns the chunker of t.
func (t *transfer) newChunker() *chunker {
	every := t.c.cfg.timeout / 4
	if t.onData != nil {
		every = min(every, progressEvery)
	}
	return &chunker{every: every, size: minChunk}
}

// took adjusts the next chunk after n bytes took d.
func (c *chunker) took(n int64, d time.Duration) {
	if d <= 0 {
		d = time.Microsecond
	}
	rate := float64(n) / d.Seconds()
	c.size = min(max(int64(rate*c.every.Seconds()), minChunk), maxChunk)
}

// spliceTo moves the rest of a download into f, chunk by chunk. It returns
// at the end of the data (done) or on an error.
func (t *transfer) spliceTo(tc *net.TCPConn, f *os.File) (int64, error) {
	t.low.release() // splice waits on the socket without its patience timer
	ch := t.newChunker()
	var total int64
	for {
		t.watch.extend()
		t.c.ctl.watch.extend()
		start := time.Now()
		want := ch.size
		n, err := f.ReadFrom(&io.LimitedReader{R: tc, N: want})
		total += n
		t.moved(n)
		if err != nil {
			return total, t.dataErr(err)
		}
		if n < want {
			return total, nil // the data connection reached its end
		}
		ch.took(n, time.Since(start))
	}
}

// sendFrom moves an upload from f to the data connection, chunk by chunk,
// until the end of f or, when limit >= 0, after limit bytes.
func (t *transfer) sendFrom(tc *net.TCPConn, f *os.File, limit int64) (int64, error) {
	ch := t.newChunker()
	var total int64
	for {
		t.watch.extend()
		t.c.ctl.watch.extend()
		start := time.Now()
		want := ch.size
		if limit >= 0 {
			if want = min(want, limit-total); want == 0 {
				return total, nil
			}
		}
		n, err := tc.ReadFrom(&io.LimitedReader{R: f, N: want})
		total += n
		t.moved(n)
		if err != nil {
			var ne *net.OpError
			if errors.As(err, &ne) && t.werr == nil {
				t.werr = t.dataErr(err) // the network side failed
			}
			return total, t.dataErr(err)
		}
		if n < want {
			return total, nil // the end of the file
		}
		ch.took(n, time.Since(start))
	}
}

// plainTCP returns the data connection as a *net.TCPConn when nothing
// (TLS) stands between it and the kernel.
func (t *transfer) plainTCP() (*net.TCPConn, bool) {
	tc, ok := t.data.(*net.TCPConn)
	return tc, ok
}

// copyFrom sends an upload's data, and stops at once if the server
// refuses meanwhile (wake): a server may keep the data connection open
// after its refusal, and read nothing. Without a goroutine reading the
// replies (a transfer with the poller), the first quietUpload bytes go
// out alone: the socket buffers take that much whatever the server does,
// so an upload of small files never hands a reply across goroutines.
// Past that, a goroutine reads the replies.
func (t *transfer) copyFrom(r io.Reader) (int64, error) {
	var n int64
	if t.replies == nil {
		var err error
		if n, err = t.copyUpTo(r, quietUpload); err != nil || n < quietUpload {
			return n, err
		}
		t.background()
	}
	if t.watchData() {
		t.werr = fmt.Errorf("ftp: %s: refused while its data went out", t.cmd)
		return n, t.werr
	}
	m, err := t.copyUpTo(r, -1)
	return n + m, err
}

// quietUpload is what an upload sends before anything reads its replies.
// Linux buffers at least 16 KiB to send and 128 KiB to receive on a TCP
// connection by default (tcp_wmem, tcp_rmem).
const quietUpload = 64 << 10

// copyUpTo sends r, or limit bytes of it when limit >= 0: by sendfile from
// an *os.File (or an io.LimitedReader of one) over plain TCP, else by
// copying.
func (t *transfer) copyUpTo(r io.Reader, limit int64) (int64, error) {
	if tc, ok := t.plainTCP(); ok {
		switch src := r.(type) {
		case *os.File:
			return t.sendFrom(tc, src, limit)
		case *io.LimitedReader:
			if f, ok := src.R.(*os.File); ok {
				want := max(src.N, 0)
				if limit >= 0 {
					want = min(want, limit)
				}
				n, err := t.sendFrom(tc, f, want)
				src.N -= n
				return n, err
			}
		}
	}
	if limit < 0 {
		return io.Copy(writerFunc(t.write), r)
	}
	n, err := io.CopyN(writerFunc(t.write), r, limit)
	if err == io.EOF {
		err = nil // r ended first
	}
	return n, err
}

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
