package ftp

import (
	"context"
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

// copyUp runs the uploads of a Mirror up.
func (m *mirror) copyUp(ctx context.Context, copies []MirrorAction, done func(MirrorAction, error)) {
	m.copyEach(ctx, copies, done)
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
