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
)

// MirrorAction is one step of a mirror plan.
type MirrorAction struct {
	Op     MirrorOp `json:"op"`
	Path   string   `json:"path"`           // slash path relative to both roots
	Dir    bool     `json:"dir,omitempty"`  // the path is a directory
	Size   int64    `json:"size,omitempty"` // bytes to copy (OpCopy)
	Reason string   `json:"reason"`         // why: "missing", "size", "newer", "checksum" or "extra"
}

// MirrorOptions configure Mirror. The zero value mirrors down, as many
// files at a time as the Pool allows, without deleting anything.
type MirrorOptions struct {
	Direction MirrorDirection
	// Parallel bounds the transfers at a time; zero or less: the size of
	// the Pool.
	Parallel int
	// Delete removes from the destination what the source lacks
	// (excluded paths are kept).
	Delete bool
	// Exclude holds path.Match patterns: a file or directory is left out
	// (neither copied nor deleted) when a pattern matches its path
	// relative to the root or its base name. Temporary ".name.part" files
	// of Download and Upload are always left out.
	Exclude []string
	// DryRun makes Mirror return the plan without doing it.
	DryRun bool
	// Checksum compares files of the same size by checksum (where the
	// server offers one) instead of by modification time.
	Checksum bool
	// OnAction, if not nil, is called after each action is done, with its
	// outcome; from several goroutines at once when Parallel > 1.
	OnAction func(a MirrorAction, err error)
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
	Failed  int   // actions that failed
	Plan    []MirrorAction
}

// node is one file or directory of a tree being compared.
type node struct {
	dir    bool
	size   int64
	mod    time.Time
	coarse bool // the time comes from a LIST line: minutes at best
}

// Mirror makes dst a copy of src: the remote tree src into the local
// directory dst (MirrorDown) or the local directory src into the remote
// tree dst (MirrorUp), through the Pool. A file is copied when the
// destination lacks it, has another size, or is older than the source
// (or, with Checksum, has another checksum). Copies run in parallel and
// resume what an interrupted run left in temporary files, so a Mirror run
// again after a failure or a cancellation finishes the job without
// sending again what is complete, and one run right after another copies
// nothing. Remote directory symlinks are not followed; local symlinks and
// special files are skipped.
//
// The listings read to compare the trees also save round trips: a
// download takes the file's size and time from them (asking MDTM only when
// they come from LIST, whose times are to the minute at best), and an
// upload knows whether a part of the file is there to resume. A file
// downloaded costs EPSV and RETR (plus MDTM without MLSD); a file uploaded
// EPSV, STOR, the SIZE that checks it, MFMT where offered, RNFR and RNTO.
//
// The error joins one error per failed action, naming it, and the
// context's error if it ended the run.
func Mirror(ctx context.Context, p *Pool, src, dst string, opts MirrorOptions) (MirrorSummary, error) {
	var sum MirrorSummary
	for _, pat := range opts.Exclude {
		if _, err := path.Match(pat, ""); err != nil {
			return sum, errorf("mirror: exclude %q: %w", pat, err)
		}
	}
	m := &mirror{pool: p, opts: opts, src: src, dst: dst, parts: map[string]int64{}}
	srcTree, err := m.scan(ctx, opts.Direction == MirrorDown, src, true)
	m.srcTree = srcTree
	if err != nil {
		return sum, errorf("mirror: reading source %s: %w", src, err)
	}
	dstTree, err := m.scan(ctx, opts.Direction == MirrorUp, dst, false)
	if err != nil {
		return sum, errorf("mirror: reading destination %s: %w", dst, err)
	}
	plan, skipped, err := m.plan(ctx, srcTree, dstTree)
	if err != nil {
		return sum, errorf("mirror: %w", err)
	}
	sum.Plan, sum.Skipped = plan, skipped
	if opts.DryRun {
		return sum, nil
	}
	return m.run(ctx, sum)
}

type mirror struct {
	pool     *Pool
	opts     MirrorOptions
	src, dst string
	srcTree  map[string]node
	parts    map[string]int64 // remote ".name.part" files of an upload's destination, by path
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

// scan reads the tree at root, remote or local. A destination that does
// not exist is an empty tree.
func (m *mirror) scan(ctx context.Context, remote bool, root string, isSrc bool) (map[string]node, error) {
	var tree map[string]node
	var err error
	if remote {
		tree, err = m.scanRemote(ctx, root)
	} else {
		tree, err = m.scanLocal(root)
	}
	if err != nil && !isSrc && errors.Is(err, fs.ErrNotExist) {
		return map[string]node{}, nil
	}
	return tree, err
}

func (m *mirror) scanLocal(root string) (map[string]node, error) {
	tree := map[string]node{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			if !d.IsDir() {
				return errorf("%s: not a directory: %w", root, fs.ErrInvalid)
			}
			return nil
		}
		rel = filepath.ToSlash(rel)
		if m.excluded(rel) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
			tree[rel] = node{dir: true}
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			tree[rel] = node{size: fi.Size(), mod: fi.ModTime()}
		}
		return nil
	})
	return tree, err
}

func (m *mirror) scanRemote(ctx context.Context, root string) (map[string]node, error) {
	tree := map[string]node{}
	queue := []string{""}
	for len(queue) > 0 {
		rel := queue[0]
		queue = queue[1:]
		entries, err := m.pool.List(ctx, path.Join(root, rel))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.Name == "" || e.Name == "." || e.Name == ".." {
				continue
			}
			r := path.Join(rel, e.Name)
			if m.opts.Direction == MirrorUp && e.Type == EntryFile && isPartName(e.Name) {
				m.parts[r] = e.Size
			}
			if m.excluded(r) {
				continue
			}
			_, mlsd := e.Facts["modify"]
			switch e.Type {
			case EntryDir:
				if strings.Count(r, "/") >= maxWalkDepth {
					return nil, errTooDeep(path.Join(root, r))
				}
				tree[r] = node{dir: true}
				queue = append(queue, r)
			case EntryFile:
				tree[r] = node{size: e.Size, mod: e.ModTime, coarse: !mlsd}
			}
		}
	}
	return tree, nil
}

// plan compares the trees.
func (m *mirror) plan(ctx context.Context, src, dst map[string]node) ([]MirrorAction, int, error) {
	var plan []MirrorAction
	skipped := 0
	for _, rel := range slices.Sorted(maps.Keys(src)) {
		s := src[rel]
		d, ok := dst[rel]
		if s.dir {
			if !ok {
				plan = append(plan, MirrorAction{Op: OpMkdir, Path: rel, Dir: true, Reason: "missing"})
			} else if !d.dir {
				return nil, 0, errorf("%s is a directory in the source, a file in the destination", rel)
			}
			continue
		}
		reason := ""
		switch {
		case !ok:
			reason = "missing"
		case d.dir:
			return nil, 0, errorf("%s is a file in the source, a directory in the destination", rel)
		case d.size != s.size:
			reason = "size"
		case m.opts.Checksum:
			same, err := m.sameChecksum(ctx, rel)
			if err != nil {
				return nil, 0, err
			}
			if !same {
				reason = "checksum"
			}
		case newer(s, d):
			reason = "newer"
		}
		if reason == "" {
			skipped++
			continue
		}
		plan = append(plan, MirrorAction{Op: OpCopy, Path: rel, Size: s.size, Reason: reason})
	}
	if m.opts.Delete {
		for _, rel := range slices.Sorted(maps.Keys(dst)) {
			if _, ok := src[rel]; ok {
				continue
			}
			if parent := path.Dir(rel); parent != "." {
				if _, inSrc := src[parent]; !inSrc {
					continue // removed with its parent
				}
			}
			plan = append(plan, MirrorAction{Op: OpDelete, Path: rel, Dir: dst[rel].dir, Reason: "extra"})
		}
	}
	return plan, skipped, nil
}

// newer reports whether the source file s is newer than its copy d, to
// the precision both have.
func newer(s, d node) bool {
	if s.mod.IsZero() || d.mod.IsZero() {
		return false
	}
	slack := time.Second
	if s.coarse || d.coarse {
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
		return path.Join(m.dst, rel), filepath.Join(m.src, filepath.FromSlash(rel))
	}
	return path.Join(m.src, rel), filepath.Join(m.dst, filepath.FromSlash(rel))
}

// run carries out the plan: directories first, then the copies in
// parallel, then the deletions.
func (m *mirror) run(ctx context.Context, sum MirrorSummary) (MirrorSummary, error) {
	var errs []error
	fail := func(a MirrorAction, err error) {
		sum.Failed++
		errs = append(errs, errorf("%s %s: %w", a.Op, a.Path, err))
	}
	if err := m.makeRoot(ctx); err != nil {
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
				fail(a, err)
			} else {
				sum.Dirs++
			}
		case OpCopy:
			copies = append(copies, a)
		case OpDelete:
			deletes = append(deletes, a)
		}
	}

	var mu sync.Mutex
	jobs := make(chan MirrorAction)
	workers := m.opts.Parallel
	if workers <= 0 {
		workers = m.pool.Stats().Max
	}
	var wg sync.WaitGroup
	for range min(workers, max(len(copies), 1)) {
		wg.Go(func() {
			for a := range jobs {
				err := m.copy(ctx, a.Path)
				m.report(a, err)
				mu.Lock()
				if err != nil {
					fail(a, err)
				} else {
					sum.Files++
					sum.Bytes += a.Size
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, a := range copies {
		select {
		case jobs <- a:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()

	for _, a := range deletes {
		if ctx.Err() != nil {
			break
		}
		err := m.remove(ctx, a)
		m.report(a, err)
		if err != nil {
			fail(a, err)
		} else {
			sum.Deleted++
		}
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return sum, errorf("mirror %s to %s: %d failed: %w", m.src, m.dst, sum.Failed, err)
	}
	return sum, nil
}

func (m *mirror) report(a MirrorAction, err error) {
	if m.opts.OnAction != nil {
		m.opts.OnAction(a, err)
	}
}

func (m *mirror) makeRoot(ctx context.Context) error {
	if m.opts.Direction == MirrorUp {
		if m.dst == "" || m.dst == "." || m.dst == "/" {
			return nil
		}
		return m.pool.MakeDirAll(ctx, m.dst)
	}
	return os.MkdirAll(m.dst, 0o755)
}

func (m *mirror) mkdir(ctx context.Context, rel string) error {
	remote, local := m.paths(rel)
	if m.opts.Direction == MirrorUp {
		return m.pool.MakeDirAll(ctx, remote)
	}
	return os.MkdirAll(local, 0o755)
}

// copy transfers one file, telling the transfer what the listings showed
// so that it asks the server only what they did not: the size and time of
// a file to download, whether a part of a file to upload is there already
// (true of the first attempt only: a failed one may leave a part).
func (m *mirror) copy(ctx context.Context, rel string) error {
	remote, local := m.paths(rel)
	opts := slices.Clip(m.opts.Transfer)
	if m.opts.Direction == MirrorDown {
		return m.pool.Download(ctx, remote, local, append(opts, withListed(m.srcTree[rel]))...)
	}
	hint := append(opts, withPartSize(m.parts[PartName(rel)]))
	return m.pool.Retry(ctx, func(c *Conn) error {
		o := hint
		hint = opts
		return c.Upload(ctx, local, remote, o...)
	})
}

func (m *mirror) remove(ctx context.Context, a MirrorAction) error {
	remote, local := m.paths(a.Path)
	if m.opts.Direction == MirrorUp {
		if a.Dir {
			return m.pool.RemoveAll(ctx, remote)
		}
		return m.pool.Delete(ctx, remote)
	}
	if a.Dir {
		return os.RemoveAll(local)
	}
	return os.Remove(local)
}
