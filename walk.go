package ftp

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Walk walks the tree rooted at root, calling fn for each file and
// directory, root included, with the semantics of fs.WalkDir: entries in
// lexical order, fs.SkipDir skips a directory (or, returned for a file, the
// rest of its directory), fs.SkipAll stops the walk, and a directory that
// cannot be listed is reported by a second call of fn with the error.
// Symbolic links are reported, not followed. The walk keeps its own stack,
// so no depth of tree exhausts the goroutine stack, and it goes at most
// maxWalkDepth (512) directories deep: a deeper directory is reported to fn
// with an error instead of being listed, so that a server presenting an
// endless tree cannot keep the walk going for ever.
//
// fn may call other methods of the Conn: the walk holds no lock between
// calls.
func (c *Conn) Walk(ctx context.Context, root string, fn fs.WalkDirFunc) error {
	e, err := c.Stat(ctx, root)
	if err != nil {
		err = fn(root, nil, err)
	} else {
		err = c.walk(ctx, root, dirEntry{e}, fn)
	}
	if errors.Is(err, fs.SkipDir) || errors.Is(err, fs.SkipAll) {
		return nil
	}
	return err
}

// maxWalkDepth bounds how many directories deep Walk and Mirror go below
// their root.
var maxWalkDepth = 512

func errTooDeep(dir string) error {
	return errorf("%s: more than %d directories deep: %w", dir, maxWalkDepth, fs.ErrInvalid)
}

// walkFrame is one directory being walked: its path and the entries left.
type walkFrame struct {
	dir     string
	entries []*Entry
}

func (c *Conn) walk(ctx context.Context, root string, d fs.DirEntry, fn fs.WalkDirFunc) error {
	if err := fn(root, d, nil); err != nil || !d.IsDir() {
		return err
	}
	first, err := c.walkDir(ctx, root, d, fn)
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
		err := fn(name, d, nil)
		switch {
		case errors.Is(err, fs.SkipDir) && !d.IsDir():
			top.entries = nil // skip the rest of this directory
		case errors.Is(err, fs.SkipDir):
		case err != nil:
			return err
		case d.IsDir() && len(stack) >= maxWalkDepth:
			if err := fn(name, d, errTooDeep(name)); err != nil && !errors.Is(err, fs.SkipDir) {
				return err
			}
		case d.IsDir():
			frame, err := c.walkDir(ctx, name, d, fn)
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

// walkDir lists a directory for the walk. A listing error goes to fn,
// whose answer stops the walk unless it is nil or fs.SkipDir.
func (c *Conn) walkDir(ctx context.Context, dir string, d fs.DirEntry, fn fs.WalkDirFunc) (walkFrame, error) {
	entries, err := c.List(ctx, dir)
	if err != nil {
		if ferr := fn(dir, d, err); ferr != nil && !errors.Is(ferr, fs.SkipDir) {
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

// Mode derives a file mode from the entry's type and, where the server
// gave one, its UNIX.mode fact.
func (d dirEntry) Mode() fs.FileMode {
	var m fs.FileMode
	switch d.e.Type {
	case EntryFile:
		m = 0o644
	case EntryDir:
		m = fs.ModeDir | 0o755
	case EntryLink:
		m = fs.ModeSymlink | 0o777
	default:
		m = fs.ModeIrregular | 0o644
	}
	if s, ok := d.e.Facts["unix.mode"]; ok {
		if perm, err := strconv.ParseUint(s, 8, 32); err == nil {
			m = m.Type() | fs.FileMode(perm).Perm()
		}
	}
	return m
}
