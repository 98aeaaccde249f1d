package ftp

import (
	"context"
	"io"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// rateBurst is the burst of a rate limit: the most data that may move at
// once after a pause, and the largest piece of data that waits for the
// limit at a time. A 64 KiB write (the first piece of an upload, a
// zero-copy chunk) passes in one piece at every rate.
const rateBurst = 64 << 10

// WithRateLimit limits the data of transfers (downloads, uploads and
// listings, by every path, zero-copy included) to bytesPerSecond, averaged
// by a token bucket (golang.org/x/time/rate) with a 64 KiB burst. The
// control connection is not limited. Zero or less sets no limit.
//
// The limit belongs to the Option value: every Conn dialled with it
// shares it, so a Pool made with WithRateLimit holds all its connections
// together to the rate, as ftpsync --limit-rate does; give each Conn its
// own WithRateLimit for separate limits.
//
// Data waits for the limit after it moved, in pieces small enough that
// no wait approaches the idle timeout (WithTimeout); cancelling the
// context ends a wait at once.
func WithRateLimit(bytesPerSecond int64) Option {
	var l *rateLimit
	if bytesPerSecond > 0 {
		l = &rateLimit{lim: rate.NewLimiter(rate.Limit(bytesPerSecond), rateBurst), now: time.Now, sleep: sleepCtx}
	}
	return func(c *config) { c.limit = l }
}

// rateLimit is the limiter of WithRateLimit. now and sleep are the clock,
// which tests replace.
type rateLimit struct {
	lim   *rate.Limiter
	mu    sync.Mutex // guards now and sleep's clock in tests
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// piece is the most data that may move before a wait for the limit: a
// burst, or less where the limit is so low that a burst would take a
// quarter of the idle timeout.
func (l *rateLimit) piece(timeout time.Duration) int {
	n := float64(l.lim.Limit()) * (timeout / 4).Seconds()
	return int(min(max(n, 1), rateBurst))
}

// wait waits until n more bytes (at most a burst) are within the limit.
func (l *rateLimit) wait(ctx context.Context, n int) error {
	if n <= 0 {
		return nil
	}
	l.mu.Lock()
	r := l.lim.ReserveN(l.now(), n)
	d := r.DelayFrom(l.now())
	l.mu.Unlock()
	if d <= 0 {
		return nil
	}
	if err := l.sleep(ctx, d); err != nil {
		r.Cancel()
		return err
	}
	return nil
}

// sleepCtx sleeps for d, or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// limitedRead is t.read within the rate limit, if one is set: Response
// reads through it.
func (t *transfer) limitedRead(p []byte) (int, error) {
	l := t.c.cfg.limit
	if l == nil {
		return t.read(p)
	}
	n, err := t.read(p[:min(len(p), l.piece(t.c.cfg.timeout))])
	if werr := t.rateWait(n); werr != nil && (err == nil || err == io.EOF) {
		err = werr
	}
	return n, err
}

// limitedWrite is t.write within the rate limit, if one is set: uploads
// write through it.
func (t *transfer) limitedWrite(p []byte) (int, error) {
	l := t.c.cfg.limit
	if l == nil {
		return t.write(p)
	}
	piece, n := l.piece(t.c.cfg.timeout), 0
	for len(p) > 0 {
		m, err := t.write(p[:min(len(p), piece)])
		n += m
		if err == nil {
			err = t.rateWait(m)
		}
		if err != nil {
			return n, err
		}
		p = p[m:]
	}
	return n, nil
}

// rateChunk caps a zero-copy chunk to a piece of the rate limit, if one
// is set.
func (t *transfer) rateChunk(size int64) int64 {
	if l := t.c.cfg.limit; l != nil {
		return min(size, int64(l.piece(t.c.cfg.timeout)))
	}
	return size
}

// rateWait waits for n bytes moved to be within the rate limit, if one is
// set. A cancelled wait is the transfer's error, as a cancelled read is.
func (t *transfer) rateWait(n int) error {
	l := t.c.cfg.limit
	if l == nil {
		return nil
	}
	if err := l.wait(t.ctx, n); err != nil {
		return errorf("%s: %w", t.cmd, err)
	}
	return nil
}
