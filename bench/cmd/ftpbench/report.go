package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"
)

type profile struct {
	label  string
	sample sample
	top    string
	cum    string
}

type report struct {
	o          *options
	machine    []string
	versions   []string
	cases      []*caseSpec
	parse      []ParseResult
	parseNotes []string
	parseErr   error
	pkgBench   string
	profiles   []profile
	elapsed    time.Duration
	failures   int
	wan        []*wanRun
	wanErr     []error
}

func (r *report) add(cs *caseSpec) { r.cases = append(r.cases, cs) }

// stats of one contender.
type stats struct {
	n, failed        int
	med, lo, hi      float64 // throughput
	wall, cpu        float64 // medians
	machine          float64 // median CPU seconds of the whole machine (client, server, all cores)
	server           float64 // median CPU seconds of the server's processes; -1: unknown
	inner            float64 // median seconds of a Go worker's timed section (0: none)
	rssMed, rssMax   float64 // MiB
	firstErr         error
	cmdsPerFile      float64
	verbsPerFile     string
	hasCmds          bool
	throughputs      []float64
	cpuPerGiB        float64
	perGiBApplicable bool
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (r *report) stats(cs *caseSpec, i int) stats {
	var st stats
	var walls, cpus, rss, machine, inner, server []float64
	for _, s := range cs.samples[i] {
		if s.err != nil {
			st.failed++
			if st.firstErr == nil {
				st.firstErr = s.err
			}
			continue
		}
		st.n++
		st.throughputs = append(st.throughputs, cs.amount/s.wall)
		walls = append(walls, s.wall)
		cpus = append(cpus, s.cpu)
		machine = append(machine, s.machine)
		if s.server >= 0 {
			server = append(server, s.server)
		}
		if s.res != nil && s.res.Seconds > 0 {
			inner = append(inner, s.res.Seconds)
		}
		rss = append(rss, float64(s.rss)/1024)
	}
	if i < len(cs.counts) {
		if res := cs.counts[i]; res != nil && res.Cmds > 0 && res.Files > 0 {
			st.hasCmds = true
			st.cmdsPerFile = float64(res.Cmds) / float64(res.Files)
			var vs []string
			for v, n := range res.Verbs {
				vs = append(vs, fmt.Sprintf("%s %.3g", v, float64(n)/float64(res.Files)))
			}
			sort.Strings(vs)
			st.verbsPerFile = strings.Join(vs, ", ")
		}
	}
	if st.n == 0 {
		return st
	}
	st.med = median(st.throughputs)
	st.lo, st.hi = slices.Min(st.throughputs), slices.Max(st.throughputs)
	st.wall, st.cpu, st.machine, st.inner = median(walls), median(cpus), median(machine), median(inner)
	st.rssMed, st.rssMax = median(rss), slices.Max(rss)
	st.server = -1
	if len(server) > 0 {
		st.server = median(server)
	}
	if cs.bytes {
		st.perGiBApplicable = true
		st.cpuPerGiB = st.cpu / (cs.amount / (1 << 30))
	}
	return st
}

// median throughput of contender i, in amount/s.
func (r *report) median(cs *caseSpec, i int) float64 { return r.stats(cs, i).med }

func scale(cs *caseSpec, v float64) string {
	switch cs.unit {
	case "GB/s":
		return fmt.Sprintf("%.2f", v/1e9)
	case "entries/s":
		return fmt.Sprintf("%.0f k", v/1e3)
	}
	if v < 100 { // over a network
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func (r *report) table(b *strings.Builder, cs *caseSpec, ceiling float64) {
	fmt.Fprintf(b, "### Case %s: %s\n\n", cs.id, cs.title)
	hdr := []string{"Implementation", cs.unit + " (median)", "min–max", "ours ÷ this"}
	if cs.bytes && ceiling > 0 && cs.id != "7" {
		hdr = append(hdr, "% of TCP ceiling")
	}
	hdr = append(hdr, "wall s", "client CPU s", "machine CPU s")
	if cs.srv != nil {
		hdr = append(hdr, "server CPU s (% of wall)")
	}
	if cs.bytes {
		hdr = append(hdr, "CPU s/GiB")
	}
	hdr = append(hdr, "peak RSS MiB (median / max)", "notes")
	fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(hdr, " | "), strings.Repeat(" --- |", len(hdr)))
	ref := r.stats(cs, 0)
	for i, c := range cs.contenders {
		st := r.stats(cs, i)
		row := []string{c.name}
		note := c.note
		if st.failed > 0 {
			r.failures += st.failed
			note = strings.TrimSpace(note + fmt.Sprintf(" **%d of %d runs failed**: %v", st.failed, st.failed+st.n, st.firstErr))
		}
		if st.n == 0 {
			row = append(row, "—", "—", "—")
			if cs.bytes && ceiling > 0 && cs.id != "7" {
				row = append(row, "—")
			}
			row = append(row, "—", "—", "—")
			if cs.srv != nil {
				row = append(row, "—")
			}
			if cs.bytes {
				row = append(row, "—")
			}
			row = append(row, "—", note)
			fmt.Fprintf(b, "| %s |\n", strings.Join(row, " | "))
			continue
		}
		ratio := "—"
		if i > 0 && ref.n > 0 {
			ratio = fmt.Sprintf("%.2f×", ref.med/st.med)
		}
		row = append(row, "**"+scale(cs, st.med)+"**", scale(cs, st.lo)+"–"+scale(cs, st.hi), ratio)
		if cs.bytes && ceiling > 0 && cs.id != "7" {
			row = append(row, fmt.Sprintf("%.0f %%", 100*st.med/ceiling))
		}
		row = append(row, fmt.Sprintf("%.3f", st.wall), fmt.Sprintf("%.3f", st.cpu), fmt.Sprintf("%.2f (%.0f %%)", st.machine, 100*st.machine/(st.wall*float64(runtime.NumCPU()))))
		switch {
		case cs.srv == nil:
		case st.server < 0:
			row = append(row, "?")
		default:
			row = append(row, fmt.Sprintf("%.2f (%.0f %%)", st.server, 100*st.server/st.wall))
		}
		if cs.bytes {
			row = append(row, fmt.Sprintf("%.3f", st.cpuPerGiB))
		}
		row = append(row, fmt.Sprintf("%.1f / %.1f", st.rssMed, st.rssMax))
		if st.n+st.failed < r.o.runs {
			note = strings.TrimSpace(fmt.Sprintf("%s (%d runs only: -curl-many-runs)", note, st.n+st.failed))
		}
		if st.hasCmds {
			note = strings.TrimSpace(fmt.Sprintf("%.2f commands/file (%s) %s", st.cmdsPerFile, st.verbsPerFile, note))
		}
		if st.inner > 0 && cs.id != "7" {
			note = strings.TrimSpace(fmt.Sprintf("%s timed section (after login, before QUIT): %s %s", note, scale(cs, cs.amount/st.inner), cs.unit))
		}
		row = append(row, note)
		fmt.Fprintf(b, "| %s |\n", strings.Join(row, " | "))
	}
	fmt.Fprintln(b)
	for _, n := range cs.notes {
		fmt.Fprintf(b, "- %s\n", n)
	}
	fmt.Fprintf(b, "- Load average (1, 5, 15 min) before: %s; after: %s.\n", cs.loadBefore, cs.load)
	fmt.Fprintf(b, "- %d runs each, alternating (%s; each round starts one further along); medians; \"ours ÷ this\" is the median of the first row over this row's (above 1: ours is faster).\n\n",
		r.o.runs, strings.Join(names(cs), " → "))
}

func names(cs *caseSpec) []string {
	var out []string
	for _, c := range cs.contenders {
		out = append(out, c.name)
	}
	return out
}

func (r *report) headline(b *strings.Builder) {
	fmt.Fprintf(b, "## Headline\n\n")
	fmt.Fprintf(b, "| Case | ours (median) | best peer (median) | ours ÷ best peer | ours CPU s (/GiB) | jlaffaye CPU s (/GiB) | ours peak RSS MiB | jlaffaye peak RSS MiB |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, cs := range r.cases {
		if cs.id == "7" || cs.wan != nil {
			continue
		}
		for _, group := range groups(cs) {
			r.headlineRow(b, cs, group)
		}
	}
	fmt.Fprintln(b)
}

// groups returns the contender groups of cs in order ("" when it has none).
func groups(cs *caseSpec) []string {
	var out []string
	for _, c := range cs.contenders {
		if !slices.Contains(out, c.group) {
			out = append(out, c.group)
		}
	}
	return out
}

// headlineRow writes the headline row of cs for the contenders of group:
// the first of ours in it against the fastest peer in it.
func (r *report) headlineRow(b *strings.Builder, cs *caseSpec, group string) {
	var ours, peer, jl stats
	peerName := ""
	oursOK, jlOK, first := false, false, true
	for i, c := range cs.contenders {
		if c.group != group {
			continue
		}
		isOurs := strings.HasPrefix(c.name, "ours")
		st := r.stats(cs, i)
		if st.n == 0 {
			if isOurs {
				first = false
			}
			continue
		}
		switch {
		case isOurs && first:
			ours, oursOK, first = st, true, false
		case isOurs:
		default:
			if st.med > peer.med {
				peer, peerName = st, c.name
			}
			if strings.HasPrefix(c.name, "jlaffaye") {
				jl, jlOK = st, true
			}
		}
	}
	title := cs.title
	if group != "" {
		title += " (" + group + ")"
	}
	if !oursOK {
		fmt.Fprintf(b, "| %s %s | failed | | | | | | |\n", cs.id, title)
		return
	}
	cpu := func(st stats, ok bool) string {
		if !ok {
			return "—"
		}
		if cs.bytes {
			return fmt.Sprintf("%.2f (%.2f)", st.cpu, st.cpuPerGiB)
		}
		return fmt.Sprintf("%.2f", st.cpu)
	}
	rss := func(st stats, ok bool) string {
		if !ok {
			return "—"
		}
		return fmt.Sprintf("%.1f", st.rssMax)
	}
	ratio, peerCell := "—", "—"
	if peerName != "" {
		ratio = fmt.Sprintf("**%.2f×**", ours.med/peer.med)
		peerCell = fmt.Sprintf("%s %s (%s)", scale(cs, peer.med), cs.unit, peerName)
	}
	extra := ""
	if ours.hasCmds {
		extra = fmt.Sprintf("; %.2f cmds/file", ours.cmdsPerFile)
	}
	fmt.Fprintf(b, "| %s: %s | %s %s%s | %s | %s | %s | %s | %s | %s |\n", cs.id, title, scale(cs, ours.med), cs.unit, extra,
		peerCell, ratio, cpu(ours, true), cpu(jl, jlOK), rss(ours, true), rss(jl, jlOK))
}

func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmark results\n\n")
	fmt.Fprintf(&b, "Generated by `%s` on %s in %s (issue 7). Every measured run is a process of its own; wall time is measured around it, CPU (user+sys) and peak RSS come from its rusage (wait4); the server's CPU is the user+sys of its daemon and the processes it forks for the run (/proc: the larger of its counters of reaped children and its processes sampled every 5 ms), where 100 %% of the wall time means the server's one core set the pace. Implementations alternate run by run. Everything runs on loopback.\n\n",
		"go run ./cmd/ftpbench "+strings.Join(os.Args[1:], " "), time.Now().UTC().Format("2006-01-02 15:04 UTC"), r.elapsed.Round(time.Second))
	fmt.Fprintf(&b, "## Machine and versions\n\n")
	for _, l := range append(r.machine, r.versions...) {
		fmt.Fprintf(&b, "- %s\n", l)
	}
	fmt.Fprintln(&b)
	if r.o.baseline != "" {
		b.WriteString(r.baselineSection())
	}
	loopback := false
	for _, cs := range r.cases {
		loopback = loopback || cs.wan == nil
	}
	if loopback || len(r.parse) > 0 || r.parseErr != nil {
		r.headline(&b)
		fmt.Fprintf(&b, "## Cases\n\n")
	}
	var ceiling float64
	for _, cs := range r.cases {
		if cs.id == "7" {
			ceiling = r.median(cs, 0)
		}
	}
	if ceiling > 0 {
		fmt.Fprintf(&b, "The TCP ceiling (case 7, `ceiling-rw` median) is **%.2f GB/s**; \"%% of TCP ceiling\" compares with it. GB/s is 10⁹ bytes per second.\n\n", ceiling/1e9)
	}
	r.failures = 0
	order := []string{"7", "1a", "1b", "2", "3", "4", "5"}
	for _, id := range order {
		for _, cs := range r.cases {
			if cs.id == id && cs.wan == nil {
				r.table(&b, cs, ceiling)
			}
		}
	}
	r.wanSection(&b)
	if len(r.parse) > 0 || r.parseErr != nil {
		fmt.Fprintf(&b, "### Case 5: parse only (ns and allocations per entry)\n\n")
		if r.parseErr != nil {
			fmt.Fprintf(&b, "**Failed**: %v\n\n", r.parseErr)
		} else {
			fmt.Fprintf(&b, "| Benchmark | entries | ns/entry | allocs/entry | B/entry | jlaffaye ÷ ours (ns) | iterations |\n| --- | --- | --- | --- | --- | --- | --- |\n")
			byName := map[string]ParseResult{}
			for _, p := range r.parse {
				byName[p.Name] = p
			}
			for _, p := range r.parse {
				ratio := "—"
				if strings.HasPrefix(p.Name, "jlaffaye") {
					if o, ok := byName["ours"+strings.TrimPrefix(p.Name, "jlaffaye")]; ok {
						ratio = fmt.Sprintf("%.2f×", p.NsPerEntry/o.NsPerEntry)
					}
				}
				if j, ok := byName["jlaffaye/MLSD (line server)"]; ok && p.Name == factsFloor {
					ratio = fmt.Sprintf("%.2f× (jlaffaye ÷ this floor)", j.NsPerEntry/p.NsPerEntry)
				}
				fmt.Fprintf(&b, "| %s | %d | %.0f | %.2f | %.0f | %s | %d |\n", p.Name, p.Entries, p.NsPerEntry, p.AllocsPerEnt, p.BytesPerEntry, ratio, p.N)
			}
			fmt.Fprintln(&b)
			for _, n := range r.parseNotes {
				fmt.Fprintf(&b, "- %s\n", n)
			}
			fmt.Fprintf(&b, "- Each iteration is one `List` of the captured lines over loopback from an in-process server (`testing.Benchmark`, one connection, one EPSV + one LIST/MLSD per iteration): both libraries' parsers are unexported, so this is as close to parse-only as a like-for-like comparison gets. The *line server* (`bench.LineServer`) writes a prepared body in one call and allocates nothing per line, so allocs/entry are the client's; the ftptest rows serve the same LIST lines through `ftptest.WithListLines` and include ftptest's own per-line allocations. ftptest cannot serve fixed MLSD lines (WithListLines covers LIST only), hence the line server.\n")
			fmt.Fprintf(&b, "- *%s*: one `map[string]string` per MLSD line, sized for its facts and filled with them, split beforehand and kept as a listing keeps its entries (`bench.BenchFactsMap`). The API's `Entry.Facts` costs this much whatever the parser, so no parser that fills it gets below this row; where jlaffaye's whole MLSD parse, which builds no map, is less than 3× this floor, 3× jlaffaye cannot be had without changing the API.\n", factsFloor)
			fmt.Fprintf(&b, "- Standalone: `cd bench && FTPBENCH_LIST=… FTPBENCH_MLSD=… go test -run XXX -bench . -benchmem` (synthetic vsftpd/pure-ftpd-style lines without the variables).\n\n")
		}
		if r.pkgBench != "" {
			fmt.Fprintf(&b, "The package's own parser micro-benchmarks (`go test -run XXX -bench 'BenchmarkParse|BenchmarkListParserFeed' -benchmem github.com/pasvport/ftp`), same run:\n\n```\n%s\n```\n\n", r.pkgBench)
		}
	}
	if len(r.profiles) > 0 {
		fmt.Fprintf(&b, "## Where our client's CPU goes\n\n")
		fmt.Fprintf(&b, "One extra run of ours per path with `-cpuprofile` in the worker (the timed part only: transfer, not dial/login), `go tool pprof -top` (flat) and `-top -cum`. Profiles are kept in `%s`.\n\n", r.o.fixtures)
		for _, p := range r.profiles {
			fmt.Fprintf(&b, "### %s\n\n", p.label)
			if p.sample.err != nil {
				fmt.Fprintf(&b, "**Failed**: %v\n\n", p.sample.err)
				continue
			}
			fmt.Fprintf(&b, "Wall %.3f s, client CPU %.3f s, peak RSS %.1f MiB.\n\n```\n%s\n```\n\n<details><summary>cumulative</summary>\n\n```\n%s\n```\n\n</details>\n\n",
				p.sample.wall, p.sample.cpu, float64(p.sample.rss)/1024, p.top, p.cum)
		}
	}
	return b.String()
}

// baselineSection compares each row of ours with its "ours-before" twin
// (-baseline), which follows it in cs.contenders.
func (r *report) baselineSection() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## ours ÷ ours-before\n\nours-before: the workers of `%s`. Per-round ratios pair the two runs of each round (adjacent, order alternating).\n\n", r.o.baseline)
	fmt.Fprintf(&b, "| Case | ours (median) | ours-before (median) | ours ÷ ours-before | per-round ratios min–max | runs |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, cs := range r.cases {
		for i := 0; i+1 < len(cs.contenders); i++ {
			if cs.contenders[i+1].exe != r.o.baseline {
				continue
			}
			a, o := r.stats(cs, i), r.stats(cs, i+1)
			var rs []float64
			for k := range min(len(cs.samples[i]), len(cs.samples[i+1])) {
				if x, y := cs.samples[i][k], cs.samples[i+1][k]; x.err == nil && y.err == nil {
					rs = append(rs, y.wall/x.wall)
				}
			}
			title := cs.id + ": " + cs.title
			if n := cs.contenders[i].name; n != "ours" {
				title += " (" + n + ")"
			}
			if a.n == 0 || o.n == 0 || len(rs) == 0 {
				fmt.Fprintf(&b, "| %s | failed | | | | |\n", title)
				continue
			}
			fmt.Fprintf(&b, "| %s | %s %s | %s | **%.3f×** | %.3f–%.3f | %d |\n", title, scale(cs, a.med), cs.unit, scale(cs, o.med),
				a.med/o.med, slices.Min(rs), slices.Max(rs), len(rs))
		}
	}
	fmt.Fprintln(&b)
	return b.String()
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(l)
}

func machineInfo() []string {
	var out []string
	model := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = firstLine(string(b))
	}
	out = append(out,
		fmt.Sprintf("Machine: nproc %d, CPU %s, kernel %s, %s", runtime.NumCPU(), model, strings.TrimSpace(string(kernel)), strings.Join(strings.Fields(mem), " ")),
		"Go: "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH)
	return out
}

func versions() []string {
	root := os.Getenv("INTEROP_CACHE")
	if root == "" {
		root = "/var/cache/pasvport-interop"
	}
	sbin := filepath.Join(root, "root/usr/sbin")
	run := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil && len(out) == 0 {
			return "? (" + err.Error() + ")"
		}
		return firstLine(string(out))
	}
	var out []string
	out = append(out, "vsftpd: "+run("sh", "-c", filepath.Join(sbin, "vsftpd")+" -v 0>&1"))
	out = append(out, "pure-ftpd: "+run(filepath.Join(sbin, "pure-ftpd"), "--help"))
	out = append(out, "curl: "+run("curl", "--version"))
	out = append(out, "lftp: "+run("lftp", "--version"))
	jl := "?"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/jlaffaye/ftp" {
				jl = d.Version
			}
		}
	}
	out = append(out, "github.com/jlaffaye/ftp: "+jl)
	rev := run("git", "-C", "..", "log", "-1", "--format=%h %s")
	out = append(out, "github.com/pasvport/ftp: this checkout (`replace => ../`), "+rev)
	return out
}
