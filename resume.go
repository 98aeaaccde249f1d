package ftp

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// ErrSizeMismatch is wrapped by the error of a Download or Upload whose file,
// once complete, has another size on one side than on the other.
var ErrSizeMismatch = errors.New("ftp: size mismatch")

// TransferOption configures one Download or Upload.
type TransferOption func(*transferConfig)

type transferConfig struct {
	progress   func(done, total int64)
	noChecksum bool
	noModTime  bool
	// What Mirror already knows from its listings, so that the transfer
	// does not ask the server again.
	listed    *node // the remote file, for a download
	partKnown bool  // partSize is the remote part's size (0: none), for an upload
	partSize  int64
}

// withListed gives a Download the remote file's size and time as listed.
func withListed(n node) TransferOption {
	return func(c *transferConfig) { c.listed = &n }
}

// withPartSize gives an Upload the size of the remote part as listed (0:
// there is none), so that it need not ask with SIZE.
func withPartSize(n int64) TransferOption {
	return func(c *transferConfig) { c.partKnown, c.partSize = true, n }
}

// WithProgress has f called as data moves: done counts the bytes of the
// file complete so far (including those of a resumed part), total is the
// size of the file, or -1 when the server does not say. f is called from
// the goroutine of the transfer, which holds the Conn for the whole
// Download or Upload: f must return quickly and must not call the Conn's
// methods (they would wait for ever).
func WithProgress(f func(done, total int64)) TransferOption {
	return func(c *transferConfig) { c.progress = f }
}

// WithoutChecksum skips the checksum comparison at the end of a transfer
// (the size is still checked).
func WithoutChecksum() TransferOption {
	return func(c *transferConfig) { c.noChecksum = true }
}

// WithoutModTime leaves the modification time of the destination file as
// the transfer made it, instead of copying the source's.
func WithoutModTime() TransferOption {
	return func(c *transferConfig) { c.noModTime = true }
}

// PartName is the temporary name a Download or Upload writes name to before
// renaming it: ".name.part" in the same directory. It works for local and
// slash-separated remote names alike.
func PartName(name string) string {
	dir, base := path.Split(filepath.ToSlash(name))
	p := dir + "." + base + ".part"
	if filepath.Separator != '/' && strings.ContainsRune(name, filepath.Separator) {
		return filepath.FromSlash(p)
	}
	return p
}

// isPartName reports whether base is a temporary name made by PartName.
func isPartName(base string) bool {
	return strings.HasPrefix(base, ".") && strings.HasSuffix(base, ".part") && len(base) > len("..part")
}

// Download copies the remote file to the local one, resumably: the data goes
// to PartName(local), and a part left by an earlier attempt is resumed from
// its size (REST, when the server offers REST STREAM). When the part is
// complete, its size is checked against the server's and, where the server
// offers HASH, XSHA256, XSHA1, XMD5 or XCRC, its checksum; it then gets the
// remote modification time and is renamed to local. Data streams through a
// fixed buffer, whatever the size of the file. The Conn serves no other
// call until it returns, so that a ChangeDir meanwhile cannot change what
// remote and its temporary name mean.
func (c *Conn) Download(ctx context.Context, remote, local string, opts ...TransferOption) error {
	cfg := newTransferConfig(opts)
	if err := c.locked(ctx, func() error { return c.resumeDownload(ctx, remote, local, cfg) }); err != nil {
		return errorf("download %s to %s: %w", remote, local, err)
	}
	return nil
}

func newTransferConfig(opts []TransferOption) transferConfig {
	var cfg transferConfig
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

func (c *Conn) resumeDownload(ctx context.Context, remote, local string, cfg transferConfig) error {
	total, mod, err := c.remoteFile(ctx, remote, cfg)
	if err != nil {
		return err
	}
	part := PartName(local)
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	off := fi.Size()
	if off > 0 && ((total >= 0 && off > total) || !c.restStream()) {
		off = 0 // a stale part, or no way to resume: start again
	}
	if err := f.Truncate(off); err != nil {
		return err
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return err
	}
	if total < 0 || off < total || total == 0 {
		if err := c.fetch(ctx, remote, f, off, total, cfg.progress); err != nil {
			return err
		}
	} else if cfg.progress != nil {
		cfg.progress(off, total)
	}
	if err := f.Close(); err != nil {
		f = nil
		return err
	}
	f = nil
	fi, err = os.Stat(part)
	if err != nil {
		return err
	}
	if l := cfg.listed; l != nil && l.coarse && total >= 0 && fi.Size() != total {
		// A LIST size may be rounded ("1.2K", VMS blocks): SIZE decides.
		if n, err := c.sizeOf(ctx, remote); err == nil {
			total = n
		}
	}
	if total >= 0 && fi.Size() != total {
		return errorf("%w: local %d bytes, remote %d", ErrSizeMismatch, fi.Size(), total)
	}
	if !cfg.noChecksum {
		if err := c.verifyChecksum(ctx, remote, part); err != nil {
			if errors.Is(err, ErrChecksumMismatch) {
				os.Remove(part)
			}
			return err
		}
	}
	if !mod.IsZero() && !cfg.noModTime {
		if err := os.Chtimes(part, mod, mod); err != nil {
			return err
		}
	}
	return os.Rename(part, local)
}

// remoteFile returns the size and modification time of the file to
// download: from Mirror's listing where it gave a size (asking MDTM only
// when the listing's time is LIST's, to the minute at best), else from
// Stat. The caller holds the lock.
func (c *Conn) remoteFile(ctx context.Context, remote string, cfg transferConfig) (int64, time.Time, error) {
	if l := cfg.listed; l != nil && l.size >= 0 {
		if !l.coarse || cfg.noModTime || !c.hasFeature("MDTM") {
			return l.size, l.mod, nil
		}
		t, err := c.modTime(ctx, remote)
		switch {
		case err == nil:
		case isPermanent(err) && !errors.Is(err, fs.ErrNotExist):
			t = l.mod // MDTM refused for this file: the listing's time will do
		default:
			return 0, time.Time{}, err
		}
		return l.size, t, nil
	}
	e, err := c.stat(ctx, remote)
	if err != nil {
		return 0, time.Time{}, err
	}
	if e.Type == EntryDir {
		return 0, time.Time{}, errorf("%s is a directory: %w", remote, fs.ErrInvalid)
	}
	return e.Size, e.ModTime, nil
}

// fetch downloads remote from off into w. The caller holds the lock.
func (c *Conn) fetch(ctx context.Context, remote string, w io.Writer, off, total int64, progress func(int64, int64)) error {
	r, err := c.startDownload(ctx, "RETR", remote, off)
	if err != nil {
		return err
	}
	if progress != nil {
		r.report((&progressCount{done: off, total: total, f: progress}).add)
	}
	_, err = r.WriteTo(w) // straight into the file: zero-copy where the Response can
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return err
}

// progressCount counts transferred bytes and reports them. Its add is a
// transfer's onData, so that progress is reported from whatever path the
// data take, splice and sendfile included.
type progressCount struct {
	done, total int64
	f           func(done, total int64)
}

func (p *progressCount) add(n int64) {
	p.done += n
	if p.f != nil && n > 0 {
		p.f(p.done, p.total)
	}
}

// Upload copies the local file to the remote one, resumably: the data goes
// to PartName(remote), and a part left there by an earlier attempt is
// resumed from its size (SIZE, then REST and STOR when the server offers
// REST STREAM, else APPE). When the part is complete, its size is checked
// and, where the server offers HASH, XSHA256, XSHA1, XMD5 or XCRC, its
// checksum; it is then renamed to remote and given the local modification
// time (MFMT, where the server has it). Data streams from the file, whatever
// its size. The Conn serves no other call until it returns, as with
// Download.
func (c *Conn) Upload(ctx context.Context, local, remote string, opts ...TransferOption) error {
	cfg := newTransferConfig(opts)
	if err := c.locked(ctx, func() error { return c.resumeUpload(ctx, local, remote, cfg) }); err != nil {
		return errorf("upload %s to %s: %w", local, remote, err)
	}
	return nil
}

func (c *Conn) resumeUpload(ctx context.Context, local, remote string, cfg transferConfig) error {
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return errorf("%s is a directory: %w", local, fs.ErrInvalid)
	}
	total := fi.Size()
	part := PartName(remote)
	off := cfg.partSize
	if !cfg.partKnown {
		if off, err = c.sizeOf(ctx, part); err != nil {
			if !errors.Is(err, fs.ErrNotExist) && !isPermanent(err) {
				return err
			}
			off = 0
		}
	}
	if off > total {
		off = 0
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return err
	}
	r := io.LimitReader(f, total-off) // sendfile takes this as it is
	var progress func(int64)
	if cfg.progress != nil {
		progress = (&progressCount{done: off, total: total, f: cfg.progress}).add
	}
	switch {
	case off == 0:
		err = c.store(ctx, "STOR", part, r, 0, progress)
	case off == total:
		if cfg.progress != nil {
			cfg.progress(off, total)
		}
	case c.restStream():
		err = c.store(ctx, "STOR", part, r, off, progress)
	default:
		err = c.store(ctx, "APPE", part, r, 0, progress)
	}
	if err != nil {
		return err
	}
	size, err := c.sizeOf(ctx, part)
	if err != nil {
		return err
	}
	if size != total {
		if size > total {
			c.expect(ctx, 2, "DELE", part)
		}
		return errorf("%w: remote %d bytes, local %d", ErrSizeMismatch, size, total)
	}
	if !cfg.noChecksum {
		if err := c.verifyChecksum(ctx, part, local); err != nil {
			if errors.Is(err, ErrChecksumMismatch) {
				c.expect(ctx, 2, "DELE", part)
			}
			return err
		}
	}
	// The time goes on the part, so that the file appears complete with
	// it: a rename keeps it.
	if !cfg.noModTime && c.hasFeature("MFMT") {
		if err := c.setModTime(ctx, part, fi.ModTime()); err != nil {
			return err
		}
	}
	if err := c.rename(ctx, part, remote); err != nil {
		// Some servers refuse to rename onto an existing file.
		if !isPermanent(err) {
			return err
		}
		if _, derr := c.expect(ctx, 2, "DELE", remote); derr != nil {
			return err
		}
		return c.rename(ctx, part, remote)
	}
	return nil
}

// restStream reports whether the server announced REST STREAM, so that a
// transfer can resume from an offset. The caller holds the lock.
func (c *Conn) restStream() bool {
	return strings.EqualFold(strings.TrimSpace(c.features["REST"]), "STREAM")
}
