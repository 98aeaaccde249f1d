package ftp

import (
	"context"
	"strings"
	"sync"
	"time"
)

// maxFlight bounds the commands sent before their replies are read: the
// replies of one flight (some 30 bytes each) wait in the socket buffers,
// far below what either side holds, so that neither blocks writing while
// the other does.
const maxFlight = 64

// exactTimes asks, before a Mirror's downloads, the time to the second
// (MDTM) of each file to copy whose listing was LIST's (minutes at best),
// up to maxFlight commands a flight on each connection of the Pool, so
// that a download takes the time from its listing as it does from MLSD's,
// instead of sending MDTM on a round trip of its own. A file whose time
// does not come this way (a refusal, a connection lost) is left to its
// download, which asks again and reports what went wrong.
func (m *mirror) exactTimes(ctx context.Context, copies []MirrorAction) {
	cfg := newTransferConfig(m.opts.Transfer)
	var rels []string
	for _, a := range copies {
		// As remoteFile decides whether a download asks MDTM.
		if n := m.srcTree.nodes[a.Path]; n.coarse && n.size >= 0 && !(cfg.noModTime && n.size < minResumable) {
			rels = append(rels, a.Path)
		}
	}
	if len(rels) == 0 {
		return
	}
	chunk := (len(rels) + m.workers() - 1) / m.workers() // a share for each connection
	var mu sync.Mutex
	var wg sync.WaitGroup
	for start := 0; start < len(rels); start += chunk {
		part := rels[start:min(start+chunk, len(rels))]
		wg.Go(func() {
			paths := make([]string, len(part))
			for i, rel := range part {
				paths[i], _ = m.paths(rel)
			}
			var times []time.Time
			m.pool.Do(ctx, func(c *Conn) (err error) { times, err = c.modTimes(ctx, paths); return err })
			mu.Lock()
			defer mu.Unlock()
			for i, t := range times {
				if !t.IsZero() {
					n := m.srcTree.nodes[part[i]]
					n.mod, n.exact = t, true
					m.srcTree.nodes[part[i]] = n
				}
			}
		})
	}
	wg.Wait()
}

// modTimes returns the modification times of paths (MDTM), sent in
// flights of up to maxFlight commands; a zero time for a path whose reply
// gave none, and none at all when the session does not pipeline or the
// server has no MDTM.
func (c *Conn) modTimes(ctx context.Context, paths []string) ([]time.Time, error) {
	var out []time.Time
	err := c.locked(ctx, func() error {
		if !c.pipelines() || !c.may("MDTM") {
			return nil
		}
		out = make([]time.Time, len(paths))
		for start := 0; start < len(paths); start += maxFlight {
			flight := paths[start:min(start+maxFlight, len(paths))]
			cmds := make([][2]string, len(flight))
			for i, p := range flight {
				cmds[i] = [2]string{"MDTM", p}
			}
			rs, err := c.flight(ctx, cmds)
			if err != nil {
				return err
			}
			for i, r := range rs {
				if r.class() != 2 {
					if c.tried("MDTM", replyError("MDTM "+flight[i], r)) {
						return nil // not implemented: not sent again
					}
					continue
				}
				if t, ok := parseMLSxTime(strings.TrimSpace(r.Message())); ok {
					out[start+i] = t
				}
			}
		}
		return nil
	})
	return out, err
}
