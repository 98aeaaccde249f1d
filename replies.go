package ftp

import (
	"context"
	"sync"
	"time"
)

// replyResult is one reply to a transfer command, or why none came.
type replyResult struct {
	r   *Reply
	err error
}

// background has a goroutine read the replies (readReplies) from now on.
func (t *transfer) background() {
	t.poll = nil
	t.replies = make(chan replyResult, maxPreliminary)
	go t.readReplies(len(t.got))
}

// readReplies reads the replies to the command up to the final one (the
// first that is not 1xx), after the first read ones, and sends each on
// t.replies; the last one sent always completes the transfer, so a
// receiver never waits for nothing. A refusal wakes the caller if it still
// waits for the first data (wake).
func (t *transfer) readReplies(read int) {
	for i := read; ; i++ {
		res := t.readOne(i)
		if res.refusal() {
			t.wake()
		}
		t.replies <- res
		if res.err != nil || res.r.class() != 1 {
			return
		}
	}
}

// readOne reads the next reply, after i others. More than one 1xx is
// tolerated: pure-ftpd sends a second 150 with its statistics when a
// download is aborted. It ignores the caller's cancellation (which
// interrupts the data connection instead, followed by ABOR), so that the
// control connection stays in step; its wait is bounded by the timeout,
// pushed forward while data moves.
func (t *transfer) readOne(i int) replyResult {
	r, err := t.c.ctl.readReply(t.quiet, t.cmd)
	if err == nil && r.class() == 1 && i == maxPreliminary-1 {
		err = errorf("%w: %d preliminary replies to %s", ErrMalformedReply, maxPreliminary, t.cmd)
		t.c.ctl.close(err)
	}
	return replyResult{r, err}
}

// next returns the next reply: from the background reader if one runs,
// else read here.
func (t *transfer) next() replyResult {
	if t.replies != nil {
		return <-t.replies
	}
	return t.readOne(len(t.got))
}

// refusal reports whether the reply refuses the command, or none came: no
// data will follow, though the server may keep the data connection open.
func (res replyResult) refusal() bool {
	return res.err != nil || res.r.class() >= 4
}

// wake ends the caller's wait for the first data or its upload, or spares
// it the wait: the server refused the command (or the control connection
// failed), so no data will come or be taken, though the server may keep
// the data connection open.
func (t *transfer) wake() {
	t.wakeMu.Lock()
	defer t.wakeMu.Unlock()
	t.woken = true
	if t.waiting {
		t.watch.cap(aLongTimeAgo)
	}
}

// watchData has a refusal interrupt the data connection from now on
// (wake), for an upload's data; it reports whether one came already.
func (t *transfer) watchData() (woken bool) {
	t.wakeMu.Lock()
	defer t.wakeMu.Unlock()
	t.waiting = true
	return t.woken
}

// maxPreliminary bounds the 1xx replies read for one transfer.
const maxPreliminary = 4

// complete reports whether the final reply (or a failure) has arrived.
func (t *transfer) complete() bool {
	n := len(t.got)
	return n > 0 && (t.got[n-1].err != nil || t.got[n-1].r.class() != 1)
}

// replyCh is the channel to wait on for the next reply, nil when all
// have come.
func (t *transfer) replyCh() chan replyResult {
	if t.complete() {
		return nil
	}
	return t.replies
}

// final waits for the final reply and returns it.
func (t *transfer) final() replyResult {
	for !t.complete() {
		t.got = append(t.got, t.next())
	}
	return t.got[len(t.got)-1]
}

// await waits for replies until enough have come, or the transfer's
// context ends: that caps the control connection's deadline, so the wait
// fails at once and the connection is closed (the reply still owed would
// put it out of step). It returns the context's error then.
func (t *transfer) await(enough func() bool) error {
	if enough() {
		return nil
	}
	stop := t.onCancel()
	for !enough() {
		t.got = append(t.got, t.next())
	}
	if stop() {
		if last := t.got[len(t.got)-1]; last.err != nil {
			return errorf("%s: waiting for the server's reply: %w", t.cmd, ctxErr(t.ctx))
		}
	}
	return nil
}

// onCancel makes the end of the transfer's context fail the control
// connection's reads and writes at once (by capping its deadline), until
// the returned function is called; that lifts the cap and reports whether
// the context ended.
func (t *transfer) onCancel() (stop func() bool) {
	if t.ctx.Done() == nil {
		return neverCancelled
	}
	var mu sync.Mutex
	var over, fired bool
	release := context.AfterFunc(t.ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !over {
			fired = true
			t.c.ctl.watch.cap(aLongTimeAgo)
		}
	})
	return func() bool {
		release()
		mu.Lock()
		defer mu.Unlock()
		over = true
		if fired {
			t.c.ctl.watch.cap(time.Time{})
		}
		return fired
	}
}

// failed returns the error of a completed transfer whose final reply is
// not 2xx, or nil.
func (t *transfer) failed() error {
	if !t.complete() {
		return nil
	}
	f := t.got[len(t.got)-1]
	switch {
	case f.err != nil:
		return f.err
	case f.r.class() != 2 && t.c.tls != nil:
		return reuseHint(replyError(t.cmd, f.r))
	case f.r.class() != 2:
		return replyError(t.cmd, f.r)
	}
	return nil
}
