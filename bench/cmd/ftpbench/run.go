package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is one FTP server instance of the interop scripts.
type server struct {
	name  string // vsftpd, pureftpd
	label string // for tables
	key   string // servers.env prefix, VSFTPD_PLAIN
	addr  string
	data  string // its data folder on disk
	tls   bool
	pid   int // the daemon's pid, for its CPU time; 0 if unknown
	// wan instances: where the latency proxy listens for it, and its
	// passive ports (proxied one to one)
	wan            bool
	proxyAddr      string
	pasvLo, pasvHi int
}

// env holds servers.env.
type env map[string]string

func readEnv() (env, error) {
	run := os.Getenv("INTEROP_RUN")
	if run == "" {
		run = "/tmp/pasvport-interop"
	}
	f, err := os.Open(filepath.Join(run, "servers.env"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	e := env{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if ok {
			e[k] = strings.Trim(v, `"`)
		}
	}
	return e, sc.Err()
}

// bench is the state of one ftpbench run.
type bench struct {
	o       *options
	env     env
	exe     string
	servers map[string]*server // by key
	rep     *report
	ceiling float64 // bytes/s of the plain loopback copy, once measured
	mountMu sync.Mutex
	mounts  []string // tmpfs mounted by the bench, unmounted at the end
	upFS    string   // where uploads land, for the report
}

func (b *bench) user() string { return b.env["FTP_USER"] }
func (b *bench) pass() string { return b.env["FTP_PASS"] }

func reachable(addr string) bool {
	if addr == "" {
		return false
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 3)
	_, err = c.Read(buf)
	return err == nil && string(buf) == "220"
}

// needed lists the servers.env prefixes this run uses.
func (b *bench) needed() []string {
	var keys []string
	seen := map[string]bool{}
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if b.o.cases["1"] || b.o.cases["2"] || b.o.cases["3"] || b.o.cases["4"] {
		for _, s := range b.o.servers {
			add(strings.ToUpper(s) + "_PLAIN")
		}
	}
	if b.o.cases["5"] {
		for _, s := range b.o.listSrv {
			add(strings.ToUpper(s) + "_PLAIN")
		}
	}
	if b.o.tls && (b.o.cases["1"] || b.o.cases["2"]) {
		keys = append(keys, "VSFTPD_TLS")
	}
	if b.o.cases["wan"] {
		for _, s := range b.o.wanServers {
			add(strings.ToUpper(s) + "_WAN")
		}
	}
	return keys
}

// instance is the interop instance name of a servers.env prefix.
func instance(key string) string { return strings.ToLower(strings.ReplaceAll(key, "_", "-")) }

// ensureServers (re)reads servers.env and starts the instances this run
// needs that are not answering (only those: the others are left alone).
func (b *bench) ensureServers() error {
	var missing []string
	up := func() bool {
		missing = nil
		e, err := readEnv()
		b.env = e
		for _, k := range b.needed() {
			if err != nil || !reachable(e[k+"_ADDR"]) || e[k+"_DATA"] == "" {
				missing = append(missing, instance(k))
			}
		}
		return len(missing) == 0
	}
	if !up() {
		if !b.o.start {
			return fmt.Errorf("servers %v are not up (run %s start %s)", missing, b.o.interop, strings.Join(missing, " "))
		}
		logf("starting servers: %s start %s", b.o.interop, strings.Join(missing, " "))
		for _, args := range [][]string{{"install"}, append([]string{"start"}, missing...)} {
			cmd := exec.Command(b.o.interop, args...)
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("%s %v: %w", b.o.interop, args, err)
			}
		}
		if !up() {
			return fmt.Errorf("servers %v still not up", b.needed())
		}
	}
	b.servers = map[string]*server{}
	labels := map[string]string{"VSFTPD": "vsftpd", "PUREFTPD": "pure-ftpd", "PROFTPD": "proftpd", "PYFTPDLIB": "pyftpdlib"}
	for _, k := range b.needed() {
		name, variant, _ := strings.Cut(k, "_")
		s := &server{name: strings.ToLower(name), key: k, addr: b.env[k+"_ADDR"], data: b.env[k+"_DATA"], tls: variant == "TLS"}
		s.label = labels[name]
		if variant == "WAN" {
			s.wan, s.proxyAddr = true, b.env[k+"_PROXY_ADDR"]
			lo, hi, _ := strings.Cut(b.env[k+"_PASV_PORTS"], "-")
			s.pasvLo, _ = strconv.Atoi(lo)
			s.pasvHi, _ = strconv.Atoi(hi)
			if s.proxyAddr == "" || s.pasvLo == 0 || s.pasvHi < s.pasvLo {
				return fmt.Errorf("%s: no %s_PROXY_ADDR or %s_PASV_PORTS in servers.env (an older servers.sh?)", instance(k), k, k)
			}
		}
		s.pid = b.serverPID(k)
		if s.tls {
			s.label += " FTPS"
		}
		b.servers[k] = s
	}
	return nil
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
}

// sample is one measured run.
type sample struct {
	wall float64 // s
	cpu  float64 // user+sys s
	// machine is the CPU time of the whole machine (/proc/stat: all but
	// idle and iowait, all cores) during the run: client, server and
	// anything else, to tell a CPU-bound run from a latency-bound one.
	machine float64
	// server is the CPU time of the server's daemon and its session
	// processes during the run (-1: unknown), to tell a run the server's
	// one core limits.
	server float64
	rss    int64     // peak RSS, KiB
	res    *Result   // from a Go worker
	out    string    // stdout of an external command
	wan    *wanCount // WAN cases: what the proxy saw
	err    error
}

// contender is one implementation in a case.
type contender struct {
	name  string
	job   *Job                      // a Go worker, or
	cmd   func() (*exec.Cmd, error) // an external command
	prep  func() error              // before each run (not timed)
	check func(s *sample) error     // after each run (not timed)
	note  string
	runs  int // at most this many runs, if > 0
	// group names the commands the contender sends, where a case mixes
	// them (listings: MLSD, LIST dir, CWD + LIST): the headline then
	// compares ours with the peers of each group.
	group string
	exe   string // the ftpbench binary that runs job (default: this one)
}

// measure runs c once as a process and measures it, and the CPU time of
// srv if it is not nil.
func (b *bench) measure(c *contender, srv *server) sample {
	if c.prep != nil {
		if err := c.prep(); err != nil {
			return sample{err: fmt.Errorf("prepare: %w", err)}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.o.timeout)
	defer cancel()
	var cmd *exec.Cmd
	if c.job != nil {
		j, _ := json.Marshal(c.job)
		exe := b.exe
		if c.exe != "" {
			exe = c.exe
		}
		cmd = exec.CommandContext(ctx, exe, "-worker", string(j))
	} else {
		var err error
		if cmd, err = c.cmd(); err != nil {
			return sample{err: err}
		}
		cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	}
	// Peak RSS comes from GNU time (%M, the ru_maxrss of wait4 for its
	// child): ru_maxrss of a child of this process would start at this
	// process's own RSS, because Go starts children with vfork (CLONE_VM)
	// and Linux carries the old mm's high-water mark across execve into
	// the signal struct. time forks a small copy of itself instead.
	rssFile := filepath.Join(b.o.local, "rss.txt")
	os.Remove(rssFile)
	cmd = exec.CommandContext(ctx, "/usr/bin/time", append([]string{"-f", "%M", "-o", rssFile, cmd.Path}, cmd.Args[1:]...)...)
	// At -run-timeout, kill time and the command it runs (its own process
	// group): killing time alone leaves the command running, holding
	// stdout, and Run waiting for it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	busy0 := machineBusy()
	var meter *cpuMeter
	if srv != nil && srv.pid > 0 {
		meter = startMeter(srv.pid)
	}
	t0 := time.Now()
	err := cmd.Run()
	s := sample{wall: time.Since(t0).Seconds(), machine: machineBusy() - busy0, server: -1}
	if meter != nil {
		if v, ok := meter.finish(); ok {
			s.server = v
		}
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru != nil {
		// wait4's rusage of time includes its reaped child's CPU.
		s.cpu = tv(ru.Utime) + tv(ru.Stime)
	}
	if out, rerr := os.ReadFile(rssFile); rerr == nil {
		ls := strings.Fields(string(out))
		if len(ls) > 0 {
			s.rss, _ = strconv.ParseInt(ls[len(ls)-1], 10, 64)
		}
	}
	if err != nil {
		s.err = fmt.Errorf("%s: %v: %s", c.name, err, lastLines(stderr.String()+stdout.String(), 5))
		return s
	}
	if c.job == nil {
		s.out = stdout.String()
	} else {
		s.res = &Result{}
		if err := json.Unmarshal(stdout.Bytes(), s.res); err != nil {
			s.err = fmt.Errorf("%s: bad worker output %q: %v", c.name, stdout.String(), err)
			return s
		}
	}
	if c.check != nil {
		if err := c.check(&s); err != nil {
			s.err = fmt.Errorf("%s: %w", c.name, err)
		}
	}
	return s
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, " | ")
}

// runCase runs every contender runs times, alternating, and adds the case
// to the report. amount is the work of one run (bytes, files, entries).
// Each round starts one contender further along (A B C, B C A, C A B, …):
// the first run of a round follows the previous case or round's cleanup,
// and in a fixed order one contender would always pay for it (seen in case
// 1a on pure-ftpd: two identical rows, 1.35 and 1.90 GB/s, the slow one
// always first).
func (b *bench) runCase(cs *caseSpec) {
	b.baselineContenders(cs)
	logf("case %s: %s (%d contenders × %d runs)", cs.id, cs.title, len(cs.contenders), b.o.runs)
	cs.loadBefore = loadavg()
	cs.samples = make([][]sample, len(cs.contenders))
	n := len(cs.contenders)
	srv := func() *server { // the server as it is now: a retry may restart it
		if cs.srv == nil {
			return nil
		}
		return b.servers[cs.srv.key]
	}
	for r := range b.o.runs {
		for k := range n {
			i := (r + k) % n
			c := &cs.contenders[i]
			if c.runs > 0 && r >= c.runs {
				continue
			}
			s := b.measureWan(cs, c, srv())
			if s.err != nil {
				// Someone may have restarted the servers (fresh, empty
				// data folders) or stopped them: check both, then retry
				// once.
				logf("  run %d %s failed (%v); checking servers and fixtures, retrying once", r+1, c.name, s.err)
				if err := b.ensureServers(); err == nil {
					if err = b.fixtures(); err == nil {
						s = b.measureWan(cs, c, srv())
					}
				}
			}
			if s.err != nil {
				logf("  run %d %s: FAILED: %v", r+1, c.name, s.err)
			} else {
				logf("  run %d %-28s %8.3f s  cpu %6.3f s  rss %6.1f MiB", r+1, c.name, s.wall, s.cpu, float64(s.rss)/1024)
			}
			cs.samples[i] = append(cs.samples[i], s)
		}
	}
	if cs.wan == nil {
		b.countCommands(cs)
	} else {
		// The proxy counted every run's commands: those of the last
		// good run of each contender.
		cs.counts = make([]*Result, len(cs.contenders))
		for i := range cs.contenders {
			for _, s := range cs.samples[i] {
				if s.err == nil && s.wan != nil && cs.files > 0 {
					cs.counts[i] = &Result{Cmds: s.wan.cmds, Verbs: s.wan.verbs, Files: cs.files}
				}
			}
		}
	}
	cs.load = loadavg()
	b.rep.add(cs)
}

// measureWan is measure, and in a WAN case what the proxy saw of the run.
func (b *bench) measureWan(cs *caseSpec, c *contender, srv *server) sample {
	if cs.wan == nil {
		return b.measure(c, srv)
	}
	cs.wan.reset(false)
	s := b.measure(c, srv)
	s.wan, _ = cs.wan.take()
	if s.err == nil && cs.firstByte {
		if _, ok := s.wan.firstByte(); !ok {
			s.err = fmt.Errorf("%s: the proxy saw no data byte reach the client", c.name)
		}
	}
	return s
}

// baselineContenders applies -ours-only and -baseline to cs: it drops the
// peers, and follows each job of ours with the same job run by the
// baseline binary ("ours-before").
func (b *bench) baselineContenders(cs *caseSpec) {
	var out []contender
	for _, c := range cs.contenders {
		ours := c.job != nil && c.job.Impl == "ours"
		if b.o.oursOnly && !ours && (c.job == nil || !strings.HasPrefix(c.job.Impl, "ceiling")) {
			continue
		}
		out = append(out, c)
		if ours && b.o.baseline != "" {
			c.name, c.exe = strings.Replace(c.name, "ours", "ours-before", 1), b.o.baseline
			out = append(out, c)
		}
	}
	cs.contenders = out
}

// countCommands runs each Go contender of a many-file case once more, not
// timed, with its control commands counted (Job.Count): the counting
// wrapper would hide ours' TCP connection, and with it the poller, from
// the timed runs.
func (b *bench) countCommands(cs *caseSpec) {
	cs.counts = make([]*Result, len(cs.contenders))
	for i := range cs.contenders {
		c := cs.contenders[i]
		if c.job == nil || !countedOps[c.job.Op] {
			continue
		}
		j := *c.job
		j.Count = true
		c.job = &j
		if s := b.measure(&c, nil); s.err == nil {
			cs.counts[i] = s.res
		} else {
			logf("  counting run of %s failed: %v", c.name, s.err)
		}
	}
}

// countedOps are the operations whose commands per file are reported.
var countedOps = map[string]bool{"getmany": true, "putmany": true, "mirror-down": true, "mirror-up": true}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func run(o *options) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	b := &bench{o: o, exe: exe, rep: &report{o: o}}
	defer b.unmount()
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(interrupted)
	go func() {
		if _, ok := <-interrupted; ok {
			b.unmount() // leave no tmpfs on the servers' folders
			os.Exit(130)
		}
	}()
	if err := b.ensureServers(); err != nil {
		return err
	}
	if err := b.fixtures(); err != nil {
		return err
	}
	start := time.Now()
	b.rep.machine = append(machineInfo(), "Servers' upload folders: "+b.upFS)
	if o.cases["7"] {
		b.caseCeiling()
	}
	if o.cases["1"] || o.cases["2"] {
		for _, name := range o.servers {
			s := b.servers[strings.ToUpper(name)+"_PLAIN"]
			if o.cases["1"] {
				b.caseDownload(s)
			}
			if o.cases["2"] {
				b.caseUpload(s)
			}
		}
		if o.tls {
			if s := b.servers["VSFTPD_TLS"]; s != nil {
				if o.cases["1"] {
					b.caseDownload(s)
				}
				if o.cases["2"] {
					b.caseUpload(s)
				}
			}
		}
	}
	for _, name := range o.servers {
		s := b.servers[strings.ToUpper(name)+"_PLAIN"]
		if o.cases["3"] {
			b.caseSmall(s, 1)
		}
		if o.cases["4"] {
			for _, n := range o.parallel {
				b.caseSmall(s, n)
			}
		}
	}
	if o.cases["5"] {
		for _, name := range o.listSrv {
			b.caseList(b.servers[strings.ToUpper(name)+"_PLAIN"])
		}
		b.caseParse()
	}
	if o.profile && (o.cases["1"] || o.cases["2"]) {
		b.profiles()
	}
	if o.cases["wan"] {
		b.wan()
	}
	b.rep.elapsed = time.Since(start)
	b.rep.versions = versions()
	if err := os.WriteFile(o.out, []byte(b.rep.markdown()), 0o644); err != nil {
		return err
	}
	logf("wrote %s (%s)", o.out, b.rep.elapsed.Round(time.Second))
	if o.baseline != "" {
		fmt.Print(b.rep.baselineSection())
	}
	if b.rep.failures > 0 {
		return fmt.Errorf("%d runs failed (see %s)", b.rep.failures, o.out)
	}
	return nil
}

// machineBusy returns the CPU seconds the machine has spent busy since
// boot, all cores: the first line of /proc/stat less idle and iowait.
// Zero where there is no /proc/stat.
func machineBusy() float64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fs := strings.Fields(line)
	var busy float64
	for i, f := range fs[1:] {
		if i == 3 || i == 4 || i >= 7 { // idle, iowait; steal, guest counted elsewhere
			continue
		}
		v, _ := strconv.ParseFloat(f, 64)
		busy += v
	}
	return busy / 100 // USER_HZ
}
