package ftp

import (
	"context"
	"io"
	"os"
	"time"
)

// An upload has two steps: the store step (storePart) sends the local
// file into its part, and the end step (endUploads) proves the part
// complete and renames it to its target. Conn.Upload runs both for one
// file; Mirror up runs the store step for several files on one connection
// (a batch) and then ends them together, so that the round trips of the
// end are paid once a batch instead of once a file. Where the session
// pipelines and SIZE can prove a part complete, the end is two flights:
//
//	1. SIZE and MFMT of each part, and RNFR of the first part;
//	2. RNTO of the first part, then RNFR and RNTO of each other part
//	   whose replies in flight 1 proved it complete.
//
// Nothing in flight 1 changes a target; an RNTO goes only for a part
// whose SIZE reply matched the bytes sent (and whose MFMT, if sent, was
// taken). The first part's RNFR rides in flight 1 so that a batch of one
// is the two flights it always was (SIZE, MFMT, RNFR, then RNTO); when
// that part is not proven, the RNTO of flight 2 renames it onto itself,
// taking the RNFR back (a server that kept it pending could apply it to
// a later RNTO). RNFR and RNTO of a part stay paired in flight 2: after
// a refused RNFR the server refuses the RNTO behind it (503), and the
// next RNFR replaces whatever was pending. A part not proven in flight 1
// (a size that differs, a refusal, a reply not expected) is ended one
// command at a time (finishUpload), which gives each reply its meaning:
// a wrong size there removes the part and fails that file alone.

// upFile is one file of an upload, between its store step and its end.
type upFile struct {
	local, remote string
	cfg           transferConfig
	f             *os.File // the local file: open until the end (a checksum reads it)
	part, record  string
	recorded      bool // a record is beside the part: removed once it is renamed
	total         int64
	mod           time.Time
	// err is the outcome of the end step; done says it is known.
	err  error
	done bool
}

// end records the outcome of u's end step, once.
func (u *upFile) end(err error) {
	if !u.done {
		u.err, u.done = err, true
	}
}

// storePart is the store step of an upload: it opens local and sends it
// into the part of remote (resuming it, or readying a record beside it,
// as Upload says), and checks that the file did not change meanwhile. The
// upload it returns holds the local file open for the end step
// (endUploads closes it). The caller holds the lock.
func (c *Conn) storePart(ctx context.Context, local, remote string, cfg transferConfig) (*upFile, error) {
	f, source, err := openSource(cfg.root, local)
	if err != nil {
		return nil, err
	}
	u := &upFile{local: local, remote: remote, cfg: cfg, f: f}
	if err := c.storeOpened(ctx, u, source); err != nil {
		f.Close()
		return nil, err
	}
	return u, nil
}

// storeOpened is storePart once the local file is open as u.f; source
// names it for a record.
func (c *Conn) storeOpened(ctx context.Context, u *upFile, source string) error {
	fi, err := u.f.Stat()
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return errorf("%s: %w", u.local, ErrIsDir)
	}
	u.total, u.mod = fi.Size(), fi.ModTime()
	u.part = PartName(u.remote)
	u.record = u.part + recordSuffix
	var want *partRecord
	if u.total >= minResumable {
		want = &partRecord{Version: recordVersion, Source: source, Size: u.total, ModTime: u.mod}
	}
	off, err := c.uploadOffset(ctx, u.part, u.record, want, u.cfg)
	if err != nil {
		return err
	}
	if off == 0 && want != nil {
		if want, err = c.startRemotePart(ctx, u.part, u.record, *want, u.cfg); err != nil {
			return err
		}
	}
	u.recorded = want != nil
	if _, err := u.f.Seek(off, io.SeekStart); err != nil {
		return err
	}
	r := io.LimitReader(u.f, u.total-off) // sendfile takes this as it is
	var progress func(int64)
	if u.cfg.progress != nil {
		progress = (&progressCount{done: off, total: u.total, f: u.cfg.progress}).add
	}
	switch {
	case off == 0:
		err = c.store(ctx, "STOR", u.part, r, 0, progress)
	case off == u.total:
		if u.cfg.progress != nil {
			u.cfg.progress(off, u.total)
		}
	case c.restStream():
		err = c.store(ctx, "STOR", u.part, r, off, progress)
	default:
		err = c.store(ctx, "APPE", u.part, r, 0, progress)
	}
	if err != nil {
		return err
	}
	if now, err := u.f.Stat(); err != nil || now.Size() != u.total || !now.ModTime().Equal(u.mod) {
		return errorf("%s changed while it was being sent: %s not renamed to %s; run again to send it afresh", u.local, u.part, u.remote)
	}
	return nil
}

// endUploads is the end step of the uploads us, whose parts are stored:
// each part is proven complete and renamed (see the comment at the top),
// and each upload's outcome set in its err; once ctx has ended, nothing
// is sent. It closes the local files. The caller holds the lock.
func (c *Conn) endUploads(ctx context.Context, us []*upFile) {
	defer func() {
		for _, u := range us {
			u.f.Close()
		}
	}()
	if err := ctx.Err(); err != nil {
		for _, u := range us {
			u.end(err) // stopped: the parts stay, for a resume or a new run
		}
		return
	}
	slow := us
	if len(us) > 0 && c.pipelinedEnd(us[0].cfg) {
		slow = c.endInFlights(ctx, us)
	}
	for _, u := range slow {
		u.end(c.finishUpload(ctx, u.f, u.local, u.part, u.remote, u.total, u.mod, u.cfg))
	}
	var dele [][2]string
	for _, u := range us {
		if u.err == nil && u.recorded {
			dele = append(dele, [2]string{"DELE", u.record}) // left behind, it describes no part
		}
	}
	if len(dele) > 0 {
		c.flight(ctx, dele) // a DELE refused, or lost, fails no upload: its part is renamed
	}
}

// pipelinedEnd reports whether the parts of uploads configured as cfg
// may be ended in flights: the session pipelines, and SIZE proves a part
// complete (no checksum to compare, which needs its own exchange).
func (c *Conn) pipelinedEnd(cfg transferConfig) bool {
	return c.pipelines() && c.may("SIZE") && (cfg.noChecksum || !c.offersChecksum())
}

// endInFlights ends the uploads us in the two flights described at the
// top, and returns those whose parts flight 1 did not prove complete,
// untouched, for the caller to end one command at a time. An exchange
// that fails ends every upload not renamed yet with its error. The
// caller holds the lock.
func (c *Conn) endInFlights(ctx context.Context, us []*upFile) []*upFile {
	var batch []*upFile
	for _, u := range us {
		if _, err := commandLine("RNTO", u.remote); err != nil {
			u.end(err) // refused before anything is sent
			continue
		}
		batch = append(batch, u)
	}
	if len(batch) == 0 {
		return nil
	}
	proven, held, err := c.proveParts(ctx, batch)
	if err != nil {
		for _, u := range batch {
			u.end(err)
		}
		return nil
	}
	var cmds [][2]string
	if held {
		to := batch[0].remote
		if !proven[0] {
			to = batch[0].part // taking the RNFR back: see the comment at the top
		}
		cmds = append(cmds, [2]string{"RNTO", to})
	}
	for i, u := range batch {
		if proven[i] && (i > 0 || !held) {
			cmds = append(cmds, [2]string{"RNFR", u.part}, [2]string{"RNTO", u.remote})
		}
	}
	var rs []*Reply
	if len(cmds) > 0 {
		rs, err = c.flight(ctx, cmds)
	}
	// end sets u's outcome: a refusal of its rename says what was kept
	// (and replaces a target the server will not rename onto).
	end := func(u *upFile, rerr error) {
		if rerr != nil && rerr != err {
			rerr = c.afterRename(ctx, u.part, u.remote, u.total, rerr)
		}
		u.end(rerr)
	}
	if held {
		if proven[0] {
			end(batch[0], renamed(rs, err, cmds, 0, -1))
		}
		rs, cmds = rs[min(1, len(rs)):], cmds[1:]
	}
	var slow []*upFile
	for i, u := range batch {
		switch {
		case !proven[i]:
			slow = append(slow, u)
		case i > 0 || !held:
			end(u, renamed(rs, err, cmds, 1, 0))
			rs, cmds = rs[min(2, len(rs)):], cmds[2:]
		}
	}
	if err != nil {
		for _, u := range slow {
			u.end(err)
		}
		return nil
	}
	return slow
}

// proveParts sends flight 1 for the parts of batch: SIZE and (where the
// time is set) MFMT of each, and RNFR of the first. It reports which
// parts the replies proved complete, and whether the first part's RNFR
// was taken (350), so that an RNTO must follow. The caller holds the
// lock.
func (c *Conn) proveParts(ctx context.Context, batch []*upFile) (proven []bool, held bool, err error) {
	var cmds [][2]string
	first := make([]int, len(batch)) // the index of each part's SIZE in cmds
	for i, u := range batch {
		first[i] = len(cmds)
		cmds = append(cmds, [2]string{"SIZE", u.part})
		if !u.cfg.noModTime && c.may("MFMT") {
			cmds = append(cmds, c.modTimeCommand(u.part, u.mod))
		}
	}
	cmds = append(cmds, [2]string{"RNFR", batch[0].part})
	rs, err := c.flight(ctx, cmds)
	if err != nil {
		return nil, false, err
	}
	last := len(rs) - 1
	for i, r := range rs[:last] {
		if r.class() != 2 {
			c.tried(cmds[i][0], replyError(cmds[i][0]+" "+cmds[i][1], r)) // a 502 is not sent again
		}
	}
	proven = make([]bool, len(batch))
	for i, u := range batch {
		end := last
		if i+1 < len(batch) {
			end = first[i+1]
		}
		n, err := parseSize(rs[first[i]])
		proven[i] = err == nil && n == u.total
		for _, r := range rs[first[i]:end] {
			proven[i] = proven[i] && r.class() == 2
		}
	}
	held = rs[last].Code == 350
	if !held {
		proven[0] = false // not renamed in flight 2: ended one command at a time
	}
	return proven, held, nil
}

// renamed is the outcome of a rename in flight 2 whose RNTO is cmds[to]
// and whose RNFR, if it went in flight 2, is cmds[from] (from < 0: it
// went in flight 1); rs are the replies read before the flight ended
// with err. A rename whose replies did not all come may have been done:
// the caller does not know, and must not say it was.
func renamed(rs []*Reply, err error, cmds [][2]string, to, from int) error {
	if from >= 0 {
		if from >= len(rs) {
			return err
		}
		if rs[from].class() != 3 {
			return replyError("RNFR "+cmds[from][1], rs[from])
		}
	}
	if to >= len(rs) {
		return err
	}
	if rs[to].class() != 2 {
		return replyError("RNTO "+cmds[to][1], rs[to])
	}
	return nil
}

// flight sends cmds (verb and argument pairs) in one write and reads a
// reply to each (see pipeline). A failure in the middle of it may be a
// server that lost commands sent ahead: the session, and through the Pool
// its others, then sends one command at a time. With the error come the
// replies read before it. The caller holds the lock.
func (c *Conn) flight(ctx context.Context, cmds [][2]string) ([]*Reply, error) {
	lines := make([]string, len(cmds))
	for i, vc := range cmds {
		line, err := commandLine(vc[0], vc[1])
		if err != nil {
			return nil, err
		}
		lines[i] = line
	}
	rs, err := c.pipeline(ctx, lines...)
	if err != nil {
		c.pipelineOff("a reply to commands sent together did not come")
	}
	return rs, err
}
