package ftp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Pipelining: commands sent before the reply to the one before has come
// (RFC 959 lets the server read them whenever it is ready), so that a
// round trip is paid once for several commands:
//
//   - at login, USER with PASS, and FEAT with TYPE I (each pair one write);
//   - RNFR with RNTO (Rename);
//   - at the end of a transfer, the next transfer's EPSV or PASV, sent as
//     soon as the data connection has ended (a download read to its end,
//     an upload closed): its reply comes behind the final reply of the
//     transfer, and is read with it after an upload, with the next
//     command after a download (see below). The
//     port it names is used by the next transfer of the session, if one
//     comes soon (aheadFresh); else it is left unused, which costs the
//     server a listening socket until the next EPSV or PASV.
//
// The control connection is in step whenever a call returns, but for one
// reply that may still be owed: that of a passive command sent ahead at
// the end of a download that succeeded (a server that sends its final
// reply with the data answers it a round trip later, and the call does
// not wait for it), or of a command deferred (OPTS UTF8 ON). It is the
// next reply read, whatever comes next (control.go owed): the next
// transfer takes its port; any other command, Quit, or a Pool's next
// user reads it first; Close and a Pool's QUIT leave it.
//
// Servers differ in what they do with a command that arrives while a
// transfer runs. A download has ended for the server when the client sees
// its end of data, so its EPSV is safe everywhere; an upload's is not
// (the server may not have read all of it yet). vsftpd answers it after
// the transfer; ProFTPD (450) and Pure-FTPd (500) refuse it during the
// transfer, and pyftpdlib runs it at once, closing the upload's data
// connection without a final reply. So the first upload of a session
// sends a NOOP with STOR, which every server answers harmlessly: a
// server that answers it before the upload's final reply runs commands
// during transfers, and uploads are not pipelined in that session. A
// reply out of turn (a refusal followed by 226, a passive reply before
// the final one) never changes the transfer's outcome, which its own
// reply gives; it turns pipelining off for the session after a download,
// and after an upload when it is a passive reply or refusals grow common
// (outOfTurn). WithoutPipelining turns it all off.

// aheadFresh bounds the age of a passive reply read ahead that a transfer
// still uses: pyftpdlib closes an unused passive port after 30 seconds
// (and says so in an unsolicited 421).
const aheadFresh = 20 * time.Second

// pipeState is what a session knows about pipelining.
type pipeState struct {
	off bool // pipelining is off: WithoutPipelining, or the server mishandled it
	// uploads says whether an upload may be followed by a pipelined
	// command: 0 not known yet (the next upload probes), 1 no, 2 yes.
	uploads int8
	probing bool // the transfer under way probes (a NOOP went with it)
	// pipelinedUp counts the uploads followed by a command sent ahead,
	// refused those of them during which the server refused it.
	pipelinedUp, refused int
	// ready is a passive reply read ahead and not used yet, or nil.
	ready *aheadCmd
}

// aheadCmd is a passive command sent ahead at the end of a transfer.
type aheadCmd struct {
	verb  string // EPSV or PASV
	reply *Reply // its reply, once read
	early bool   // the reply came before the transfer's final reply
	at    time.Time
}

// WithoutPipelining makes the Conn send each command only after the reply
// to the one before: for a server or middlebox that loses commands sent
// ahead (a login that hangs after USER is the sign).
func WithoutPipelining() Option {
	return func(c *config) { c.noPipelining = true }
}

// pipelines reports whether commands may be pipelined in this session.
func (c *Conn) pipelines() bool {
	return !c.cfg.noPipelining && !c.pipe.off
}

// pipelineOff turns pipelining off for the rest of the session.
func (c *Conn) pipelineOff(why string) {
	if !c.pipe.off {
		c.pipe.off = true
		c.ctl.trace("# ", why+": no pipelining from now on")
	}
}

// sendLines sends several command lines in one write, reading nothing;
// every line is checked before any is sent. A failure closes the
// connection.
func (c *control) sendLines(ctx context.Context, lines ...string) error {
	if err := c.closedErr(); err != nil {
		return err
	}
	wire := make([]string, len(lines))
	for i, l := range lines {
		w, err := c.wireLine(l)
		if err != nil {
			return err // nothing sent: the connection stays in step
		}
		wire[i] = w
	}
	c.traceDeferred()
	for _, l := range lines {
		c.trace("> ", mask(l))
	}
	c.writes.start(ctx)
	w := c.text.W
	c.writeDeferred(w)
	for _, l := range wire {
		w.WriteString(l)
		w.WriteString("\r\n")
	}
	err := w.Flush()
	if cerr := c.writes.stop(); cerr != nil && err != nil {
		err = cerr
	}
	if err != nil {
		err = errorf("sending %s: %w", mask(lines[0]), err)
		c.close(err)
	}
	return err
}

// pipeline sends lines in one write and reads one reply to each, in
// order; with pipelining off, one after the other. A line is not sent
// when a reply before it failed.
func (c *Conn) pipeline(ctx context.Context, lines ...string) ([]*Reply, error) {
	if !c.pipelines() {
		var rs []*Reply
		for _, l := range lines {
			r, err := c.ctl.exchange(ctx, l)
			if err != nil {
				return rs, err
			}
			rs = append(rs, r)
		}
		return rs, nil
	}
	if err := c.ctl.sendLines(ctx, lines...); err != nil {
		return nil, err
	}
	var rs []*Reply
	for _, l := range lines {
		r, err := c.ctl.readReply(ctx, l)
		if err != nil {
			return rs, errorf("%w (commands were pipelined: if the server lost one, try WithoutPipelining)", err)
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// probeUploads reports whether a NOOP goes with this upload command, to
// learn whether the server answers commands during a transfer.
func (c *Conn) probeUploads(upload bool) bool {
	return upload && c.pipelines() && c.pipe.uploads == 0 && !c.cfg.active && c.cfg.keepAlive == 0
}

// endProbe reads what the probing NOOP showed, after the upload's final
// reply (whose error, if any, is err), and returns the upload's outcome.
// Only an upload that succeeded shows that answers come after it.
// Answered already (counted off as an answer to a keepalive NOOP), or
// answered with a refusal that came as the final reply and is followed by
// 226 or 250: the server answers commands during an upload. Else its
// answer is next, after the final reply, as pipelining needs.
func (t *transfer) endProbe(err error) error {
	c := t.c
	c.pipe.probing = false
	during := func() {
		c.pipe.uploads = 1
		c.ctl.trace("# ", "the server answers commands during an upload: uploads are not pipelined")
	}
	if c.ctl.noops.Load() == 0 {
		during()
		return err
	}
	read := c.ctl.readReply // a late 1xx or 226 (a second final reply) is of no interest
	if t.refusedAside(err) {
		read = c.ctl.readOne // the 226 may be the transfer's: see above
	}
	r, rerr := read(t.rep.quiet, "NOOP")
	if rerr != nil {
		if err != nil {
			return err
		}
		return rerr
	}
	c.ctl.noops.Add(-1)
	switch {
	case t.refusedAside(err) && completes(r):
		during()
		t.rep.amend(r)
		return nil
	case err == nil: // else no upload ran: the next one probes again
		c.pipe.uploads = 2
	}
	return err
}

// sendAhead sends the next transfer's passive command at the end of t's
// data, when the session pipelines: see the comment at the top.
func (t *transfer) sendAhead() *aheadCmd {
	c := t.c
	if !c.pipelines() || c.cfg.active || c.cfg.keepAlive > 0 || c.ctl.noops.Load() > 0 ||
		t.upload && c.pipe.uploads != 2 || t.ctx.Err() != nil ||
		t.rep.complete() && t.rep.last().refusal() {
		return nil
	}
	c.dropReady()
	if t.upload {
		c.pipe.pipelinedUp++
	}
	a := &aheadCmd{verb: c.passiveVerb()}
	c.ctl.ahead.Store(a)
	if c.ctl.sendAside(t.ctx, a.verb) != nil {
		c.ctl.ahead.Store(nil)
		return nil
	}
	return a
}

// passiveVerb is the passive command the session uses: EPSV, or PASV
// once EPSV failed or when WithoutEPSV asks for it (never over IPv6).
func (c *Conn) passiveVerb() string {
	if !c.ipv6 && (c.cfg.noEPSV || c.epsvOff) {
		return "PASV"
	}
	return "EPSV"
}

// endAhead reads the reply to the command sent ahead, after the final
// reply of t (whose error, if any, is err), and returns the transfer's
// outcome. A refusal that came as the final reply and is followed by 226
// or 250 answered the command sent ahead during the transfer (ProFTPD,
// Pure-FTPd): the transfer succeeded. A passive reply that came before
// the final one means the server ran the command during the transfer.
// outOfTurn decides what is pipelined after either.
func (t *transfer) endAhead(a *aheadCmd, err error) error {
	c := t.c
	defer c.ctl.ahead.Store(nil)
	if a.reply == nil && !t.upload && err == nil && !c.pipe.probing && c.ctl.noops.Load() == 0 {
		// A download that succeeded: its passive reply may come a round
		// trip after the final one (where the server sends that with the
		// data), and the call does not wait for it. It is the next reply
		// read, by the next transfer (dialReady) or command.
		c.ctl.owed, c.ctl.owedAbout = func(r *Reply) { c.keepReady(a.verb, r) }, a.verb
		return nil
	}
	if a.reply == nil {
		read := c.ctl.readReply // a late 1xx or 226 (a second final reply) is of no interest
		if t.refusedAside(err) {
			read = c.ctl.readOne // the 226 may be the transfer's: see above
		}
		r, rerr := read(t.rep.quiet, a.verb) // right behind the final reply: not cut short by a cancellation
		if rerr != nil {
			return err // the connection is closed; the transfer's outcome stands
		}
		a.reply = r
	}
	switch {
	case a.early:
		t.outOfTurn(fmt.Sprintf("the server answered %s before the final reply to %s", a.verb, t.cmd), false)
		return err
	case t.refusedAside(err) && completes(a.reply):
		f := t.rep.last().r
		t.outOfTurn(fmt.Sprintf("the server answered %s during %s (%d %s)", a.verb, t.cmd, f.Code, clip(f.Message())), true)
		t.rep.amend(a.reply)
		a.reply = nil
		return nil
	case err == nil:
		c.keepReady(a.verb, a.reply)
	}
	return err
}

// refusedAside reports whether err, the failure that came as t's final
// reply, may instead refuse a command sent during the transfer: after a
// 1xx, a 450 (ProFTPD: "EPSV: data transfer in progress") or a 500 to 502
// (Pure-FTPd: "Unknown command"), none of which ends a transfer that has
// begun. Whether it does, the next reply tells (completes).
func (t *transfer) refusedAside(err error) bool {
	var ferr *Error
	got := t.rep.got
	if err == nil || !errors.As(err, &ferr) || len(got) < 2 || got[0].r == nil || got[0].r.class() != 1 {
		return false
	}
	return ferr.Code == 450 || ferr.Code >= 500 && ferr.Code <= 502
}

// completes reports whether r is a transfer's successful final reply.
func completes(r *Reply) bool { return r.Code == 226 || r.Code == 250 }

// outOfTurn records that the server answered a command sent ahead out of
// turn: run before the final reply (refused, if refused is set) or
// answered before it. After a download, nothing is pipelined any more.
// After an upload, a refusal costs nothing but the round trip pipelining
// would have saved (the transfer's own reply came after it): ProFTPD and
// Pure-FTPd refuse a command that arrives while they finish an upload,
// which happens now and then as the command and the end of the data race
// (the probe cannot tell); uploads stop being pipelined once refusals
// are a quarter of them. A command run before the final reply is never
// tolerated: it may have ended the upload (pyftpdlib).
func (t *transfer) outOfTurn(why string, refused bool) {
	c := t.c
	switch {
	case !t.upload:
		c.pipelineOff(why)
	case refused && !c.pipe.refusedTooOften():
		c.pipe.refused++
		c.ctl.trace("# ", why)
	default:
		c.pipe.uploads = 1
		c.ctl.trace("# ", why+": uploads are not pipelined")
	}
}

// refusedTooOften reports whether one more refusal makes a quarter of the
// pipelined uploads (at least 4).
func (p *pipeState) refusedTooOften() bool {
	return p.refused+1 >= 4 && 4*(p.refused+1) > p.pipelinedUp
}

// takeReady returns the reply of a passive command sent ahead, if there
// is one the next data connection may use, and forgets it.
func (c *Conn) takeReady() *aheadCmd {
	a := c.pipe.ready
	c.pipe.ready = nil
	if a == nil || a.verb != c.passiveVerb() || time.Since(a.at) > aheadFresh {
		return nil
	}
	return a
}

// keepReady keeps the reply r to a passive command verb sent ahead (at a
// transfer's end, or at login: portAtLogin) for the next transfer to use;
// a refusal is forgotten, and the transfer asks as usual.
func (c *Conn) keepReady(verb string, r *Reply) {
	if r.Code != 229 && r.Code != 227 {
		return
	}
	c.pipe.ready = &aheadCmd{verb: verb, reply: r, at: time.Now()}
	c.ctl.portOpen.Store(true)
}

// dropReady forgets a passive reply read ahead: a new passive command
// replaces its port on the server.
func (c *Conn) dropReady() {
	c.pipe.ready = nil
}

// dialReady connects to the port of a passive reply read ahead; on any
// failure it returns nil and the caller asks again, as if nothing had
// been sent ahead.
func (c *Conn) dialReady(ctx context.Context) (net.Conn, bool) {
	if c.ctl.settleOwed(ctx) != nil {
		return nil, false // the connection is closed: asking again says so
	}
	a := c.takeReady()
	if a == nil {
		return nil, false
	}
	var conn net.Conn
	var err error
	if a.verb == "EPSV" {
		conn, err = c.epsvDial(ctx, a.reply)
	} else {
		conn, err = c.pasvDial(ctx, a.reply)
	}
	if err != nil {
		c.ctl.trace("# ", fmt.Sprintf("the port sent ahead failed (%v): asking again", err))
		return nil, false
	}
	return conn, true
}

// answersAhead reports whether reply, read among a transfer's replies,
// answers the passive command sent ahead (a 227 or 229 answers no transfer
// command), and keeps it.
func (c *control) answersAhead(reply *Reply) bool {
	a := c.ahead.Load()
	if a == nil || a.reply != nil || reply.Code != 227 && reply.Code != 229 {
		return false
	}
	a.reply, a.early = reply, true
	return true
}

// readOne reads one reply, whatever it is: none is taken for an answer to
// an earlier command. A failure closes the connection.
func (c *control) readOne(ctx context.Context, about string) (*Reply, error) {
	if err := c.closedErr(); err != nil {
		return nil, err
	}
	c.reads.start(ctx)
	reply, err := c.receive()
	if cerr := c.reads.stop(); cerr != nil && err != nil {
		err = cerr
	}
	return c.check(about, reply, err)
}

// amend replaces the final reply, which turned out to answer a pipelined
// command, with the transfer's own, read after it.
func (r *replies) amend(final *Reply) {
	r.got[len(r.got)-1] = replyResult{r: final}
}
