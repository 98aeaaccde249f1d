package ftp

import (
	"context"
	"net"
	"time"
)

// abortTimeout bounds the ABOR exchange that ends a transfer early.
const abortTimeout = 10 * time.Second

// abortGrace bounds the ABOR exchange of a transfer whose context has
// ended: the caller wants to return, and gets a usable Conn back only if
// the server is quick about it. Cancelling the context during the
// exchange ends it at once.
const abortGrace = time.Second

// park keeps the unused data connection of a refused transfer open until
// the next PASV, EPSV, PORT or EPRT has been answered, when the server has
// let go of it. pyftpdlib answers "226 Transfer complete" whenever the
// client closes an idle data connection, a reply to no command that would
// put the control connection out of step.
func (c *Conn) park(conn net.Conn) {
	conn.SetDeadline(aLongTimeAgo) // wakes any reader
	c.unpark()
	c.parked = conn
}

// unpark closes a parked data connection, if any.
func (c *Conn) unpark() {
	if c.parked != nil {
		c.parked.Close()
		c.parked = nil
	}
}

// abandon ends a transfer that cannot go on: it tells the server with
// ABOR, resets the data connection, and reads every reply the server
// still owes, so the control connection stays in step; if that fails the
// connection is closed. The exchange is bounded (abortTimeout, or
// abortGrace once the transfer's context has ended) and cancelling the
// context ends it at once. It returns cause, noting a closed connection.
func (t *transfer) abandon(cause error) error {
	c := t.c
	if c.pipe.probing && t.rep.refusedOutright() {
		c.pipe.probing = false // refused: no upload ran, the next one probes (pipeline.go)
	}
	if t.rep.complete() && c.ctl.noops.Load() == 0 {
		t.closeData(true)
		return cause
	}
	limit := min(abortTimeout, c.cfg.timeout)
	base := t.ctx
	if t.ctx.Err() != nil {
		limit = min(limit, abortGrace)
		base = context.WithoutCancel(t.ctx)
	}
	ctx, cancel := context.WithTimeout(base, limit)
	defer cancel()
	deadline, _ := ctx.Deadline()
	c.ctl.reads.cap(deadline) // also a listener's reads
	defer c.ctl.reads.cap(time.Time{})
	stop := t.rep.onCancel(ctx)
	defer stop()
	t.endKeepAlive()
	var err error
	if !t.rep.complete() {
		// ABOR goes out while the data connection is still open: some
		// servers drop the whole session when it closes first, and the
		// lab's four take either order (bench/DECISIONS.md).
		err = c.ctl.sendAside(ctx, "ABOR")
	}
	t.closeData(true)
	if ferr := t.rep.final().err; ferr != nil {
		err = ferr // why the connection failed, if it did: it says more than ABOR's write
	}
	if err == nil {
		err = c.resync(ctx)
	}
	switch {
	case err == nil:
		return cause
	case cause == nil:
		return errorf("%w (aborting the transfer closed the connection)", err)
	}
	return errorf("%w (aborting the transfer closed the connection: %w)", cause, err)
}

// resync reads what the server still owes (the ABOR reply, or nothing from
// servers that send none; the answers to keepalive NOOPs) up to the reply
// of a PWD sent as a marker: 257 answers nothing but PWD, so the stream is
// in step after it.
func (c *Conn) resync(ctx context.Context) error {
	owed := int(c.ctl.noops.Load())
	r, err := c.ctl.exchange(ctx, "PWD")
	for i := 0; err == nil && r.Code != 257; i++ {
		if i == 8+owed {
			err = errorf("%w: no PWD reply after %d others", ErrMalformedReply, i)
			c.ctl.close(err)
			break
		}
		r, err = c.ctl.readReply(ctx, "ABOR")
	}
	if err == nil {
		c.ctl.noops.Store(0)
	}
	return err
}
