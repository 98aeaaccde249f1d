package ftp

import (
	"context"
	"sync"
	"time"
)

// aLongTimeAgo is a deadline in the past: setting it interrupts a blocked
// read or write at once.
var aLongTimeAgo = time.Unix(1, 0)

// watchdog applies a context and an idle timeout to a deadline (a data
// connection's, a poller's, or one direction of the control connection)
// for the span of one operation: start arms it, extend pushes the idle
// deadline forward after progress, stop disarms it. Cancelling the
// context interrupts a blocked read or write at once. It is the only code
// that sets a deadline; one goroutine at a time uses each watchdog.
//
// Setting a deadline costs a runtime timer update, which may wake the
// network poller's thread, so a deadline moves at most once per sixteenth
// of the timeout, also across operations: every read and write happens
// between start and stop, so stop leaves the deadline in force, and a
// plain idle deadline set less than timeout/16 ago still bounds the next
// operation to between 15/16 of the timeout and the timeout.
type watchdog struct {
	set     func(time.Time) error // SetDeadline, SetReadDeadline or SetWriteDeadline
	timeout time.Duration

	mu        sync.Mutex
	ctx       context.Context
	gen       uint64 // which start the cancellation callback belongs to
	cancelled bool
	active    bool      // between start and stop
	limit     time.Time // no deadline later than this, when set
	setAt     time.Time // when extend last moved the deadline; zero: move it next time
	plain     bool      // the deadline in force is setAt + timeout, bound to no context or cap
	release   func() bool
}

func newWatchdog(set func(time.Time) error, timeout time.Duration) *watchdog {
	return &watchdog{set: set, timeout: timeout}
}

func (w *watchdog) start(ctx context.Context) {
	w.mu.Lock()
	w.gen++
	gen := w.gen
	w.ctx, w.cancelled, w.active = ctx, false, true
	if _, ok := ctx.Deadline(); ok || !w.plain {
		w.setAt = time.Time{}
	}
	w.mu.Unlock()
	w.extend()
	if ctx.Done() == nil { // a context that is never cancelled
		w.release = neverCancelled
		return
	}
	w.release = context.AfterFunc(ctx, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.gen == gen {
			w.cancelled, w.plain = true, false
			w.set(aLongTimeAgo)
		}
	})
}

// neverCancelled is the release of a context.AfterFunc for a context that
// is never cancelled (Background, WithoutCancel), which needs none.
func neverCancelled() bool { return false }

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
// deadline if that is sooner. A deadline moved less than a sixteenth of
// the timeout ago stays where it is: a transfer calls extend before every
// read or write, and a stall then still ends between 15/16 of the timeout
// and the timeout after the last progress, without a timer update per
// read.
func (w *watchdog) extend() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancelled || !w.active {
		return
	}
	now := time.Now()
	if !w.setAt.IsZero() && now.Sub(w.setAt) < w.timeout/16 {
		return
	}
	w.setAt, w.plain = now, true
	d := now.Add(w.timeout)
	if cd, ok := w.ctx.Deadline(); ok && cd.Before(d) {
		d, w.plain = cd, false
	}
	if !w.limit.IsZero() && w.limit.Before(d) {
		d, w.plain = w.limit, false
	}
	w.set(d)
}

// cap brings the deadline forward to d at the latest, for this and later
// operations, until cap is called with the zero time.
func (w *watchdog) cap(d time.Time) {
	w.mu.Lock()
	w.limit, w.setAt, w.plain = d, time.Time{}, false
	w.mu.Unlock()
	w.extend()
}

// stop disarms the watchdog, leaving the deadline in force (see
// watchdog). It returns the context's error if the context ended the
// operation.
func (w *watchdog) stop() error {
	w.release()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.gen++
	w.active = false
	return ctxErr(w.ctx)
}
