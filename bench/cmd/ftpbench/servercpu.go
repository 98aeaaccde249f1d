package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// serverPID returns the pid of the daemon serving the servers.env prefix
// key (VSFTPD_PLAIN: the instance vsftpd-plain), from the pid file the
// interop script keeps, or 0.
func (b *bench) serverPID(key string) int {
	run := b.env["INTEROP_RUN"]
	if run == "" {
		return 0
	}
	inst := strings.ToLower(strings.ReplaceAll(key, "_", "-"))
	data, err := os.ReadFile(filepath.Join(run, inst+".pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid
}

// procTimes returns the CPU seconds (user+sys) that pid has used itself
// and that its reaped children have used (fields 14–17 of its stat).
func procTimes(pid int) (own, reaped float64, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// The fields after the command name, which is in parentheses and may
	// hold anything: state is field 3, utime..cstime are fields 14–17.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, 0, false
	}
	fs := strings.Fields(string(data[i+1:]))
	if len(fs) < 15 {
		return 0, 0, false
	}
	var t [4]float64
	for k, f := range fs[11:15] {
		t[k], _ = strconv.ParseFloat(f, 64)
	}
	return (t[0] + t[1]) / 100, (t[2] + t[3]) / 100, true // USER_HZ
}

// children returns the child processes of pid (of its main thread: the
// servers are single-threaded).
func children(pid int) []int {
	data, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/children")
	var kids []int
	for _, f := range strings.Fields(string(data)) {
		if k, err := strconv.Atoi(f); err == nil {
			kids = append(kids, k)
		}
	}
	return kids
}

// cpuMeter measures the CPU time of a server daemon and the processes it
// forks for one run (the four servers fork a session per connection). It
// takes the larger of two lower bounds: the growth of the daemon's own and
// reaped children's counters, read once the session is reaped, which
// misses a session's child that its parent did not wait for (vsftpd's,
// often); and the processes' own counters, sampled every 5 ms while they
// live, which misses what a process used in its last few milliseconds.
type cpuMeter struct {
	pid           int
	own0, reaped0 float64
	before        map[int]bool    // the daemon's children before the run
	seen          map[int]float64 // latest own CPU of each process of the run
	stop, done    chan struct{}
}

// startMeter starts measuring the server daemon pid, or returns nil.
func startMeter(pid int) *cpuMeter {
	own, reaped, ok := procTimes(pid)
	if !ok {
		return nil
	}
	m := &cpuMeter{pid: pid, own0: own, reaped0: reaped, before: map[int]bool{}, seen: map[int]float64{},
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, k := range children(pid) {
		m.before[k] = true
	}
	go m.run()
	return m
}

func (m *cpuMeter) run() {
	defer close(m.done)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		m.sample()
		select {
		case <-m.stop:
			return
		case <-tick.C:
		}
	}
}

// sample records the own CPU of every descendant of the daemon that was
// not there before the run.
func (m *cpuMeter) sample() {
	queue := children(m.pid)
	for n := 0; len(queue) > 0 && n < 1000; n++ {
		p := queue[0]
		queue = queue[1:]
		if m.before[p] {
			continue
		}
		if own, _, ok := procTimes(p); ok {
			m.seen[p] = own
		}
		queue = append(queue, children(p)...)
	}
}

// finish waits until the daemon has reaped the run's sessions (at most two
// seconds: it does so a moment after the client quits), stops sampling
// and returns the CPU seconds of the run.
func (m *cpuMeter) finish() (float64, bool) {
	deadline := time.Now().Add(2 * time.Second)
	for !m.reaped() && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	close(m.stop)
	<-m.done
	own, reaped, ok := procTimes(m.pid)
	if !ok {
		return 0, false
	}
	byCounters := own - m.own0 + reaped - m.reaped0
	sampled := own - m.own0
	for _, v := range m.seen {
		sampled += v
	}
	return max(byCounters, sampled), true
}

// reaped reports whether the daemon has no children but those it had
// before the run.
func (m *cpuMeter) reaped() bool {
	for _, k := range children(m.pid) {
		if !m.before[k] {
			return false
		}
	}
	return true
}
