package ftp

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// ErrChecksumMismatch is wrapped by the error of a Download or Upload whose
// file, once complete, has another checksum than the server computed for
// it. The temporary file is removed, so that trying again starts afresh.
var ErrChecksumMismatch = errors.New("ftp: checksum mismatch")

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
// the goroutine of the transfer and must return quickly.
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
// fixed buffer, whatever the size of the file.
func (c *Conn) Download(ctx context.Context, remote, local string, opts ...TransferOption) error {
	if err := c.resumeDownload(ctx, remote, local, newTransferConfig(opts)); err != nil {
		return fmt.Errorf("ftp: download %s to %s: %w", remote, local, err)
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
	if off > 0 && ((total >= 0 && off > total) || !c.canRestart()) {
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
		if n, err := c.FileSize(ctx, remote); err == nil {
			total = n
		}
	}
	if total >= 0 && fi.Size() != total {
		return fmt.Errorf("%w: local %d bytes, remote %d", ErrSizeMismatch, fi.Size(), total)
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
// Stat.
func (c *Conn) remoteFile(ctx context.Context, remote string, cfg transferConfig) (int64, time.Time, error) {
	if l := cfg.listed; l != nil && l.size >= 0 {
		if !l.coarse || cfg.noModTime || !c.offers("MDTM") {
			return l.size, l.mod, nil
		}
		t, err := c.ModTime(ctx, remote)
		switch {
		case err == nil:
		case isPermanent(err) && !errors.Is(err, fs.ErrNotExist):
			t = l.mod // MDTM refused for this file: the listing's time will do
		default:
			return 0, time.Time{}, err
		}
		return l.size, t, nil
	}
	e, err := c.Stat(ctx, remote)
	if err != nil {
		return 0, time.Time{}, err
	}
	if e.Type == EntryDir {
		return 0, time.Time{}, fmt.Errorf("%s is a directory: %w", remote, fs.ErrInvalid)
	}
	return e.Size, e.ModTime, nil
}

// fetch downloads remote from off into w.
func (c *Conn) fetch(ctx context.Context, remote string, w io.Writer, off, total int64, progress func(int64, int64)) error {
	var r *Response
	var err error
	if off > 0 {
		r, err = c.RetrFrom(ctx, remote, off)
	} else {
		r, err = c.Retr(ctx, remote)
	}
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

// canRestart reports whether the server announced REST STREAM.
func (c *Conn) canRestart() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.features["REST"]
	return ok && strings.EqualFold(strings.TrimSpace(v), "STREAM")
}

// Upload copies the local file to the remote one, resumably: the data goes
// to PartName(remote), and a part left there by an earlier attempt is
// resumed from its size (SIZE, then REST and STOR when the server offers
// REST STREAM, else APPE). When the part is complete, its size is checked
// and, where the server offers HASH, XSHA256, XSHA1, XMD5 or XCRC, its
// checksum; it is then renamed to remote and given the local modification
// time (MFMT, where the server has it). Data streams from the file, whatever
// its size.
func (c *Conn) Upload(ctx context.Context, local, remote string, opts ...TransferOption) error {
	if err := c.resumeUpload(ctx, local, remote, newTransferConfig(opts)); err != nil {
		return fmt.Errorf("ftp: upload %s to %s: %w", local, remote, err)
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
		return fmt.Errorf("%s is a directory: %w", local, fs.ErrInvalid)
	}
	total := fi.Size()
	part := PartName(remote)
	off := cfg.partSize
	if !cfg.partKnown {
		if off, err = c.FileSize(ctx, part); err != nil {
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
		err = c.upload(ctx, "STOR", part, r, 0, progress)
	case off == total:
		if cfg.progress != nil {
			cfg.progress(off, total)
		}
	case c.canRestart():
		err = c.upload(ctx, "STOR", part, r, off, progress)
	default:
		err = c.upload(ctx, "APPE", part, r, 0, progress)
	}
	if err != nil {
		return err
	}
	size, err := c.FileSize(ctx, part)
	if err != nil {
		return err
	}
	if size != total {
		if size > total {
			c.Delete(ctx, part)
		}
		return fmt.Errorf("%w: remote %d bytes, local %d", ErrSizeMismatch, size, total)
	}
	if !cfg.noChecksum {
		if err := c.verifyChecksum(ctx, part, local); err != nil {
			if errors.Is(err, ErrChecksumMismatch) {
				c.Delete(ctx, part)
			}
			return err
		}
	}
	// The time goes on the part, so that the file appears complete with
	// it: a rename keeps it.
	if !cfg.noModTime && c.offers("MFMT") {
		if err := c.SetModTime(ctx, part, fi.ModTime()); err != nil {
			return err
		}
	}
	if err := c.Rename(ctx, part, remote); err != nil {
		// Some servers refuse to rename onto an existing file.
		if !isPermanent(err) {
			return err
		}
		if derr := c.Delete(ctx, remote); derr != nil {
			return err
		}
		if err := c.Rename(ctx, part, remote); err != nil {
			return err
		}
	}
	return nil
}

// offers reports whether the server's FEAT listed name.
func (c *Conn) offers(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hasFeature(name)
}

// isPermanent reports whether err is a 5xx reply.
func isPermanent(err error) bool {
	var fe *Error
	return errors.As(err, &fe) && fe.Code >= 500
}

// checksum algorithms, best first: the names of HASH, the X commands, and
// the local implementations.
var checksums = []struct {
	name, xcmd string
	new        func() hash.Hash
}{
	{"SHA-256", "XSHA256", sha256.New},
	{"SHA-1", "XSHA1", sha1.New},
	{"MD5", "XMD5", md5.New},
	{"CRC32", "XCRC", func() hash.Hash { return crc32.NewIEEE() }},
}

// RemoteChecksum asks the server for the checksum of a file, with HASH
// (draft-bryan-ftpext-hash) or else XSHA256, XSHA1, XMD5 or XCRC, whichever
// FEAT lists first in that order. It returns the algorithm ("SHA-256",
// "SHA-1", "MD5" or "CRC32") and the lower-case hex sum; errors.Is(err,
// errors.ErrUnsupported) holds when the server offers none of them.
func (c *Conn) RemoteChecksum(ctx context.Context, remote string) (algo, sum string, err error) {
	feats := c.Features()
	if v, ok := feats["HASH"]; ok {
		algo, sum, err := c.hashCmd(ctx, remote, v)
		if err == nil || !isPermanent(err) {
			return algo, sum, err
		}
	}
	for _, cs := range checksums {
		if _, ok := feats[cs.xcmd]; !ok {
			continue
		}
		line, err := commandLine(cs.xcmd, remote)
		if err != nil {
			return "", "", err
		}
		reply, err := c.Quote(ctx, line)
		if err != nil {
			return "", "", err
		}
		f := strings.Fields(reply.Message())
		for _, w := range f {
			if isHex(w) {
				return cs.name, strings.ToLower(w), nil
			}
		}
		return "", "", fmt.Errorf("%w: %s reply %q", ErrMalformedReply, cs.xcmd, reply.Message())
	}
	return "", "", fmt.Errorf("ftp: server offers no checksum command: %w", errors.ErrUnsupported)
}

// hashCmd runs HASH, selecting the best algorithm the server offers (feat
// is the parameter of FEAT's HASH line, "SHA-256*;SHA-1;MD5").
func (c *Conn) hashCmd(ctx context.Context, remote, feat string) (string, string, error) {
	current := ""
	offered := map[string]bool{}
	for _, a := range strings.Split(feat, ";") {
		a = strings.ToUpper(strings.TrimSpace(a))
		if name, ok := strings.CutSuffix(a, "*"); ok {
			current, a = name, name
		}
		offered[a] = true
	}
	for _, cs := range checksums {
		if !offered[cs.name] {
			continue
		}
		if cs.name != current {
			if _, err := c.Quote(ctx, "OPTS HASH "+cs.name); err != nil {
				continue
			}
		}
		break
	}
	line, err := commandLine("HASH", remote)
	if err != nil {
		return "", "", err
	}
	reply, err := c.Quote(ctx, line)
	if err != nil {
		return "", "", err
	}
	// 213 SHA-256 0-49 169cd22282da7f147cb491e559e9dd filename
	f := strings.Fields(reply.Message())
	if len(f) < 3 || !isHex(f[2]) {
		return "", "", fmt.Errorf("%w: HASH reply %q", ErrMalformedReply, reply.Message())
	}
	return strings.ToUpper(f[0]), strings.ToLower(f[2]), nil
}

func isHex(s string) bool {
	if len(s) < 8 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// LocalChecksum computes the checksum of a local file with algo ("SHA-256",
// "SHA-1", "MD5" or "CRC32"), streaming it.
func LocalChecksum(local, algo string) (string, error) {
	for _, cs := range checksums {
		if cs.name != algo {
			continue
		}
		f, err := os.Open(local)
		if err != nil {
			return "", err
		}
		defer f.Close()
		h := cs.new()
		if _, err := io.Copy(h, f); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	return "", fmt.Errorf("ftp: checksum %q: %w", algo, errors.ErrUnsupported)
}

// verifyChecksum compares the checksum of remote with that of local where
// the server can compute one; it does nothing otherwise.
func (c *Conn) verifyChecksum(ctx context.Context, remote, local string) error {
	algo, sum, err := c.RemoteChecksum(ctx, remote)
	if errors.Is(err, errors.ErrUnsupported) || isPermanent(err) {
		return nil // nothing to compare with
	}
	if err != nil {
		return fmt.Errorf("checksum of %s: %w", remote, err)
	}
	mine, err := LocalChecksum(local, algo)
	if errors.Is(err, errors.ErrUnsupported) {
		return nil // an algorithm this package does not compute
	}
	if err != nil {
		return err
	}
	// CRC32 sums may come without leading zeros.
	if strings.TrimLeft(mine, "0") != strings.TrimLeft(sum, "0") {
		return fmt.Errorf("%w: %s of %s is %s, of %s %s", ErrChecksumMismatch, algo, remote, sum, local, mine)
	}
	return nil
}
