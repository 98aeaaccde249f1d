// Command ftpbench measures github.com/pasvport/ftp against
// github.com/jlaffaye/ftp, curl and lftp on real servers (vsftpd, pure-ftpd)
// on loopback, and writes the results as Markdown (bench/RESULTS.md).
//
//	cd bench && go run ./cmd/ftpbench             # everything, ~25 min
//	cd bench && go run ./cmd/ftpbench -quick      # ~10 s smoke run
//
// Every measured run is a process of its own (the Go clients run as
// "ftpbench -worker JOB"), so that its CPU time and peak RSS come from
// wait4's rusage. Implementations alternate run by run (A B C A B C …).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

type options struct {
	runs       int
	quick      bool
	out        string
	bigSize    int64
	smallCount int
	smallSize  int
	listCount  int
	parallel   []int
	servers    []string
	listSrv    []string
	cases      map[string]bool
	fixtures   string
	local      string
	interop    string
	start      bool
	profile    bool
	tls        bool
	pkgBench   bool
	timeout    time.Duration
	curlMany   int
	upTmpfs    bool
	baseline   string // another ftpbench binary: its workers run as "ours-before"
	oursOnly   bool
	// WAN cases (-cases wan)
	wanRTT       []time.Duration
	wanServers   []string
	wanFiles     int
	wanConns     int
	wanHandshake bool
	wanRate      int64
	wanTrace     []string
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "ftpbench: "+format+"\n", a...)
	os.Exit(1)
}

func main() {
	worker := flag.String("worker", "", "internal: run one job (JSON) and print its result")
	var o options
	var parallel, servers, listServers, cases, wanRTT, wanServers, wanTrace string
	var bigMiB int
	flag.IntVar(&o.runs, "runs", 5, "runs of each implementation per case")
	flag.BoolVar(&o.quick, "quick", false, "~10 s smoke run: tiny sizes, 1 run, vsftpd only; writes to -out (default a temp file)")
	flag.StringVar(&o.out, "out", "", "Markdown output (default RESULTS.md, or a temp file with -quick)")
	flag.IntVar(&bigMiB, "big", 1024, "large-file size in MiB (cases 1, 2, 7)")
	flag.IntVar(&o.smallCount, "small", 1000, "number of small files (cases 3, 4)")
	flag.IntVar(&o.smallSize, "small-size", 4096, "size of each small file in bytes")
	flag.IntVar(&o.listCount, "list", 100000, "entries of the listed directory (case 5)")
	flag.StringVar(&parallel, "parallel", "4,8", "connection counts for case 4")
	flag.StringVar(&servers, "servers", "vsftpd,pureftpd", "servers to run against")
	flag.StringVar(&listServers, "list-servers", "vsftpd,proftpd", "servers for the listing case (pure-ftpd caps listings at 10,000 entries: its -L default)")
	flag.StringVar(&cases, "cases", "1,2,3,4,5,7", "cases to run (6, peak RSS, is part of 1 and 2); wan: the WAN cases through the latency proxy (not with -quick); segment: one segmented download through it, alone (segment.go)")
	flag.StringVar(&wanRTT, "wan-rtt", "20ms,60ms", "WAN cases: round-trip times of the latency proxy")
	flag.StringVar(&wanServers, "wan-servers", "vsftpd", "WAN cases: servers (their interop wan instances: vsftpd, proftpd, pureftpd, pyftpdlib)")
	flag.IntVar(&o.wanFiles, "wan-files", 200, "WAN cases: number of small files (of -small-size bytes)")
	flag.IntVar(&o.wanConns, "wan-conns", 4, "WAN cases: connections of the Mirror case")
	flag.BoolVar(&o.wanHandshake, "wan-handshake", true, "WAN cases: the server gets each connection 1.5 RTT after the client made it, as over a real link (false: at once)")
	flag.Int64Var(&o.wanRate, "wan-rate", 0, "WAN cases: cap each connection at this many bytes/s in each direction (0: none)")
	flag.StringVar(&wanTrace, "wan-trace", "ours", "WAN cases: contenders (ours, jlaffaye, curl, lftp) whose 3-file download and upload are traced line by line into the report at each RTT (empty: none)")
	flag.StringVar(&o.fixtures, "fixtures", "/tmp/ftpbench", "where the large file's master copy and the captures live (reused across runs)")
	flag.StringVar(&o.local, "local", defaultLocal(), "local folder for downloaded files and small-file sources (tmpfs preferred)")
	flag.StringVar(&o.interop, "interop", "../interop/servers.sh", "the interop servers script")
	flag.BoolVar(&o.start, "start", true, "start the plain and tls servers with the interop script if they are not up")
	flag.BoolVar(&o.profile, "profile", true, "CPU-profile one download and one upload of ours and summarise with pprof -top")
	flag.BoolVar(&o.tls, "tls", true, "also run the FTPS (explicit TLS, vsftpd-tls) variants of cases 1 and 2")
	flag.BoolVar(&o.pkgBench, "pkgbench", true, "also run the package's own BenchmarkParse* (go test in ..)")
	flag.IntVar(&o.curlMany, "curl-many-runs", 1, "runs of curl with many URLs (case 3), if fewer than -runs (0: -runs): curl 7.88 stalls 1 s or more before many of its data connections, so that one run can take minutes")
	flag.BoolVar(&o.upTmpfs, "up-tmpfs", true, "mount a tmpfs on each server's upload folder for the run (needs root), so that uploads measure the clients, not the server's disk")
	flag.StringVar(&o.baseline, "baseline", "", "another ftpbench binary (e.g. built from an older checkout): its -worker runs every job of ours again as \"ours-before\", alternating in the same rounds; the report adds ours ÷ ours-before (default -out: a temp file)")
	flag.BoolVar(&o.oursOnly, "ours-only", false, "run only ours (and ours-before): no jlaffaye/ftp, curl, lftp or resp.WriteTo rows")
	flag.DurationVar(&o.timeout, "run-timeout", 3*time.Minute, "bound on each measured process (it is killed with what it started)")
	flag.Parse()
	if *worker != "" {
		runWorker(*worker)
		return
	}
	if segmentWorker() {
		return
	}
	o.bigSize = int64(bigMiB) << 20
	if o.quick {
		o.runs, o.bigSize, o.smallCount, o.listCount = 1, 16<<20, 50, 2000
		parallel, servers, listServers = "4", "vsftpd", "vsftpd"
		o.profile, o.pkgBench = false, false
		o.timeout = time.Minute
		if strings.Contains(","+cases+",", ",wan,") {
			logf("-quick does not run the WAN cases")
		}
		if o.out == "" {
			o.out = os.TempDir() + "/ftpbench-quick.md"
		}
	}
	if strings.Contains(","+cases+",", ",segment,") { // segment.go: a section of its own
		if err := segmentBench(&o); err != nil {
			fatalf("%v", err)
		}
		return
	}
	if o.out == "" && o.baseline != "" {
		o.out = os.TempDir() + "/ftpbench-baseline.md"
	}
	if o.out == "" {
		o.out = "RESULTS.md"
	}
	for _, p := range strings.Split(parallel, ",") {
		var n int
		if _, err := fmt.Sscan(p, &n); err != nil || n < 1 {
			fatalf("bad -parallel %q", parallel)
		}
		o.parallel = append(o.parallel, n)
	}
	o.servers = strings.Split(servers, ",")
	o.listSrv = strings.Split(listServers, ",")
	o.cases = map[string]bool{}
	for _, c := range strings.Split(cases, ",") {
		o.cases[strings.TrimSpace(c)] = true
	}
	if o.quick {
		delete(o.cases, "wan")
	}
	for _, r := range strings.Split(wanRTT, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(r))
		if err != nil || d <= 0 {
			fatalf("bad -wan-rtt %q", wanRTT)
		}
		o.wanRTT = append(o.wanRTT, d)
	}
	o.wanServers = strings.Split(wanServers, ",")
	for _, t := range strings.Split(wanTrace, ",") {
		if t = strings.TrimSpace(t); t != "" {
			o.wanTrace = append(o.wanTrace, t)
		}
	}
	if o.wanFiles < 1 || o.wanConns < 1 {
		fatalf("-wan-files and -wan-conns must be at least 1")
	}
	if o.baseline != "" {
		abs, err := filepath.Abs(o.baseline)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			fatalf("-baseline: %v", err)
		}
		o.baseline = abs
	}
	if o.runs < 1 {
		fatalf("-runs must be at least 1")
	}
	if err := run(&o); err != nil {
		fatalf("%v", err)
	}
}

func defaultLocal() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm/ftpbench"
	}
	return os.TempDir() + "/ftpbench-local"
}
