package ftp

import (
	"context"
	"errors"
	"fmt"
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
	ok, _, err := c.tryDir(ctx, dir)
	return ok, err
}

// tryDir is isDir that also returns the server's refusal of the CWD.
func (c *Conn) tryDir(ctx context.Context, dir string) (bool, *Error, error) {
	entered, err := c.inDir(ctx, dir, func() error { return nil })
	var refusal *Error
	if !entered && errors.As(err, &refusal) {
		return false, refusal, nil
	}
	return entered, nil, err
}

// inDir runs fn with dir as the working directory (PWD, CWD dir), then
// goes back (CWD to what PWD said). entered is false when the CWD failed;
// err is then its error, and fn did not run. The caller holds the lock.
func (c *Conn) inDir(ctx context.Context, dir string, fn func() error) (entered bool, err error) {
	cwd, err := c.currentDir(ctx)
	if err != nil {
		return false, err
	}
	if _, err := c.expect(ctx, 2, "CWD", dir); err != nil {
		return false, err
	}
	ferr := fn()
	if err := c.returnTo(ctx, cwd); err != nil {
		return true, err
	}
	return true, ferr
}

// returnTo changes back to the working directory dir after a detour,
// even when ctx has ended; when it cannot, it closes the Conn, because a
// session left in another directory would take every relative path
// somewhere else.
func (c *Conn) returnTo(ctx context.Context, dir string) error {
	_, err := c.expect(context.WithoutCancel(ctx), 2, "CWD", dir)
	if err != nil {
		err = errorf("CWD %s: cannot return to the working directory, closing the connection: %w", dir, err)
		c.ctl.close(err)
	}
	return err
}

// RemoveDir removes an empty directory (RMD). When the server refuses
// without saying why, RemoveDir looks at the path before it answers (see
// Delete): errors.Is(err, ErrDirNotEmpty) when the directory holds
// entries, ErrNotDir for a file, fs.ErrNotExist only when nothing is
// there.
func (c *Conn) RemoveDir(ctx context.Context, path string) error {
	return c.locked(ctx, func() error { return c.remove(ctx, path, true) })
}

// remove is Delete (DELE), or RemoveDir (RMD) with rmd set, for a caller
// that holds the lock.
func (c *Conn) remove(ctx context.Context, p string, rmd bool) error {
	verb := "DELE"
	if rmd {
		verb = "RMD"
	}
	_, err := c.expect(ctx, 2, verb, p)
	if err == nil {
		return nil
	}
	return c.explain(ctx, err, p, rmd)
}

// RemoveAll removes a file, or a directory and everything in it, like
// os.RemoveAll: a path that does not exist is no error, once the server
// or a check says so (a vague "550" is not taken for it). Symbolic links
// are removed, not followed. Dot files are listed (see WithListAll) and
// removed; if the directory cannot be removed in the end, because it holds
// something its listing did not show or the server refuses, RemoveAll
// fails with the reason: it never reports success for a directory that is
// still there.
func (c *Conn) RemoveAll(ctx context.Context, p string) error {
	return c.locked(ctx, func() error {
		err := c.removeAll(ctx, p, 0)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // checked: removeAll reports only a missing p so
		}
		return err
	})
}

// removeAll is RemoveAll for a caller that holds the lock. An error that
// wraps fs.ErrNotExist says that p itself is missing, as the server said
// or a check found.
func (c *Conn) removeAll(ctx context.Context, p string, depth int) error {
	_, derr := c.expect(ctx, 2, "DELE", p)
	var ferr *Error
	if derr == nil || !errors.As(derr, &ferr) {
		return derr
	}
	if depth > 1000 {
		return errorf("RemoveAll %s: deeper than 1000 levels", p)
	}
	// Only a folder that RMD says is not empty is emptied (an empty one
	// RMD removes): a server that lists a link to a folder as a folder,
	// and refuses DELE of the link, would otherwise have the link's target
	// emptied, outside the tree.
	switch err := c.remove(ctx, p, true); {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotDir):
		return c.explain(ctx, derr, p, false) // a file DELE did not remove
	case !errors.Is(err, ErrDirNotEmpty):
		return err
	}
	entries, err := c.list(ctx, p)
	if err != nil {
		return err
	}
	unread := 0
	for _, e := range entries {
		if e.Name == "" {
			unread++ // an unparsed line: RMD will tell whether it names a file
			continue
		}
		child := path.Join(p, e.Name)
		if e.Type == EntryDir {
			err = c.removeAll(ctx, child, depth+1)
		} else {
			err = c.remove(ctx, child, false)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err // (a child that is gone already is no error)
		}
	}
	err = c.remove(ctx, p, true)
	if err != nil && unread > 0 {
		return errorf("%w; %d lines of its listing could not be parsed", err, unread)
	}
	return err
}

// explain checks what is at p after the server refused to remove it (DELE,
// or RMD with rmd set), when the reply did not say why, and records the
// finding in the *Error (see Error.Is): fs.ErrNotExist only when nothing
// is there; ErrIsDir for DELE of a directory; ErrNotDir for RMD of a file;
// ErrDirNotEmpty for RMD of a directory that holds entries;
// fs.ErrPermission when the server says so; for a path that is there but
// was not removed for a reason the server did not give, none of these.
func (c *Conn) explain(ctx context.Context, err error, p string, rmd bool) error {
	var ferr *Error
	if !errors.As(err, &ferr) {
		return err
	}
	switch fact := said(ferr.Msg); {
	case fact == fs.ErrPermission, fact == fs.ErrNotExist,
		fact == ErrIsDir && !rmd, fact == ErrNotDir && rmd, fact == ErrDirNotEmpty && rmd:
		return withFact(err, fact, "")
	}
	pr, perr := c.probe(ctx, p, refusals{}, 0)
	if perr != nil {
		withFact(err, errUnsure, "")
		return errorf("%w; checking what is there failed: %w", err, perr)
	}
	switch {
	case pr.found == foundMissing:
		return withFact(err, fs.ErrNotExist, "nothing is there: "+pr.how())
	case pr.found == foundDenied:
		return withFact(err, fs.ErrPermission, pr.how())
	case pr.found == foundDir && !rmd:
		return withFact(err, ErrIsDir, "a directory: "+pr.how())
	case pr.found == foundFile && rmd:
		return withFact(err, ErrNotDir, "a file: "+pr.how())
	case pr.found == foundDir:
		entries, lerr := c.list(ctx, p)
		if lerr == nil && len(entries) > 0 {
			return withFact(err, ErrDirNotEmpty, fmt.Sprintf("it holds %d entries", len(entries)))
		}
		return withFact(err, errThere, "the directory is there; the server did not say why")
	case pr.found == foundUnsure:
		return withFact(err, errUnsure, "the server would not say what is there: "+pr.how())
	}
	return withFact(err, errThere, "it is there; the server did not say why: "+pr.how())
}
