package ftp

import (
	"context"
	"errors"
	"path"
	"strconv"
	"strings"
	"time"
)

// Delete removes a file (DELE).
func (c *Conn) Delete(ctx context.Context, path string) error {
	_, err := c.do(ctx, 2, "DELE", path)
	return err
}

// Rename renames a file or directory (RNFR, then RNTO).
func (c *Conn) Rename(ctx context.Context, from, to string) error {
	return c.locked(ctx, func() error { return c.rename(ctx, from, to) })
}

// rename is Rename for a caller that holds the lock.
func (c *Conn) rename(ctx context.Context, from, to string) error {
	if _, err := commandLine("RNTO", to); err != nil {
		return err // refuse before RNFR is sent
	}
	if _, err := c.expect(ctx, 3, "RNFR", from); err != nil {
		return err
	}
	_, err := c.expect(ctx, 2, "RNTO", to)
	return err
}

// FileSize returns the size of a file in bytes (SIZE, RFC 3659).
func (c *Conn) FileSize(ctx context.Context, path string) (size int64, err error) {
	err = c.locked(ctx, func() (err error) { size, err = c.sizeOf(ctx, path); return err })
	return size, err
}

// parseSize reads the 213 reply to SIZE.
func parseSize(r *Reply) (int64, error) {
	size, err := strconv.ParseInt(strings.TrimSpace(r.Message()), 10, 64)
	if err != nil || size < 0 {
		return 0, errorf("%w: SIZE reply %q", ErrMalformedReply, clip(r.Message()))
	}
	return size, nil
}

// ModTime returns the modification time of a file (MDTM, RFC 3659), in UTC.
func (c *Conn) ModTime(ctx context.Context, path string) (t time.Time, err error) {
	err = c.locked(ctx, func() (err error) { t, err = c.modTime(ctx, path); return err })
	return t, err
}

// modTime is ModTime for a caller that holds the lock.
func (c *Conn) modTime(ctx context.Context, path string) (time.Time, error) {
	r, err := c.expect(ctx, 2, "MDTM", path)
	if err != nil {
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
	verb := "MFMT"
	if c.cfg.overloadedMDTM {
		verb = "MDTM"
	}
	_, err := c.expect(ctx, 2, verb, t.UTC().Format("20060102150405")+" "+path)
	return err
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
// lock.
func (c *Conn) stat(ctx context.Context, p string) (*Entry, error) {
	if c.mlst() {
		return c.mlstOf(ctx, p)
	}
	size, serr := c.sizeOf(ctx, p)
	if serr == nil {
		e := &Entry{Type: EntryFile, Size: size}
		if c.hasFeature("MDTM") {
			e.ModTime, _ = c.modTime(ctx, p)
		}
		return e, nil
	}
	var ferr *Error
	if !errors.As(serr, &ferr) {
		return nil, serr
	}
	isDir, err := c.isDir(ctx, p)
	switch {
	case err != nil:
		return nil, err
	case isDir:
		return &Entry{Type: EntryDir, Size: -1}, nil
	}
	return nil, serr
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

// mlst reports whether Stat uses MLST. The caller holds the lock.
func (c *Conn) mlst() bool {
	return c.useMLSx() && c.hasFeature("MLST")
}

// sizeOf runs SIZE. The caller holds the lock.
func (c *Conn) sizeOf(ctx context.Context, p string) (int64, error) {
	r, err := c.expect(ctx, 2, "SIZE", p)
	if err != nil {
		return 0, err
	}
	return parseSize(r)
}
