package main

// The WAN cases (issue 19, -cases wan): the interop "wan" instances, which
// advertise 127.0.0.3 in PASV, through the latency proxy of bench/latproxy,
// run in this process on 127.0.0.3 with the instance's control port and
// passive ports forwarded one to one, so that every client goes through it.

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pasvport/ftp/bench/latproxy"
)

const remoteWan = "/bench/wan"

// wanCaseList selects the WAN cases to run (W1 to W5), so that one
// question can be measured without the others.
var wanCaseList = flag.String("wan-cases", "W1,W2,W3,W4,W5", "WAN cases: which of W1 (downloads), W2 (uploads), W3 and W4 (Mirror), W5 (dial to first byte) to run")

// wanWant reports whether -wan-cases selects the case id.
func wanWant(id string) bool {
	return slices.Contains(strings.Split(strings.ToUpper(*wanCaseList), ","), id)
}

// wanRun is the proxy of one RTT and what it has seen.
type wanRun struct {
	rtt      time.Duration
	proxy    *latproxy.Proxy
	measured map[string]time.Duration // NOOP round trip through the proxy, by server label
	traces   []wanTrace

	mu     sync.Mutex
	cnt    wanCount
	record bool
	events []latproxy.Event
	ids    map[int]bool // connections accepted since reset
	live   int          // of those, not yet closed
}

type wanTrace struct {
	title, text string
	err         error
}

// wanCount is what the proxy saw during one run.
type wanCount struct {
	cmds      int            // command lines from the client on control connections
	verbs     map[string]int //
	ctl, data int            // control and data connections
	open      time.Time      // the first control connection accepted
	first     time.Time      // the first data byte delivered to the client
}

func (w *wanRun) trace(e latproxy.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e.Kind == latproxy.Open {
		w.ids[e.Conn] = true
		w.live++
	}
	if !w.ids[e.Conn] { // the end of an earlier run's connection
		return
	}
	if w.record {
		w.events = append(w.events, e)
	}
	c := &w.cnt
	switch e.Kind {
	case latproxy.Close:
		w.live--
	case latproxy.Open:
		if !e.Control {
			c.data++
			break
		}
		c.ctl++
		if c.open.IsZero() {
			c.open = e.Sent
		}
	case latproxy.Line:
		if e.Dir == latproxy.Up {
			c.cmds++
			v, _, _ := strings.Cut(e.Text, " ")
			c.verbs[strings.ToUpper(v)]++
		}
	case latproxy.Data:
		if e.Dir == latproxy.Down && c.first.IsZero() {
			c.first = e.Arrived
		}
	}
}

func (w *wanRun) reset(record bool) {
	w.mu.Lock()
	w.cnt = wanCount{verbs: map[string]int{}}
	w.record, w.events = record, nil
	w.ids, w.live = map[int]bool{}, 0
	w.mu.Unlock()
}

// take returns what the proxy saw since reset, once the connections of
// the run are done (the client has exited; the proxy delivers the last
// bytes, QUIT among them, up to RTT/2 later), or after a few seconds.
func (w *wanRun) take() (*wanCount, []latproxy.Event) {
	deadline := time.Now().Add(5*w.rtt + 2*time.Second)
	for {
		w.mu.Lock()
		live := w.live
		w.mu.Unlock()
		if live <= 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.cnt
	evs := w.events
	w.record, w.events = false, nil
	return &c, evs
}

// firstByte is the time from the client's dial to its first data byte.
func (c *wanCount) firstByte() (time.Duration, bool) {
	if c == nil || c.open.IsZero() || c.first.IsZero() {
		return 0, false
	}
	return c.first.Sub(c.open), true
}

// loopback checks that addr is a loopback host:port.
func loopback(addr string) error {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s is not a loopback address", addr)
	}
	return nil
}

// startWan starts the proxy for one RTT in front of every wan server.
func (b *bench) startWan(rtt time.Duration) (*wanRun, error) {
	w := &wanRun{rtt: rtt, measured: map[string]time.Duration{}}
	w.reset(false)
	cfg := latproxy.Config{Delay: rtt / 2, Rate: b.o.wanRate, Trace: w.trace}
	if b.o.wanHandshake {
		cfg.ConnectDelay = 3 * cfg.Delay
	}
	w.proxy = latproxy.New(cfg)
	for _, name := range b.o.wanServers {
		s := b.servers[strings.ToUpper(name)+"_WAN"]
		if s == nil {
			continue
		}
		if err := b.proxyServer(w.proxy, s); err != nil {
			w.proxy.Close()
			return nil, err
		}
	}
	for _, name := range b.o.wanServers {
		if s := b.servers[strings.ToUpper(name)+"_WAN"]; s != nil {
			if d, err := noopRTT(s.proxyAddr); err == nil {
				w.measured[s.label] = d
			} else {
				logf("NOOP round trip through the proxy to %s: %v", s.label, err)
			}
		}
	}
	return w, nil
}

// proxyServer makes p listen on s's proxy address and on its passive ports
// there, each forwarded to the same port of the server.
func (b *bench) proxyServer(p *latproxy.Proxy, s *server) error {
	host, port, err := net.SplitHostPort(s.addr)
	if err != nil {
		return err
	}
	phost, pport, err := net.SplitHostPort(s.proxyAddr)
	if err != nil {
		return fmt.Errorf("%s: proxy address %q: %v", s.key, s.proxyAddr, err)
	}
	if pport != port {
		return fmt.Errorf("%s: the proxy port %s is not the server's %s", s.key, pport, port)
	}
	for _, a := range []string{s.addr, s.proxyAddr} {
		if err := loopback(a); err != nil {
			return err
		}
	}
	if _, err := p.Listen(s.proxyAddr, s.addr, true); err != nil {
		return err
	}
	for port := s.pasvLo; port > 0 && port <= s.pasvHi; port++ {
		ps := strconv.Itoa(port)
		if _, err := p.Listen(net.JoinHostPort(phost, ps), net.JoinHostPort(host, ps), false); err != nil {
			return err
		}
	}
	return nil
}

// noopRTT is the median of 5 NOOP round trips on one control connection.
func noopRTT(addr string) (time.Duration, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	reply := func() error {
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return err
			}
			if len(l) >= 4 && l[3] == ' ' {
				return nil
			}
		}
	}
	if err := reply(); err != nil {
		return 0, err
	}
	var ds []float64
	for range 5 {
		t0 := time.Now()
		if _, err := c.Write([]byte("NOOP\r\n")); err != nil {
			return 0, err
		}
		if err := reply(); err != nil {
			return 0, err
		}
		ds = append(ds, float64(time.Since(t0)))
	}
	c.Write([]byte("QUIT\r\n"))
	reply()
	return time.Duration(median(ds)), nil
}

func (b *bench) wan() {
	for _, rtt := range b.o.wanRTT {
		w, err := b.startWan(rtt)
		if err != nil {
			logf("WAN RTT %v: %v", rtt, err)
			b.rep.wanErr = append(b.rep.wanErr, fmt.Errorf("RTT %v: %w", rtt, err))
			continue
		}
		logf("WAN: proxy at RTT %v (NOOP through it: %v)", rtt, w.measured)
		for _, name := range b.o.wanServers {
			if s := b.servers[strings.ToUpper(name)+"_WAN"]; s != nil {
				b.wanCases(s, w)
			}
		}
		if s := b.servers[strings.ToUpper(b.o.wanServers[0])+"_WAN"]; s != nil {
			b.wanTraces(s, w)
		}
		w.proxy.Close()
		b.rep.wan = append(b.rep.wan, w)
	}
}

func wanNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = smallName(i)
	}
	return names
}

// proxied is s as the clients see it: through the proxy.
func proxied(s *server) *server {
	p := *s
	p.addr = s.proxyAddr
	return &p
}

// wanMany returns the contenders of a many-file case on one connection:
// names from (down) or to (up) the server, in dl or from src.
func (b *bench) wanMany(p *server, impls []string, names []string, down bool, dl, src, tag string, glob bool) []contender {
	upDir := filepath.Join(p.data, remoteUp)
	prep := func() error { return emptyDir(upDir) }
	dir := upDir
	if down {
		prep = func() error { os.RemoveAll(dl); return os.MkdirAll(dl, 0o755) }
		dir = dl
	}
	want := int64(len(names)) * int64(b.o.smallSize)
	check := func(*sample) error {
		c, total, err := dirStats(dir)
		if err != nil {
			return err
		}
		if c != len(names) || total != want {
			return fmt.Errorf("%s holds %d files, %d bytes; want %d, %d", dir, c, total, len(names), want)
		}
		return nil
	}
	var cs []contender
	for _, impl := range impls {
		switch impl {
		case "ours", "jlaffaye":
			op := map[bool]string{true: "getmany", false: "putmany"}[down]
			j := b.job(p, impl, op)
			j.Conns, j.Files = 1, names
			j.Remote, j.Local = remoteUp, src
			if down {
				j.Remote, j.Local = remoteWan, dl
			}
			cs = append(cs, contender{name: implLabel(impl), job: j, prep: prep, check: check})
		case "curl":
			cfg := filepath.Join(b.o.local, "curl-wan-"+tag+".cfg")
			cs = append(cs, contender{name: "curl (one process, " + strconv.Itoa(len(names)) + " URLs)",
				cmd: b.curlList(p, cfg, remoteWan, names, down, dl, src), prep: prep, check: check})
		case "lftp":
			var script, name string
			switch {
			case down && glob:
				script, name = fmt.Sprintf("mget -O %s %s/*", dl, remoteWan), "lftp mget"
			case down:
				var rs []string
				for _, n := range names {
					rs = append(rs, remoteWan+"/"+n)
				}
				script, name = fmt.Sprintf("mget -O %s %s", dl, strings.Join(rs, " ")), "lftp mget"
			case glob:
				script, name = fmt.Sprintf("mput -O %s %s/*", remoteUp, src), "lftp mput"
			default:
				var ls []string
				for _, n := range names {
					ls = append(ls, filepath.Join(src, n))
				}
				script, name = fmt.Sprintf("mput -O %s %s", remoteUp, strings.Join(ls, " ")), "lftp mput"
			}
			cs = append(cs, contender{name: name, cmd: b.lftp(p, script), prep: prep, check: check})
		}
	}
	return cs
}

// curlList writes a curl config with a URL per name, under remote, and
// returns the command.
func (b *bench) curlList(s *server, cfg, remote string, names []string, down bool, dl, src string) func() (*exec.Cmd, error) {
	return func() (*exec.Cmd, error) {
		var buf bytes.Buffer
		for _, nm := range names {
			if down {
				fmt.Fprintf(&buf, "url = \"%s\"\noutput = \"%s\"\n", s.url(remote+"/"+nm), filepath.Join(dl, nm))
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

// wanCases runs the WAN cases against one server at w's RTT.
func (b *bench) wanCases(s *server, w *wanRun) {
	p := proxied(s)
	n := b.o.wanFiles
	names := wanNames(n)
	dl := filepath.Join(b.o.local, "dl", "wan")
	src := filepath.Join(b.o.local, "wan-src")
	at := fmt.Sprintf("%s, RTT %v", s.label, w.rtt)
	for _, down := range []bool{true, false} {
		dir, id := "download", "W1"
		if !down {
			dir, id = "upload", "W2"
		}
		if !wanWant(id) {
			continue
		}
		cs := &caseSpec{id: id, srv: s, wan: w, files: n, title: fmt.Sprintf("%d × %s files, %s, one connection, %s", n, size(int64(b.o.smallSize)), dir, at),
			unit: "files/s", amount: float64(n)}
		cs.contenders = b.wanMany(p, []string{"ours", "jlaffaye", "curl", "lftp"}, names, down, dl, src, dir, true)
		cs.notes = append(cs.notes,
			"ours and jlaffaye: one logged-in connection, the names known in advance, each file its own Retr/Stor. curl: one process given every URL (`-K`). lftp: `m"+map[bool]string{true: "get", false: "put"}[down]+"` of a glob (one listing first).")
		b.runCase(cs)
	}
	conns := b.o.wanConns
	for _, down := range []bool{true, false} {
		id, op := "W3", "mirror-down"
		script := fmt.Sprintf("mirror --parallel=%d %s %s", conns, remoteWan, dl)
		lname := fmt.Sprintf("lftp mirror --parallel=%d", conns)
		if !down {
			id, op = "W4", "mirror-up"
			script = fmt.Sprintf("mirror -R --parallel=%d %s %s", conns, src, remoteUp)
			lname = fmt.Sprintf("lftp mirror -R --parallel=%d", conns)
		}
		if !wanWant(id) {
			continue
		}
		cs := &caseSpec{id: id, srv: s, wan: w, files: n, title: fmt.Sprintf("Mirror of %d × %s files %s, %d connections, %s", n, size(int64(b.o.smallSize)), map[bool]string{true: "down", false: "up"}[down], conns, at),
			unit: "files/s", amount: float64(n)}
		many := b.wanMany(p, []string{"ours"}, names, down, dl, src, "mirror", false)[0]
		j := *many.job
		j.Op, j.Conns, j.Files = op, conns, nil
		many.job, many.name = &j, fmt.Sprintf("ours Mirror (Pool of %d)", conns)
		cs.contenders = append(cs.contenders, many, contender{name: lname, cmd: b.lftp(p, script), prep: many.prep, check: many.check})
		cs.notes = append(cs.notes,
			fmt.Sprintf("ours: `ftp.Mirror` through `ftp.NewPool(url, %d)` (lists both sides; per file a temporary name, size check, rename, modification time). lftp: `%s`.", conns, script))
		b.runCase(cs)
	}
	if !wanWant("W5") {
		return
	}
	cs := &caseSpec{id: "W5", srv: s, wan: w, files: 1, firstByte: true,
		title: fmt.Sprintf("Dial → login → first byte of a %s file, %s", size(int64(b.o.smallSize)), at), unit: "files/s", amount: 1}
	file := remoteWan + "/" + names[0]
	for _, impl := range []string{"ours", "jlaffaye"} {
		j := b.job(p, impl, "retr")
		j.Remote, j.Local = file, "discard"
		cs.contenders = append(cs.contenders, contender{name: implLabel(impl), job: j})
	}
	cs.contenders = append(cs.contenders,
		contender{name: "curl", cmd: b.curl(p, "-o", "/dev/null", p.url(file))},
		contender{name: "lftp cat", cmd: b.lftp(p, "cat "+file+" > /dev/null")})
	cs.notes = append(cs.notes, "Timed by the proxy: from accepting the control connection to delivering the first byte of a data connection to the client (process start and exit are not in it). ours and jlaffaye: Dial, Login, Retr; curl and lftp as they come (curl: CWD into the folder, EPSV, TYPE I, SIZE, RETR).")
	b.runCase(cs)
}

// wanTraces records one small download and one small upload of each
// contender of -wan-trace, every control line with its times.
func (b *bench) wanTraces(s *server, w *wanRun) {
	p := proxied(s)
	names := wanNames(3)
	dl := filepath.Join(b.o.local, "dl", "wan-trace")
	src := filepath.Join(b.o.local, "wan-src")
	for _, impl := range b.o.wanTrace {
		for _, down := range []bool{true, false} {
			cs := b.wanMany(p, []string{impl}, names, down, dl, src, "trace", false)
			if len(cs) == 0 {
				continue
			}
			c := cs[0]
			title := fmt.Sprintf("%s, %d × %s %s, one connection, %s, RTT %v", c.name, len(names), size(int64(b.o.smallSize)), map[bool]string{true: "downloaded", false: "uploaded"}[down], s.label, w.rtt)
			logf("WAN trace: %s", title)
			w.reset(true)
			sm := b.measure(&c, nil)
			_, evs := w.take()
			t := wanTrace{title: title, err: sm.err}
			if len(evs) > 0 {
				origin := evs[0].Sent
				// In the order the client saw them.
				slices.SortStableFunc(evs, func(a, b latproxy.Event) int { return a.ClientTime().Compare(b.ClientTime()) })
				t.text = latproxy.FormatTrace(evs, origin, w.rtt)
			}
			w.traces = append(w.traces, t)
		}
	}
	os.RemoveAll(dl)
}

// wanSection writes the WAN summary, the case tables and the traces.
func (r *report) wanSection(b *strings.Builder) {
	if len(r.wan) == 0 && len(r.wanErr) == 0 {
		return
	}
	o := r.o
	fmt.Fprintf(b, "## Over a network: through the latency proxy\n\n")
	hs := "the server gets each connection 1.5 RTT after the client made it (`-wan-handshake`: the SYN, SYN-ACK and ACK of a real link; the client's connect still returns at once) and the client's first bytes wait for it"
	if !o.wanHandshake {
		hs = "connections reach the server at once (`-wan-handshake=false`): a real link adds the TCP handshake to each"
	}
	rate := ""
	if o.wanRate > 0 {
		rate = fmt.Sprintf(" Each connection is capped at %d bytes/s in each direction.", o.wanRate)
	}
	fmt.Fprintf(b, "The interop `wan` instances advertise 127.0.0.3 in PASV; the bench's latency proxy (`bench/latproxy`, in this process) listens there on the control port and on every passive port, forwarding each to the same port on 127.0.0.1, so that every client goes through it whatever it does with the PASV address. Every byte is delivered RTT/2 after it was written, in each direction, in order, without a bandwidth limit of its own; a FIN after the bytes before it; %s.%s TCP acknowledgements come from the proxy's kernel, at once or after its 40 ms delayed-ACK timer: vsftpd sends its 226 when the FIN of its data connection is acknowledged (SO_LINGER), at once after an upload and after a download min(40 ms, 1 RTT) later, where a real link adds a round trip to each. RTT/file is the wall time of the whole run (process start, dial, login, QUIT included) ÷ files ÷ RTT; commands/file count every command line the proxy saw from the client, login and QUIT included.\n\n", hs, rate)
	for _, err := range r.wanErr {
		fmt.Fprintf(b, "**Failed**: %v\n\n", err)
	}
	cols := []string{"ours", "jlaffaye/ftp", "curl", "lftp"}
	if o.baseline != "" {
		cols = slices.Insert(cols, 1, "ours-before")
	}
	fmt.Fprintf(b, "| case | RTT | %s |\n|%s\n", strings.Join(cols, " | "), strings.Repeat(" --- |", len(cols)+2))
	for _, w := range r.wan {
		for _, cs := range r.cases {
			if cs.wan != w {
				continue
			}
			row := []string{cs.id + ": " + strings.TrimSuffix(cs.title, fmt.Sprintf(", RTT %v", w.rtt)), w.rtt.String()}
			for _, col := range cols {
				row = append(row, r.wanCell(cs, col))
			}
			fmt.Fprintf(b, "| %s |\n", strings.Join(row, " | "))
		}
	}
	fmt.Fprintln(b)
	for _, w := range r.wan {
		var ms []string
		for k, d := range w.measured {
			ms = append(ms, fmt.Sprintf("%s %.2f ms", k, float64(d)/1e6))
		}
		sort := slices.Sorted(slices.Values(ms))
		fmt.Fprintf(b, "- RTT %v: NOOP round trip through the proxy (median of 5, server included): %s.\n", w.rtt, strings.Join(sort, ", "))
	}
	fmt.Fprintf(b, "- %d runs of each contender per case, alternating; medians. Load average per case below.\n\n", o.runs)
	for _, w := range r.wan {
		for _, cs := range r.cases {
			if cs.wan != w {
				continue
			}
			if cs.firstByte {
				r.firstByteTable(b, cs)
			} else {
				r.table(b, cs, 0)
			}
		}
		for _, t := range w.traces {
			fmt.Fprintf(b, "### Trace: %s\n\n", t.title)
			if t.err != nil {
				fmt.Fprintf(b, "**Failed**: %v\n\n", t.err)
			}
			if t.text != "" {
				fmt.Fprintf(b, "In the order the client saw them. Client ms: when the client sent or received it; server ms: the same for the server; both since the proxy accepted the control connection. A connection \"reaches the server\" when the proxy has connected to it.\n\n```\n%s```\n\n", t.text)
			}
		}
	}
}

// wanContender is the index of the contender of cs that col names, or -1.
func wanContender(cs *caseSpec, col string) int {
	for i, c := range cs.contenders {
		switch {
		case col == "ours" && strings.HasPrefix(c.name, "ours") && !strings.HasPrefix(c.name, "ours-before"):
			return i
		case col != "ours" && strings.HasPrefix(c.name, strings.TrimSuffix(col, "/ftp")):
			return i
		}
	}
	return -1
}

func (r *report) wanCell(cs *caseSpec, col string) string {
	i := wanContender(cs, col)
	if i < 0 {
		return "—"
	}
	rtt := cs.wan.rtt.Seconds()
	if cs.firstByte {
		fb := firstBytes(cs, i)
		if len(fb) == 0 {
			return "failed"
		}
		m := median(fb)
		return fmt.Sprintf("**%.1f RTT** (%.0f ms)", m/rtt, m*1e3)
	}
	st := r.stats(cs, i)
	if st.n == 0 {
		return "failed"
	}
	cell := fmt.Sprintf("**%.2f RTT/file** (%.1f files/s", 1/(st.med*rtt), st.med)
	if st.hasCmds {
		cell += fmt.Sprintf(", %.2f cmds/file", st.cmdsPerFile)
	}
	return cell + ")"
}

// firstBytes are the dial-to-first-byte times of contender i, in seconds.
func firstBytes(cs *caseSpec, i int) []float64 {
	var out []float64
	for _, s := range cs.samples[i] {
		if d, ok := s.wan.firstByte(); ok && s.err == nil {
			out = append(out, d.Seconds())
		}
	}
	return out
}

func (r *report) firstByteTable(b *strings.Builder, cs *caseSpec) {
	rtt := cs.wan.rtt.Seconds()
	fmt.Fprintf(b, "### Case %s: %s\n\n", cs.id, cs.title)
	fmt.Fprintf(b, "| Implementation | RTT (median) | min–max | ms (median) | commands | control + data connections | process wall s | notes |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for i, c := range cs.contenders {
		fb := firstBytes(cs, i)
		st := r.stats(cs, i)
		note := ""
		if st.failed > 0 {
			r.failures += st.failed
			note = fmt.Sprintf("**%d of %d runs failed**: %v", st.failed, st.failed+st.n, st.firstErr)
		}
		if len(fb) == 0 {
			fmt.Fprintf(b, "| %s | — | — | — | — | — | — | %s |\n", c.name, note)
			continue
		}
		var last *wanCount
		for _, s := range cs.samples[i] {
			if s.err == nil && s.wan != nil {
				last = s.wan
			}
		}
		var vs []string
		for v, n := range last.verbs {
			vs = append(vs, fmt.Sprintf("%s %d", v, n))
		}
		fmt.Fprintf(b, "| %s | **%.2f** | %.2f–%.2f | %.1f | %d (%s) | %d + %d | %.3f | %s |\n", c.name, median(fb)/rtt, slices.Min(fb)/rtt, slices.Max(fb)/rtt,
			median(fb)*1e3, last.cmds, strings.Join(slices.Sorted(slices.Values(vs)), ", "), last.ctl, last.data, st.wall, note)
	}
	fmt.Fprintln(b)
	for _, n := range cs.notes {
		fmt.Fprintf(b, "- %s\n", n)
	}
	fmt.Fprintf(b, "- Commands: all of the run, QUIT included. Load average (1, 5, 15 min) before: %s; after: %s.\n\n", cs.loadBefore, cs.load)
}
