package ftp

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
)

// copyAll runs the copies of the plan, m.workers() at a time, and tells
// done of each as it ends (done may be called from several goroutines).
func (m *mirror) copyAll(ctx context.Context, copies []MirrorAction, done func(MirrorAction, error)) {
	if m.opts.Direction == MirrorDown {
		m.copyDown(ctx, copies, done)
		return
	}
	m.copyUp(ctx, copies, done)
}

// copyDown runs the downloads of a Mirror down.
func (m *mirror) copyDown(ctx context.Context, copies []MirrorAction, done func(MirrorAction, error)) {
	m.copyEach(ctx, copies, done)
}

// copyUp runs the uploads of a Mirror up on m.workers() goroutines, each
// of which keeps one connection for a batch of files: it stores their
// parts one after the other, then ends them all in two flights
// (uploadend.go), so that an upload's end costs 2/K round trips instead
// of 2. A file is reported (done) once its rename has succeeded, or once
// it has failed for good; one whose batch broke before its rename was
// proven is uploaded again the ordinary way, resuming its part.
func (m *mirror) copyUp(ctx context.Context, copies []MirrorAction, done func(MirrorAction, error)) {
	queue := make(chan MirrorAction, len(copies))
	for _, a := range copies {
		queue <- a
	}
	close(queue)
	workers := min(m.workers(), max(len(copies), 1))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { m.uploadBatches(ctx, queue, workers, done) })
	}
	wg.Wait()
}

// copyEach copies the files one by one on each of m.workers() goroutines,
// each copy taking a connection from the Pool.
func (m *mirror) copyEach(ctx context.Context, copies []MirrorAction, done func(MirrorAction, error)) {
	jobs := make(chan MirrorAction)
	var wg sync.WaitGroup
	for range min(m.workers(), max(len(copies), 1)) {
		wg.Go(func() {
			for a := range jobs {
				done(a, m.copy(ctx, a.Path))
			}
		})
	}
feed:
	for _, a := range copies {
		select {
		case jobs <- a:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
}

// copy transfers one file, telling the transfer what the listings showed
// so that it asks the server only what they did not: the size and time of
// a file to download, whether a part of a file to upload is there already
// (true of the first attempt only: a failed one may leave a part). The
// local file is reached through the local root, no symbolic link followed.
func (m *mirror) copy(ctx context.Context, rel string) error {
	remote, _ := m.paths(rel)
	local := filepath.FromSlash(rel)
	opts := append(slices.Clip(m.opts.Transfer), withLocalRoot(m.root), withUnchecked(m.noted))
	if f := m.opts.OnProgress; f != nil {
		opts = append(opts, WithProgress(func(done, total int64) { f(rel, done, total) }))
	}
	if m.opts.Direction == MirrorDown {
		return m.pool.Download(ctx, remote, local, append(opts, withListed(m.srcTree.nodes[rel]))...)
	}
	hint := append(slices.Clip(opts), withPartSize(m.parts[PartName(rel)]))
	return m.pool.Retry(ctx, func(c *Conn) error {
		o := hint
		hint = opts
		return c.Upload(ctx, local, remote, o...)
	})
}

// A batch of uploads ends when the queue is empty, or it holds
// upBatchFiles files or its share of those left (batchFiles), or the
// next file would take its bytes past upBatchBytes (a file that big goes
// in a batch of its own). 16 files
// take the end from 2 round trips a file to 2/16, nearly all the gain
// (2 + 2/K: K = 32 would save 0.06 round trips more), in flights of
// about 2 KiB, well within what servers read at once; and a break costs
// at most 16 files sent again. The byte budget keeps a big file from
// holding up its neighbours' renames: past 1 MiB (0.1 s at 10 MB/s, 5
// round trips of 20 ms) the transfer dwarfs what batching saves.
const (
	upBatchFiles       = 16
	upBatchBytes int64 = 1 << 20
)

// batchFiles is the most files a batch takes when left files are
// queued for workers: upBatchFiles, or an even share of them, so that at
// the end of a run no connection is still busy with a full batch while
// the others have nothing left.
func batchFiles(left, workers int) int {
	return max(1, min(upBatchFiles, (left+workers-1)/workers))
}

// uploadBatches runs batches of uploads from queue (shared by workers
// goroutines) on one connection at a time until the queue is empty or
// ctx ends.
func (m *mirror) uploadBatches(ctx context.Context, queue <-chan MirrorAction, workers int, done func(MirrorAction, error)) {
	var next *MirrorAction // taken from the queue, left for the next batch
	for ctx.Err() == nil {
		a, ok := next, next != nil
		if !ok {
			var b MirrorAction
			if b, ok = <-queue; !ok {
				return
			}
			a = &b
		}
		next = nil
		var b upBatch
		ran := false
		m.pool.Do(ctx, func(c *Conn) error {
			ran = true
			b = m.uploadBatch(ctx, c, *a, queue, batchFiles(len(queue)+1, workers))
			return b.connErr
		})
		if !ran { // no connection: the ordinary way retries the dial
			done(*a, m.uploadAgain(ctx, a.Path))
			continue
		}
		for i, f := range b.files {
			done(f, b.errs[i])
		}
		for _, f := range b.again {
			done(f, m.uploadAgain(ctx, f.Path))
		}
		next = b.next
	}
}

// upBatch is what a batch of uploads did.
type upBatch struct {
	files []MirrorAction // ended: reported with errs
	errs  []error
	again []MirrorAction // to upload again the ordinary way
	next  *MirrorAction  // taken from the queue, not started
	// connErr is an error that may have left the connection unfit for
	// reuse, for the Pool.
	connErr error
}

// uploadBatch stores the parts of first and of the files that follow it
// in queue on c, at most files in all and within the byte budget, then
// ends them together.
// A failure that trying again may cure (IsTransient), or a connection
// that broke before the file's replies came, sends the file round again,
// the ordinary way; the batch stops at one that may have broken the
// connection.
func (m *mirror) uploadBatch(ctx context.Context, c *Conn, first MirrorAction, queue <-chan MirrorAction, files int) upBatch {
	var b upBatch
	var us []*upFile
	var acts []MirrorAction
	var bytes int64
	fail := func(a MirrorAction, err error) {
		if err != nil && broken(err) && b.connErr == nil {
			b.connErr = err
		}
		var reply *Error
		lost := c.ctl.closedErr() != nil && !errors.As(err, &reply) // a reply that never came
		if (IsTransient(err) || lost) && ctx.Err() == nil {
			b.again = append(b.again, a)
			return
		}
		b.files, b.errs = append(b.files, a), append(b.errs, err)
	}
	lerr := c.locked(ctx, func() error {
		for a := first; ; {
			local, remote := filepath.FromSlash(a.Path), m.remotePath(a.Path)
			u, err := c.storePart(ctx, local, remote, newTransferConfig(m.upOpts(a.Path, true)))
			if err != nil {
				fail(a, errorf("upload %s to %s: %w", local, remote, err))
			} else {
				us, acts = append(us, u), append(acts, a)
				bytes += u.total
			}
			if b.connErr != nil || ctx.Err() != nil || len(us) >= files || bytes >= upBatchBytes {
				break
			}
			n, ok := takeReady(queue)
			if !ok {
				break
			}
			if len(us) > 0 && bytes+n.Size > upBatchBytes {
				b.next = &n
				break
			}
			a = n
		}
		c.endUploads(ctx, us)
		return nil
	})
	if lerr != nil {
		fail(first, lerr)
	}
	for i, u := range us {
		if u.err != nil {
			fail(acts[i], errorf("upload %s to %s: %w", u.local, u.remote, u.err))
			continue
		}
		b.files, b.errs = append(b.files, acts[i]), append(b.errs, nil)
	}
	return b
}

// takeReady takes the next file from queue if one is there at once.
func takeReady(queue <-chan MirrorAction) (MirrorAction, bool) {
	select {
	case a, ok := <-queue:
		return a, ok
	default:
		return MirrorAction{}, false
	}
}

// uploadAgain uploads the file rel the ordinary way, through the Pool
// with its retries: after a batch that could not end it.
func (m *mirror) uploadAgain(ctx context.Context, rel string) error {
	opts := m.upOpts(rel, false)
	return m.pool.Retry(ctx, func(c *Conn) error {
		return c.Upload(ctx, filepath.FromSlash(rel), m.remotePath(rel), opts...)
	})
}

// remotePath is the remote name of the file rel of the Mirror.
func (m *mirror) remotePath(rel string) string {
	remote, _ := m.paths(rel)
	return remote
}

// upOpts are the transfer options of the upload of rel: the Mirror's, its
// local root, its progress and summary hooks, and, for the first attempt
// only (first), whether the listing showed a part of it (a failed
// attempt may leave one).
func (m *mirror) upOpts(rel string, first bool) []TransferOption {
	opts := append(slices.Clip(m.opts.Transfer), withLocalRoot(m.root), withUnchecked(m.noted))
	if f := m.opts.OnProgress; f != nil {
		opts = append(opts, WithProgress(func(done, total int64) { f(rel, done, total) }))
	}
	if first {
		opts = append(opts, withPartSize(m.parts[PartName(rel)]))
	}
	return opts
}
