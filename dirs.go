package ftp

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"strings"
)

// CurrentDir returns the working directory (PWD), with the doubled quotes
// of RFC 959 Appendix II undone.
func (c *Conn) CurrentDir(ctx context.Context) (dir string, err error) {
	err = c.locked(ctx, func() (err error) { dir, err = c.currentDir(ctx); return err })
	return dir, err
}

// currentDir is CurrentDir for a caller that holds the lock.
func (c *Conn) currentDir(ctx context.Context) (string, error) {
	r, err := c.expect(ctx, 2, "PWD", "")
	if err != nil {
		return "", err
	}
	dir, ok := quotedPath(r.Message())
	if !ok {
		return "", errorf("%w: PWD reply without a quoted path: %q", ErrMalformedReply, clip(r.Message()))
	}
	return dir, nil
}

// quotedPath extracts the path of a 257 reply: the text between the first
// quote and the next quote that is not doubled, with "" read as ".
func quotedPath(msg string) (string, bool) {
	start := strings.IndexByte(msg, '"')
	if start < 0 {
		return "", false
	}
	var b strings.Builder
	for i := start + 1; i < len(msg); i++ {
		if msg[i] != '"' {
			b.WriteByte(msg[i])
			continue
		}
		if i+1 < len(msg) && msg[i+1] == '"' {
			b.WriteByte('"')
			i++
			continue
		}
		return b.String(), true
	}
	return "", false
}

// ChangeDir changes the working directory (CWD).
func (c *Conn) ChangeDir(ctx context.Context, path string) error {
	_, err := c.do(ctx, 2, "CWD", path)
	return err
}

// ChangeDirToParent changes to the parent of the working directory (CDUP).
func (c *Conn) ChangeDirToParent(ctx context.Context) error {
	_, err := c.do(ctx, 2, "CDUP", "")
	return err
}

// MakeDir creates a directory (MKD). errors.Is(err, fs.ErrExist) holds
// when the server says it exists.
func (c *Conn) MakeDir(ctx context.Context, path string) error {
	_, err := c.do(ctx, 2, "MKD", path)
	return err
}

// MakeDirAll creates a directory and the parents it lacks, like
// os.MkdirAll: a directory that exists already is no error, whatever the
// server answers to MKD for it.
func (c *Conn) MakeDirAll(ctx context.Context, dir string) error {
	return c.locked(ctx, func() error { return c.makeDirAll(ctx, dir, 0) })
}

func (c *Conn) makeDirAll(ctx context.Context, dir string, depth int) error {
	_, err := c.expect(ctx, 2, "MKD", dir)
	var ferr *Error
	if err == nil || !errors.As(err, &ferr) {
		return err
	}
	if ok, serr := c.isDir(ctx, dir); serr != nil || ok {
		return serr
	}
	parent := path.Dir(strings.TrimRight(dir, "/"))
	if parent == dir || parent == "." || parent == "/" || depth > 1000 {
		return err
	}
	if perr := c.makeDirAll(ctx, parent, depth+1); perr != nil {
		return perr
	}
	if _, err = c.expect(ctx, 2, "MKD", dir); err != nil {
		if ok, _ := c.isDir(ctx, dir); ok {
			return nil
		}
	}
	return err
}

// isDir reports whether dir is a directory the session can enter: CWD
// into it, then back. The caller holds the lock.
func (c *Conn) isDir(ctx context.Context, dir string) (bool, error) {
	cwd, err := c.currentDir(ctx)
	if err != nil {
		return false, err
	}
	if _, err := c.expect(ctx, 2, "CWD", dir); err != nil {
		var ferr *Error
		if errors.As(err, &ferr) {
			return false, nil
		}
		return false, err
	}
	_, err = c.expect(ctx, 2, "CWD", cwd)
	return err == nil, err
}

// RemoveDir removes an empty directory (RMD).
func (c *Conn) RemoveDir(ctx context.Context, path string) error {
	_, err := c.do(ctx, 2, "RMD", path)
	return err
}

// RemoveAll removes a file, or a directory and everything in it, like
// os.RemoveAll: a path that does not exist is no error. Symbolic links are
// removed, not followed.
func (c *Conn) RemoveAll(ctx context.Context, p string) error {
	err := c.locked(ctx, func() error { return c.removeAll(ctx, p, 0) })
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (c *Conn) removeAll(ctx context.Context, p string, depth int) error {
	_, derr := c.expect(ctx, 2, "DELE", p)
	var ferr *Error
	if derr == nil || !errors.As(derr, &ferr) {
		return derr
	}
	if depth > 1000 {
		return errorf("RemoveAll %s: deeper than 1000 levels", p)
	}
	entries, err := c.list(ctx, p)
	if err != nil {
		if errors.As(err, &ferr) {
			return derr // not a directory either: DELE's answer stands
		}
		return err
	}
	for _, e := range entries {
		if e.Name == "" {
			continue // an unparsed line: RMD will say the directory is not empty
		}
		child := path.Join(p, path.Base(e.Name))
		if e.Type == EntryDir {
			err = c.removeAll(ctx, child, depth+1)
		} else {
			_, err = c.expect(ctx, 2, "DELE", child)
		}
		if err != nil {
			return err
		}
	}
	_, err = c.expect(ctx, 2, "RMD", p)
	return err
}
