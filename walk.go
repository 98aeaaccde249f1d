package ftp

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// Walk walks the tree rooted at root, calling fn for each file and
// directory, root included, with the semantics of fs.WalkDir: entries in
// lexical order, fs.SkipDir skips a directory (or, returned for a file, the
// rest of its directory), fs.SkipAll stops the walk, and a directory that
// cannot be listed is reported by a second call of fn with the error.
// Symbolic links are reported, not followed. The walk keeps its own stack,
// so no depth of tree exhausts the goroutine stack, and it is bounded by
// the default WalkLimits: a directory too deep is reported to fn with an
// error instead of being listed, and a walk that would list too many
// directories or entries, or a listing that takes too long, ends with an
// error, so that a server presenting an endless tree cannot keep the walk
// going for ever. WalkLimited sets other bounds.
//
// A root of "" walks the working directory, as List("") lists it: the
// paths given to fn are then relative to it ("" for the root itself).
//
// fn may call other methods of the Conn: the walk holds no lock between
// calls.
func (c *Conn) Walk(ctx context.Context, root string, fn fs.WalkDirFunc) error {
	return c.WalkLimited(ctx, root, WalkLimits{}, fn)
}

// WalkLimited is Walk within lim; its zero fields take the defaults.
func (c *Conn) WalkLimited(ctx context.Context, root string, lim WalkLimits, fn fs.WalkDirFunc) error {
	w := &walker{c: c, lim: lim.withDefaults(), fn: fn}
	e, err := c.walkRoot(ctx, root)
	if err != nil {
		err = fn(root, nil, err)
	} else {
		err = w.walk(ctx, root, dirEntry{e})
	}
	if errors.Is(err, fs.SkipDir) || errors.Is(err, fs.SkipAll) {
		return nil
	}
	return err
}

// walkRoot returns the entry of a walk's root. The working directory ("")
// is a directory by definition: Stat would ask the server about an empty
// name, which only MLST answers (SIZE "" fails on vsftpd).
func (c *Conn) walkRoot(ctx context.Context, root string) (*Entry, error) {
	if root == "" {
		return &Entry{Type: EntryDir, Size: -1}, nil
	}
	return c.Stat(ctx, root)
}

// WalkLimits bound a walk of a server's tree (Walk, Mirror), so that a
// server presenting an endless tree, deep, wide, or as one listing that
// never ends, cannot keep it going for ever. A zero field takes its
// default, which no real tree meets.
type WalkLimits struct {
	// MaxDepth bounds how many directories deep the walk goes below its
	// root (default 512). FS refuses to list deeper too.
	MaxDepth int
	// MaxDirs bounds the directories listed (default 1,000,000).
	MaxDirs int
	// MaxEntries bounds the entries of all the listings together
	// (default 10,000,000).
	MaxEntries int
	// ListTimeout bounds each listing as a whole, however steadily its
	// data trickle in (default 10 minutes); the Conn's timeout still
	// bounds each wait within it.
	ListTimeout time.Duration
}

// The defaults of WalkLimits. maxWalkDepth is a variable only so that
// tests can lower it.
var maxWalkDepth = 512

const (
	defaultMaxDirs     = 1_000_000
	defaultMaxEntries  = 10_000_000
	defaultListTimeout = 10 * time.Minute
)

func (l WalkLimits) withDefaults() WalkLimits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = maxWalkDepth
	}
	if l.MaxDirs <= 0 {
		l.MaxDirs = defaultMaxDirs
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = defaultMaxEntries
	}
	if l.ListTimeout <= 0 {
		l.ListTimeout = defaultListTimeout
	}
	return l
}

// ErrTreeLimit is wrapped by the error of a Walk, Mirror or FS operation
// that met one of its WalkLimits.
var ErrTreeLimit = errors.New("ftp: tree limit reached")

// check returns an error once dirs or entries, listed under root, pass
// the limits.
func (l WalkLimits) check(root string, dirs, entries int) error {
	switch {
	case dirs > l.MaxDirs:
		return errorf("%s: more than %d directories: %w", root, l.MaxDirs, ErrTreeLimit)
	case entries > l.MaxEntries:
		return errorf("%s: more than %d entries: %w", root, l.MaxEntries, ErrTreeLimit)
	}
	return nil
}

func errTooDeep(dir string, depth int) error {
	return errorf("%s: more than %d directories deep: %w: %w", dir, depth, ErrTreeLimit, fs.ErrInvalid)
}

// listWithin runs list for dir, bounded to d as a whole: past it, the
// error wraps ErrTreeLimit.
func listWithin(ctx context.Context, d time.Duration, dir string, list func(context.Context, string) ([]*Entry, error)) ([]*Entry, error) {
	lctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	entries, err := list(lctx, dir)
	// The Conn may see the deadline before lctx's timer fires.
	if err != nil && ctx.Err() == nil && (lctx.Err() != nil || errors.Is(err, context.DeadlineExceeded)) {
		err = errorf("listing %s took longer than %v: %w: %w", dir, d, ErrTreeLimit, err)
	}
	return entries, err
}

// walker is one walk: its limits and what it has listed.
type walker struct {
	c             *Conn
	lim           WalkLimits
	fn            fs.WalkDirFunc
	dirs, entries int
}

// walkFrame is one directory being walked: its path and the entries left.
type walkFrame struct {
	dir     string
	entries []*Entry
}

func (w *walker) walk(ctx context.Context, root string, d fs.DirEntry) error {
	if err := w.fn(root, d, nil); err != nil || !d.IsDir() {
		return err
	}
	first, err := w.walkDir(ctx, root, d)
	if err != nil {
		return err
	}
	stack := []walkFrame{first}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.entries == nil {
			stack = stack[:len(stack)-1]
			continue
		}
		if len(top.entries) == 0 {
			top.entries = nil
			continue
		}
		e := top.entries[0]
		top.entries = top.entries[1:]
		name := path.Join(top.dir, e.Name)
		d := dirEntry{e}
		err := w.fn(name, d, nil)
		switch {
		case errors.Is(err, fs.SkipDir) && !d.IsDir():
			top.entries = nil // skip the rest of this directory
		case errors.Is(err, fs.SkipDir):
		case err != nil:
			return err
		case d.IsDir() && len(stack) >= w.lim.MaxDepth:
			if err := w.fn(name, d, errTooDeep(name, w.lim.MaxDepth)); err != nil && !errors.Is(err, fs.SkipDir) {
				return err
			}
		case d.IsDir():
			frame, err := w.walkDir(ctx, name, d)
			if err != nil {
				return err
			}
			stack = append(stack, frame)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// walkDir lists a directory for the walk, within the limits. A listing
// error goes to fn, whose answer stops the walk unless it is nil or
// fs.SkipDir; a limit passed (a listing too long included) stops it.
func (w *walker) walkDir(ctx context.Context, dir string, d fs.DirEntry) (walkFrame, error) {
	entries, err := listWithin(ctx, w.lim.ListTimeout, dir, w.c.List)
	switch {
	case err == nil:
		w.dirs++
		w.entries += len(entries)
		if err := w.lim.check(dir, w.dirs, w.entries); err != nil {
			return walkFrame{}, err
		}
	case ctx.Err() != nil:
		return walkFrame{}, ctx.Err()
	case errors.Is(err, ErrTreeLimit):
		return walkFrame{}, err
	default:
		if ferr := w.fn(dir, d, err); ferr != nil && !errors.Is(ferr, fs.SkipDir) {
			return walkFrame{}, ferr
		}
		return walkFrame{dir: dir, entries: []*Entry{}}, nil
	}
	named := entries[:0]
	for _, e := range entries {
		if e.Name != "" { // unparsed lines have no name to walk to
			named = append(named, e)
		}
	}
	slices.SortFunc(named, func(a, b *Entry) int { return strings.Compare(a.Name, b.Name) })
	return walkFrame{dir: dir, entries: append([]*Entry{}, named...)}, nil
}

// dirEntry presents an Entry as an fs.DirEntry and fs.FileInfo. Sys
// returns the *Entry.
type dirEntry struct{ e *Entry }

func (d dirEntry) Name() string               { return d.e.Name }
func (d dirEntry) IsDir() bool                { return d.e.Type == EntryDir }
func (d dirEntry) Type() fs.FileMode          { return d.Mode().Type() }
func (d dirEntry) Info() (fs.FileInfo, error) { return d, nil }
func (d dirEntry) ModTime() time.Time         { return d.e.ModTime }
func (d dirEntry) Sys() any                   { return d.e }
func (d dirEntry) String() string             { return fs.FormatDirEntry(d) }

// Size is the size in bytes, 0 when the listing gave none.
func (d dirEntry) Size() int64 { return max(d.e.Size, 0) }

// Mode is the entry's mode (fileMode).
func (d dirEntry) Mode() fs.FileMode { return fileMode(d.e) }
