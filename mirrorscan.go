package ftp

import (
	"context"
	"errors"
	"path"
	"slices"
	"strings"
	"sync"
)

// scan reads both trees into m.srcTree and m.dstTree, the local one
// first, so that its folders are the guesses of the remote one's (see
// scanRemote): a run again lists every folder both trees share in its
// first wave of listings. An error of the source's comes first, as if it
// were read first.
func (m *mirror) scan(ctx context.Context) error {
	var dstErr error
	if m.opts.Direction == MirrorDown {
		m.dstTree, dstErr = m.scanDest(ctx)
	}
	src, err := m.scanSource(ctx)
	if err != nil {
		return errorf("mirror: source %s: %w", m.src, err)
	}
	m.srcTree = src
	if m.opts.Direction == MirrorUp {
		m.dstTree, dstErr = m.scanDest(ctx)
	}
	if dstErr != nil {
		return errorf("mirror: destination %s: %w", m.dst, dstErr)
	}
	return nil
}

// maxGuessesPerWorker bounds the guesses listed in the first wave, per
// listing at a time: a guess that the remote tree lacks costs a listing
// (and the check of one that says nothing), and a guess's listing is held
// until its parent's is taken.
const maxGuessesPerWorker = 32

// guesses returns the folders of the local tree t (nil: none) to list in
// the first wave at the remote side: the remote counterparts of the
// folders a run before made, most often. Shallow ones first, so that a
// guess is confirmed, or dropped, early; at most maxGuessesPerWorker a
// worker, and no more than the limits would let the scan list.
func (m *mirror) guesses(t *side) []string {
	if t == nil {
		return nil
	}
	var dirs []string
	for rel, n := range t.nodes {
		if n.dir && n.keep == "" && rel != "." && !m.excluded(rel) {
			dirs = append(dirs, rel)
		}
	}
	slices.SortFunc(dirs, func(a, b string) int {
		if d := strings.Count(a, "/") - strings.Count(b, "/"); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return dirs[:min(len(dirs), maxGuessesPerWorker*m.workers(), max(m.lim.MaxDirs-m.dirs-1, 0))]
}

// wave is listings to do at once: the directories rels of root, their
// outcomes into out, the indexes of those left to list in jobs, shared by
// workers (listShare). In the first wave, book keeps what the listings done show, so that
// the guesses they rule out are not listed; nil in the others.
type wave struct {
	root string
	rels []string
	out  []dirListing
	jobs chan int
	book *waveBook
}

// errRuledOut is the outcome of a guess that the listing of a parent
// showed to be no folder before its turn came: it is not listed.
var errRuledOut = errors.New("ftp: not listed: a parent's listing shows no such folder")

// take returns the index of the next directory to list, false when none
// is left; it drops on the way the guesses that the listings done rule
// out.
func (w *wave) take() (int, bool) {
	for i := range w.jobs {
		if !w.book.ruledOut(w.rels[i]) {
			return i, true
		}
		w.out[i].err = errRuledOut
	}
	return 0, false
}

// list lists the directory i on c, which the caller holds locked, and
// notes its outcome in the book.
func (w *wave) list(ctx context.Context, m *mirror, c *Conn, i int) {
	l := &w.out[i]
	l.entries, l.err = listWithin(ctx, m.lim.ListTimeout, remotePath(w.root, w.rels[i]), c.list)
	w.book.note(w.rels[i], *l)
}

// waveBook is what the listings of the first wave done so far show: for
// each directory listed, the names of its folders (nil when its listing
// failed). A guess whose parent's listing lacks it as a folder costs
// nothing then: on a first run up, whose destination is missing, the
// root's listing rules out every guess not already under way (each of
// which, on vsftpd, would cost the round trips of the check that proves
// it missing).
type waveBook struct {
	mu   sync.Mutex
	dirs map[string]map[string]bool
}

// note records the listing l of rel. A nil book notes nothing.
func (b *waveBook) note(rel string, l dirListing) {
	if b == nil {
		return
	}
	var dirs map[string]bool
	if l.err == nil {
		dirs = map[string]bool{}
		for _, e := range l.entries {
			if e.Type == EntryDir {
				dirs[e.Name] = true
			}
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dirs[rel] = dirs
}

// ruledOut reports whether the listing of a parent of rel, done, failed
// or lacks the folder on the way to rel. A nil book rules out nothing.
func (b *waveBook) ruledOut(rel string) bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for a := rel; a != "." && a != "/"; a = path.Dir(a) {
		if dirs, done := b.dirs[path.Dir(a)]; done && !dirs[path.Base(a)] {
			return true
		}
	}
	return false
}

// listShare lists directories of w that it takes, one after another on
// one connection of the Pool, kept for the whole share. A listing that
// failed in a way that may be the connection's is tried again through
// the Pool (m.list) if the failure is transient, and the share goes on on
// a connection taken anew; when the Pool has none to give, each listing
// left gets the error of m.list.
func (m *mirror) listShare(ctx context.Context, w *wave) {
	i, ok := w.take()
	for ok {
		held, failed := false, false
		_ = m.pool.Do(ctx, func(c *Conn) error {
			held = true
			return c.locked(ctx, func() error {
				for ; ok; i, ok = w.take() {
					m.pool.share(c) // the time zone another connection found, as at each acquire
					w.list(ctx, m, c, i)
					if err := w.out[i].err; err != nil && (IsTransient(err) || broken(err)) {
						failed = true
						return err // the Pool decides whether c goes on
					}
				}
				return nil
			})
		})
		switch {
		case !held:
			for ; ok; i, ok = w.take() {
				w.out[i].entries, w.out[i].err = m.list(ctx, remotePath(w.root, w.rels[i]))
			}
			return
		case !failed:
			return
		case IsTransient(w.out[i].err):
			w.out[i].entries, w.out[i].err = m.list(ctx, remotePath(w.root, w.rels[i]))
			w.book.note(w.rels[i], w.out[i])
		}
		i, ok = w.take()
	}
}
