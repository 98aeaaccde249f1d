package main

// W6 (issue 19, item 3): a Mirror run again with nothing to copy, through
// the latency proxy: what listing both sides and deciding costs, in round
// trips, beside lftp's mirror. Run it with -wan-cases W6 (or W3,W4,W6).

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/pasvport/ftp/bench/latproxy"
)

// rerunDirs is how many subfolders W6's tree spreads its files over.
const rerunDirs = 10

// wanRerun runs W6 against s at w's RTT, down and up: a tree of
// rerunDirs subfolders holding the -wan-files files, whose destination
// already holds every file with the source's sizes and times.
func (b *bench) wanRerun(s *server, w *wanRun) {
	if !wanWant("W6") {
		return
	}
	p := proxied(s)
	n, conns := b.o.wanFiles, b.o.wanConns
	var names []string // slash paths in the tree
	for i, name := range wanNames(n) {
		names = append(names, fmt.Sprintf("d%02d/%s", i%rerunDirs, name))
	}
	flat := filepath.Join(b.o.local, "wan-src")
	src := filepath.Join(b.o.local, "wan-src-tree")
	const remoteTree, remoteUpTree = "/bench/wan-tree", "/bench/up-tree"
	remote := filepath.Join(s.data, remoteTree)
	// The sources, made once from the flat files of W1 to W4.
	for _, root := range []string{src, remote} {
		for _, name := range names {
			if err := copyKeepTime(filepath.Join(flat, filepath.Base(name)), filepath.Join(root, name)); err != nil {
				logf("W6: %v", err)
				return
			}
		}
	}
	dl := filepath.Join(b.o.local, "dl", "wan-rerun")
	up := filepath.Join(s.data, remoteUpTree)
	for _, down := range []bool{true, false} {
		from, to := remote, dl
		op, script := "mirror-down", fmt.Sprintf("mirror --parallel=%d %s %s", conns, remoteTree, dl)
		lname := fmt.Sprintf("lftp mirror --parallel=%d", conns)
		if !down {
			from, to = src, up
			op, script = "mirror-up", fmt.Sprintf("mirror -R --parallel=%d %s %s", conns, src, remoteUpTree)
			lname = fmt.Sprintf("lftp mirror -R --parallel=%d", conns)
		}
		prep := func() error { return copyTree(from, to, names) }
		check := func(*sample) error { return sameTree(from, to, names) }
		j := b.job(p, "ours", op)
		j.Conns, j.Remote, j.Local = conns, remoteUpTree, src
		if down {
			j.Remote, j.Local = remoteTree, dl
		}
		cs := &caseSpec{id: "W6", srv: s, wan: w, files: 1, perRun: true, unit: "runs/s", amount: 1,
			title: fmt.Sprintf("Mirror %s run again, nothing to copy (%d files in %d folders), %d connections, %s, RTT %v", map[bool]string{true: "down", false: "up"}[down], n, rerunDirs, conns, s.label, w.rtt)}
		cs.contenders = []contender{
			{name: fmt.Sprintf("ours Mirror (Pool of %d)", conns), job: j, prep: prep, check: check},
			{name: lname, cmd: b.lftp(p, script), prep: prep, check: check},
		}
		cs.notes = append(cs.notes, fmt.Sprintf("The destination holds every file of the source, same sizes and times (copied before each run, untimed). ours: `ftp.Mirror` through `ftp.NewPool(url, %d)`; lftp: `%s`. RTT is the whole run (process, dial, login, listings, QUIT) ÷ RTT; commands are per run.", conns, script))
		b.runCase(cs)
		if slices.Contains(b.o.wanTrace, "ours") {
			b.traceRerun(w, cs.contenders[0], cs.title)
		}
	}
}

// traceRerun records one more run of c, ours in W6, every control line
// with its times, into w's traces: where the round trips of a run with
// nothing to copy go (-wan-trace ours).
func (b *bench) traceRerun(w *wanRun, c contender, title string) {
	title = "W6, " + title
	logf("WAN trace: %s", title)
	w.reset(true)
	sm := b.measure(&c, nil)
	_, evs := w.take()
	t := wanTrace{title: title, err: sm.err}
	if len(evs) > 0 {
		origin := evs[0].Sent
		slices.SortStableFunc(evs, func(a, b latproxy.Event) int { return a.ClientTime().Compare(b.ClientTime()) })
		t.text = latproxy.FormatTrace(evs, origin, w.rtt)
	}
	w.traces = append(w.traces, t)
}

// copyTree makes the files names (slash paths) of from the files of to,
// with their modification times, and nothing else.
func copyTree(from, to string, names []string) error {
	os.RemoveAll(to)
	for _, name := range names {
		if err := copyKeepTime(filepath.Join(from, name), filepath.Join(to, name)); err != nil {
			return err
		}
	}
	return nil
}

// sameTree checks that the files names of to have the sizes of from's:
// a run with nothing to copy changed nothing.
func sameTree(from, to string, names []string) error {
	for _, name := range names {
		a, err := os.Stat(filepath.Join(from, name))
		if err != nil {
			return err
		}
		b, err := os.Stat(filepath.Join(to, name))
		if err != nil {
			return err
		}
		if a.Size() != b.Size() {
			return fmt.Errorf("%s: %d bytes, want %d", filepath.Join(to, name), b.Size(), a.Size())
		}
	}
	return nil
}

// copyKeepTime copies from to to (making its folder) with from's
// modification time.
func copyKeepTime(from, to string) error {
	fi, err := os.Stat(from)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(to), 0o755)
	}
	if err == nil {
		err = copyFile(from, to)
	}
	if err != nil {
		return err
	}
	return os.Chtimes(to, fi.ModTime(), fi.ModTime())
}
