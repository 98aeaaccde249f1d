package main

// The segmented-download case (issue 19, item 4; -cases segment): one
// large file from an interop "wan" instance through the latency proxy,
// each connection capped at -segment-rate bytes/s, by ours in one stream
// (Pool.Download) and in N segments (WithSegments), and by lftp get and
// pget -n N; then ours in N segments killed half-way (SIGKILL) and run
// again. It writes its own Markdown section (-out) for RESULTS-WAN.md.
//
//	cd bench && go run ./cmd/ftpbench -cases segment -runs 3 -segment-mib 256 -out /tmp/segment.md

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pasvport/ftp"
	"github.com/pasvport/ftp/bench/latproxy"
)

var (
	segWorker = flag.String("segment-worker", "", "internal: run one segmented-download job (JSON)")
	segMiB    = flag.Int("segment-mib", 256, "segment case: size of the file in MiB")
	segN      = flag.Int("segment-n", 4, "segment case: segments (and lftp pget -n)")
	segRate   = flag.Int64("segment-rate", 10_000_000, "segment case: cap of each connection in bytes/s, each direction")
	segRTT    = flag.Duration("segment-rtt", 20*time.Millisecond, "segment case: round-trip time of the latency proxy")
	segServer = flag.String("segment-server", "vsftpd", "segment case: the wan instance to download from")
)

// segJob is what a segment worker does: Pool.Download of Remote to Local
// with N segments (1: one stream).
type segJob struct {
	URL, Remote, Local string
	N                  int
}

// segmentWorker runs the job of -segment-worker, if any, and reports
// whether it did.
func segmentWorker() bool {
	if *segWorker == "" {
		return false
	}
	var j segJob
	if err := json.Unmarshal([]byte(*segWorker), &j); err != nil {
		fatalf("segment worker: %v", err)
	}
	p, err := ftp.NewPool(j.URL, max(j.N, 1))
	if err != nil {
		fatalf("segment worker: %v", err)
	}
	defer p.Close()
	if err := p.Download(context.Background(), j.Remote, j.Local, ftp.WithSegments(j.N)); err != nil {
		fatalf("segment worker: %v", err)
	}
	return true
}

// segmentBench runs the segment case and writes its section to o.out.
func segmentBench(o *options) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if o.out == "" {
		o.out = filepath.Join(os.TempDir(), "ftpbench-segment.md")
	}
	o.cases = map[string]bool{"wan": true}
	o.wanServers = []string{*segServer}
	o.start = false // the lab's servers are shared: never (re)started from here
	b := &bench{o: o, exe: exe, rep: &report{o: o}}
	if err := b.ensureServers(); err != nil {
		return err
	}
	s := b.servers[strings.ToUpper(*segServer)+"_WAN"]
	if s == nil {
		return fmt.Errorf("no %s wan instance", *segServer)
	}
	size := int64(*segMiB) << 20
	const remote = "/segment-bench/big.bin"
	file := filepath.Join(s.data, remote)
	want, err := segFixture(file, size)
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(file))
	if err := os.MkdirAll(o.local, 0o755); err != nil {
		return err
	}
	local := filepath.Join(o.local, "segment.bin")
	cleanLocal := func() error {
		for _, n := range []string{local, ftp.PartName(local), ftp.PartName(local) + ".meta", local + ".lftp-pget-status"} {
			os.Remove(n)
		}
		return nil
	}
	defer cleanLocal()
	check := func(*sample) error { return segCheck(local, want) }

	lines := &segLines{}
	cfg := latproxy.Config{Delay: *segRTT / 2, Rate: *segRate, Trace: lines.trace}
	if o.wanHandshake {
		cfg.ConnectDelay = 3 * cfg.Delay
	}
	proxy := latproxy.New(cfg)
	defer proxy.Close()
	if err := b.proxyServer(proxy, s); err != nil {
		return err
	}
	p := proxied(s)
	url := fmt.Sprintf("ftp://%s:%s@%s", b.user(), b.pass(), p.addr)
	worker := func(n int) func() (*exec.Cmd, error) {
		j, _ := json.Marshal(segJob{URL: url, Remote: remote, Local: local, N: n})
		return func() (*exec.Cmd, error) { return exec.Command(b.exe, "-segment-worker", string(j)), nil }
	}
	n := *segN
	cs := []contender{
		{name: "ours, one stream (Pool.Download)", cmd: worker(1)},
		{name: fmt.Sprintf("ours, WithSegments(%d)", n), cmd: worker(n)},
		{name: "lftp get", cmd: b.lftp(p, fmt.Sprintf("get %s -o %s", remote, local))},
		{name: fmt.Sprintf("lftp pget -n %d", n), cmd: b.lftp(p, fmt.Sprintf("pget -n %d %s -o %s", n, remote, local))},
	}
	samples := make([][]sample, len(cs))
	load0 := loadavg()
	t0 := time.Now()
	for r := range o.runs {
		for k := range cs {
			i := (k + r) % len(cs)
			c := &cs[i]
			c.prep, c.check = cleanLocal, check
			sm := b.measure(c, nil)
			logf("segment: %s: %.2f s %v", c.name, sm.wall, sm.err)
			samples[i] = append(samples[i], sm)
		}
	}
	kill := b.segKilled(worker(n), local, size, check, cleanLocal, lines)
	return os.WriteFile(o.out, []byte(segReport(o, s, size, n, cs, samples, kill, load0, time.Since(t0))), 0o644)
}

// segFixture makes file hold size random bytes, unless it does, and
// returns their SHA-256.
func segFixture(file string, size int64) (string, error) {
	if fi, err := os.Stat(file); err != nil || fi.Size() != size {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return "", err
		}
		if err := writeRandom(file, size); err != nil {
			return "", err
		}
	}
	mod := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := os.Chtimes(file, mod, mod); err != nil {
		return "", err
	}
	return fileSum(file)
}

func fileSum(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// segCheck checks that local is the file whose SHA-256 is want.
func segCheck(local, want string) error {
	got, err := fileSum(local)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%s: SHA-256 %s, want %s", local, got, want)
	}
	return nil
}

// segKill is the killed-and-resumed run.
type segKill struct {
	killedAt float64 // s after the start
	recorded int64   // bytes the record held at the kill
	done     []int64 // per segment
	want     []int64 // where the record says the resume must start (REST)
	rest     []int64 // the REST offsets the resume sent
	resume   sample
	err      error
}

// segKilled starts a segmented download, kills it (SIGKILL) once its
// record shows progress (its first checkpoint, a second or so after the
// first byte), and runs it again.
func (b *bench) segKilled(cmdf func() (*exec.Cmd, error), local string, size int64, check func(*sample) error, clean func() error, lines *segLines) segKill {
	var k segKill
	clean()
	cmd, _ := cmdf()
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	t0 := time.Now()
	if k.err = cmd.Start(); k.err != nil {
		return k
	}
	record := ftp.PartName(local) + ".meta"
	for time.Since(t0) < b.o.timeout {
		var r struct{ Done []int64 }
		if data, err := os.ReadFile(record); err == nil && json.Unmarshal(data, &r) == nil {
			var sum int64
			for _, d := range r.Done {
				sum += d
			}
			if sum > 0 {
				k.recorded, k.done = sum, r.Done
				break
			}
		}
		time.Sleep(20 * time.Millisecond) // polling a file another process writes
	}
	k.killedAt = time.Since(t0).Seconds()
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if k.recorded == 0 {
		k.err = fmt.Errorf("the record never showed progress")
		return k
	}
	// Read the record again: it may have moved on before the kill.
	var r struct{ Done []int64 }
	if data, err := os.ReadFile(record); err == nil && json.Unmarshal(data, &r) == nil {
		k.recorded, k.done = 0, r.Done
		for _, d := range r.Done {
			k.recorded += d
		}
	}
	for i, d := range k.done {
		if start, end := segBounds(size, i, len(k.done)); start+d < end && start+d > 0 {
			k.want = append(k.want, start+d)
		}
	}
	lines.start()
	k.resume = b.measure(&contender{name: "resume", cmd: cmdf, check: check}, nil)
	k.rest = lines.take()
	slices.Sort(k.rest)
	k.err = k.resume.err
	if k.err == nil && !slices.Equal(k.rest, k.want) {
		k.err = fmt.Errorf("the resume sent REST %v, the record said %v", k.rest, k.want)
	}
	return k
}

// segBounds is segment i of n of a file of size bytes, as the library
// cuts it (segmentBounds).
func segBounds(size int64, i, n int) (start, end int64) {
	each, rest := size/int64(n), size%int64(n)
	start = int64(i)*each + min(int64(i), rest)
	end = start + each
	if int64(i) < rest {
		end++
	}
	return start, end
}

// segLines collects the offsets of the REST commands the proxy sees
// between start and take.
type segLines struct {
	mu   sync.Mutex
	on   bool
	rest []int64
}

func (l *segLines) trace(e latproxy.Event) {
	if e.Kind != latproxy.Line || e.Dir != latproxy.Up || !strings.HasPrefix(e.Text, "REST ") {
		return
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(e.Text, "REST "), 10, 64)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.on && err == nil {
		l.rest = append(l.rest, n)
	}
}

func (l *segLines) start() {
	l.mu.Lock()
	l.on, l.rest = true, nil
	l.mu.Unlock()
}

func (l *segLines) take() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.on = false
	return l.rest
}

// segMedian is the median wall time of the runs that succeeded.
func segMedian(ss []sample) float64 {
	var w []float64
	for _, s := range ss {
		if s.err == nil {
			w = append(w, s.wall)
		}
	}
	return median(w)
}

func segReport(o *options, s *server, total int64, n int, cs []contender, samples [][]sample, k segKill, load0 string, took time.Duration) string {
	var sb strings.Builder
	rate := float64(*segRate)
	fmt.Fprintf(&sb, "## Segmented download: one %s file, each connection capped at %.0f MB/s (issue 19, item 4)\n\n", size(total), rate/1e6)
	fmt.Fprintf(&sb, "Generated by `go run ./cmd/ftpbench -cases segment -runs %d -segment-mib %d -segment-n %d -segment-rate %d -segment-rtt %v` on %s in %s. The %s `wan` instance through the latency proxy (RTT %v, every connection capped at %d bytes/s in each direction, the proxy's queue at most rate × delay + 64 KiB, as a link of that bandwidth-delay product), the file random bytes on the server's disk. Every run is a process of its own, the contenders alternating; the local file on %s. Each run's file is checked against the source's SHA-256.\n\n",
		o.runs, total>>20, n, *segRate, *segRTT, time.Now().UTC().Format("2006-01-02 15:04 UTC"), took.Round(time.Second), s.label, *segRTT, *segRate, o.local)
	fmt.Fprintf(&sb, "| contender | MB/s (median) | min–max | seconds (median) | × one stream of ours | runs ok |\n| --- | --- | --- | --- | --- | --- |\n")
	var base float64
	for i, c := range cs {
		var mbs, secs []float64
		var firstErr error
		for _, sm := range samples[i] {
			if sm.err != nil {
				if firstErr == nil {
					firstErr = sm.err
				}
				continue
			}
			secs = append(secs, sm.wall)
			mbs = append(mbs, float64(total)/sm.wall/1e6)
		}
		if len(mbs) == 0 {
			fmt.Fprintf(&sb, "| %s | failed | | | | 0 of %d: %v |\n", c.name, len(samples[i]), firstErr)
			continue
		}
		m := median(mbs)
		if i == 0 {
			base = m
		}
		ratio := "—"
		if base > 0 && i > 0 {
			ratio = fmt.Sprintf("%.2f×", m/base)
		}
		note := ""
		if firstErr != nil {
			note = fmt.Sprintf(" (first failure: %v)", firstErr)
		}
		fmt.Fprintf(&sb, "| %s | **%.2f** | %.2f–%.2f | %.2f | %s | %d of %d%s |\n", c.name, m, slices.Min(mbs), slices.Max(mbs), median(secs), ratio, len(mbs), len(samples[i]), note)
	}
	fmt.Fprintf(&sb, "\n- The cap is %.1f MB/s per connection: one stream can do no better; %d streams at most %.1f MB/s. Wall time of the whole process (dial, login, SIZE/MLST, transfer, checks, QUIT).\n", rate/1e6, n, float64(n)*rate/1e6)
	if k.err != nil {
		fmt.Fprintf(&sb, "- Killed and resumed: **failed**: %v\n", k.err)
	} else {
		left := total - k.recorded
		fmt.Fprintf(&sb, "- Killed and resumed (ours, WithSegments(%d)): SIGKILL %.2f s in, once the part's record showed progress (its first checkpoint); the record then held %d of %d bytes (per segment %v). The second run sent REST %v, exactly where the record said each unfinished segment was (seen on the proxy), fetched the %d bytes left in %.2f s (%.1f MB/s over them; the whole file took %.2f s, the median above), and its file matched the source's SHA-256.\n",
			n, k.killedAt, k.recorded, total, k.done, k.rest, left, k.resume.wall, float64(left)/k.resume.wall/1e6, segMedian(samples[1]))
	}
	fmt.Fprintf(&sb, "- Load average (1, 5, 15 min) before: %s; after: %s.\n\n", load0, loadavg())
	return sb.String()
}
