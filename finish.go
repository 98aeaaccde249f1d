package ftp

import (
	"context"
	"time"
)

// The end of an upload over a network: after the data, the part's size is
// checked (SIZE), it gets the local modification time (MFMT) and it is
// renamed (RNFR, RNTO), each a round trip when sent one by one. Neither
// SIZE nor MFMT of the part nor RNFR changes the target, so they go in one
// flight; RNTO, which replaces the target, goes only once the replies
// have proven the part complete. Four or five round trips become two.

// flight sends cmds (verb and argument pairs) in one write and reads a
// reply to each (see pipeline). A failure in the middle of it may be a
// server that lost commands sent ahead: the session, and through the Pool
// its others, then sends one command at a time. The caller holds the
// lock.
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
		return nil, err
	}
	return rs, nil
}

// finishPipelined ends an upload whose data went into part (total bytes,
// sent from a file last modified at mod) with SIZE, MFMT and RNFR in one
// flight, then RNTO when the part is proven complete; see replaceWithPart
// for a target the server will not replace. It reports false, having
// changed nothing but the part's time, when the session does not pipeline,
// or the part must be checked otherwise (a checksum to compare, no SIZE),
// or a reply was not the expected one: the caller then checks the part
// one command at a time, which gives each refusal its own meaning. The
// caller holds the lock.
func (c *Conn) finishPipelined(ctx context.Context, part, remote string, total int64, mod time.Time, cfg transferConfig) (bool, error) {
	if !c.pipelines() || !c.may("SIZE") || !cfg.noChecksum && c.offersChecksum() {
		return false, nil
	}
	if _, err := commandLine("RNTO", remote); err != nil {
		return false, err // refused before anything is sent
	}
	cmds := [][2]string{{"SIZE", part}}
	setTime := !cfg.noModTime && c.may("MFMT")
	if setTime {
		cmds = append(cmds, c.modTimeCommand(part, mod))
	}
	cmds = append(cmds, [2]string{"RNFR", part})
	rs, err := c.flight(ctx, cmds)
	if err != nil {
		return false, err
	}
	ok := rs[len(rs)-1].Code == 350 // RNFR
	for i, r := range rs[:len(rs)-1] {
		if r.class() != 2 {
			c.tried(cmds[i][0], replyError(cmds[i][0]+" "+cmds[i][1], r)) // a 502 is not sent again
			ok = false
		}
	}
	if n, err := parseSize(rs[0]); err != nil || n != total {
		ok = false
	}
	if !ok {
		if rs[len(rs)-1].Code == 350 {
			// Take back the RNFR: a server that kept it pending could
			// apply it to a later RNTO. Renaming the part onto itself
			// changes nothing.
			if _, err := c.send(ctx, "RNTO", part); err != nil {
				return false, err
			}
		}
		return false, nil
	}
	_, err = c.expect(ctx, 2, "RNTO", remote)
	return true, c.afterRename(ctx, part, remote, total, err)
}
