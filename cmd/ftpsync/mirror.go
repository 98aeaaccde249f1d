package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/pasvport/ftp"
)

type jsonSummary struct {
	Direction string             `json:"direction"`
	DryRun    bool               `json:"dryRun"`
	Files     int                `json:"files"`
	Bytes     int64              `json:"bytes"`
	Dirs      int                `json:"dirs"`
	Skipped   int                `json:"skipped"`
	Deleted   int                `json:"deleted"`
	Kept      int                `json:"kept"`
	Failed    int                `json:"failed"`
	Plan      []ftp.MirrorAction `json:"plan"`
	Error     string             `json:"error,omitempty"`
}

// errLocalWrite is the cause of a mirror stopped by a local write error:
// the next files would fail the same way (a full disk, a read-only or
// unwritable folder), so the run stops at the first.
var errLocalWrite = errors.New("stopped at a local write error (the next files would fail the same way)")

func (e *env) mirror(ctx context.Context, rawURL, local string, o *options) error {
	p, t, err := e.session(ctx, rawURL, o, o.parallel)
	if err != nil {
		return err
	}
	defer p.Close()
	dir := ftp.MirrorDown
	src, dst := t.path, local
	if o.reverse {
		dir = ftp.MirrorUp
		src, dst = local, t.path
		if _, err := os.Stat(local); err != nil {
			return err
		}
	}
	if o.checksum {
		e.checkChecksums(ctx, p)
	}
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	out := &mirrorOutput{e: e, o: o, m: e.newMeter("", o), ctx: runCtx, stop: stop, down: dir == ftp.MirrorDown, local: local, same: map[string]int{}}
	e.meter = out.m
	opts := ftp.MirrorOptions{
		Direction: dir, Parallel: o.parallel, Delete: o.del, Exclude: o.exclude,
		DryRun: o.dryRun, Checksum: o.checksum, OnlyNewer: o.onlyNewer, AllowEmptySource: o.allowEmpty,
		OnPlan: out.plan, OnAction: out.action, OnProgress: out.m.updateFile,
	}
	switch {
	case o.maxDelete == 0:
		opts.MaxDelete = -1 // none at all
	case o.maxDelete > 0:
		opts.MaxDelete = o.maxDelete
	}
	sum, err := ftp.Mirror(runCtx, p, src, dst, opts)
	out.m.done()
	stopped := errors.Is(context.Cause(runCtx), errLocalWrite)
	if stopped {
		err = errors.Join(errLocalWrite, context.Cause(runCtx))
	}
	if errors.Is(ctx.Err(), context.Canceled) && !o.json {
		return ctx.Err() // interrupted: finish says what is kept, once
	}
	out.sameCauses()
	if err := e.mirrorSummary(dir, sum, err, o); err != nil {
		return err
	}
	if errors.Is(err, ftp.ErrEmptySource) {
		err = fmt.Errorf("%w\n(--allow-empty-source allows it)", err)
	}
	if err != nil && (sum.Failed > 0 || stopped) {
		return failure{err}
	}
	return err
}

// mirrorSummary prints the outcome: the JSON object, or the plan of a dry
// run, the kept paths and a line of counts.
func (e *env) mirrorSummary(dir ftp.MirrorDirection, sum ftp.MirrorSummary, err error, o *options) error {
	if o.json {
		js := jsonSummary{dir.String(), o.dryRun, sum.Files, sum.Bytes, sum.Dirs, sum.Skipped, sum.Deleted, sum.Kept, sum.Failed, sum.Plan, ""}
		if js.Plan == nil {
			js.Plan = []ftp.MirrorAction{}
		}
		if err != nil {
			js.Error = e.mask(err.Error())
		}
		return e.printJSON(js)
	}
	count := map[ftp.MirrorOp]int{}
	var bytes int64
	for _, a := range sum.Plan {
		count[a.Op]++
		switch {
		case o.dryRun:
			fmt.Fprintf(e.stdout, "would %s %s (%s)\n", a.Op, safe(a.Path), a.Reason)
			if a.Op == ftp.OpCopy {
				bytes += a.Size
			}
		case a.Op == ftp.OpKeep:
			fmt.Fprintf(e.stdout, "keep %s (%s)\n", safe(a.Path), a.Reason)
		}
	}
	if o.dryRun {
		fmt.Fprintf(e.stdout, "dry run: would copy %d files (%d bytes), create %d directories, delete %d, keep %d; %d up to date; nothing changed\n",
			count[ftp.OpCopy], bytes, count[ftp.OpMkdir], count[ftp.OpDelete], count[ftp.OpKeep], sum.Skipped)
		return nil
	}
	fmt.Fprintf(e.stdout, "mirror %s: %d files (%d bytes) copied, %d directories created, %d up to date, %d deleted, %d kept, %d failed\n",
		dir, sum.Files, sum.Bytes, sum.Dirs, sum.Skipped, sum.Deleted, sum.Kept, sum.Failed)
	return nil
}

// checkChecksums says, once, that --checksum cannot work on a server that
// offers no checksum command: files of the same size are then compared by
// time, as without it.
func (e *env) checkChecksums(ctx context.Context, p *ftp.Pool) {
	_ = p.Do(ctx, func(c *ftp.Conn) error {
		for name := range c.Features() {
			if slices.Contains([]string{"HASH", "XSHA256", "XSHA1", "XMD5", "XCRC"}, strings.ToUpper(name)) {
				return nil
			}
		}
		e.warn("--checksum: the server offers no checksum command (HASH, XSHA256, XSHA1, XMD5, XCRC): files of the same size are compared by time")
		return nil
	})
}

// mirrorOutput prints a mirror's actions as they are done: a line each
// (above the progress line on a terminal; none with --json), a failure
// once per cause with a count of the others, nothing for those an
// interruption caused; and it stops the run at a local write error.
type mirrorOutput struct {
	e     *env
	o     *options
	m     *meter
	ctx   context.Context
	stop  context.CancelCauseFunc
	down  bool   // local writes: the destination is local
	local string // the local root

	mu   sync.Mutex
	same map[string]int // failures by cause (see cause): how many not printed
}

func (out *mirrorOutput) plan(plan []ftp.MirrorAction) {
	files, bytes := 0, int64(0)
	for _, a := range plan {
		if a.Op == ftp.OpCopy {
			files++
			bytes += a.Size
			if out.down && !out.o.dryRun {
				out.m.notePart(a.Path, localPart(filepath.Join(out.local, filepath.FromSlash(a.Path))))
			}
		}
	}
	out.m.plan(files, bytes)
	if !out.o.json && !out.o.dryRun && files > 0 && out.m.w == nil {
		fmt.Fprintf(out.e.stdout, "copying %d files (%d bytes)\n", files, bytes)
	}
}

func (out *mirrorOutput) action(a ftp.MirrorAction, err error) {
	if a.Op == ftp.OpCopy {
		out.m.finished(a.Path, a.Size, err == nil)
	}
	if err != nil && out.ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return // the interruption or the stop says it, once
	}
	line := ""
	switch {
	case err != nil:
		if out.repeated(err) {
			return
		}
		line = fmt.Sprintf("FAILED %s %s: %s\n", a.Op, safe(a.Path), safeLines(out.e.mask(err.Error())))
		if out.down && isLocal(err) {
			out.stop(fmt.Errorf("%w: %w", errLocalWrite, err))
		}
	case out.o.json:
		return
	case a.Op == ftp.OpCopy:
		line = fmt.Sprintf("%s %s (%d bytes, %s)\n", a.Op, safe(a.Path), a.Size, a.Reason)
	default:
		line = fmt.Sprintf("%s %s\n", a.Op, safe(a.Path))
	}
	if !out.o.json {
		out.m.above(out.e.stdout, line)
	}
}

// repeated counts a failure whose cause was printed before.
func (out *mirrorOutput) repeated(err error) bool {
	key := cause(err)
	if key == "" {
		return false
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	n, seen := out.same[key]
	if seen {
		out.same[key] = n + 1
	} else {
		out.same[key] = 0
	}
	return seen
}

// sameCauses prints how many failures were not printed, by cause.
func (out *mirrorOutput) sameCauses() {
	out.mu.Lock()
	defer out.mu.Unlock()
	for _, key := range slices.Sorted(maps.Keys(out.same)) {
		if n := out.same[key]; n > 0 && !out.o.json {
			fmt.Fprintf(out.e.stdout, "FAILED %d more files the same way (%s)\n", n, safe(key))
		}
	}
}

// cause is what makes failures the same: the operation and error of a
// local file, without the file's name ("open: permission denied"); "" for
// the rest, each printed.
func cause(err error) string {
	var pe *fs.PathError
	if !isLocal(err) || !errors.As(err, &pe) {
		return ""
	}
	return pe.Op + ": " + pe.Err.Error()
}

// isLocal reports whether err is an error of a local file, not of the
// server.
func isLocal(err error) bool {
	var pe *fs.PathError
	var le *os.LinkError
	return (errors.As(err, &pe) || errors.As(err, &le)) && !errors.As(err, new(*ftp.Error))
}
