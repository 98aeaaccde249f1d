package ftp

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
)

// ErrRemoteChanged is wrapped by the error of a segmented download (see
// WithSegments) whose remote file changed while it was fetched: another
// size or modification time at the end than at the start, or data that
// ended before or went on past the size it had. The part is removed: its
// segments may hold pieces of two versions of the file.
var ErrRemoteChanged = errors.New("ftp: remote file changed during the download")

// errRestRefused is wrapped by the error of a segment whose REST the
// server refused: the download goes on as one stream.
var errRestRefused = errors.New("REST refused")

// errOneStream says that a segmented download found no part of its own
// to resume and was to make one of a single segment: the download goes
// as one stream.
var errOneStream = errors.New("one segment")

const (
	// minSegment is the smallest segment: a smaller file, or one that
	// would give smaller segments, is fetched in fewer of them (one
	// stream below twice this), as lftp's pget:min-chunk-size has it.
	// Each segment costs a connection's REST, RETR and ABOR.
	minSegment = 1 << 20
	// maxSegments bounds WithSegments, so that a part's record stays
	// one short line (maxRecord).
	maxSegments = 32
)

// WithSegments makes Pool.Download fetch a large file in up to n segments
// at once, each over a connection of its own from the Pool (REST, then
// RETR of the segment's range, ended with ABOR), written in place into
// the part: what lftp's pget -n does. It is worth it where one TCP
// stream is slower than the link (long fat pipes, shaping per
// connection). The number of segments is also bounded by the Pool's cap
// (lowered when the server refuses logins beyond its own: the Pool's
// other connections are dialled while the first looks at the file), by
// 32, and by the file's size (segments of 1 MiB at least): a file under
// 2 MiB goes as one stream, as does the download from a server that
// takes one connection, one without REST STREAM or a modification time
// to the second (MLST or MDTM), and one whose REST is refused. A part
// begun in segments is resumed in them; those beyond the connections
// the server takes then wait for one.
//
// The part is resumable as a Download's is: its record (PartName+".meta")
// also holds the bytes of each segment that were written and then
// flushed to disk (fsync) before the record said so, rewritten about
// every second, so that a later attempt, even after the process was
// killed, fetches only the rest of each segment and never trusts bytes
// it has not seen flushed. Such a record is of another version than a
// single stream's: neither kind of download appends to the other's part.
// At the end the remote file is looked at again: another size or
// modification time than at the start is ErrRemoteChanged. Then, as with
// every Download, the checksum (where the server offers one), the
// modification time, and the rename. WithProgress's f is called from the
// segments' goroutines, one call at a time. Conn.Download, with one
// connection, ignores the option.
func WithSegments(n int) TransferOption {
	return func(c *transferConfig) { c.segments = n }
}

// downloadSegments is Pool.Download with WithSegments: it reports false
// when the download must go as one stream instead (no part of its own is
// left behind).
func (p *Pool) downloadSegments(ctx context.Context, remote, local string, cfg transferConfig) (bool, error) {
	n := min(cfg.segments, p.Stats().Limit, maxSegments)
	// The segments' connections log in while the first looks at the
	// remote file, and a server's cap is learned before they are cut.
	warmed := p.warm(ctx, n)
	var plan *segmentPlan
	err := p.Retry(ctx, func(c *Conn) (err error) {
		plan, err = c.planSegments(ctx, remote, n)
		return err
	})
	warmed()
	if plan != nil {
		// A server that refused some of the warm-up's logins has its
		// cap known by now: no more segments than it takes.
		plan.n = max(1, min(plan.n, p.Stats().Limit))
	}
	if err == nil && plan == nil {
		return false, nil
	}
	if err == nil {
		err = p.fetchSegmented(ctx, remote, local, plan, cfg)
	}
	if errors.Is(err, errRestRefused) || errors.Is(err, errOneStream) {
		return false, nil
	}
	if err != nil {
		return true, errorf("download %s to %s: %w", remote, local, err)
	}
	return true, nil
}

// segmentPlan is what a segmented download knows before it starts.
type segmentPlan struct {
	src    remoteSource
	n      int    // segments, for a new part
	server string // serverName, for the record
}

// planSegments looks at the remote file and returns the plan of a
// segmented download of it in at most n segments, or nil when it must go
// as one stream. A plan of one segment still resumes a part begun in
// segments, in those segments; it makes no new one. The remote file is
// looked at afresh, not taken from a listing, whose size may be rounded.
// The caller must not hold the lock.
func (c *Conn) planSegments(ctx context.Context, remote string, n int) (plan *segmentPlan, err error) {
	err = c.locked(ctx, func() error {
		src, err := c.remoteFile(ctx, remote, transferConfig{})
		if err != nil || src.size < 0 || !src.precise || !c.restStream() {
			return err
		}
		n = max(1, min(n, int(min(src.size/minSegment, maxSegments))))
		plan = &segmentPlan{src: src, n: n, server: c.serverName()}
		return nil
	})
	return plan, err
}

// fetchSegmented fetches the segments of the part that are not done yet,
// each through the Pool (retried after transient failures, resuming from
// what it wrote), then checks the whole and renames it to local.
func (p *Pool) fetchSegmented(ctx context.Context, remote, local string, plan *segmentPlan, cfg transferConfig) error {
	want := partRecord{Version: segmentRecordVersion, Source: plan.server + " " + remote, Size: plan.src.size, ModTime: plan.src.mod}
	sp, err := openSegmentedPart(cfg.root, local, want, plan.n, cfg.progress)
	if err != nil {
		return err // errOneStream too
	}
	defer sp.close()
	err = p.fetchAll(ctx, remote, sp)
	if cerr := sp.checkpoint(); err == nil {
		err = cerr
	}
	if err == nil {
		err = p.Retry(ctx, func(c *Conn) error { return c.verifySegmented(ctx, remote, sp, plan.src, cfg) })
	}
	if errors.Is(err, ErrRemoteChanged) || errors.Is(err, ErrChecksumMismatch) || errors.Is(err, errRestRefused) {
		sp.discard()
		return err
	}
	if err != nil {
		return err
	}
	return sp.commit(plan.src, cfg.noModTime)
}

// fetchAll runs a goroutine per segment not done yet, each waiting for a
// connection of the Pool; the first failure cancels the others and is
// returned.
func (p *Pool) fetchAll(ctx context.Context, remote string, sp *segmentedPart) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, s := range sp.segs {
		if s.complete() {
			continue
		}
		wg.Go(func() {
			err := p.Retry(ctx, func(c *Conn) error { return c.fetchSegment(ctx, remote, sp, s) })
			if err != nil && !s.complete() {
				cancel(err)
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// fetchSegment fetches the rest of one segment. A segment before the last
// is ended with ABOR once its bytes are in; the last is read to the end
// of the data, which must come exactly at the file's size.
func (c *Conn) fetchSegment(ctx context.Context, remote string, sp *segmentedPart, s *segment) error {
	if s.complete() {
		return nil
	}
	return c.locked(ctx, func() error {
		off := s.start + s.done.Load()
		r, err := c.startDownload(ctx, "RETR", remote, off)
		if err != nil {
			var fe *Error
			if errors.As(err, &fe) && fe.Code >= 500 && strings.HasPrefix(strings.ToUpper(fe.Cmd), "REST ") {
				return errorf("%w: %w", errRestRefused, err)
			}
			return err
		}
		_, err = io.CopyN(&segmentWriter{ctx, sp, s}, r, s.end-off)
		if err == io.EOF {
			err = errorf("%w: %s ended at %d bytes, before its size %d", ErrRemoteChanged, remote, s.start+s.done.Load(), sp.size)
		}
		if err == nil && s.end == sp.size {
			var one [1]byte
			switch _, rerr := io.ReadFull(r, one[:]); {
			case rerr == nil:
				err = errorf("%w: %s goes on past its size %d", ErrRemoteChanged, remote, sp.size)
			case rerr != io.EOF:
				err = rerr
			}
		}
		if cerr := r.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

// verifySegmented checks a complete part against the remote file: the
// same size and modification time as at the start, and the same checksum
// where the server offers one. The caller must not hold the lock.
func (c *Conn) verifySegmented(ctx context.Context, remote string, sp *segmentedPart, was remoteSource, cfg transferConfig) error {
	return c.locked(ctx, func() error {
		now, err := c.remoteFile(ctx, remote, transferConfig{})
		if err != nil {
			return err
		}
		if now.size != was.size || !now.mod.Equal(was.mod) {
			return errorf("%w: %s was %d bytes modified %v, is now %d bytes modified %v", ErrRemoteChanged, remote, was.size, was.mod, now.size, now.mod)
		}
		if cfg.noChecksum {
			return nil
		}
		return c.verifyChecksum(ctx, remote, io.NewSectionReader(sp.f, 0, was.size), sp.lp.path(sp.lp.part))
	})
}

// segmentWriter writes a segment's data in place and counts it, until
// ctx ends: data that has reached the socket's buffers would not notice.
type segmentWriter struct {
	ctx context.Context
	sp  *segmentedPart
	s   *segment
}

func (w *segmentWriter) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := w.sp.f.WriteAt(p, w.s.start+w.s.done.Load())
	w.s.done.Add(int64(n))
	w.sp.wrote(int64(n))
	if err == nil && w.sp.due() {
		err = w.sp.tryCheckpoint()
	}
	return n, err
}

// segment is one range [start, end) of the file; done counts its bytes
// written, from start.
type segment struct {
	start, end int64
	done       atomic.Int64
}

func (s *segment) complete() bool { return s.start+s.done.Load() >= s.end }

// segmentBounds returns segment i of n of a file of size bytes: sizes
// differ by one byte at most.
func segmentBounds(size int64, i, n int) (start, end int64) {
	each, rest := size/int64(n), size%int64(n)
	start = int64(i)*each + min(int64(i), rest)
	end = start + each
	if int64(i) < rest {
		end++
	}
	return start, end
}
