package main

import (
	"os"
	"path/filepath"
	"slices"
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

// measured returns s if its CPU time can be measured (serverCPU), or nil:
// not for FTPS, where vsftpd's session processes are not all reaped by
// the daemon (a 1.7 s download to io.Discard measured 0.05 CPU s), so
// their CPU never reaches its counters.
func (s *server) measured() *server {
	if s.tls {
		return nil
	}
	return s
}

// serverCPU returns the CPU seconds (user+sys) that the daemon pid and
// every session process it has reaped have used, and the pids of its
// children now. The four servers fork a process per session, so a run's
// server CPU is the growth of this figure once its session is reaped.
func serverCPU(pid int) (float64, []string, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, nil, false
	}
	// The fields after the command name, which is in parentheses and may
	// hold anything: state is field 3, utime..cstime are fields 14–17.
	i := strings.LastIndexByte(string(data), ')')
	fs := strings.Fields(string(data[i+1:]))
	if i < 0 || len(fs) < 15 {
		return 0, nil, false
	}
	var ticks float64
	for _, f := range fs[11:15] {
		v, _ := strconv.ParseFloat(f, 64)
		ticks += v
	}
	kids, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/children")
	return ticks / 100, strings.Fields(string(kids)), true // USER_HZ
}

// serverCPUAfter returns serverCPU once the daemon has no children but
// those it had before the run (kids0): a session's CPU is added to the
// daemon's only when it is reaped, a moment after the client quits. It
// gives up after two seconds.
func serverCPUAfter(pid int, kids0 []string) (float64, bool) {
	deadline := time.Now().Add(2 * time.Second)
	for {
		cpu, kids, ok := serverCPU(pid)
		if !ok {
			return 0, false
		}
		gone := true
		for _, k := range kids {
			gone = gone && slices.Contains(kids0, k)
		}
		if gone {
			return cpu, true
		}
		if time.Now().After(deadline) {
			return 0, false
		}
		time.Sleep(2 * time.Millisecond)
	}
}
