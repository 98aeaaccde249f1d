package ftptest

import (
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// Errors of the in-memory tree beyond those of io/fs.
var (
	errNotDir   = errors.New("not a directory")
	errIsDir    = errors.New("is a directory")
	errNotEmpty = errors.New("directory not empty")
)

// memFS is the in-memory file tree that all sessions of a server share.
// File contents are never modified in place: every write installs a new
// slice, so a reader may keep the slice it got without holding the lock.
type memFS struct {
	mu     sync.Mutex
	root   *node
	lastID uint64
}

// node is a file or a directory of a memFS.
type node struct {
	name string
	id   uint64
	dir  bool
	data []byte // immutable; files only
	mod  time.Time
	kids map[string]*node // directories only
}

// entry is a snapshot of a node, safe to use without the lock.
type entry struct {
	name string
	id   uint64
	dir  bool
	size int64
	mod  time.Time
	data []byte
}

func newMemFS() *memFS {
	return &memFS{root: &node{name: "/", dir: true, mod: time.Now(), kids: map[string]*node{}}}
}

// cleanPath makes an absolute, clean slash path of name, taking relative
// names from "/".
func cleanPath(name string) string { return path.Clean("/" + name) }

// pathErr wraps err with the operation and path it concerns.
func pathErr(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: name, Err: err}
}

func (n *node) snapshot() entry {
	e := entry{name: n.name, id: n.id, dir: n.dir, size: int64(len(n.data)), mod: n.mod, data: n.data}
	if n.dir {
		e.size = 4096
	}
	return e
}

// lookup finds the node at the clean absolute path p, or nil. The caller
// holds f.mu.
func (f *memFS) lookup(p string) *node {
	n := f.root
	for _, part := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		if part == "" {
			continue
		}
		if !n.dir || n.kids[part] == nil {
			return nil
		}
		n = n.kids[part]
	}
	return n
}

// parent finds the directory that holds p, creating missing directories if
// mkdirs is set. The caller holds f.mu.
func (f *memFS) parent(op, p string, mkdirs bool) (*node, error) {
	if p == "/" {
		return nil, pathErr(op, p, fs.ErrInvalid)
	}
	dir := path.Dir(p)
	if mkdirs {
		if err := f.mkdirLocked(dir, true); err != nil {
			return nil, err
		}
	}
	switch n := f.lookup(dir); {
	case n == nil:
		return nil, pathErr(op, p, fs.ErrNotExist)
	case !n.dir:
		return nil, pathErr(op, p, errNotDir)
	default:
		return n, nil
	}
}

func (f *memFS) newNode(name string, dir bool) *node {
	f.lastID++
	n := &node{name: name, id: f.lastID, dir: dir, mod: time.Now()}
	if dir {
		n.kids = map[string]*node{}
	}
	return n
}

// stat describes the node at p.
func (f *memFS) stat(p string) (entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.lookup(p)
	if n == nil {
		return entry{}, pathErr("stat", p, fs.ErrNotExist)
	}
	return n.snapshot(), nil
}

// file describes the regular file at p, failing for directories.
func (f *memFS) file(p string) (entry, error) {
	e, err := f.stat(p)
	if err == nil && e.dir {
		err = pathErr("open", p, errIsDir)
	}
	return e, err
}

// list describes the entries of the directory at p, sorted by name; for a
// file it describes the file alone.
func (f *memFS) list(p string) ([]entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.lookup(p)
	if n == nil {
		return nil, pathErr("list", p, fs.ErrNotExist)
	}
	if !n.dir {
		return []entry{n.snapshot()}, nil
	}
	out := make([]entry, 0, len(n.kids))
	for _, k := range n.kids {
		out = append(out, k.snapshot())
	}
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// put replaces the contents of the file at p with update(old), creating the
// file (and with mkdirs its parents) if needed.
func (f *memFS) put(p string, mkdirs bool, update func(old []byte) ([]byte, error)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	dir, err := f.parent("write", p, mkdirs)
	if err != nil {
		return err
	}
	base := path.Base(p)
	n := dir.kids[base]
	if n == nil {
		n = f.newNode(base, false)
	} else if n.dir {
		return pathErr("write", p, errIsDir)
	}
	data, err := update(n.data)
	if err != nil {
		return pathErr("write", p, err)
	}
	n.data, n.mod = data, time.Now()
	dir.kids[base] = n
	return nil
}

// mkdir creates the directory p; with all it creates missing parents and
// accepts an existing directory, like os.MkdirAll.
func (f *memFS) mkdir(p string, all bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mkdirLocked(p, all)
}

func (f *memFS) mkdirLocked(p string, all bool) error {
	if n := f.lookup(p); n != nil {
		if all && n.dir {
			return nil
		}
		return pathErr("mkdir", p, fs.ErrExist)
	}
	dir, err := f.parent("mkdir", p, all)
	if err != nil {
		return err
	}
	dir.kids[path.Base(p)] = f.newNode(path.Base(p), true)
	return nil
}

// remove deletes the file (or, with dir, the empty directory) at p.
func (f *memFS) remove(p string, dir bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.lookup(p)
	switch {
	case n == nil || p == "/":
		return pathErr("remove", p, fs.ErrNotExist)
	case dir && !n.dir:
		return pathErr("remove", p, errNotDir)
	case !dir && n.dir:
		return pathErr("remove", p, errIsDir)
	case len(n.kids) > 0:
		return pathErr("remove", p, errNotEmpty)
	}
	parent, _ := f.parent("remove", p, false)
	delete(parent.kids, n.name)
	return nil
}

// rename moves the node at from to to, replacing a file there.
func (f *memFS) rename(from, to string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.lookup(from)
	if n == nil || from == "/" {
		return pathErr("rename", from, fs.ErrNotExist)
	}
	if to == from {
		return nil
	}
	if strings.HasPrefix(to, from+"/") {
		return pathErr("rename", to, fs.ErrInvalid)
	}
	dst, err := f.parent("rename", to, false)
	if err != nil {
		return err
	}
	if old := dst.kids[path.Base(to)]; old != nil && (old.dir || n.dir) {
		return pathErr("rename", to, fs.ErrExist)
	}
	src, _ := f.parent("rename", from, false)
	delete(src.kids, n.name)
	n.name = path.Base(to)
	dst.kids[n.name] = n
	return nil
}

// setMod sets the modification time of the node at p.
func (f *memFS) setMod(p string, t time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.lookup(p)
	if n == nil {
		return pathErr("chtimes", p, fs.ErrNotExist)
	}
	n.mod = t
	return nil
}

// fileInfo is the fs.FileInfo of an entry.
type fileInfo struct{ e entry }

func (fi fileInfo) Name() string       { return fi.e.name }
func (fi fileInfo) Size() int64        { return fi.e.size }
func (fi fileInfo) ModTime() time.Time { return fi.e.mod }
func (fi fileInfo) IsDir() bool        { return fi.e.dir }
func (fi fileInfo) Sys() any           { return nil }

func (fi fileInfo) Mode() fs.FileMode {
	if fi.e.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}

// errOffset is a REST offset past the end of the file.
var errOffset = errors.New("restart offset beyond end of file")

// writable checks that a file may be written at p from offset off: its
// directory exists and p is not a directory, nor shorter than off.
func (f *memFS) writable(p string, off int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	dir, err := f.parent("write", p, false)
	if err != nil {
		return err
	}
	n := dir.kids[path.Base(p)]
	switch {
	case n != nil && n.dir:
		return pathErr("write", p, errIsDir)
	case n == nil && off > 0, n != nil && off > int64(len(n.data)):
		return pathErr("write", p, errOffset)
	}
	return nil
}
