package ftp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"
)

// Delete removes a file (DELE). When the server refuses without saying
// why (vsftpd answers "550 Delete operation failed." for a missing file, a
// directory and a file it may not delete alike), Delete looks at the path
// before it answers: errors.Is(err, fs.ErrNotExist) only when nothing is
// there, ErrIsDir for a directory, fs.ErrPermission when the server says
// so, and none of these for a file that is there and was not removed.
func (c *Conn) Delete(ctx context.Context, path string) error {
	return c.locked(ctx, func() error { return c.remove(ctx, path, false) })
}

// Rename renames a file or directory (RNFR, then RNTO).
func (c *Conn) Rename(ctx context.Context, from, to string) error {
	return c.locked(ctx, func() error { return c.rename(ctx, from, to) })
}

// rename is Rename for a caller that holds the lock. Where the session
// pipelines, RNFR and RNTO go in one write: after a refused RNFR, the
// server refuses RNTO too (503, bad sequence).
func (c *Conn) rename(ctx context.Context, from, to string) error {
	fromLine, err := commandLine("RNFR", from)
	if err != nil {
		return err
	}
	toLine, err := commandLine("RNTO", to)
	if err != nil {
		return err // refuse before RNFR is sent
	}
	if !c.pipelines() {
		if _, err := c.expect(ctx, 3, "RNFR", from); err != nil {
			return err
		}
		_, err := c.expect(ctx, 2, "RNTO", to)
		return err
	}
	rs, err := c.pipeline(ctx, fromLine, toLine)
	switch {
	case len(rs) > 0 && rs[0].class() != 3:
		return replyError("RNFR "+from, rs[0])
	case err != nil:
		return err
	case rs[1].class() != 2:
		return replyError("RNTO "+to, rs[1])
	}
	return nil
}

// FileSize returns the size of a file in bytes (SIZE, RFC 3659). A server
// that answers 213 without a number (some do for an empty file) gives an
// error wrapping ErrMalformedReply; one that does not implement SIZE an
// *Error with its 500 or 502 (remembered: not sent again in the session).
func (c *Conn) FileSize(ctx context.Context, path string) (size int64, err error) {
	err = c.locked(ctx, func() (err error) {
		if size, err = c.sizeOf(ctx, path); err == nil && size < 0 {
			err = errorf("%w: SIZE %s: the server gave no size", ErrMalformedReply, path)
		}
		return err
	})
	return size, err
}

// parseSize reads the 213 reply to SIZE: -1 when it holds no number at
// all ("213 File status", the answer of some servers for an empty file),
// which is "size unknown", not a malformed reply.
func parseSize(r *Reply) (int64, error) {
	msg := strings.TrimSpace(r.Message())
	size, err := strconv.ParseInt(msg, 10, 64)
	switch {
	case err == nil && size >= 0:
		return size, nil
	case !strings.ContainsAny(msg, "0123456789"):
		return -1, nil
	}
	return 0, errorf("%w: SIZE reply %q", ErrMalformedReply, clip(r.Message()))
}

// ModTime returns the modification time of a file (MDTM, RFC 3659), in UTC.
func (c *Conn) ModTime(ctx context.Context, path string) (t time.Time, err error) {
	err = c.locked(ctx, func() (err error) { t, err = c.modTime(ctx, path); return err })
	return t, err
}

// modTime is ModTime for a caller that holds the lock. A server that
// does not implement MDTM is asked once a session.
func (c *Conn) modTime(ctx context.Context, path string) (time.Time, error) {
	if err := c.absent("MDTM", path); err != nil {
		return time.Time{}, err
	}
	r, err := c.expect(ctx, 2, "MDTM", path)
	if err != nil {
		c.tried("MDTM", err)
		return time.Time{}, err
	}
	t, ok := parseMLSxTime(strings.TrimSpace(r.Message()))
	if !ok {
		return time.Time{}, errorf("%w: MDTM reply %q", ErrMalformedReply, clip(r.Message()))
	}
	return t, nil
}

// SetModTime sets the modification time of a file (MFMT), to the second.
// Servers without MFMT answer with an error; vsftpd's two-argument MDTM
// is used only with WithOverloadedMDTM, because on other servers that
// form means something else.
func (c *Conn) SetModTime(ctx context.Context, path string, t time.Time) error {
	return c.locked(ctx, func() error { return c.setModTime(ctx, path, t) })
}

// setModTime is SetModTime for a caller that holds the lock.
func (c *Conn) setModTime(ctx context.Context, path string, t time.Time) error {
	vc := c.modTimeCommand(path, t)
	verb, arg := vc[0], vc[1]
	if err := c.absent(verb, arg); err != nil {
		return err
	}
	_, err := c.expect(ctx, 2, verb, arg)
	c.tried(verb, err)
	return err
}

// modTimeCommand is the command that sets path's time to t: MFMT, or
// MDTM with WithOverloadedMDTM.
func (c *Conn) modTimeCommand(path string, t time.Time) [2]string {
	verb := "MFMT"
	if c.cfg.overloadedMDTM {
		verb = "MDTM"
	}
	return [2]string{verb, t.UTC().Format("20060102150405") + " " + path}
}

// Stat returns the entry of one file or directory: from MLST (RFC 3659)
// when the server offers it, else from SIZE and MDTM for a file, or a
// CWD into it for a directory. Its Name is the last element of path.
// errors.Is(err, fs.ErrNotExist) holds when there is no such file.
func (c *Conn) Stat(ctx context.Context, p string) (*Entry, error) {
	var e *Entry
	err := c.locked(ctx, func() (err error) { e, err = c.stat(ctx, p); return err })
	if err != nil {
		return nil, err
	}
	if base := path.Base(strings.TrimRight(p, "/")); base != "." && base != "" {
		e.Name = base
	} else {
		e.Name = p
	}
	return e, nil
}

// stat is Stat, without the entry's Name, for a caller that holds the
// lock. A refusal that does not say why is checked (probe) before it is
// taken for a missing path.
func (c *Conn) stat(ctx context.Context, p string) (*Entry, error) {
	return c.statAs(ctx, p, false)
}

// statAs is stat; forFile is set by a caller that will fail anyway on a
// directory (Download: RETR refuses it), which spares the check that a
// number from SIZE is not a directory's (sizeForDirs).
func (c *Conn) statAs(ctx context.Context, p string, forFile bool) (*Entry, error) {
	var err error
	usedMLST := false
	if c.useMLST() {
		var e *Entry
		if e, err = c.mlstOf(ctx, p); err == nil {
			return e, nil
		}
		usedMLST = !c.tried("MLST", err)
	}
	if !usedMLST {
		e, serr := c.statSize(ctx, p, forFile)
		if serr == nil {
			return e, nil
		}
		err = serr
	}
	var ferr *Error
	if !errors.As(err, &ferr) {
		return nil, err
	}
	if fact := said(ferr.Msg); fact == fs.ErrNotExist || fact == fs.ErrPermission {
		return nil, withFact(err, fact, "")
	}
	known := refusals{size: ferr}
	if usedMLST {
		known = refusals{mlst: ferr}
	}
	pr, perr := c.probe(ctx, p, known, 0)
	switch {
	case perr != nil:
		return nil, perr
	case pr.entry != nil:
		e := *pr.entry
		return &e, nil
	case pr.found == foundDir:
		return &Entry{Type: EntryDir, Size: -1}, nil
	case pr.found == foundMissing:
		return nil, withFact(err, fs.ErrNotExist, "nothing is there: "+pr.how())
	case pr.found == foundDenied:
		return nil, withFact(err, fs.ErrPermission, pr.how())
	case pr.found == foundUnsure:
		return nil, withFact(err, errUnsure, pr.how())
	}
	return nil, withFact(err, errThere, "it is there: "+pr.how())
}

// statSize is stat without MLST: SIZE (and MDTM) for a file. A number
// from SIZE alone does not make a file where the server gives one for a
// directory too (sizeForDirs): there a CWD into p that succeeds makes it
// a directory. The caller holds the lock.
func (c *Conn) statSize(ctx context.Context, p string, forFile bool) (*Entry, error) {
	size, err := c.sizeOf(ctx, p)
	if err != nil {
		return nil, err
	}
	if !forFile {
		dirsToo, err := c.sizeForDirs(ctx)
		if err != nil {
			return nil, err
		}
		if dirsToo {
			dir, _, err := c.tryDir(ctx, p)
			switch {
			case err != nil:
				return nil, err
			case dir:
				return &Entry{Type: EntryDir, Size: -1}, nil
			}
		}
	}
	e := &Entry{Type: EntryFile, Size: size}
	if c.may("MDTM") {
		e.ModTime, _ = c.modTime(ctx, p)
	}
	return e, nil
}

// sizeForDirs reports whether SIZE may answer with a number for a
// directory, found out once a session with SIZE of the working directory:
// a server that refuses it is taken to refuse every directory. The caller
// holds the lock.
func (c *Conn) sizeForDirs(ctx context.Context) (bool, error) {
	if c.can.sizeDirs == 0 {
		cwd, err := c.currentDir(ctx)
		if err != nil {
			return false, err
		}
		_, err = c.sizeOf(ctx, cwd)
		var ferr *Error
		switch {
		case err == nil:
			c.can.sizeDirs = 2
			c.ctl.trace("# ", "SIZE answers for a directory: Stat confirms a file with CWD")
		case errors.As(err, &ferr):
			c.can.sizeDirs = 1
		default:
			return false, err
		}
	}
	return c.can.sizeDirs == 2, nil
}

// found is what probe found at a path.
type found int

const (
	foundUnsure  found = iota // the server would not say
	foundMissing              // nothing is there
	foundDir                  // a directory (that the session can enter, unless MLST said so)
	foundFile                 // a file
	foundOther                // something else: a directory the session cannot enter, a device …
	foundDenied               // the server said permission denied
)

// presence is what probe found, and how.
type presence struct {
	found found
	entry *Entry   // the entry MLST or the parent's listing gave, if any
	asked []string // the refusals and listings that told
}

// how says what probe asked and what it heard, for an error message.
func (pr *presence) how() string { return strings.Join(pr.asked, "; ") }

// note records a refusal that probe heard.
func (pr *presence) note(err *Error) {
	pr.asked = append(pr.asked, fmt.Sprintf("%s: %d %s", err.Cmd, err.Code, clip(err.Msg)))
}

// maxProbeDepth bounds how many parents probe looks at, one listing each.
const maxProbeDepth = 8

// refusals are the vague refusals a caller of probe has heard already,
// so that probe does not ask again.
type refusals struct{ mlst, cwd, size *Error }

// probe finds out what is at p after a command on it failed without
// saying why. It asks MLST where the server offers it; else CWD into p
// (and back), then SIZE; only when every answer is vague (vsftpd answers
// "550 Failed to change directory." and "550 Could not get file size."
// for a missing path, a file and a directory it may not enter alike) does
// it look for p in its parent's listing, and when that listing cannot
// tell either, at the parent itself. A replyless failure (a broken
// connection) is returned as the error. The caller holds the lock.
func (c *Conn) probe(ctx context.Context, p string, known refusals, depth int) (presence, error) {
	var pr presence
	if known.mlst != nil {
		pr.note(known.mlst)
	} else if c.useMLST() {
		e, err := c.mlstOf(ctx, p)
		var ferr *Error
		switch {
		case err == nil:
			pr.entry, pr.found = e, foundOther
			pr.asked = append(pr.asked, "MLST "+p+" says type="+e.Facts["type"])
			switch e.Type {
			case EntryDir:
				pr.found = foundDir
			case EntryFile, EntryLink:
				pr.found = foundFile
			}
			return pr, nil
		case !errors.As(err, &ferr):
			return pr, err
		}
		pr.note(ferr)
		if c.tried("MLST", err) {
			// not implemented after all: the other ways below
		} else if f, ok := refusalSays(ferr); ok {
			pr.found = f
			return pr, nil
		}
	}
	cwdRefusal := known.cwd
	if cwdRefusal == nil && p != "" {
		ok, refusal, err := c.tryDir(ctx, p)
		switch {
		case err != nil:
			return pr, err
		case ok:
			pr.found = foundDir
			pr.asked = append(pr.asked, "CWD "+p+" succeeded")
			return pr, nil
		}
		cwdRefusal = refusal
	}
	if cwdRefusal != nil {
		pr.note(cwdRefusal)
		if f, ok := refusalSays(cwdRefusal); ok {
			pr.found = f
			return pr, nil
		}
	}
	sizeRefusal := known.size
	if sizeRefusal == nil {
		_, err := c.sizeOf(ctx, p)
		switch {
		case err == nil:
			pr.found = foundFile
			pr.asked = append(pr.asked, "SIZE "+p+" succeeded")
			return pr, nil
		case !errors.As(err, &sizeRefusal) && !errors.Is(err, ErrMalformedReply):
			return pr, err
		}
	}
	if sizeRefusal != nil {
		pr.note(sizeRefusal)
		switch said(sizeRefusal.Msg) {
		case ErrIsDir:
			pr.found = foundOther // there, and no regular file
			return pr, nil
		case fs.ErrPermission:
			pr.found = foundDenied
			return pr, nil
		}
	}
	return c.probeParent(ctx, p, pr, depth)
}

// refusalSays reads a refusal of MLST or CWD that gives its reason.
func refusalSays(ferr *Error) (found, bool) {
	switch said(ferr.Msg) {
	case fs.ErrNotExist:
		return foundMissing, true
	case fs.ErrPermission:
		return foundDenied, true
	}
	return foundUnsure, false
}

// probeParent is the last step of probe: it looks for p in the listing of
// its parent.
func (c *Conn) probeParent(ctx context.Context, p string, pr presence, depth int) (presence, error) {
	clean := strings.TrimRight(p, "/")
	base := path.Base(clean)
	if clean == "" || base == "." || base == ".." || depth >= maxProbeDepth {
		return pr, nil
	}
	parent := path.Dir(clean)
	if parent == "." && !strings.HasPrefix(clean, "./") {
		parent = "" // the working directory: LIST with no argument
	}
	ls := c.listRaw(ctx, parent)
	var ferr *Error
	switch {
	case ls.err == nil:
	case !errors.As(ls.err, &ferr):
		return pr, ls.err
	default:
		pr.note(ferr)
		if said(ferr.Msg) == fs.ErrNotExist {
			pr.found = foundMissing // no parent, no p
		}
		return pr, nil
	}
	where := parent
	if where == "" {
		where = "the working directory"
	}
	for _, e := range ls.entries {
		if e.Name != base {
			continue
		}
		pr.entry = e
		pr.asked = append(pr.asked, "listed in "+where)
		switch e.Type {
		case EntryFile, EntryLink:
			pr.found = foundFile
		default:
			pr.found = foundOther // CWD failed: a directory the session cannot enter
		}
		return pr, nil
	}
	switch {
	case strings.HasPrefix(base, ".") && !ls.hidden:
		pr.asked = append(pr.asked, "the listing of "+where+" may hide dot files")
		return pr, nil
	case ls.complete(path.Base(parent)):
		pr.found = foundMissing
		pr.asked = append(pr.asked, "not in the listing of "+where)
		return pr, nil
	case parent == "" || parent == "/":
		return pr, nil
	}
	// The parent listed nothing that can be trusted: p is missing if its
	// parent is, or if the parent is a directory the session can enter and
	// the server does not list "." and ".." (which it would for a directory
	// it can read).
	up, err := c.probe(ctx, parent, refusals{}, depth+1)
	if err != nil {
		return pr, err
	}
	if up.found == foundMissing || up.found == foundDir && ls.named() == 0 && !c.lsDots && ls.failed == "" {
		pr.found = foundMissing
		pr.asked = append(pr.asked, "the listing of "+where+" is empty")
	}
	return pr, nil
}

// mlstOf asks for the facts of one path: "250-", one entry line that starts
// with a space, "250 End".
func (c *Conn) mlstOf(ctx context.Context, p string) (*Entry, error) {
	r, err := c.expect(ctx, 2, "MLST", p)
	if err != nil {
		return nil, err
	}
	for _, line := range r.Lines[1:] {
		if strings.HasPrefix(line, " ") {
			e, err := parseMLSxLine(line[1:])
			if err != nil {
				return nil, errorf("%w: MLST entry %q: %v", ErrMalformedReply, clip(line), err)
			}
			return e, nil
		}
	}
	return nil, errorf("%w: MLST reply without an entry: %q", ErrMalformedReply, clip(r.Message()))
}

// useMLST reports whether Stat uses MLST: FEAT lists it, or without
// FEAT it has not been found missing yet. The caller holds the lock.
func (c *Conn) useMLST() bool {
	return !c.cfg.noMLSD && c.may("MLST")
}

// mlst reports whether both Stat and List use the MLSx commands, so that
// their entries agree to the second (FS). The caller holds the lock.
func (c *Conn) mlst() bool {
	return c.useMLST() && c.useMLSD()
}

// sizeOf runs SIZE: -1 for a 213 without a number (size unknown). A
// server that does not implement SIZE is asked once a session; later
// calls get its refusal at once. The caller holds the lock.
func (c *Conn) sizeOf(ctx context.Context, p string) (int64, error) {
	if err := c.absent("SIZE", p); err != nil {
		return 0, err
	}
	r, err := c.expect(ctx, 2, "SIZE", p)
	if err != nil {
		c.tried("SIZE", err)
		return 0, err
	}
	return parseSize(r)
}
