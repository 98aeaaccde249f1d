package ftp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
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
	segments   int // WithSegments (segment.go): Pool.Download only
	// What Mirror already knows from its listings, so that the transfer
	// does not ask the server again.
	listed    *node // the remote file, for a download
	partKnown bool  // partSize is the remote part's size (0: none), for an upload
	partSize  int64
	// root, when set, holds the local file: its name is relative to root,
	// and no symbolic link is followed on the way to it.
	root *os.Root
	// unchecked, when set, hears of each check the server made impossible
	// (Mirror's summary).
	unchecked func(what string)
}

// withUnchecked has f told of each check that a transfer could not make
// because the server offers no way to (see MirrorSummary.Unchecked).
func withUnchecked(f func(what string)) TransferOption {
	return func(c *transferConfig) { c.unchecked = f }
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

// withLocalRoot makes the local name of a Download or Upload relative to
// root (slash- or OS-separated, without ".."): every directory on the way
// and the file itself are opened without following symbolic links, and
// one that is a link is an error. Mirror passes its destination (or
// source) root, so that nothing it writes or reads leaves the tree.
func withLocalRoot(root *os.Root) TransferOption {
	return func(c *transferConfig) { c.root = root }
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
// slash-separated remote names alike. Beside the part, a transfer that can
// be resumed keeps its record (see Download): PartName(name)+".meta".
func PartName(name string) string {
	dir, base := path.Split(filepath.ToSlash(name))
	p := dir + "." + base + ".part"
	if filepath.Separator != '/' && strings.ContainsRune(name, filepath.Separator) {
		return filepath.FromSlash(p)
	}
	return p
}

// recordSuffix makes the name of a part's record from the part's.
const recordSuffix = ".meta"

// isPartName reports whether base is a temporary name of Download and
// Upload: a part made by PartName (".name.part") or its record
// (".name.part.meta"). Mirror leaves both out on either side.
func isPartName(base string) bool {
	base = strings.TrimSuffix(base, recordSuffix)
	return strings.HasPrefix(base, ".") && strings.HasSuffix(base, ".part") && len(base) > len("..part")
}

// A partRecord says what a part was made from, so that a later attempt
// appends to the part only what belongs to the same file: for a download,
// the remote file (server, path, size, modification time to the second or
// better); for an upload, the local file (path, size, modification time).
// It is written before the part's first byte and removed after the part
// was renamed, so that a process killed at any point leaves a part that
// either has its own record or none: a part without a matching record is
// never appended to.
type partRecord struct {
	Version int       `json:"v"`
	Source  string    `json:"source"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"modified"`
}

const (
	recordVersion = 1
	maxRecord     = 4 << 10 // a record is one short line; a larger file is not one
)

// minResumable is the size from which an upload leaves a record beside
// its remote part, and so the smallest part an upload resumes: writing the
// record and removing it costs a STOR and two DELEs, worth it only when a
// resume can save more than that.
var minResumable int64 = 1 << 20

func (r partRecord) encode() []byte {
	b, _ := json.Marshal(r) // strings, numbers and a time: cannot fail
	return append(b, '\n')
}

// parseRecord reads a record; nil when data is not one of this version.
func parseRecord(data []byte) *partRecord {
	var r partRecord
	if len(data) > maxRecord || json.Unmarshal(data, &r) != nil || r.Version != recordVersion {
		return nil
	}
	return &r
}

// matches reports whether a part recorded as r was made from the file
// described by want.
func (r *partRecord) matches(want *partRecord) bool {
	return r != nil && want != nil && r.Version == want.Version && r.Source == want.Source &&
		r.Size == want.Size && r.ModTime.Equal(want.ModTime)
}

// Download copies the remote file to the local one, resumably: the data goes
// to PartName(local), and a part left by an earlier attempt, even one whose
// process was killed, is resumed from its size (REST, when the server
// offers REST STREAM) provided that its record shows it was made from the
// same remote file, unchanged: same server, same path, same size and same
// modification time (from MLST, MLSD or MDTM: a server that gives none, or
// only LIST's minutes, gets a fresh download every time). Any other part is
// started afresh, never appended to. The part and its record are opened
// without following symbolic links and created exclusively: a part that
// is a link or not a regular file is an error, and nothing is written
// through it.
//
// When the part is complete, its size is checked against the server's
// and, where the server offers HASH, XSHA256, XSHA1, XMD5 or XCRC, its
// checksum; it then gets the remote modification time and is renamed to
// local. Data streams through a fixed buffer, whatever the size of the
// file. The Conn serves no other call until it returns, so that a
// ChangeDir meanwhile cannot change what remote and its temporary name
// mean.
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
	src, err := c.remoteFile(ctx, remote, cfg)
	if err != nil {
		return err
	}
	lp, err := openLocalPart(cfg.root, local)
	if err != nil {
		return err
	}
	defer lp.dir.Close()
	var want *partRecord
	if src.precise && src.size >= 0 && c.restStream() {
		want = &partRecord{Version: recordVersion, Source: c.serverName() + " " + remote, Size: src.size, ModTime: src.mod}
	}
	f, off, err := lp.open(want)
	if err != nil {
		return err
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	total := src.size
	if total < 0 || off < total || total == 0 {
		announced, err := c.fetch(ctx, remote, f, off, total, cfg.progress)
		if err != nil {
			return err
		}
		if total < 0 && announced >= 0 && off == 0 {
			total = announced // the 150's "(N bytes)"
		}
	} else if cfg.progress != nil {
		cfg.progress(off, total)
	}
	fi, err := f.Stat()
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
	if total < 0 {
		c.unchecked(`download size not checked: the server gives none (no SIZE, MLST, listing size or "(N bytes)" in its 150 reply)`, remote, cfg.unchecked)
	}
	if !cfg.noChecksum {
		if err := c.verifyChecksum(ctx, remote, io.NewSectionReader(f, 0, fi.Size()), lp.path(lp.part)); err != nil {
			if errors.Is(err, ErrChecksumMismatch) {
				lp.discard()
			}
			return err
		}
	}
	err = f.Close()
	f = nil
	if err != nil {
		return err
	}
	if !src.mod.IsZero() && !cfg.noModTime {
		if err := lp.dir.Chtimes(lp.part, src.mod, src.mod); err != nil {
			return err
		}
	}
	return lp.commit(fi)
}

// remoteSource is what a download knows of its remote file.
type remoteSource struct {
	size    int64 // -1: unknown
	mod     time.Time
	precise bool // mod comes from MLST, MLSD or MDTM: to the second or better
}

// remoteFile returns the size and modification time of the file to
// download: from Mirror's listing where it gave a size (asking MDTM when
// the listing's time is LIST's, to the minute at best), else from Stat.
// The caller holds the lock.
func (c *Conn) remoteFile(ctx context.Context, remote string, cfg transferConfig) (remoteSource, error) {
	if l := cfg.listed; l != nil && l.size >= 0 {
		if !l.coarse || l.exact {
			return remoteSource{l.size, l.mod, !l.mod.IsZero()}, nil
		}
		if !c.may("MDTM") || cfg.noModTime && l.size < minResumable {
			return remoteSource{l.size, l.mod, false}, nil
		}
		// Also WithoutModTime, for a file worth resuming: a part is
		// resumed only against a time to the second.
		t, err := c.modTime(ctx, remote)
		switch {
		case err == nil:
			return remoteSource{l.size, t, true}, nil
		case isPermanent(err) && !errors.Is(err, fs.ErrNotExist):
			return remoteSource{l.size, l.mod, false}, nil // MDTM refused for this file: the listing's time will do
		}
		return remoteSource{}, err
	}
	e, err := c.statAs(ctx, remote, true)
	if err != nil {
		return remoteSource{}, err
	}
	if e.Type == EntryDir {
		return remoteSource{}, errorf("%s: %w", remote, ErrIsDir)
	}
	// A time from a LIST line (the parent's listing, on a server without
	// MLST and SIZE) is to the minute at best: no ground for a resume.
	precise := !e.ModTime.IsZero() && (e.Facts != nil || e.Raw == "")
	return remoteSource{e.Size, e.ModTime, precise}, nil
}

// serverName names the server in a download's record: the host dialled and
// the port of the control connection.
func (c *Conn) serverName() string {
	if a, ok := c.ctl.nc.RemoteAddr().(*net.TCPAddr); ok {
		return "ftp://" + net.JoinHostPort(c.host, strconv.Itoa(a.Port))
	}
	return "ftp://" + c.host
}

// localPart is the local side of a download: the directory of the file,
// opened as a root so that the part, its record and the file are reached
// by name without following a symbolic link.
type localPart struct {
	dir                *os.Root
	name, part, record string // base names in dir
}

// openLocalPart opens the directory of local: under root without
// following links when root is set, else the directory as named.
func openLocalPart(root *os.Root, local string) (*localPart, error) {
	dir, name, err := openParent(root, local)
	if err != nil {
		return nil, err
	}
	lp := &localPart{dir: dir, name: name, part: PartName(name)}
	lp.record = lp.part + recordSuffix
	if fi, err := dir.Lstat(name); err == nil && fi.IsDir() {
		dir.Close()
		return nil, errorf("%s: %w", lp.path(name), ErrIsDir)
	}
	return lp, nil
}

// openParent opens the directory that holds name and returns its base.
func openParent(root *os.Root, name string) (*os.Root, string, error) {
	d, base := filepath.Split(name)
	if base == "" || base == "." || base == ".." {
		return nil, "", errorf("%q does not name a file: %w", name, fs.ErrInvalid)
	}
	if root != nil {
		dir, err := openDirNoFollow(root, d)
		return dir, base, err
	}
	if d == "" {
		d = "."
	}
	dir, err := os.OpenRoot(d)
	return dir, base, err
}

// openDirNoFollow opens the directory rel under root, one name at a time:
// a name on the way that is a symbolic link, or anything but a directory,
// is an error, never followed.
func openDirNoFollow(root *os.Root, rel string) (*os.Root, error) {
	cur, err := root.OpenRoot(".")
	if err != nil {
		return nil, err
	}
	for _, name := range strings.Split(filepath.ToSlash(rel), "/") {
		if name == "" || name == "." {
			continue
		}
		next, err := openChildDir(cur, name)
		cur.Close()
		if err != nil {
			return nil, err
		}
		cur = next
	}
	return cur, nil
}

// openChildDir opens the directory name in dir if it is one, not a link.
func openChildDir(dir *os.Root, name string) (*os.Root, error) {
	p := filepath.Join(dir.Name(), name)
	if name == ".." {
		return nil, errorf("%s: %w", p, fs.ErrInvalid)
	}
	fi, err := dir.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, errorf("%s is %s, not a directory: refusing to go through it", p, kindOfFile(fi))
	}
	sub, err := dir.OpenRoot(name)
	if err != nil {
		return nil, err
	}
	if sfi, err := sub.Stat("."); err != nil || !os.SameFile(fi, sfi) {
		sub.Close()
		return nil, errorf("%s was replaced while being opened: refusing to go through it", p)
	}
	return sub, nil
}

// kindOfFile names what a file that is not a regular one is.
func kindOfFile(fi fs.FileInfo) string {
	switch m := fi.Mode(); {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsRegular():
		return "a regular file"
	}
	return "not a regular file"
}

func (lp *localPart) path(name string) string { return filepath.Join(lp.dir.Name(), name) }

// lstat returns the entry name in the directory, nil if there is none. An
// entry that is not a regular file is an error: a part or a record is
// never a link, and nothing is written through one.
func (lp *localPart) lstat(name string) (fs.FileInfo, error) {
	fi, err := lp.dir.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, err
	case !fi.Mode().IsRegular():
		return nil, errorf("%s is %s, not a part file this package made: refusing to use it (remove it to go on)", lp.path(name), kindOfFile(fi))
	}
	return fi, nil
}

// open returns the part to write and the offset to write at: the part
// left by an earlier attempt when its record matches want, else a new
// part (the old one and its record removed first), with want recorded
// before it when want is not nil.
func (lp *localPart) open(want *partRecord) (*os.File, int64, error) {
	fi, err := lp.lstat(lp.part)
	if err != nil {
		return nil, 0, err
	}
	if _, err := lp.lstat(lp.record); err != nil {
		return nil, 0, err
	}
	if fi != nil && want != nil && fi.Size() <= want.Size && lp.readRecord().matches(want) {
		f, err := lp.dir.OpenFile(lp.part, os.O_RDWR, 0)
		if err != nil {
			return nil, 0, err
		}
		ffi, err := f.Stat()
		if err == nil && (!os.SameFile(fi, ffi) || !ffi.Mode().IsRegular()) {
			err = errorf("%s was replaced while being opened: refusing to use it", lp.path(lp.part))
		}
		if err == nil {
			_, err = f.Seek(ffi.Size(), io.SeekStart)
		}
		if err != nil {
			f.Close()
			return nil, 0, err
		}
		return f, ffi.Size(), nil
	}
	// Start afresh: the old part goes first, then its record, so that a
	// process killed in between leaves a record without a part, which
	// describes nothing.
	for _, name := range []string{lp.part, lp.record} {
		if err := lp.dir.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, 0, err
		}
	}
	if want != nil {
		if err := lp.writeRecord(want); err != nil {
			return nil, 0, err
		}
	}
	f, err := lp.dir.OpenFile(lp.part, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, 0, err
	}
	return f, 0, nil
}

// readRecord reads the part's record; nil when there is none or it is not
// one.
func (lp *localPart) readRecord() *partRecord {
	f, err := lp.dir.OpenFile(lp.record, os.O_RDONLY, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRecord+1))
	if err != nil {
		return nil
	}
	return parseRecord(data)
}

func (lp *localPart) writeRecord(r *partRecord) error {
	f, err := lp.dir.OpenFile(lp.record, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(r.encode())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		lp.dir.Remove(lp.record)
	}
	return err
}

// discard removes a part that cannot be right, and its record.
func (lp *localPart) discard() {
	lp.dir.Remove(lp.part)
	lp.dir.Remove(lp.record)
}

// commit renames the complete part, still the file fi written, to the
// file's name (replacing whatever is there, a link included, never
// writing through it), then removes the record.
func (lp *localPart) commit(fi fs.FileInfo) error {
	now, err := lp.dir.Lstat(lp.part)
	if err != nil {
		return err
	}
	if !os.SameFile(fi, now) {
		return errorf("%s was replaced during the download: refusing to rename it to %s", lp.path(lp.part), lp.path(lp.name))
	}
	if err := lp.dir.Rename(lp.part, lp.name); err != nil {
		return err
	}
	lp.dir.Remove(lp.record) // a record without its part describes nothing
	return nil
}

// fetch downloads remote from off into w; it returns the size that the
// server's 150 reply announced, or -1. The caller holds the lock.
func (c *Conn) fetch(ctx context.Context, remote string, w io.Writer, off, total int64, progress func(int64, int64)) (int64, error) {
	r, err := c.startDownload(ctx, "RETR", remote, off)
	if err != nil {
		return -1, err
	}
	if progress != nil {
		r.report((&progressCount{done: off, total: total, f: progress}).add)
	}
	_, err = r.WriteTo(w) // straight into the file: zero-copy where the Response can
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return r.t.rep.announced(), err
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
// to PartName(remote). A file of 1 MiB or more first leaves a record
// beside the part (PartName(remote)+".meta": the local file's path, size
// and modification time), and a part left by an earlier attempt, even one
// whose process was killed, is resumed from its size (SIZE, then REST and
// STOR when the server offers REST STREAM, else APPE) only when that
// record matches the local file as it is now; any other part is replaced,
// never appended to. A local file that changes while it is sent is an
// error, and the part is not renamed.
//
// When the part is complete, its size is checked and, where the server
// offers HASH, XSHA256, XSHA1, XMD5 or XCRC, its checksum; it is then given
// the local modification time (MFMT, where the server has it) and renamed
// to remote. Without a checksum to compare, SIZE, MFMT and RNFR go in one
// flight (none of them touches remote) and RNTO follows once SIZE has
// proven the part complete: two round trips. If that rename fails, the old remote file and the complete
// part are both kept and the error names them; only a server whose reply
// says the target exists (one that will not rename onto a file) has the
// old file deleted first, once the part is proven complete, and the error
// says so if the rename fails after that. Data streams from the file,
// whatever its size. The Conn serves no other call until it returns, as
// with Download.
func (c *Conn) Upload(ctx context.Context, local, remote string, opts ...TransferOption) error {
	cfg := newTransferConfig(opts)
	if err := c.locked(ctx, func() error { return c.resumeUpload(ctx, local, remote, cfg) }); err != nil {
		return errorf("upload %s to %s: %w", local, remote, err)
	}
	return nil
}

// resumeUpload is Upload's work: the store step, then the end step for
// a batch of one (uploadend.go). The caller holds the lock.
func (c *Conn) resumeUpload(ctx context.Context, local, remote string, cfg transferConfig) error {
	u, err := c.storePart(ctx, local, remote, cfg)
	if err != nil {
		return err
	}
	c.endUploads(ctx, []*upFile{u})
	return u.err
}

// finishUpload ends an upload whose data went into part, one command at
// a time: the part's size is checked, then its checksum where the server
// offers one; it gets the local file's time mod and is renamed to remote.
// The caller holds the lock.
func (c *Conn) finishUpload(ctx context.Context, f *os.File, local, part, remote string, total int64, mod time.Time, cfg transferConfig) error {
	size, err := c.partSize(ctx, part, cfg)
	if err != nil {
		return err
	}
	if size >= 0 && size != total {
		// Whatever the server did (ignored REST, lost data), the part's
		// bytes are not known to be the file's: it is not resumed.
		c.expect(ctx, 2, "DELE", part)
		return errorf("%w: remote %d bytes, local %d; %s removed, to be sent afresh", ErrSizeMismatch, size, total, part)
	}
	if !cfg.noChecksum {
		if err := c.verifyChecksum(ctx, part, io.NewSectionReader(f, 0, total), local); err != nil {
			if errors.Is(err, ErrChecksumMismatch) {
				c.expect(ctx, 2, "DELE", part)
			}
			return err
		}
	}
	// The time goes on the part, so that the file appears complete with
	// it: a rename keeps it.
	if !cfg.noModTime && c.may("MFMT") {
		if err := c.setModTime(ctx, part, mod); err != nil && c.can.absent["MFMT"] == nil {
			return err
		}
	}
	if !cfg.noModTime && c.can.absent["MFMT"] != nil {
		c.unchecked("upload modification time not set: the server does not implement MFMT", part, cfg.unchecked)
	}
	return c.replaceWithPart(ctx, part, remote, total)
}

// openSource opens the local file of an upload and names it for its
// record: under root, without following links, when root is set.
func openSource(root *os.Root, local string) (*os.File, string, error) {
	if root == nil {
		f, err := os.Open(local)
		if err != nil {
			return nil, "", err
		}
		abs, err := filepath.Abs(local)
		if err != nil {
			abs = local
		}
		return f, abs, nil
	}
	dir, name, err := openParent(root, local)
	if err != nil {
		return nil, "", err
	}
	defer dir.Close()
	p := filepath.Join(dir.Name(), name)
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	fi, err := dir.Lstat(name)
	if err != nil {
		return nil, "", err
	}
	if !fi.Mode().IsRegular() {
		return nil, "", errorf("%s is %s: refusing to send it", p, kindOfFile(fi))
	}
	f, err := dir.Open(name)
	if err != nil {
		return nil, "", err
	}
	if ffi, err := f.Stat(); err != nil || !os.SameFile(fi, ffi) {
		f.Close()
		return nil, "", errorf("%s was replaced while being opened: refusing to send it", p)
	}
	return f, p, nil
}

// uploadOffset returns where an upload resumes: the size of the remote
// part when it is at least minResumable and its record matches want, else
// 0. Mirror's listing, when it says there is no such part, saves the SIZE.
// The caller holds the lock.
func (c *Conn) uploadOffset(ctx context.Context, part, record string, want *partRecord, cfg transferConfig) (int64, error) {
	if want == nil || cfg.partKnown && cfg.partSize < minResumable {
		return 0, nil
	}
	off, err := c.sizeOf(ctx, part) // also after a listing: it may be old
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || isPermanent(err) {
			return 0, nil
		}
		return 0, err
	}
	if off < minResumable || off > want.Size { // a size unknown (-1) too
		return 0, nil
	}
	rec, err := c.readRemoteRecord(ctx, record)
	if err != nil || !rec.matches(want) {
		return 0, err
	}
	return off, nil
}

// partSize returns the size of an uploaded part for the check of the
// upload: from SIZE, else (SIZE not implemented, or a 213 without a
// number) from MLST where the server has it; -1 when the server gives
// none, which is reported as a check not made: the transfer's own count
// (every byte sent, and the server's 226) is then all there is. The
// caller holds the lock.
func (c *Conn) partSize(ctx context.Context, part string, cfg transferConfig) (int64, error) {
	size, err := c.sizeOf(ctx, part)
	if err == nil && size >= 0 {
		return size, nil
	}
	if err != nil && c.can.absent["SIZE"] == nil {
		return 0, err
	}
	if c.useMLST() {
		e, merr := c.mlstOf(ctx, part)
		switch {
		case merr == nil && e.Size >= 0:
			return e.Size, nil
		case merr != nil && !c.tried("MLST", merr):
			return 0, merr
		}
	}
	c.unchecked("upload size not checked on the server: it gives none (no SIZE, nor MLST); the transfer's own count stands", part, cfg.unchecked)
	return -1, nil
}

// readRemoteRecord reads the record of a remote part; nil when there is
// none or it is not one. The caller holds the lock.
func (c *Conn) readRemoteRecord(ctx context.Context, record string) (*partRecord, error) {
	r, err := c.startDownload(ctx, "RETR", record, 0)
	if err != nil {
		if isPermanent(err) {
			return nil, nil
		}
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(r, maxRecord+1))
	if cerr := r.Close(); err == nil && len(data) <= maxRecord {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return parseRecord(data), nil
}

// startRemotePart readies a fresh remote part for an upload that leaves a
// record: the old part is deleted first, then the record written, so that
// a record never sits beside a part it was not written for (the new part's
// STOR would truncate the old one, but a process killed before it would
// leave the new record beside the old data). It returns the record
// written, or nil when the upload must go on without one (the part then
// cannot be resumed): the old part could not be deleted, or the record
// not written, and the old record is proven gone. Where Mirror's listing
// of this run showed no part (cfg), none is deleted: a fresh upload of a
// large file saves the DELE and the SIZE that tells a refused DELE from
// a missing part. The caller holds the lock.
func (c *Conn) startRemotePart(ctx context.Context, part, record string, rec partRecord, cfg transferConfig) (*partRecord, error) {
	// Listed as absent, or empty: the STOR of the part truncates an empty
	// part anyway, and no resume starts from one (minResumable).
	if listedNone := cfg.partKnown && cfg.partSize == 0; !listedNone {
		if _, err := c.expect(ctx, 2, "DELE", part); err != nil {
			if !isPermanent(err) {
				return nil, err
			}
			// A refused DELE: vsftpd says only "Delete operation failed"
			// whether the part is missing or not. SIZE tells.
			if _, serr := c.sizeOf(ctx, part); serr == nil {
				return nil, c.dropRemoteRecord(ctx, record)
			} else if !isPermanent(serr) {
				return nil, serr
			}
		}
	}
	if err := c.store(ctx, "STOR", record, bytes.NewReader(rec.encode()), 0, nil); err != nil {
		if !isPermanent(err) {
			return nil, err // no part has been written: the next attempt starts here again
		}
		return nil, c.dropRemoteRecord(ctx, record)
	}
	return &rec, nil
}

// dropRemoteRecord removes a part's record that may no longer describe
// the part; an error when it may still be there. The caller holds the
// lock.
func (c *Conn) dropRemoteRecord(ctx context.Context, record string) error {
	_, err := c.expect(ctx, 2, "DELE", record)
	if err == nil || !isPermanent(err) {
		return err
	}
	if _, serr := c.sizeOf(ctx, record); serr != nil && isPermanent(serr) {
		return nil // not there
	}
	return errorf("cannot remove %s, which may not describe the part beside it: %w; remove it to go on", record, err)
}

// replaceWithPart renames the complete part (size bytes) to remote. It
// never deletes remote unless the server's reply to RNTO says that remote
// exists (servers that will not rename onto a file: the four lab servers
// all replace it) and SIZE has just shown the part complete; every failure
// names what was kept. The caller holds the lock.
func (c *Conn) replaceWithPart(ctx context.Context, part, remote string, size int64) error {
	return c.afterRename(ctx, part, remote, size, c.rename(ctx, part, remote))
}

// afterRename is replaceWithPart once the rename of part to remote ended
// with err. The caller holds the lock.
func (c *Conn) afterRename(ctx context.Context, part, remote string, size int64, err error) error {
	if err == nil {
		return nil
	}
	kept := func(err error) error {
		return errorf("renaming %s to %s: %w; %s was left as it was, and the complete upload is in %s", part, remote, err, remote, part)
	}
	if !targetExists(err) {
		return kept(err)
	}
	if n, serr := c.sizeOf(ctx, part); serr != nil || n != size {
		return kept(err)
	}
	if _, derr := c.expect(ctx, 2, "DELE", remote); derr != nil {
		return kept(errors.Join(err, derr))
	}
	if err2 := c.rename(ctx, part, remote); err2 != nil {
		return errorf("renaming %s to %s: %w; the old %s was deleted to make room, then renaming failed again: %w; the complete upload is in %s", part, remote, err, remote, err2, part)
	}
	return nil
}

// targetExists reports whether err is a refusal of RNTO because the
// target exists ("550 Cannot create a file when that file already
// exists", "553 File exists"), not for any other reason.
func targetExists(err error) bool {
	var fe *Error
	if !errors.As(err, &fe) || fe.Code < 400 || !strings.HasPrefix(strings.ToUpper(fe.Cmd), "RNTO ") {
		return false
	}
	return mentions(fe.Msg, "exist") && !mentions(fe.Msg, "not exist", "n't exist", "no such", "not found", "permission", "denied", "not allowed")
}

// restStream reports whether the server announced REST STREAM, so that a
// transfer can resume from an offset. The caller holds the lock.
func (c *Conn) restStream() bool {
	return strings.EqualFold(strings.TrimSpace(c.features["REST"]), "STREAM")
}
