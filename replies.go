package ftp

import (
	"context"
	"sync"
	"time"
)

// replies are the replies to one transfer command: preliminary ones (1xx),
// then the final one. They are the one way a transfer hears the server.
//
// The caller's goroutine reads them (next), except while it is busy on the
// data connection and a refusal must reach it there (an upload past its
// first quietUpload bytes, an active-mode accept, a download's wait for
// its first data where no poller waits on both connections): listen then
// has a goroutine read them, up to the final one, and hand each over. A
// reply cannot be handed back half read, so a listener runs until the
// final reply. While guarded, a refusal it reads also interrupts what the
// caller waits on (the data connection's deadline).
type replies struct {
	ctl   *control
	cmd   string          // the command line, for errors
	quiet context.Context // the caller's context without its cancellation
	got   []replyResult   // read so far
	ch    chan replyResult

	mu        sync.Mutex
	refused   bool   // the listener read a refusal, or failed
	interrupt func() // called on a refusal while guarded
}

// replyResult is one reply to a transfer command, or why none came.
type replyResult struct {
	r   *Reply
	err error
}

// refusal reports whether the reply refuses the command, or none came: no
// data will follow, though the server may keep the data connection open.
func (res replyResult) refusal() bool {
	return res.err != nil || res.r.class() >= 4
}

// maxPreliminary bounds the 1xx replies read for one transfer.
const maxPreliminary = 4

func newReplies(ctl *control, ctx context.Context, cmd string) *replies {
	return &replies{ctl: ctl, cmd: cmd, quiet: context.WithoutCancel(ctx)}
}

// listen has a goroutine read the replies from now on, unless one does.
func (r *replies) listen() {
	if r.ch != nil || r.complete() {
		return
	}
	r.ch = make(chan replyResult, maxPreliminary)
	go func() {
		for i := len(r.got); ; i++ {
			res := r.read(i)
			if res.refusal() {
				r.refuse()
			}
			r.ch <- res
			if res.err != nil || res.r.class() != 1 {
				return
			}
		}
	}()
}

// refuse records a refusal read by the listener and interrupts the caller
// if it is guarded.
func (r *replies) refuse() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refused = true
	if r.interrupt != nil {
		r.interrupt()
	}
}

// guard has a refusal read by the listener call interrupt from now on, and
// reports whether one came already (interrupt is then not called). The
// caller's goroutine calls it.
func (r *replies) guard(interrupt func()) (refused bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.complete() && r.last().refusal() {
		r.refused = true
	}
	if !r.refused {
		r.interrupt = interrupt
	}
	return r.refused
}

// unguard ends guard, and reports whether a refusal came meanwhile.
func (r *replies) unguard() (refused bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.interrupt = nil
	return r.refused
}

// read reads the next reply, after i others. More than one 1xx is
// tolerated: pure-ftpd sends a second 150 with its statistics when a
// download is aborted. It ignores the caller's cancellation (which
// interrupts the data connection instead, followed by ABOR), so that the
// control connection stays in step; its wait is bounded by the timeout,
// pushed forward while data move.
func (r *replies) read(i int) replyResult {
	reply, err := r.ctl.readReply(r.quiet, r.cmd)
	if err == nil && reply.class() == 1 && i == maxPreliminary-1 {
		err = errorf("%w: %d preliminary replies to %s", ErrMalformedReply, maxPreliminary, r.cmd)
		r.ctl.close(err)
	}
	return replyResult{reply, err}
}

// next reads one more reply, from the listener if one runs.
func (r *replies) next() {
	var res replyResult
	if r.ch != nil {
		res = <-r.ch
	} else {
		res = r.read(len(r.got))
	}
	r.got = append(r.got, res)
}

// pending is the channel to select on for the next reply: nil when no
// listener runs or all replies have come.
func (r *replies) pending() <-chan replyResult {
	if r.complete() {
		return nil
	}
	return r.ch
}

// take records a reply received from pending.
func (r *replies) take(res replyResult) { r.got = append(r.got, res) }

// complete reports whether the final reply (or a failure) has arrived.
func (r *replies) complete() bool {
	n := len(r.got)
	return n > 0 && (r.got[n-1].err != nil || r.got[n-1].r.class() != 1)
}

// last returns the reply read last; there must be one.
func (r *replies) last() replyResult { return r.got[len(r.got)-1] }

// final waits for the final reply and returns it.
func (r *replies) final() replyResult {
	for !r.complete() {
		r.next()
	}
	return r.last()
}

// await waits for replies until enough have come, or ctx ends: that caps
// the control connection's read deadline, so the wait fails at once and
// the connection is closed (the reply still owed would put it out of
// step). It returns the context's error then.
func (r *replies) await(ctx context.Context, enough func() bool) error {
	if enough() {
		return nil
	}
	stop := r.onCancel(ctx)
	for !enough() {
		r.next()
	}
	if stop() && r.last().err != nil {
		return errorf("%s: waiting for the server's reply: %w", r.cmd, ctxErr(ctx))
	}
	return nil
}

// onCancel makes the end of ctx fail the control connection's reads at
// once, until the returned function is called; that lifts the cap and
// reports whether ctx ended.
func (r *replies) onCancel(ctx context.Context) (stop func() bool) {
	if ctx.Done() == nil {
		return neverCancelled
	}
	var mu sync.Mutex
	var over, fired bool
	release := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !over {
			fired = true
			r.ctl.reads.cap(aLongTimeAgo)
		}
	})
	return func() bool {
		release()
		mu.Lock()
		defer mu.Unlock()
		over = true
		if fired {
			r.ctl.reads.cap(time.Time{})
		}
		return fired
	}
}

// failed returns the error of a complete transfer whose final reply is
// not 2xx, or nil.
func (r *replies) failed(tls bool) error {
	if !r.complete() {
		return nil
	}
	f := r.last()
	switch {
	case f.err != nil:
		return f.err
	case f.r.class() != 2 && tls:
		return reuseHint(replyError(r.cmd, f.r))
	case f.r.class() != 2:
		return replyError(r.cmd, f.r)
	}
	return nil
}

// refusedOutright reports whether the first reply refused the command, so
// the data connection was never used.
func (r *replies) refusedOutright() bool {
	return len(r.got) > 0 && r.got[0].err == nil && r.got[0].r.class() >= 4
}

// announced returns the size in a 150 reply's "(N bytes)", or -1.
func (r *replies) announced() int64 {
	for _, g := range r.got {
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
