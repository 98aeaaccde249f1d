package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	lb "github.com/pasvport/ftp/bench"
)

// caseSpec is one table of the report.
type caseSpec struct {
	id         string
	title      string
	unit       string  // GB/s, files/s, entries/s
	amount     float64 // bytes, files or entries per run
	bytes      bool    // amount is bytes: show CPU s/GiB and % of ceiling
	contenders []contender
	samples    [][]sample
	counts     []*Result // per contender: its untimed counting run (countCommands), or nil
	notes      []string
	srv        *server // whose CPU time is measured with each run, if not nil
	loadBefore string  // /proc/loadavg before and after
	load       string
	// WAN cases: the proxy the clients go through (it counts their
	// commands in every run), the files of a run, and whether the case
	// times the first byte (from the proxy) rather than the run.
	wan       *wanRun
	files     int
	firstByte bool
	perRun    bool // the WAN cell shows RTT per run, not per file
}

func (s *server) url(p string) string { return "ftp://" + s.addr + p }

func (b *bench) job(s *server, impl, op string) *Job {
	return &Job{Impl: impl, Op: op, Addr: s.addr, User: b.user(), Pass: b.pass(), TLS: s.tls,
		CA: b.env["FTP_TLS_CA"], ServerName: b.env["FTP_TLS_SERVER_NAME"]}
}

// curl builds a curl command for s.
func (b *bench) curl(s *server, args ...string) func() (*exec.Cmd, error) {
	base := []string{"-sS", "--user", b.user() + ":" + b.pass(), "-w", "%{size_download} %{size_upload}\n"}
	if s.tls {
		base = append(base, "--ssl-reqd", "--cacert", b.env["FTP_TLS_CA"])
	}
	return func() (*exec.Cmd, error) { return exec.Command("curl", append(base, args...)...), nil }
}

// curlDownloaded is the size_download of curl's last -w line.
func curlDownloaded(sm *sample) int64 {
	ls := strings.Fields(sm.out)
	if len(ls) < 2 {
		return -1
	}
	n, _ := strconv.ParseInt(ls[len(ls)-2], 10, 64)
	return n
}

// lftp runs an lftp script against s (plain only).
func (b *bench) lftp(s *server, script string) func() (*exec.Cmd, error) {
	full := fmt.Sprintf("set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 30; set ftp:ssl-allow no; set xfer:clobber on; open -u %s,%s ftp://%s; %s; quit",
		b.user(), b.pass(), s.addr, script)
	return func() (*exec.Cmd, error) { return exec.Command("lftp", "-c", full), nil }
}

// caseCeiling is case 7: one loopback TCP connection in one Go process.
func (b *bench) caseCeiling() {
	cs := &caseSpec{id: "7", title: fmt.Sprintf("Physical ceiling: %s over one loopback TCP connection, both ends in one Go process", size(b.o.bigSize)),
		unit: "GB/s", amount: float64(b.o.bigSize), bytes: true}
	for _, impl := range []string{"ceiling-rw", "ceiling-sendfile", "ceiling-splice"} {
		j := &Job{Impl: impl, Op: "ceiling", Size: b.o.bigSize, Local: b.master(), Remote: filepath.Join(b.o.local, "ceiling.out")}
		cs.contenders = append(cs.contenders, contender{name: impl, job: j})
	}
	cs.notes = append(cs.notes,
		"`ceiling-rw`: `Write` from a 256 KiB buffer → `Read` into a 256 KiB buffer (what a user-space copy can do; the reference for the \"% of ceiling\" columns).",
		"`ceiling-sendfile`: `io.Copy(conn, *os.File)` (sendfile from the page-cached 1 GiB file) → `Read` loop: the best an upload can do.",
		"`ceiling-splice`: `Write` loop → `io.Copy(*os.File, conn)` (splice into a file on "+b.o.local+"): the best a download to a file can do.",
		"CPU here is both ends of the connection.")
	b.runCase(cs)
	b.ceiling = b.rep.median(cs, 0)
}

// caseDownload is case 1 (and 6): the large file to a file and to io.Discard.
func (b *bench) caseDownload(s *server) {
	for _, toFile := range []bool{true, false} {
		dst, where, id := filepath.Join(b.o.local, "dl", "big.bin"), "to a file", "1a"
		if !toFile {
			dst, where, id = "discard", "to io.Discard (curl: -o /dev/null)", "1b"
		}
		cs := &caseSpec{id: id, srv: s, title: fmt.Sprintf("Download %s %s, %s", size(b.o.bigSize), where, s.label),
			unit: "GB/s", amount: float64(b.o.bigSize), bytes: true}
		prep := func() error {
			os.Remove(filepath.Join(b.o.local, "dl", "big.bin"))
			return nil
		}
		check := func(sm *sample) error {
			if toFile {
				st, err := os.Stat(dst)
				if err != nil {
					return err
				}
				if st.Size() != b.o.bigSize {
					return fmt.Errorf("downloaded %d of %d bytes", st.Size(), b.o.bigSize)
				}
				return nil
			}
			if sm.res != nil && sm.res.Bytes != b.o.bigSize {
				return fmt.Errorf("downloaded %d of %d bytes", sm.res.Bytes, b.o.bigSize)
			}
			return nil
		}
		for _, impl := range []string{"ours", "ours-writeto", "jlaffaye"} {
			j := b.job(s, impl, "retr")
			j.Remote, j.Local = remoteBig, dst
			cs.contenders = append(cs.contenders, contender{name: implLabel(impl), job: j, prep: prep, check: check})
		}
		out := dst
		if !toFile {
			out = "/dev/null"
		}
		cs.contenders = append(cs.contenders, contender{name: "curl", cmd: b.curl(s, "-o", out, s.url(remoteBig)), prep: prep,
			check: func(sm *sample) error {
				if n := curlDownloaded(sm); n != b.o.bigSize {
					return fmt.Errorf("curl downloaded %d of %d bytes", n, b.o.bigSize)
				}
				return check(sm)
			}})
		cs.notes = append(cs.notes, "ours `io.Copy(dst, resp)` goes through `Response.WriteTo`; `resp.WriteTo` calls it directly; jlaffaye: `io.Copy(dst, resp)`.")
		if toFile {
			cs.notes = append(cs.notes, "The file is written on "+b.o.local+" and removed before each run.")
		}
		if s.tls {
			cs.notes = append(cs.notes, "FTPS: AUTH TLS, PROT P, data connections resume the control connection's TLS session (vsftpd requires it); TLS 1.3 for all.")
		}
		b.runCase(cs)
	}
}

// caseUpload is case 2 (and 6): the large file from an *os.File.
func (b *bench) caseUpload(s *server) {
	cs := &caseSpec{id: "2", srv: s, title: fmt.Sprintf("Upload %s from an *os.File, %s", size(b.o.bigSize), s.label),
		unit: "GB/s", amount: float64(b.o.bigSize), bytes: true}
	up := filepath.Join(s.data, remoteUp, "big.bin")
	prep := func() error { os.Remove(up); return nil }
	check := func(*sample) error {
		st, err := os.Stat(up)
		if err != nil {
			return err
		}
		if st.Size() != b.o.bigSize {
			return fmt.Errorf("server holds %d of %d bytes", st.Size(), b.o.bigSize)
		}
		return nil
	}
	for _, impl := range []string{"ours", "jlaffaye"} {
		j := b.job(s, impl, "stor")
		j.Remote, j.Local = remoteUp+"/big.bin", b.master()
		c := contender{name: implLabel(impl), job: j, prep: prep, check: check}
		if s.tls && impl == "jlaffaye" {
			j.TLS12 = true
			c.name += " (TLS 1.2)"
		}
		cs.contenders = append(cs.contenders, c)
	}
	args := []string{"-T", b.master(), s.url(remoteUp + "/big.bin")}
	note := ""
	if s.tls {
		args = append([]string{"--tls-max", "1.2"}, args...)
		note = "jlaffaye/ftp uploads over FTPS use TLS 1.2: with TLS 1.3 it closes the data connection without close_notify and without reading the server's session tickets, and vsftpd answers `426 Failure reading network stream` with the file cut short (seen while building this harness: 12,615,680 of 16,777,216 bytes stored). curl uploads over FTPS use TLS 1.2 (`--tls-max 1.2`): curl 7.88 closes a TLS 1.3 upload without reading the session tickets and vsftpd loses the tail (interop/README.md, Pitfalls)."
	}
	cs.contenders = append(cs.contenders, contender{name: "curl -T", cmd: b.curl(s, args...), prep: prep, check: check})
	cs.notes = append(cs.notes, "ours `Stor(ctx, path, *os.File)`; jlaffaye `Stor(path, *os.File)`; the server's file is removed before each run and its size checked after.")
	if note != "" {
		cs.notes = append(cs.notes, note)
	}
	b.runCase(cs)
}

// caseSmall is case 3 (conns == 1) and case 4 (conns > 1): the small files
// downloaded, then uploaded.
func (b *bench) caseSmall(s *server, conns int) {
	n := b.o.smallCount
	names := make([]string, n)
	for i := range names {
		names[i] = smallName(i)
	}
	dl := filepath.Join(b.o.local, "dl", "small")
	src := filepath.Join(b.o.local, "small-src")
	upDir := filepath.Join(s.data, remoteUp)
	want := int64(n) * int64(b.o.smallSize)
	checkDir := func(dir string) func(*sample) error {
		return func(*sample) error {
			c, total, err := dirStats(dir)
			if err != nil {
				return err
			}
			if c != n || total != want {
				return fmt.Errorf("%s holds %d files, %d bytes; want %d, %d", dir, c, total, n, want)
			}
			return nil
		}
	}
	prepDl := func() error {
		os.RemoveAll(dl)
		return os.MkdirAll(dl, 0o755)
	}
	prepUp := func() error { return emptyDir(upDir) }
	id, how := "3", "one connection"
	if conns > 1 {
		id, how = "4", fmt.Sprintf("%d connections", conns)
	}
	for _, down := range []bool{true, false} {
		dir := "download"
		if !down {
			dir = "upload"
		}
		cs := &caseSpec{id: id, srv: s, title: fmt.Sprintf("%d × %s files, %s, %s, %s", n, size(int64(b.o.smallSize)), dir, how, s.label),
			unit: "files/s", amount: float64(n)}
		for _, impl := range []string{"ours", "jlaffaye"} {
			op := "getmany"
			if !down {
				op = "putmany"
			}
			j := b.job(s, impl, op)
			j.Conns = conns
			c := contender{name: implLabel(impl), job: j}
			if down {
				j.Remote, j.Local, c.prep, c.check = remoteSmall, dl, prepDl, checkDir(dl)
			} else {
				j.Remote, j.Local, c.prep, c.check = remoteUp, src, prepUp, checkDir(upDir)
			}
			if conns == 1 {
				j.Files = names
			} else {
				c.name += fmt.Sprintf(" (%d Conns)", conns)
			}
			if impl == "ours" && conns > 1 {
				// The Mirror is the first row: the ratios are its.
				m := *j
				m.Op = "mirror-down"
				if !down {
					m.Op = "mirror-up"
				}
				mc := c
				mc.job, mc.name = &m, fmt.Sprintf("ours Mirror (Pool of %d)", conns)
				cs.contenders = append(cs.contenders, mc)
			}
			cs.contenders = append(cs.contenders, c)
		}
		if conns == 1 {
			cfg := filepath.Join(b.o.local, "curl-"+dir+".cfg")
			cs.contenders = append(cs.contenders, contender{name: "curl (one process, " + strconv.Itoa(n) + " URLs)",
				cmd:  b.curlMany(s, cfg, names, down, dl, src),
				prep: map[bool]func() error{true: prepDl, false: prepUp}[down], check: checkDir(map[bool]string{true: dl, false: upDir}[down]),
				runs: b.o.curlMany})
			script := fmt.Sprintf("mget -O %s %s/*", dl, remoteSmall)
			name := "lftp mget"
			if !down {
				script, name = fmt.Sprintf("mput -O %s %s/*", remoteUp, src), "lftp mput"
			}
			cs.contenders = append(cs.contenders, contender{name: name, cmd: b.lftp(s, script),
				prep: map[bool]func() error{true: prepDl, false: prepUp}[down], check: checkDir(map[bool]string{true: dl, false: upDir}[down])})
			cs.notes = append(cs.notes,
				"ours and jlaffaye: one logged-in connection, the names known in advance (no listing), each file its own Retr/Stor; local files on "+b.o.local+".",
				"curl: one process given every URL (`-K` config), reusing its connection. curl 7.88 stalls for exactly 1 s before connecting many of its data connections (`--trace-time`: a 1.000 s gap between `ftp_perform ends with SECONDARY: 0` and `Trying 127.0.0.1:port`), hence its low and erratic rate; with 50 URLs it ran at ~600 files/s. lftp `"+script+"` (expands the glob with a listing first).")
		} else {
			script := fmt.Sprintf("mirror --parallel=%d %s %s", conns, remoteSmall, dl)
			name := fmt.Sprintf("lftp mirror --parallel=%d", conns)
			if !down {
				script, name = fmt.Sprintf("mirror -R --parallel=%d %s %s", conns, src, remoteUp), fmt.Sprintf("lftp mirror -R --parallel=%d", conns)
			}
			cs.contenders = append(cs.contenders, contender{name: name, cmd: b.lftp(s, script),
				prep: map[bool]func() error{true: prepDl, false: prepUp}[down], check: checkDir(map[bool]string{true: dl, false: upDir}[down])})
			cs.notes = append(cs.notes,
				fmt.Sprintf("ours Mirror: `ftp.Mirror(ctx, pool, src, dst, MirrorOptions{Direction: …})` with `ftp.NewPool(url, %d)`: lists both sides, then Download/Upload per file (temporary `.name.part`, size check, rename, modification time kept: MFMT up, Chtimes down).", conns),
				fmt.Sprintf("ours and jlaffaye (%d Conns): %d independent connections, each taking every %dth file with plain Retr/Stor, after a listing of the source directory (List on the first Conn for a download, os.ReadDir for an upload): the raw transfer rate, without a mirror's bookkeeping.", conns, conns, conns),
				"lftp: `"+script+"` (lists both sides, then transfers; keeps modification times).")
		}
		b.runCase(cs)
	}
}

// curlMany writes a curl config with every URL and returns the command.
func (b *bench) curlMany(s *server, cfg string, names []string, down bool, dl, src string) func() (*exec.Cmd, error) {
	return func() (*exec.Cmd, error) {
		var buf bytes.Buffer
		for _, nm := range names {
			if down {
				fmt.Fprintf(&buf, "url = \"%s\"\noutput = \"%s\"\n", s.url(remoteSmall+"/"+nm), filepath.Join(dl, nm))
			} else {
				fmt.Fprintf(&buf, "upload-file = \"%s\"\nurl = \"%s\"\n", filepath.Join(src, nm), s.url(remoteUp+"/"+nm))
			}
		}
		if err := os.WriteFile(cfg, buf.Bytes(), 0o600); err != nil {
			return nil, err
		}
		return b.curl(s, "-K", cfg)()
	}
}

func (s *server) hasMLSD() bool { return s.name != "vsftpd" }

// caseList is case 5, end to end: the big directory listed by each client.
func (b *bench) caseList(s *server) {
	cs := &caseSpec{id: "5", srv: s, title: fmt.Sprintf("Listing a directory of %d entries end to end, %s", b.o.listCount, s.label),
		unit: "entries/s", amount: float64(b.o.listCount)}
	checkWorker := func(sm *sample) error {
		if sm.res.Entries < b.o.listCount {
			return fmt.Errorf("listed %d of %d entries", sm.res.Entries, b.o.listCount)
		}
		return nil
	}
	checkLines := func(sm *sample) error {
		if n := curlDownloaded(sm); n < int64(b.o.listCount)*10 {
			return fmt.Errorf("curl listing of %d bytes", n)
		}
		return nil
	}
	type v struct {
		impl      string
		mlsd, cwd bool
	}
	vs := []v{{"ours", false, false}, {"ours", false, true}, {"jlaffaye", false, false}, {"jlaffaye", false, true}}
	if s.hasMLSD() {
		vs = append([]v{{"ours", true, false}}, vs[0], vs[1], v{"jlaffaye", true, false}, vs[2], vs[3])
	}
	for _, x := range vs {
		j := b.job(s, x.impl, "list")
		j.Remote, j.MLSD, j.CWD = remoteList, x.mlsd, x.cwd
		name, group := implLabel(x.impl)+" List", "LIST dir"
		switch {
		case x.mlsd:
			name, group = name+" (MLSD dir)", "MLSD dir"
		case x.impl == "ours":
			name += " WithoutMLSD (LIST dir)"
		default:
			name += " DialWithDisabledMLSD (LIST dir)"
		}
		if x.cwd {
			name = strings.Replace(name, "List", "ChangeDir + List", 1)
			name, group = strings.Replace(name, "(LIST dir)", "(CWD dir, LIST)", 1), "CWD dir, LIST"
		}
		cs.contenders = append(cs.contenders, contender{name: name, job: j, check: checkWorker, group: group})
	}
	lftpCls, clsGroup := "lftp cls -1 (CWD dir, LIST)", "CWD dir, LIST"
	if s.hasMLSD() {
		lftpCls, clsGroup = "lftp cls -1 (CWD dir, MLSD)", "MLSD dir"
	}
	cs.contenders = append(cs.contenders,
		contender{name: "curl dir/ (CWD dir, LIST)", cmd: b.curl(s, "-o", "/dev/null", s.url(remoteList+"/")), check: checkLines, group: "CWD dir, LIST"},
		contender{name: lftpCls, cmd: b.lftp(s, "set cache:enable no; cls -1 "+remoteList+"/ > /dev/null"), group: clsGroup},
		contender{name: "lftp ls (LIST dir)", cmd: b.lftp(s, "set cache:enable no; ls "+remoteList+"/ > /dev/null"), group: "LIST dir"},
	)
	cs.notes = append(cs.notes, "The headline compares ours with the peers that send the same listing command; lftp `cls` sends CWD, then MLSD where offered (`ftp:use-mlsd`) and parses the entries; lftp `ls` sends `LIST dir` and prints the raw lines.")
	if !s.hasMLSD() {
		cs.notes = append(cs.notes, "vsftpd 3.0.3 has no MLSD: every client uses LIST here.")
	} else {
		cs.notes = append(cs.notes,
			"proftpd rather than pure-ftpd: pure-ftpd 1.0.50 stops every listing at 10,000 entries (its `-L 10000:5` default; the interop command line sets no `-L`), so it cannot list this directory.")
	}
	cs.notes = append(cs.notes, "Entries/s counts the directory's files; each run is a fresh process (dial, login, one listing, quit).",
		"curl and lftp `cls` change into the directory and send LIST without an argument; the ChangeDir + List rows do the same. vsftpd answers `LIST dir` more slowly than `CWD dir` + `LIST` (curl -X \"LIST /bench/list/\" against plain curl, measured: 20–30 ms more per 100,000 entries).")
	b.runCase(cs)
}

// caseParse is case 5, parse only.
func (b *bench) caseParse() {
	var listSrv, mlsdSrv *server
	for _, name := range b.o.listSrv {
		s := b.servers[strings.ToUpper(name)+"_PLAIN"]
		if listSrv == nil {
			listSrv = s
		}
		if mlsdSrv == nil && s.hasMLSD() {
			mlsdSrv = s
		}
	}
	listFile := filepath.Join(b.o.fixtures, "capture-list.txt")
	mlsdFile := filepath.Join(b.o.fixtures, "capture-mlsd.txt")
	var notes []string
	capture := func(s *server, file string, args ...string) error {
		cmd, _ := b.curl(s, append(args, "-o", file, s.url(remoteList+"/"))...)()
		cmd.Stdout = nil
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("capture: %v: %s", err, out)
		}
		lines, err := countLines(file)
		how := strings.TrimSpace("curl " + strings.Join(args, " ") + " " + s.url(remoteList+"/"))
		notes = append(notes, fmt.Sprintf("%s: %d lines captured from %s with `%s`.", filepath.Base(file), lines, s.label, how))
		return err
	}
	err := capture(listSrv, listFile)
	switch {
	case err != nil:
	case mlsdSrv != nil:
		err = capture(mlsdSrv, mlsdFile, "-X", "MLSD")
	default:
		_, mlsd := lb.SynthLines(b.o.listCount)
		err = os.WriteFile(mlsdFile, []byte(strings.Join(mlsd, "\r\n")+"\r\n"), 0o644)
		notes = append(notes, fmt.Sprintf("%s: %d synthetic pure-ftpd-style lines (no MLSD server in -list-servers).", filepath.Base(mlsdFile), b.o.listCount))
	}
	if err != nil {
		b.rep.parseErr = err
		return
	}
	j := &Job{Op: "parse", Impl: "parse", ListFile: listFile, MLSDFile: mlsdFile}
	if b.o.quick {
		j.BenchTime = "3x"
	}
	logf("case 5: parse only")
	sm := b.measure(&contender{name: "parse", job: j}, nil)
	if sm.err != nil {
		b.rep.parseErr = sm.err
		return
	}
	b.rep.parse = sm.res.Parse
	b.rep.parseNotes = notes
	if b.o.pkgBench {
		root := filepath.Dir(filepath.Dir(b.o.interop))
		cmd := exec.Command("go", "test", "-run", "XXX", "-bench", "BenchmarkParse|BenchmarkListParserFeed", "-benchmem", "-count", "1", ".")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.rep.pkgBench = fmt.Sprintf("go test failed: %v\n%s", err, out)
			return
		}
		var keep []string
		for l := range strings.SplitSeq(string(out), "\n") {
			if strings.HasPrefix(l, "Benchmark") {
				keep = append(keep, l)
			}
		}
		b.rep.pkgBench = strings.Join(keep, "\n")
	}
}

func countLines(file string) (int, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
	}
	return n, sc.Err()
}

// profiles CPU-profiles our download and upload paths once each.
func (b *bench) profiles() {
	type p struct {
		label string
		s     *server
		op    string
	}
	var ps []p
	if s := b.servers["VSFTPD_PLAIN"]; s != nil {
		ps = append(ps, p{"download to a file, vsftpd", s, "retr"}, p{"download to io.Discard, vsftpd", s, "retr-discard"}, p{"upload, vsftpd", s, "stor"})
	}
	if s := b.servers["VSFTPD_TLS"]; s != nil {
		ps = append(ps, p{"download to io.Discard, vsftpd FTPS", s, "retr-discard"}, p{"upload, vsftpd FTPS", s, "stor"})
	}
	for i, x := range ps {
		prof := filepath.Join(b.o.fixtures, fmt.Sprintf("ours-%d-%s.pprof", i, x.op))
		op := strings.TrimSuffix(x.op, "-discard")
		j := b.job(x.s, "ours", op)
		j.CPUProfile = prof
		switch x.op {
		case "retr":
			j.Remote, j.Local = remoteBig, filepath.Join(b.o.local, "dl", "big.bin")
		case "retr-discard":
			j.Remote, j.Local = remoteBig, "discard"
		case "stor":
			j.Remote, j.Local = remoteUp+"/big.bin", b.master()
		}
		logf("profile: ours %s", x.label)
		sm := b.measure(&contender{name: "profile", job: j}, nil)
		pr := profile{label: "ours, " + x.label, sample: sm}
		if sm.err == nil {
			out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=22", b.exe, prof).CombinedOutput()
			if err != nil {
				sm.err = errors.New(string(out))
			}
			pr.top = trimPprof(string(out))
			out, _ = exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=25", b.exe, prof).CombinedOutput()
			pr.cum = trimPprof(string(out))
		}
		pr.sample = sm
		b.rep.profiles = append(b.rep.profiles, pr)
	}
	os.Remove(filepath.Join(b.o.local, "dl", "big.bin"))
}

func trimPprof(s string) string {
	var keep []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.HasPrefix(l, "File:") || strings.HasPrefix(l, "Build ID:") || strings.HasPrefix(l, "Type:") || strings.HasPrefix(l, "Time:") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.TrimSpace(strings.Join(keep, "\n"))
}

func implLabel(impl string) string {
	switch impl {
	case "ours":
		return "ours"
	case "ours-writeto":
		return "ours (resp.WriteTo)"
	case "jlaffaye":
		return "jlaffaye/ftp"
	}
	return impl
}

func size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
