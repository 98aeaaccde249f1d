package ftp

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
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
// reports keep coming on a slow link too. Under a rate limit
// (WithRateLimit) a chunk is at most a piece of the limit, and waits for
// it after it moved: the bytes still bypass this process.

const (
	minChunk      = 64 << 10
	maxChunk      = 64 << 20
	progressEvery = 250 * time.Millisecond
)

// zeroCopyChunks counts the chunks moved by splice or sendfile, for the
// tests that check which path a transfer took.
var zeroCopyChunks atomic.Int64

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
		t.c.ctl.reads.extend()
		start := time.Now()
		want := t.rateChunk(ch.size)
		n, err := f.ReadFrom(&io.LimitedReader{R: tc, N: want})
		total += n
		t.moved(n)
		zeroCopyChunks.Add(1)
		if err != nil {
			return total, t.dataErr(err)
		}
		if err := t.rateWait(int(n)); err != nil {
			return total, err
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
		t.c.ctl.reads.extend()
		start := time.Now()
		want := t.rateChunk(ch.size)
		if limit >= 0 {
			if want = min(want, limit-total); want == 0 {
				return total, nil
			}
		}
		n, err := tc.ReadFrom(&io.LimitedReader{R: f, N: want})
		total += n
		t.moved(n)
		zeroCopyChunks.Add(1)
		if err != nil {
			var ne *net.OpError
			if errors.As(err, &ne) && t.werr == nil {
				t.werr = t.dataErr(err) // the network side failed
			}
			return total, t.dataErr(err)
		}
		if err := t.rateWait(int(n)); err != nil {
			return total, err
		}
		if n < want {
			return total, nil // the end of the file
		}
		ch.took(n, time.Since(start))
	}
}
