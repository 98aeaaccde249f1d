package ftp

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// FS returns the server's tree as an fs.FS rooted at the working directory
// of the moment it is called, so that fs.WalkDir, fs.Glob, http.FS and
// testing/fstest work on an FTP server. It is also an fs.ReadDirFS,
// fs.StatFS and fs.ReadFileFS. Every operation runs with ctx. Files stream
// from the server as they are read; while one is open for reading, other
// calls on the Conn get ErrBusy, so read and close one file at a time.
//
// Its fs.FileInfo (from Stat, Open and a DirEntry's Info, and Walk's
// fs.DirEntry) has the mode the server listed (Entry.Mode), and its Sys
// method returns the *Entry, with the listing's raw line and facts.
func (c *Conn) FS(ctx context.Context) fs.FS {
	root, err := c.CurrentDir(ctx)
	return &ftpFS{c: c, ctx: ctx, root: root, err: err}
}

type ftpFS struct {
	c    *Conn
	ctx  context.Context
	root string
	err  error // from finding the root
}

// remote maps an fs.FS name to a server path, refusing invalid names:
// those fs.ValidPath refuses, and those a server may read as another name
// (ambiguous).
func (f *ftpFS) remote(op, name string) (string, error) {
	if !fs.ValidPath(name) || ambiguous(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if f.err != nil {
		return "", &fs.PathError{Op: op, Path: name, Err: f.err}
	}
	return path.Join(f.root, name), nil
}

// ambiguous reports whether a server may read the name as another one,
// so that an fs.FS over it would give two valid names one file: a
// backslash, which Windows servers (and some others) take for a path
// separator ("sub\\b.txt" opening "sub/b.txt"); an element that starts
// or ends with a space, which servers trim, or that ends with a dot,
// which Windows drops ("a." opening "a"). Such names are fs.ErrInvalid
// through FS (the other methods send names as given), and ReadDir leaves
// them out, as it does names it could not open.
func ambiguous(name string) bool {
	if strings.ContainsRune(name, '\\') {
		return true
	}
	for elem := range strings.SplitSeq(name, "/") {
		if elem != "." && (strings.HasPrefix(elem, " ") || strings.HasSuffix(elem, " ") || strings.HasSuffix(elem, ".")) {
			return true
		}
	}
	return false
}

// locked runs fn with the server path of name, holding the Conn for the
// whole operation; its error comes back as an *fs.PathError of op.
func (f *ftpFS) locked(op, name string, fn func(p string) error) error {
	p, err := f.remote(op, name)
	if err != nil {
		return err
	}
	unlock, err := f.c.acquire(f.ctx)
	if err == nil {
		defer unlock()
		err = fn(p)
	}
	if err != nil {
		return &fs.PathError{Op: op, Path: name, Err: err}
	}
	return nil
}

// Stat returns the file information of name.
func (f *ftpFS) Stat(name string) (fs.FileInfo, error) {
	var e *Entry
	err := f.locked("stat", name, func(p string) (err error) {
		e, err = f.stat(name, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	e.Name = path.Base(name)
	return dirEntry{e}, nil
}

// stat finds the entry of name. Without MLST it looks name up in the
// listing of its parent, so that Stat agrees with ReadDir to the minute
// and the byte, as fs.FS users (and testing/fstest) expect. The caller
// holds the lock.
func (f *ftpFS) stat(name, p string) (*Entry, error) {
	if name == "." || f.c.mlst() {
		return f.c.stat(f.ctx, p)
	}
	entries, err := f.c.list(f.ctx, path.Dir(p))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Name == path.Base(p) {
			return e, nil
		}
	}
	return nil, fs.ErrNotExist
}

// ReadDir lists the directory name, sorted by name. Lines of a LIST reply
// that no parser understood are left out: they have no name. As in Walk,
// a directory more than 512 deep is not listed (fs.WalkDir recurses), and
// a listing that takes more than 10 minutes fails: a server presenting an
// endless tree cannot keep fs.WalkDir going for ever.
func (f *ftpFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if name != "." && strings.Count(name, "/")+1 >= maxWalkDepth {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errTooDeep(name, maxWalkDepth)}
	}
	var entries []*Entry
	err := f.locked("readdir", name, func(p string) error {
		if name != "." && !f.c.mlst() {
			// LIST of a file lists the file: make sure name is a directory.
			e, err := f.stat(name, p)
			if err == nil && e.Type != EntryDir {
				err = ErrNotDir
			}
			if err != nil {
				return err
			}
		}
		var err error
		entries, err = listWithin(f.ctx, defaultListTimeout, p, f.c.list)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]fs.DirEntry, 0, len(entries))
	for _, e := range entries {
		if e.Name != "" && !strings.Contains(e.Name, "/") && !ambiguous(e.Name) {
			out = append(out, dirEntry{e})
		}
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// ReadFile downloads the whole file name.
func (f *ftpFS) ReadFile(name string) ([]byte, error) {
	p, err := f.remote("readfile", name)
	if err != nil {
		return nil, err
	}
	r, err := f.c.Retr(f.ctx, p)
	if err != nil {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: err}
	}
	b, err := io.ReadAll(r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: err}
	}
	return b, nil
}

// Open opens name: a directory for ReadDir, or a file whose download
// starts at the first Read.
func (f *ftpFS) Open(name string) (fs.File, error) {
	info, err := f.Stat(name)
	if err != nil {
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			pe.Op = "open"
		}
		return nil, err
	}
	if info.IsDir() {
		return &ftpDir{fs: f, name: name, info: info}, nil
	}
	return &ftpFile{fs: f, name: name, info: info}, nil
}

// ftpFile is a file opened by ftpFS.Open.
type ftpFile struct {
	fs     *ftpFS
	name   string
	info   fs.FileInfo
	r      *Response
	closed bool
}

func (f *ftpFile) Stat() (fs.FileInfo, error) { return f.info, nil }

func (f *ftpFile) Read(p []byte) (int, error) {
	if f.closed {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: fs.ErrClosed}
	}
	if f.r == nil {
		r, err := f.fs.c.Retr(f.fs.ctx, path.Join(f.fs.root, f.name))
		if err != nil {
			return 0, &fs.PathError{Op: "read", Path: f.name, Err: err}
		}
		f.r = r
	}
	return f.r.Read(p)
}

func (f *ftpFile) Close() error {
	if f.closed {
		return &fs.PathError{Op: "close", Path: f.name, Err: fs.ErrClosed}
	}
	f.closed = true
	if f.r != nil {
		return f.r.Close()
	}
	return nil
}

// ftpDir is a directory opened by ftpFS.Open.
type ftpDir struct {
	fs      *ftpFS
	name    string
	info    fs.FileInfo
	entries []fs.DirEntry // nil until listed
	closed  bool
}

func (d *ftpDir) Stat() (fs.FileInfo, error) { return d.info, nil }

func (d *ftpDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: ErrIsDir}
}

func (d *ftpDir) Close() error {
	if d.closed {
		return &fs.PathError{Op: "close", Path: d.name, Err: fs.ErrClosed}
	}
	d.closed = true
	return nil
}

// ReadDir returns the next n entries, or all that are left for n <= 0,
// as fs.ReadDirFile specifies.
func (d *ftpDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if d.closed {
		return nil, &fs.PathError{Op: "readdir", Path: d.name, Err: fs.ErrClosed}
	}
	if d.entries == nil {
		entries, err := d.fs.ReadDir(d.name)
		if err != nil {
			return nil, err
		}
		d.entries = entries
	}
	if n <= 0 {
		out := d.entries
		d.entries = d.entries[len(d.entries):]
		return out, nil
	}
	if len(d.entries) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.entries))
	out := d.entries[:n]
	d.entries = d.entries[n:]
	return out, nil
}

// fileMode is the fs.FileMode of e for FS and Walk: Entry.Mode when the
// server gave one; else the type bits of e.Type with the permissions a
// listing without any is usually taken to mean (0644 for a file, 0755 for
// a directory, 0777 for a link).
func fileMode(e *Entry) fs.FileMode {
	if e.Mode != 0 {
		return e.Mode
	}
	switch e.Type {
	case EntryFile:
		return 0o644
	case EntryDir:
		return fs.ModeDir | 0o755
	case EntryLink:
		return fs.ModeSymlink | 0o777
	}
	return fs.ModeIrregular | 0o644
}
