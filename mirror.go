package ftp

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// MirrorDirection says which way Mirror copies.
type MirrorDirection int

const (
	// MirrorDown copies a remote tree (src) to a local directory (dst).
	MirrorDown MirrorDirection = iota
	// MirrorUp copies a local directory (src) to a remote tree (dst).
	MirrorUp
)

// String returns "down" or "up".
func (d MirrorDirection) String() string {
	if d == MirrorUp {
		return "up"
	}
	return "down"
}

// MirrorOp is what Mirror does to one path.
type MirrorOp string

// The operations of a mirror plan.
const (
	OpMkdir  MirrorOp = "mkdir"  // create a directory at the destination
	OpCopy   MirrorOp = "copy"   // transfer a file
	OpDelete MirrorOp = "delete" // remove what the source lacks (MirrorOptions.Delete)
	// OpKeep is a path of the destination that the source lacks and that
	// Delete leaves alone; its Reason says why. Nothing is done for it.
	OpKeep MirrorOp = "keep"
)

// The reasons of OpKeep: why a path that the source lacks is not deleted.
const (
	KeepExcluded   = "excluded"   // an Exclude pattern (or a .name.part file of a transfer)
	KeepSpecial    = "special"    // a symbolic link or special file at the destination: Mirror deletes only files and directories
	KeepSkipped    = "skipped"    // the source has a symbolic link or special file there, which Mirror does not copy
	KeepUnlisted   = "unlisted"   // the source's listing of a directory above it failed, was not trusted, or held lines no parser understood
	KeepHidden     = "hidden"     // a dot file, where the source's LIST may hide dot files
	KeepIncomplete = "incomplete" // a directory whose listing at the destination failed or held lines no parser understood
)

// ErrDeleteRefused is wrapped by the error of a Mirror that had deletions
// to do and did none: the run had failures (a listing, a copy or a check),
// the source held nothing to copy (see MirrorOptions.AllowEmptySource), or
// the deletions were more than MirrorOptions.MaxDelete.
var ErrDeleteRefused = errors.New("ftp: deletion refused")

// ErrEmptySource is wrapped, with ErrDeleteRefused, by the error of a
// Mirror whose source held nothing to copy while the destination held
// something to delete (see MirrorOptions.AllowEmptySource).
var ErrEmptySource = errors.New("ftp: the source holds nothing to copy")

// MirrorAction is one step of a mirror plan.
type MirrorAction struct {
	Op   MirrorOp `json:"op"`
	Path string   `json:"path"`           // slash path relative to both roots
	Dir  bool     `json:"dir,omitempty"`  // the path is a directory
	Size int64    `json:"size,omitempty"` // bytes to copy (OpCopy)
	// Reason says why: "missing", "size", "newer" or "checksum" for a
	// copy or mkdir, "extra" for a deletion, one of the Keep constants
	// for OpKeep.
	Reason string `json:"reason"`
}

// MirrorOptions configure Mirror. The zero value mirrors down, as many
// files at a time as the Pool allows, without deleting anything.
type MirrorOptions struct {
	Direction MirrorDirection
	// Parallel bounds the transfers at a time; zero or less: the size of
	// the Pool.
	Parallel int
	// Delete removes from the destination the files and directories that
	// the source lacks, as the last step of a run in which nothing failed
	// (like rsync, which deletes nothing after an I/O error). It never
	// removes what an Exclude pattern matches, symbolic links and special
	// files, nor anything the source could not vouch for: what is below a
	// source directory whose listing failed, was not trusted or held lines
	// that no parser understood, nor the counterpart of a source symbolic
	// link (see OpKeep). A directory is removed only when everything in
	// it is, entry by entry as the listings showed them.
	Delete bool
	// MaxDelete, when positive, bounds the files and directories one run
	// may delete, everything inside a deleted directory counted: with more
	// due, Mirror deletes none and fails with ErrDeleteRefused (rsync's
	// --max-delete). Zero sets no bound; a negative value allows no
	// deletion at all (rsync's --max-delete=0), the plan still listing
	// what would go.
	MaxDelete int
	// AllowEmptySource lets Delete empty the destination when the source
	// holds nothing to copy. Without it such a run deletes nothing and
	// fails with ErrDeleteRefused: a source that lists empty is more often
	// a mistyped path or a server that hides its files than a tree
	// emptied on purpose.
	AllowEmptySource bool
	// Exclude holds path.Match patterns: a file or directory is left out
	// (neither copied nor deleted) when a pattern matches its path
	// relative to the root or its base name. Temporary ".name.part" files
	// of Download and Upload are always left out.
	Exclude []string
	// DryRun makes Mirror return the plan without doing it, and the error
	// a run would end with for a reason known before it starts (a listing
	// that failed, deletions refused).
	DryRun bool
	// Checksum compares files of the same size by checksum (where the
	// server offers one) instead of by modification time.
	Checksum bool
	// OnlyNewer overwrites a destination file only when the source's is
	// newer (rsync -u, lftp --only-newer): never a newer destination file,
	// nor one whose time is unknown.
	OnlyNewer bool
	// Limits bound the trees read (see WalkLimits); zero fields take the
	// defaults.
	Limits WalkLimits
	// OnPlan, if not nil, is called once with the plan (what DryRun
	// returns), before the first action: a progress display's totals.
	OnPlan func(plan []MirrorAction)
	// OnAction, if not nil, is called after each action is done, with its
	// outcome; from several goroutines at once when Parallel > 1.
	OnAction func(a MirrorAction, err error)
	// OnProgress, if not nil, is called as a file's data moves, with the
	// file's path relative to the roots (slash-separated), the bytes of
	// the file complete so far (a resumed part included) and its size, or
	// -1 when unknown. It tells apart the files of a run with Parallel > 1,
	// which WithProgress in Transfer cannot; it is called from several
	// goroutines at once then, and must return quickly.
	OnProgress func(path string, done, total int64)
	// Transfer options for every Download or Upload (WithProgress is
	// called from several goroutines at once when Parallel > 1).
	Transfer []TransferOption
}

// MirrorSummary is what a Mirror did, or would do with DryRun.
type MirrorSummary struct {
	Files   int   // files copied
	Bytes   int64 // their sizes
	Dirs    int   // directories created
	Skipped int   // files already up to date
	Deleted int   // files and directories removed (a directory counts once)
	Kept    int   // paths the source lacks that Delete left alone (OpKeep)
	// Failed counts the actions that failed and the directories whose
	// listing failed or was not trusted.
	Failed int
	Plan   []MirrorAction
	// Unchecked names the checks that the server made impossible (no
	// SIZE, MLST or MFMT: the size of a file uploaded, say), each once,
	// sorted: the copies stand, checked only as far as the server allows.
	Unchecked []string
}

// node is one file or directory of a tree being compared.
type node struct {
	dir    bool
	size   int64
	mod    time.Time
	coarse bool // the time comes from a LIST line: minutes at best
	// exact: coarse, but mod has been asked since with MDTM, to the
	// second (a LIST size may still be rounded).
	exact bool
	keep  string // at the destination: never deleted, for this reason (a Keep constant)
}

// side is what the scan of one tree found.
type side struct {
	nodes map[string]node // by slash path relative to the root ("." is the root)
	// unlisted holds the directories whose contents are not all known:
	// their listing failed, was not trusted, or held lines that no
	// parser understood.
	unlisted map[string]bool
	// failed holds the directories whose listing failed: nothing below
	// them is copied.
	failed map[string]bool
	// Source only: symbolic links and special files, not copied.
	skipped map[string]bool
	// Remote source only: directories that listed empty, confirmed before
	// anything below them is deleted at the destination …
	empty map[string]bool
	// … and those whose listing came from LIST and showed no dot file,
	// which LIST may hide (vsftpd does unless asked with -a).
	noDots map[string]bool
}

func newSide() *side {
	return &side{
		nodes: map[string]node{}, unlisted: map[string]bool{}, failed: map[string]bool{},
		skipped: map[string]bool{}, empty: map[string]bool{}, noDots: map[string]bool{},
	}
}

// Mirror makes dst a copy of src: the remote tree src into the local
// directory dst (MirrorDown) or the local directory src into the remote
// tree dst (MirrorUp), through the Pool. A file is copied when the
// destination lacks it, has another size, or is older than the source
// (or, with Checksum, has another checksum). Copies run in parallel and
// resume what an interrupted run left in temporary files, so a Mirror run
// again after a failure or a cancellation finishes the job without
// sending again what is complete, and one run right after another copies
// nothing. Remote symbolic links are not followed; local symbolic links
// and special files are skipped.
//
// The source must be a directory that exists: a remote source that lists
// empty, or as a lone entry named like itself (as vsftpd lists a file or a
// directory it cannot read), is checked with CWD, and a path that does not
// exist fails with an error wrapping fs.ErrNotExist, a file with
// ErrNotDir. A remote destination that does not exist is created.
//
// Local files are reached through an os.Root of the local tree, without
// following symbolic links: a symbolic link where the source has a file or
// directory is an error, never written through nor replaced, and every
// directory on the way to a file copied, a directory made or an entry
// removed is checked not to be one (transfers go through withLocalRoot).
//
// See MirrorOptions.Delete for what is deleted, and when.
//
// Over a network round trips, not bytes, set the pace, and Mirror saves
// them where no check is lost. The Pool's connections are dialled at the
// start, all at once, each asking for its first passive port as it logs
// in. The folders the local tree has are listed at the remote side in the
// first wave, with the root, across the Pool (a guess counts only once
// its parent's listing shows it as a folder); the others a level at a
// time, in parallel. The listings read to compare the trees give a
// download the file's size and time (times to the second from LIST
// servers come from MDTM, asked for many files in one flight before the
// downloads), and an upload whether a part of the file is there to
// resume. A file downloaded costs EPSV and RETR. Uploads store their
// parts with EPSV and STOR, up to 16 on a connection, then prove them all
// complete with SIZE (and set times with MFMT) in one flight, and rename
// those proven in another (see Conn.Upload for one file).
//
// The error joins one error per failure, naming its path, and the
// context's error if it ended the run.
func Mirror(ctx context.Context, p *Pool, src, dst string, opts MirrorOptions) (MirrorSummary, error) {
	var sum MirrorSummary
	for _, pat := range opts.Exclude {
		if _, err := path.Match(pat, ""); err != nil {
			return sum, errorf("mirror: exclude %q: %w", pat, err)
		}
	}
	m := &mirror{pool: p, opts: opts, lim: opts.Limits.withDefaults(), src: src, dst: dst, parts: map[string]int64{}}
	defer m.close()
	// The connections the run will use log in at once; the first ready
	// lists.
	wctx, stop := context.WithCancel(ctx)
	warming := p.warm(wctx, m.workers())
	defer warming()
	defer stop()
	if err := m.scan(ctx); err != nil {
		return sum, err
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	m.plan(ctx, &sum)
	if opts.OnPlan != nil {
		opts.OnPlan(sum.Plan)
	}
	if opts.DryRun {
		sum.Failed = m.failures()
		return sum, m.result(ctx, sum)
	}
	return m.run(ctx, sum)
}

type mirror struct {
	pool     *Pool
	opts     MirrorOptions
	lim      WalkLimits
	src, dst string
	srcTree  *side
	dstTree  *side
	parts    map[string]int64 // remote ".name.part" files of an upload's destination, by path
	root     *os.Root         // the local tree (source up, destination down), nil until open
	// dstExists says that the remote destination's listing held up (see
	// trusted): it is a directory, there is nothing to create.
	dstExists bool

	dirs, entries int // listed so far, for the limits

	noted func(check string) // hears the checks a copy could not make

	mu      sync.Mutex
	errs    []error
	failed  int
	refusal error // why deletions are refused, known from the plan
	// doomed holds, for each directory to delete, the entries below it
	// as the listing showed them, deepest first.
	doomed map[string][]string
}

func (m *mirror) close() {
	if m.root != nil {
		m.root.Close()
	}
}

// fail records a failure of the run: deletions are off from now on.
func (m *mirror) fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failed++
	m.errs = append(m.errs, err)
}

func (m *mirror) failures() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.failed
}

// excluded reports whether rel is left out of the mirror.
func (m *mirror) excluded(rel string) bool {
	base := path.Base(rel)
	if isPartName(base) {
		return true
	}
	for _, pat := range m.opts.Exclude {
		if ok, _ := path.Match(pat, rel); ok {
			return true
		}
		if ok, _ := path.Match(pat, base); ok {
			return true
		}
	}
	return false
}

// join is path.Join for a relative path of a tree, whose root is ".".
func join(rel, name string) string {
	if rel == "." {
		return name
	}
	return rel + "/" + name
}

// remotePath is the server path of rel below root.
func remotePath(root, rel string) string {
	if rel == "." {
		return root
	}
	return path.Join(root, rel)
}

// scanSource reads the source tree; a remote one with the folders of the
// destination (m.dstTree, read first) as guesses of its own.
func (m *mirror) scanSource(ctx context.Context) (*side, error) {
	s := newSide()
	if m.opts.Direction == MirrorDown {
		return s, m.scanRemote(ctx, m.src, s, true, m.guesses(m.dstTree))
	}
	root, err := os.OpenRoot(m.src)
	if err != nil {
		if fi, serr := os.Stat(m.src); serr == nil && !fi.IsDir() {
			return nil, errorf("%s: %w", m.src, ErrNotDir)
		}
		return nil, err
	}
	m.root = root
	return s, m.scanLocal(root.FS(), root.Name(), s, true)
}

// scanDest reads the destination tree; one that does not exist is empty.
// A remote one is read with the folders of the source as guesses of its
// own.
func (m *mirror) scanDest(ctx context.Context) (*side, error) {
	s := newSide()
	if m.opts.Direction == MirrorUp {
		err := m.scanRemote(ctx, m.dst, s, false, m.guesses(m.srcTree))
		if errors.Is(err, fs.ErrNotExist) {
			return newSide(), nil
		}
		m.dstExists = err == nil
		return s, err
	}
	root, err := os.OpenRoot(m.dst)
	if errors.Is(err, fs.ErrNotExist) {
		if fi, lerr := os.Lstat(m.dst); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, errorf("%s is a symbolic link to nothing", m.dst)
		}
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	m.root = root
	return s, m.scanLocal(root.FS(), root.Name(), s, false)
}

// scanLocal reads the local tree name through fsys (an os.Root's), without
// following symbolic links.
func (m *mirror) scanLocal(fsys fs.FS, name string, s *side, isSrc bool) error {
	unlisted := func(rel string, err error) {
		m.fail(errorf("listing %s: %w", filepath.Join(name, rel), err))
		s.unlisted[rel] = true
		s.failed[rel] = true
		if !isSrc {
			s.nodes[rel] = node{dir: true, keep: KeepIncomplete}
		}
	}
	return fs.WalkDir(fsys, ".", func(rel string, d fs.DirEntry, err error) error {
		switch {
		case err != nil && rel == ".":
			return err
		case err != nil:
			unlisted(rel, err)
			return fs.SkipDir
		case rel == ".":
			if !d.IsDir() {
				return errorf("%s: %w", name, ErrNotDir)
			}
			m.dirs++
			return nil
		}
		m.entries++
		if d.IsDir() {
			m.dirs++
		}
		if err := m.lim.check(name, m.dirs, m.entries); err != nil {
			return err
		}
		if strings.Count(rel, "/") >= m.lim.MaxDepth {
			return errTooDeep(filepath.Join(name, rel), m.lim.MaxDepth)
		}
		if m.excluded(rel) {
			if !isSrc {
				s.nodes[rel] = node{dir: d.IsDir(), keep: KeepExcluded}
			}
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
			s.nodes[rel] = node{dir: true}
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil { // gone since the listing, or unreadable
				m.fail(errorf("listing %s: %w", filepath.Join(name, rel), err))
				if isSrc {
					s.skipped[rel] = true
				} else {
					s.nodes[rel] = node{keep: KeepIncomplete}
				}
				return nil
			}
			s.nodes[rel] = node{size: fi.Size(), mod: fi.ModTime()}
		case isSrc:
			s.skipped[rel] = true
		default:
			s.nodes[rel] = node{keep: KeepSpecial}
		}
		return nil
	})
}

// scanRemote reads a remote tree, breadth first, the directories of a
// level listed in parallel across the Pool (over a network each listing
// costs round trips that need not wait for one another), and taken in
// order. The folders guessed (see guesses) are listed in the first wave,
// with the root (but those that a listing done by their turn rules out:
// see waveBook), and a guess's listing is taken only when its parent's
// listing, taken and trusted before it, shows it as a directory; the
// others are dropped unread, deciding nothing (vsftpd lists a missing
// folder as empty), and a folder not guessed, or whose guess failed, is
// listed when its level comes, as without guesses. A listing that may be
// the server's answer for something other than the directory's contents
// is checked (see trusted); one that fails, or is not trusted, leaves its
// directory unlisted and the run failed, except at the root, whose
// failure ends the scan.
func (m *mirror) scanRemote(ctx context.Context, root string, s *side, isSrc bool, guessed []string) error {
	first := m.listLevel(ctx, root, append([]string{"."}, guessed...), nil, &waveBook{dirs: map[string]map[string]bool{}})
	early := map[string]dirListing{".": first[0]}
	for i, rel := range guessed {
		if first[i+1].err == nil {
			early[rel] = first[i+1]
		}
	}
	level := []string{"."}
	for len(level) > 0 {
		var next []string
		for len(level) > 0 {
			// A few at a time, so that the limits are checked as the
			// listings come, and few are held at once.
			batch := level[:min(len(level), 2*m.workers())]
			level = level[len(batch):]
			listed := m.listLevel(ctx, root, batch, early, nil)
			for i, rel := range batch {
				sub, err := m.take(ctx, root, rel, listed[i], s, isSrc)
				if err != nil {
					return err
				}
				next = append(next, sub...)
			}
		}
		level = next
	}
	return nil
}

// dirListing is the outcome of one directory's listing.
type dirListing struct {
	entries []*Entry
	err     error
}

// listLevel lists the directories rels of root, as many at a time as the
// Mirror runs transfers (see listShare), but for those listed already in
// early, taken out of it. With a book (the first wave), the guesses that
// the listings done rule out are not listed (see waveBook).
func (m *mirror) listLevel(ctx context.Context, root string, rels []string, early map[string]dirListing, book *waveBook) []dirListing {
	w := &wave{root: root, rels: rels, out: make([]dirListing, len(rels)), jobs: make(chan int, len(rels)), book: book}
	for i, rel := range rels {
		if l, ok := early[rel]; ok {
			w.out[i] = l
			delete(early, rel)
			continue
		}
		w.jobs <- i
	}
	close(w.jobs)
	n := min(m.workers(), len(w.jobs))
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { m.listShare(ctx, w) })
	}
	wg.Wait()
	return w.out
}

// take records the listing l of the directory rel of root in s, and
// returns its subdirectories, to be listed next.
func (m *mirror) take(ctx context.Context, root, rel string, l dirListing, s *side, isSrc bool) ([]string, error) {
	dir := remotePath(root, rel)
	entries, err := l.entries, l.err
	if err == nil {
		m.dirs++
		m.entries += len(entries)
		if err := m.lim.check(dir, m.dirs, m.entries); err != nil {
			return nil, err
		}
		err = m.trusted(ctx, dir, rel, entries, s, isSrc)
	}
	if err != nil {
		switch {
		case rel != "." || ctx.Err() != nil:
		case errors.Is(err, ErrNotDir):
			return nil, errorf("%s is not a directory: %w", dir, err)
		case errors.Is(err, fs.ErrNotExist):
			// Many servers answer MLSD of a file, or of a folder
			// they cannot read, as of a missing path.
			return nil, m.whyNotDir(ctx, dir, err)
		}
		if ctx.Err() != nil || rel == "." || errors.Is(err, ErrTreeLimit) {
			return nil, err
		}
		m.fail(errorf("listing %s: %w", dir, err))
		s.unlisted[rel] = true
		s.failed[rel] = true
		if !isSrc {
			s.nodes[rel] = node{dir: true, keep: KeepIncomplete}
		}
		return nil, nil
	}
	var sub []string
	dots := false
	for _, e := range entries {
		dots = dots || e.Facts != nil || strings.HasPrefix(e.Name, ".")
		if e.Type == EntryOther {
			s.unlisted[rel] = true // lines that no parser understood
			if !isSrc && rel != "." {
				s.nodes[rel] = node{dir: true, keep: KeepIncomplete}
			}
		}
		if e.Name == "" || e.Name == "." || e.Name == ".." {
			continue
		}
		r := join(rel, e.Name)
		if !isSrc && e.Type == EntryFile && isPartName(e.Name) {
			m.parts[r] = e.Size
		}
		if m.excluded(r) {
			if !isSrc {
				s.nodes[r] = node{dir: e.Type == EntryDir, keep: KeepExcluded}
			}
			continue
		}
		_, mlsd := e.Facts["modify"]
		switch e.Type {
		case EntryDir:
			if strings.Count(r, "/") >= m.lim.MaxDepth {
				return nil, errTooDeep(path.Join(root, r), m.lim.MaxDepth)
			}
			s.nodes[r] = node{dir: true}
			sub = append(sub, r)
		case EntryFile:
			s.nodes[r] = node{size: e.Size, mod: e.ModTime, coarse: !mlsd}
		default: // a link, not followed, or a special file
			if isSrc {
				s.skipped[r] = true
			} else {
				s.nodes[r] = node{keep: KeepSpecial}
			}
		}
	}
	if isSrc && !dots {
		s.noDots[rel] = true
	}
	return sub, nil
}

// list lists a remote directory within the listing time limit.
func (m *mirror) list(ctx context.Context, dir string) ([]*Entry, error) {
	return listWithin(ctx, m.lim.ListTimeout, dir, m.pool.List)
}

// trusted checks a listing that may not be what it seems. vsftpd answers
// LIST of a path that does not exist with an empty listing, LIST of a file
// with the file, and LIST of a directory it cannot read with the directory
// itself; other servers list a file under the path asked, a name that
// List drops. So a root that lists empty must be a directory the session
// can enter, and a lone entry named like its directory must exist in it.
// A subdirectory that lists empty is checked later, only if something at
// the destination depends on it (see confirmEmpty).
func (m *mirror) trusted(ctx context.Context, dir, rel string, entries []*Entry, s *side, isSrc bool) error {
	switch {
	case len(entries) == 0 && rel == ".":
		if err := m.enterable(ctx, dir); err != nil {
			return m.whyNotDir(ctx, dir, err)
		}
	case len(entries) == 0:
		if isSrc {
			s.empty[rel] = true
		}
	case len(entries) == 1 && entries[0].Facts == nil && entries[0].Name == path.Base(dir):
		e := entries[0]
		inside := path.Join(dir, e.Name)
		var got *Entry
		err := m.pool.Retry(ctx, func(c *Conn) (err error) { got, err = c.Stat(ctx, inside); return err })
		if err == nil && (got.Type == EntryDir) == (e.Type == EntryDir) {
			return nil
		}
		if err != nil && !isPermanent(err) {
			return err
		}
		if rel == "." {
			return m.whyNotDir(ctx, dir, errorf("it lists as a lone %s named like itself, which is not in it", e.Type))
		}
		return errorf("%s lists as a lone %s named like itself, which is not in it: a directory the server cannot read?", dir, e.Type)
	}
	return nil
}

// enterable checks with CWD (and CWD back) that dir is a directory the
// session can enter.
func (m *mirror) enterable(ctx context.Context, dir string) error {
	return m.pool.Retry(ctx, func(c *Conn) error {
		return c.locked(ctx, func() error {
			ok, err := c.isDir(ctx, dir)
			if err == nil && !ok {
				err = errorf("%s: CWD refused", dir)
			}
			return err
		})
	})
}

// whyNotDir explains why the root dir, whose listing did not hold up, is
// no directory to mirror: it does not exist (fs.ErrNotExist), it is a file
// (ErrNotDir), or it cannot be read (cause says how, as text only: its
// reply may say "not found" of what exists).
func (m *mirror) whyNotDir(ctx context.Context, dir string, cause error) error {
	e, err := m.pool.Stat(ctx, dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errorf("%s does not exist: %w", dir, err)
	case err != nil && !isPermanent(err):
		return err
	case err == nil && e.Type == EntryFile:
		return errorf("%s: %w", dir, ErrNotDir)
	}
	return errorf("%s cannot be listed: %v", dir, cause)
}

// confirmEmpty checks the source directories that listed empty and above
// which the destination has something to delete: one the session cannot
// enter is unlisted, and the run failed.
func (m *mirror) confirmEmpty(ctx context.Context, candidates []string) {
	checked := map[string]bool{}
	for _, rel := range candidates {
		parent := path.Dir(rel)
		if !m.srcTree.empty[parent] || checked[parent] {
			continue
		}
		checked[parent] = true
		dir := remotePath(m.src, parent)
		if err := m.enterable(ctx, dir); err != nil {
			m.fail(errorf("listing %s: it lists empty and %w", dir, err))
			m.srcTree.unlisted[parent] = true
		}
	}
}

// plan compares the trees. Conflicts (a file where the source has a
// directory, a symbolic link where it has anything) and failed checksum
// checks fail their paths; the rest of the plan stands.
func (m *mirror) plan(ctx context.Context, sum *MirrorSummary) {
	src, dst := m.srcTree, m.dstTree
	conflicts := map[string]bool{}
	blocked := func(rel string) bool { // below a conflict or a directory not listed
		for p := path.Dir(rel); p != "."; p = path.Dir(p) {
			if dst.failed[p] || conflicts[p] {
				return true
			}
		}
		return dst.failed["."]
	}
	for _, rel := range slices.Sorted(maps.Keys(src.nodes)) {
		if blocked(rel) {
			continue
		}
		s := src.nodes[rel]
		d, ok := dst.nodes[rel]
		switch {
		case ok && d.keep == KeepSpecial:
			conflicts[rel] = true
			m.fail(errorf("%s: the destination has a symbolic link or special file there: not written through", rel))
			continue
		case ok && d.keep == KeepExcluded:
			continue
		case s.dir && ok && !d.dir:
			conflicts[rel] = true
			m.fail(errorf("%s is a directory in the source, a file in the destination", rel))
			continue
		case s.dir && !ok:
			sum.Plan = append(sum.Plan, MirrorAction{Op: OpMkdir, Path: rel, Dir: true, Reason: "missing"})
			continue
		case s.dir:
			continue
		case ok && d.dir:
			m.fail(errorf("%s is a file in the source, a directory in the destination", rel))
			continue
		}
		reason := ""
		switch {
		case !ok:
			reason = "missing"
		case m.opts.OnlyNewer && !newer(s, d):
		case d.size != s.size:
			reason = "size"
		case m.opts.Checksum:
			same, err := m.sameChecksum(ctx, rel)
			if err != nil {
				m.fail(errorf("checksum %s: %w", rel, err))
				continue
			}
			if !same {
				reason = "checksum"
			}
		case newer(s, d):
			reason = "newer"
		}
		if reason == "" {
			sum.Skipped++
			continue
		}
		sum.Plan = append(sum.Plan, MirrorAction{Op: OpCopy, Path: rel, Size: s.size, Reason: reason})
	}
	if m.opts.Delete {
		m.planDeletes(ctx, sum)
	}
}

// planDeletes adds the deletions and the paths kept to the plan, and
// decides whether deletions are refused.
func (m *mirror) planDeletes(ctx context.Context, sum *MirrorSummary) {
	src, dst := m.srcTree, m.dstTree
	paths := slices.Sorted(maps.Keys(dst.nodes)) // parents before children
	var extra []string
	for _, p := range paths {
		if _, ok := src.nodes[p]; !ok {
			extra = append(extra, p)
		}
	}
	if len(extra) == 0 {
		return
	}
	if m.opts.Direction == MirrorDown {
		m.confirmEmpty(ctx, extra)
	}
	// keep says why p must stay, or "": the destination's own reasons
	// hold for p alone, the source's for everything below too.
	keep := func(p string) string {
		if k := dst.nodes[p].keep; k != "" {
			return k
		}
		for a := p; a != "."; a = path.Dir(a) {
			parent := path.Dir(a)
			switch {
			case src.skipped[a]:
				return KeepSkipped
			case src.unlisted[parent]:
				return KeepUnlisted
			case strings.HasPrefix(path.Base(a), ".") && src.noDots[parent]:
				return KeepHidden
			}
		}
		return ""
	}
	// A path can go when it and everything below it can: children
	// (later in paths) first.
	stays := map[string]bool{}
	why := map[string]string{}
	for _, p := range slices.Backward(extra) {
		why[p] = keep(p)
		if why[p] != "" {
			stays[p] = true
		}
		if stays[p] {
			stays[path.Dir(p)] = true
		}
	}
	m.doomed = map[string][]string{}
	count := 0
	for _, p := range extra {
		parent := path.Dir(p)
		_, parentInSrc := src.nodes[parent]
		top := parent == "." || parentInSrc
		switch {
		case why[p] != "" && (top || why[parent] == ""):
			sum.Plan = append(sum.Plan, MirrorAction{Op: OpKeep, Path: p, Dir: dst.nodes[p].dir, Reason: why[p]})
			sum.Kept++
		case !stays[p] && (top || stays[parent]):
			a := MirrorAction{Op: OpDelete, Path: p, Dir: dst.nodes[p].dir, Reason: "extra"}
			sum.Plan = append(sum.Plan, a)
			count++
			if a.Dir {
				// What is below p follows it in paths, in one run.
				i, _ := slices.BinarySearch(paths, p+"/")
				var below []string
				for ; i < len(paths) && strings.HasPrefix(paths[i], p+"/"); i++ {
					below = append(below, paths[i])
				}
				slices.Reverse(below)
				m.doomed[p] = below
				count += len(below)
			}
		}
	}
	switch {
	case count == 0:
	case len(src.nodes) == 0 && !m.opts.AllowEmptySource:
		m.refusal = errorf("%w: %w, and %d files and directories of the destination would go (a mistyped path, or a server hiding its files?); AllowEmptySource allows it", ErrDeleteRefused, ErrEmptySource, count)
	case m.opts.MaxDelete > 0 && count > m.opts.MaxDelete:
		m.refusal = errorf("%w: %d files and directories to delete, more than MaxDelete (%d)", ErrDeleteRefused, count, m.opts.MaxDelete)
	case m.opts.MaxDelete < 0:
		m.refusal = errorf("%w: %d files and directories to delete, and MaxDelete allows none", ErrDeleteRefused, count)
	}
}

// newer reports whether the source file s is newer than its copy d, to
// the precision both have: the second (MLSD, local files), the minute (a
// LIST time of day, in the server's zone as the Conn found it), or for a
// LIST time that shows only a date (ls does for files older than six
// months) the day, widened by the largest zone offset, since a session
// that saw only dates could not find the server's zone.
func newer(s, d node) bool {
	if s.mod.IsZero() || d.mod.IsZero() {
		return false
	}
	slack := time.Second
	switch {
	case s.coarse && !showsTimeOfDay(s.mod), d.coarse && !showsTimeOfDay(d.mod):
		slack = 24*time.Hour + maxZoneOffset
	case s.coarse || d.coarse:
		slack = time.Minute
	}
	return s.mod.Sub(d.mod) >= slack
}

// sameChecksum compares the checksums of rel on both sides; true when the
// server offers none.
func (m *mirror) sameChecksum(ctx context.Context, rel string) (bool, error) {
	remote, local := m.paths(rel)
	var algo, sum string
	err := m.pool.Retry(ctx, func(c *Conn) (err error) {
		algo, sum, err = c.RemoteChecksum(ctx, remote)
		return err
	})
	if errors.Is(err, errors.ErrUnsupported) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	mine, err := localChecksum(local, algo)
	if err != nil {
		return false, err
	}
	return sameSum(mine, sum), nil
}

// paths returns the remote and local names of rel.
func (m *mirror) paths(rel string) (remote, local string) {
	if m.opts.Direction == MirrorUp {
		return remotePath(m.dst, rel), filepath.Join(m.src, filepath.FromSlash(rel))
	}
	return remotePath(m.src, rel), filepath.Join(m.dst, filepath.FromSlash(rel))
}

// result is the error of a run (or dry run) that ended with sum.
func (m *mirror) result(ctx context.Context, sum MirrorSummary) error {
	m.mu.Lock()
	errs := slices.Clone(m.errs)
	m.mu.Unlock()
	if m.refusal != nil {
		errs = append(errs, m.refusal)
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	err := errors.Join(errs...)
	switch {
	case err == nil:
		return nil
	case sum.Failed == 0:
		return errorf("mirror %s to %s: %w", m.src, m.dst, err)
	}
	return errorf("mirror %s to %s: %d failed: %w", m.src, m.dst, sum.Failed, err)
}

// run carries out the plan: directories first, then the copies in
// parallel, then, if nothing failed, the deletions.
func (m *mirror) run(ctx context.Context, sum MirrorSummary) (MirrorSummary, error) {
	if err := m.makeRoot(ctx); err != nil {
		sum.Failed = m.failures()
		return sum, errorf("mirror: creating %s: %w", m.dst, err)
	}
	var copies, deletes []MirrorAction
	for _, a := range sum.Plan {
		switch a.Op {
		case OpMkdir:
			if ctx.Err() != nil {
				break
			}
			err := m.mkdir(ctx, a.Path)
			m.report(a, err)
			if err != nil {
				m.fail(errorf("%s %s: %w", a.Op, a.Path, err))
			} else {
				sum.Dirs++
			}
		case OpCopy:
			copies = append(copies, a)
		case OpDelete:
			deletes = append(deletes, a)
		}
	}

	if m.opts.Direction == MirrorDown {
		m.exactTimes(ctx, copies)
	}
	var mu sync.Mutex
	unchecked := map[string]bool{}
	m.noted = func(check string) { mu.Lock(); unchecked[check] = true; mu.Unlock() }
	m.copyAll(ctx, copies, func(a MirrorAction, err error) {
		m.report(a, err)
		if err != nil {
			m.fail(errorf("%s %s: %w", a.Op, a.Path, err))
			return
		}
		mu.Lock()
		sum.Files++
		sum.Bytes += a.Size
		mu.Unlock()
	})
	sum.Unchecked = slices.Sorted(maps.Keys(unchecked))

	switch {
	case len(deletes) == 0 || m.refusal != nil:
	case m.failures() > 0 || ctx.Err() != nil:
		m.refusal = errorf("%w: %d deletions not done, because the run had failures", ErrDeleteRefused, len(deletes))
	default:
		for _, a := range deletes {
			if ctx.Err() != nil {
				break
			}
			err := m.remove(ctx, a)
			m.report(a, err)
			if err != nil {
				m.fail(errorf("%s %s: %w", a.Op, a.Path, err))
			} else {
				sum.Deleted++
			}
		}
	}
	sum.Failed = m.failures()
	return sum, m.result(ctx, sum)
}

// workers is how many transfers, or listings, run at a time.
func (m *mirror) workers() int {
	if m.opts.Parallel > 0 {
		return m.opts.Parallel
	}
	return m.pool.Stats().Max
}

func (m *mirror) report(a MirrorAction, err error) {
	if m.opts.OnAction != nil {
		m.opts.OnAction(a, err)
	}
}

func (m *mirror) makeRoot(ctx context.Context) error {
	if m.opts.Direction == MirrorUp {
		if m.dstExists || m.dst == "" || m.dst == "." || m.dst == "/" {
			return nil // its listing held up: no MKD, nor the CWD that checks it
		}
		return m.pool.MakeDirAll(ctx, m.dst)
	}
	if m.root != nil {
		return nil
	}
	if err := os.MkdirAll(m.dst, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(m.dst)
	m.root = root
	return err
}

// errSymlink is wrapped by the error for a local path that Mirror does not
// write through.
var errSymlink = errors.New("is a symbolic link: not written through")

// checkLocal checks, in the local destination, that every directory on
// the way to rel is a directory and not a symbolic link, and that rel is
// missing or of the type want (fs.ModeDir, or 0 for a regular file).
func (m *mirror) checkLocal(rel string, want fs.FileMode) error {
	parts := strings.Split(rel, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		fi, err := m.root.Lstat(filepath.FromSlash(p))
		last := i == len(parts)-1
		switch {
		case last && errors.Is(err, fs.ErrNotExist):
			return nil
		case err != nil:
			return err
		case fi.Mode()&fs.ModeSymlink != 0:
			return errorf("%s %w", p, errSymlink)
		case !last && !fi.IsDir():
			return errorf("%s: %w", p, ErrNotDir)
		case last && fi.Mode().Type() != want && want == fs.ModeDir:
			return errorf("%s: %w", p, ErrNotDir)
		case last && fi.Mode().Type() != want:
			return errorf("%s is not a regular file", p)
		}
	}
	return nil
}

func (m *mirror) mkdir(ctx context.Context, rel string) error {
	if m.opts.Direction == MirrorUp {
		remote, _ := m.paths(rel)
		return m.pool.MakeDirAll(ctx, remote)
	}
	if err := m.checkLocal(rel, fs.ModeDir); err != nil {
		return err
	}
	err := m.root.Mkdir(filepath.FromSlash(rel), 0o755)
	if errors.Is(err, fs.ErrExist) {
		err = m.checkLocal(rel, fs.ModeDir)
	}
	return err
}

// remove deletes what the action names: a file, or a directory with the
// entries the listing showed in it, deepest first; a directory that holds
// anything else is not removed (its RMD or rmdir fails).
func (m *mirror) remove(ctx context.Context, a MirrorAction) error {
	gone := map[string]bool{}
	if m.opts.Direction == MirrorUp && a.Dir {
		var err error
		if gone, err = m.provenFolders(ctx, a.Path); err != nil || gone[a.Path] {
			return err
		}
	}
	for _, rel := range append(slices.Clone(m.doomed[a.Path]), a.Path) {
		if gone[rel] {
			continue
		}
		if err := m.removeOne(ctx, rel, m.dstTree.nodes[rel].dir); err != nil {
			return err
		}
	}
	return nil
}

// provenFolders checks, before anything in the remote folder rel is
// deleted, that rel and every folder below it that the plan would empty
// is a folder: RMD answers that it is not empty, or removes it when it is
// empty (those are returned as gone). pyftpdlib's MLSD lists a symbolic
// link to a folder as a folder, and emptying it would delete the files of
// the link's target, outside the tree; RMD of the link fails.
func (m *mirror) provenFolders(ctx context.Context, rel string) (gone map[string]bool, err error) {
	gone = map[string]bool{}
	dirs := []string{rel}
	for _, d := range m.doomed[rel] {
		if m.dstTree.nodes[d].dir {
			dirs = append(dirs, d)
		}
	}
	slices.Sort(dirs) // a folder before what is in it
	for _, d := range dirs {
		remote, _ := m.paths(d)
		switch err := m.pool.RemoveDir(ctx, remote); {
		case err == nil:
			gone[d] = true
		case !errors.Is(err, ErrDirNotEmpty):
			return nil, errorf("%s: kept: the server did not confirm it is a folder (a link to one?): %w", d, err)
		}
	}
	return gone, nil
}

func (m *mirror) removeOne(ctx context.Context, rel string, dir bool) error {
	if m.opts.Direction == MirrorUp {
		remote, _ := m.paths(rel)
		if dir {
			return m.pool.RemoveDir(ctx, remote)
		}
		return m.pool.Delete(ctx, remote)
	}
	want := fs.FileMode(0)
	if dir {
		want = fs.ModeDir
	}
	if err := m.checkLocal(rel, want); err != nil {
		return err
	}
	return m.root.Remove(filepath.FromSlash(rel))
}
