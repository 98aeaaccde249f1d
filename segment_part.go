package ftp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// segmentRecordVersion is the version of the record of a segmented part:
// not recordVersion, so that a single-stream Download, of this version of
// the package or an older one, never takes a part with holes for one
// whose size says how much of it is written.
const segmentRecordVersion = 2

// Checkpoints of a segmented part: its record is rewritten after every
// checkpointBytes written, or checkpointEvery, whichever comes first.
const checkpointBytes = 64 << 20

var checkpointEvery = time.Second // a variable for the killed-process test

// A segmentRecord is the record of a segmented part: what it was made
// from (partRecord) and, for each segment in order, the bytes of it
// written and flushed to disk, from its start. The segments' bounds follow
// from the size and their number (segmentBounds).
type segmentRecord struct {
	partRecord
	Done []int64 `json:"done"`
}

// valid reports whether r describes segments that fit its file.
func (r *segmentRecord) valid() bool {
	n := len(r.Done)
	if r.Version != segmentRecordVersion || n < 1 || n > maxSegments || r.Size < 0 {
		return false
	}
	for i, d := range r.Done {
		start, end := segmentBounds(r.Size, i, n)
		if d < 0 || d > end-start {
			return false
		}
	}
	return true
}

// segmentedPart is the local side of a segmented download: the part,
// written in place at each segment's offset, and its record, rewritten in
// place at each checkpoint.
type segmentedPart struct {
	lp     *localPart
	size   int64    // of the file
	f      *os.File // the part, as long as the file
	recf   *os.File // its record
	segs   []*segment
	onData func(done, total int64) // WithProgress, or nil

	mu     sync.Mutex    // checkpoints
	rec    segmentRecord // as last written
	recLen int           // the length of the record file

	unsaved atomic.Int64 // bytes written since the last checkpoint
	last    atomic.Int64 // when the last checkpoint was made, in Unix nanoseconds
	total   atomic.Int64 // bytes of the file written, for onData
	progMu  sync.Mutex   // one onData call at a time, total in order
}

// openSegmentedPart opens the part of local for a segmented download of
// the file want describes: the part left by an earlier attempt when its
// record matches want, else a new part of n segments, as long as the
// file, its record written first. The part and the record are never
// followed through a symbolic link (see localPart).
func openSegmentedPart(root *os.Root, local string, want partRecord, n int, onData func(int64, int64)) (*segmentedPart, error) {
	lp, err := openLocalPart(root, local)
	if err != nil {
		return nil, err
	}
	sp := &segmentedPart{lp: lp, size: want.Size, onData: onData}
	sp.last.Store(time.Now().UnixNano())
	if err := sp.open(want, n); err != nil {
		sp.close()
		return nil, err
	}
	for i, d := range sp.rec.Done {
		start, end := segmentBounds(want.Size, i, len(sp.rec.Done))
		s := &segment{start: start, end: end}
		s.done.Store(d)
		sp.segs = append(sp.segs, s)
		sp.total.Add(d)
	}
	return sp, nil
}

func (sp *segmentedPart) open(want partRecord, n int) error {
	lp := sp.lp
	fi, err := lp.lstat(lp.part)
	if err != nil {
		return err
	}
	rfi, err := lp.lstat(lp.record)
	if err != nil {
		return err
	}
	if fi != nil && rfi != nil && fi.Size() == want.Size {
		if ok, err := sp.resume(fi, rfi, want); ok || err != nil {
			return err
		}
	}
	if n < 2 {
		return errOneStream // nothing touched: the part is one stream's to judge
	}
	// Start afresh, in the order of localPart.open: at every moment the
	// record says no more than what the part holds.
	for _, name := range []string{lp.part, lp.record} {
		if err := lp.dir.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	sp.rec = segmentRecord{partRecord: want, Done: make([]int64, n)}
	if sp.recf, err = lp.dir.OpenFile(lp.record, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644); err != nil {
		return err
	}
	if err := sp.writeRecord(); err != nil {
		return err
	}
	if sp.f, err = lp.dir.OpenFile(lp.part, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644); err != nil {
		return err
	}
	return sp.f.Truncate(want.Size)
}

// resume opens the part fi and its record rfi when the record matches
// want and fits the part; it reports false when they are not to be used.
func (sp *segmentedPart) resume(fi, rfi fs.FileInfo, want partRecord) (bool, error) {
	lp := sp.lp
	rf, err := openSame(lp, lp.record, rfi)
	if err != nil {
		return false, err
	}
	data, err := io.ReadAll(io.LimitReader(rf, maxRecord+1))
	var rec segmentRecord
	if err != nil || len(data) > maxRecord || json.Unmarshal(data, &rec) != nil || !rec.valid() || !rec.matches(&want) {
		rf.Close()
		return false, err
	}
	f, err := openSame(lp, lp.part, fi)
	if err != nil {
		rf.Close()
		return false, err
	}
	sp.f, sp.recf, sp.rec, sp.recLen = f, rf, rec, len(data)
	return true, nil
}

// openSame opens name for reading and writing, provided it is still the
// regular file fi.
func openSame(lp *localPart, name string, fi fs.FileInfo) (*os.File, error) {
	f, err := lp.dir.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	if ffi, err := f.Stat(); err != nil || !os.SameFile(fi, ffi) || !ffi.Mode().IsRegular() {
		f.Close()
		return nil, errorf("%s was replaced while being opened: refusing to use it", lp.path(name))
	}
	return f, nil
}

// writeRecord writes rec over the record in one write, padded with
// spaces to at least the record's old length (JSON ignores them): a
// process killed at any moment leaves the old record or the new one.
// The caller holds mu or is the only user.
func (sp *segmentedPart) writeRecord() error {
	data, _ := json.Marshal(sp.rec) // numbers, strings and a time: cannot fail
	if pad := sp.recLen - 1 - len(data); pad > 0 {
		data = append(data, bytes.Repeat([]byte{' '}, pad)...)
	}
	data = append(data, '\n')
	if _, err := sp.recf.WriteAt(data, 0); err != nil {
		return err
	}
	sp.recLen = max(sp.recLen, len(data))
	return nil
}

// wrote counts n bytes written, and reports them to onData.
func (sp *segmentedPart) wrote(n int64) {
	sp.unsaved.Add(n)
	if sp.onData != nil && n > 0 {
		sp.progMu.Lock()
		sp.onData(sp.total.Add(n), sp.size)
		sp.progMu.Unlock()
	}
}

// due reports whether a checkpoint is due.
func (sp *segmentedPart) due() bool {
	return sp.unsaved.Load() >= checkpointBytes || time.Now().UnixNano()-sp.last.Load() >= int64(checkpointEvery)
}

// tryCheckpoint is checkpoint, unless another goroutine makes one.
func (sp *segmentedPart) tryCheckpoint() error {
	if !sp.mu.TryLock() {
		return nil
	}
	defer sp.mu.Unlock()
	return sp.checkpointLocked()
}

// checkpoint records what the segments hold: first the bytes counted so
// far are flushed to disk, then the record says so.
func (sp *segmentedPart) checkpoint() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.checkpointLocked()
}

func (sp *segmentedPart) checkpointLocked() error {
	sp.last.Store(time.Now().UnixNano())
	sp.unsaved.Store(0)
	done := make([]int64, len(sp.segs))
	changed := false
	for i, s := range sp.segs {
		done[i] = s.done.Load()
		changed = changed || done[i] != sp.rec.Done[i]
	}
	if !changed {
		return nil
	}
	if err := sp.f.Sync(); err != nil {
		return err
	}
	sp.rec.Done = done
	return sp.writeRecord()
}

// commit gives the complete part the remote time and renames it to the
// file's name.
func (sp *segmentedPart) commit(src remoteSource, noModTime bool) error {
	fi, err := sp.f.Stat()
	if err != nil {
		return err
	}
	err = sp.f.Close()
	sp.f = nil
	if err != nil {
		return err
	}
	if !src.mod.IsZero() && !noModTime {
		if err := sp.lp.dir.Chtimes(sp.lp.part, src.mod, src.mod); err != nil {
			return err
		}
	}
	sp.recf.Close()
	sp.recf = nil
	return sp.lp.commit(fi)
}

// discard removes a part that cannot be right, and its record.
func (sp *segmentedPart) discard() {
	sp.lp.discard()
}

func (sp *segmentedPart) close() {
	for _, f := range []*os.File{sp.f, sp.recf} {
		if f != nil {
			f.Close()
		}
	}
	sp.lp.dir.Close()
}
