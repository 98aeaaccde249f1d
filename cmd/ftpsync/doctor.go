package main

// ftpsync doctor: probe a server and say what works, what does not, and
// which options and flags to use with it.

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pasvport/ftp"
)

// Statuses of a check.
const (
	stOK   = "ok"   // works
	stNo   = "no"   // the server lacks it; the library copes
	stWarn = "warn" // works, with a trap or a degradation to know about
	stFail = "fail" // does not work
	stSkip = "skip" // not probed (the detail says why)
)

// maxConnProbe bounds the parallel logins of the connection-limit probe.
const maxConnProbe = 16

// check is one finding of the doctor.
type check struct {
	Area   string `json:"area"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// doctorReport is what the doctor prints, as text or JSON.
type doctorReport struct {
	Server   string   `json:"server"`
	Greeting string   `json:"greeting"`
	Checks   []check  `json:"checks"`
	Options  []string `json:"libraryOptions"` // Go expressions of ftp options
	Flags    []string `json:"ftpsyncFlags"`
	Advice   []string `json:"advice"`
}

// doctor holds one run's state.
type doctor struct {
	e       *env
	o       *options
	t       target
	u       *urlParts
	rep     doctorReport
	tlsCfg  *tls.Config // nil: plain FTP
	tlsMode string      // "", "explicit" or "implicit"
	trusted bool        // the certificate was verified
	// proxy holds the option of the proxy the library's sessions go
	// through (--proxy or the environment), nil when none: the raw
	// probes, which dial directly, are then not made.
	proxy []ftp.Option
}

// urlParts is what the probes need of the URL.
type urlParts struct {
	host, port string
	user, pass string
}

// find returns the check named name.
func (r *doctorReport) find(name string) (check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return check{}, false
}

func (d *doctor) add(area, name, status, format string, args ...any) {
	d.rep.Checks = append(d.rep.Checks, check{area, name, status, fmt.Sprintf(format, args...)})
}

// probeCtx bounds one probe: a few waits of --timeout each.
func (d *doctor) probeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 2*d.o.timeout)
}

// traceBuf keeps a connection's protocol trace (bounded) for the probes
// that read what was sent and answered.
type traceBuf struct {
	mu    sync.Mutex
	lines []string
	tee   io.Writer
}

const maxTraceLines = 10000

func (b *traceBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tee != nil {
		b.tee.Write(p)
	}
	for l := range strings.Lines(string(p)) {
		if len(b.lines) < maxTraceLines {
			b.lines = append(b.lines, strings.TrimRight(l, "\n"))
		}
	}
	return len(p), nil
}

// since returns the lines written after the first n.
func (b *traceBuf) since(n int) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.lines[min(n, len(b.lines)):])
}

func (b *traceBuf) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.lines)
}

// replyTo finds the command that starts with verb in trace lines and
// returns the first reply line after it ("" if not sent).
func replyTo(lines []string, verb string) (sent bool, reply string) {
	for i, l := range lines {
		if l == "> "+verb || strings.HasPrefix(l, "> "+verb+" ") {
			for _, r := range lines[i+1:] {
				if strings.HasPrefix(r, "< ") {
					return true, r[2:]
				}
			}
			return true, ""
		}
	}
	return false, ""
}

// dial logs in with the doctor's TLS settings and extra options.
func (d *doctor) dial(ctx context.Context, extra ...ftp.Option) (*ftp.Conn, *traceBuf, error) {
	tb := &traceBuf{}
	if d.o.verbose {
		tb.tee = &lockedWriter{w: d.e.stderr}
	}
	// LIST times as the server sends them (UTC: no zone, and none found
	// by the library), for the timezone check to measure.
	opts := []ftp.Option{ftp.WithTimeout(d.o.timeout), ftp.WithDebug(tb), ftp.WithLocation(time.UTC)}
	switch d.tlsMode {
	case "explicit":
		opts = append(opts, ftp.WithExplicitTLS(d.tlsCfg))
	case "implicit":
		opts = append(opts, ftp.WithImplicitTLS(d.tlsCfg))
	}
	opts = append(opts, d.proxy...)
	c, err := ftp.DialURL(ctx, d.t.dialURL, append(opts, extra...)...)
	return c, tb, err
}

func (e *env) doctor(ctx context.Context, rawURL string, o *options) error {
	t, err := e.parseTarget(rawURL)
	if err != nil {
		return err
	}
	pu, err := parseURLParts(t.dialURL)
	if err != nil {
		return usageError{err.Error()}
	}
	d := &doctor{e: e, o: o, t: t, u: pu, rep: doctorReport{Server: t.display}}
	if d.proxy, err = e.withProxy(o.proxy, t, nil); err != nil {
		return err
	}
	if o.explicitTLS || strings.HasPrefix(t.dialURL, "ftps:") {
		d.tlsMode = "implicit"
		if o.explicitTLS {
			d.tlsMode = "explicit"
		}
		if d.tlsCfg, err = tlsConfig(d.o); err != nil {
			return err
		}
	}
	c, tb, err := d.connect(ctx)
	if err != nil {
		if low := strings.ToLower(err.Error()); d.tlsMode == "" && (strings.Contains(low, "tls") ||
			strings.Contains(low, "ssl") || strings.Contains(low, "encryption")) {
			err = fmt.Errorf("%w\n(the server wants TLS: run doctor with --explicit-tls, or on its ftps:// URL)", err)
		}
		return connectError{fmt.Errorf("%s: %w", t.display, err)}
	}
	defer c.Quit(context.Background()) //nolint:errcheck // the report is made
	d.session(ctx, c, tb)
	entries := d.listings(ctx, c, tb)
	d.commands(ctx, c, entries)
	d.dataModes(ctx, c)
	d.probeTLS(ctx)
	d.connLimit(ctx)
	if o.writeTest {
		d.writeTest(ctx, c)
	}
	d.advise()
	if o.json {
		return e.printJSON(d.rep)
	}
	d.print()
	return nil
}

func parseURLParts(dialURL string) (*urlParts, error) {
	u, err := url.Parse(dialURL)
	if err != nil {
		return nil, err
	}
	p := &urlParts{host: u.Hostname(), port: u.Port(), user: "anonymous", pass: "anonymous@"}
	if p.port == "" {
		p.port = "21"
		if u.Scheme == "ftps" {
			p.port = "990"
		}
	}
	if u.User != nil {
		p.user = u.User.Username()
		p.pass, _ = u.User.Password()
	}
	return p, nil
}

// connect dials and logs in. A certificate that does not verify is a
// finding: the rest is probed without verification, and nothing is
// written.
func (d *doctor) connect(ctx context.Context) (*ftp.Conn, *traceBuf, error) {
	pctx, cancel := d.probeCtx(ctx)
	defer cancel()
	c, tb, err := d.dial(pctx)
	d.trusted = d.tlsCfg != nil && !d.tlsCfg.InsecureSkipVerify && err == nil
	var certErr *tls.CertificateVerificationError
	if err != nil && d.tlsCfg != nil && !d.tlsCfg.InsecureSkipVerify && errors.As(err, &certErr) {
		d.add("tls", "certificate", stFail, "%s; probing on without verification", tlsVerifyError(certErr))
		d.tlsCfg = d.tlsCfg.Clone()
		d.tlsCfg.InsecureSkipVerify = true
		c, tb, err = d.dial(pctx)
	}
	return c, tb, err
}

// session records the greeting, SYST and FEAT.
func (d *doctor) session(ctx context.Context, c *ftp.Conn, tb *traceBuf) {
	var greet []string
	for _, l := range tb.since(0) {
		if !strings.HasPrefix(l, "< ") {
			break
		}
		greet = append(greet, l[2:])
	}
	d.rep.Greeting = strings.Join(greet, "\n")
	d.add("session", "greeting", stOK, "%s", firstLine(d.rep.Greeting))
	who := d.u.user
	pctx, cancel := d.probeCtx(ctx)
	defer cancel()
	if dir, err := c.CurrentDir(pctx); err == nil {
		d.add("session", "login", stOK, "as %s, in %q", printable(who), printable(dir))
	} else {
		d.add("session", "login", stWarn, "as %s; PWD failed: %v", printable(who), err)
	}
	if r, err := c.Quote(pctx, "SYST"); r != nil {
		d.add("session", "syst", stOK, "%s", replyText(r))
	} else {
		d.add("session", "syst", stFail, "%v", err)
	}
	r, err := c.Quote(pctx, "FEAT")
	feats := slices.Sorted(mapKeys(c.Features()))
	switch {
	case r == nil:
		d.add("session", "feat", stFail, "%v", err)
	case r.Code/100 != 2:
		d.add("session", "feat", stNo, "FEAT refused (%s): each feature is probed by its command", replyText(r))
	default:
		d.add("session", "feat", stOK, "%s", strings.Join(feats, " "))
	}
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// listings lists the URL's folder with the defaults (MLSD or LIST), then
// with LIST and with LIST -a, and checks hidden files, time zone and
// names. It returns the entries of the default listing.
func (d *doctor) listings(ctx context.Context, c *ftp.Conn, tb *traceBuf) []*ftp.Entry {
	dir := d.t.path
	pctx, cancel := d.probeCtx(ctx)
	defer cancel()
	mark := tb.len()
	entries, err := c.List(pctx, dir)
	lines := tb.since(mark)
	d.listingFinding(lines, err)
	if sent, reply := replyTo(lines, "EPSV"); sent {
		switch {
		case err != nil && !slices.ContainsFunc(lines, isEPSVFallback):
			d.add("data", "epsv", stFail, "a listing over EPSV failed: %v", err)
		case strings.HasPrefix(reply, "229") && !slices.ContainsFunc(lines, isEPSVFallback):
			d.add("data", "epsv", stOK, "a listing over EPSV worked")
		default:
			d.add("data", "epsv", stNo, "EPSV answered %q or its port could not be reached: PASV is used (ftp.WithoutEPSV() saves the attempt)", reply)
		}
	} else {
		d.add("data", "epsv", stSkip, "the listing did not get as far as EPSV: %v", err)
	}

	plain, perr := d.listWith(ctx, dir, ftp.WithoutMLSD(), ftp.WithListAll(ftp.ListAllOff))
	all, aerr := d.listWith(ctx, dir, ftp.WithoutMLSD(), ftp.WithListAll(ftp.ListAllOn))
	dots := func(es []*ftp.Entry) (n int) {
		for _, e := range es {
			if strings.HasPrefix(e.Name, ".") && e.Name != "." && e.Name != ".." {
				n++
			}
		}
		return n
	}
	selfDots := slices.ContainsFunc(all, func(e *ftp.Entry) bool { return e.Name == "." || e.Name == ".." })
	switch {
	case perr != nil:
		d.add("listing", "list", stFail, "LIST of %s failed: %v", dir, perr)
	case aerr != nil:
		d.add("listing", "list-a", stNo, "LIST -a fails (%v): the server reads -a as a name; plain LIST is used", aerr)
	case dots(all) > dots(plain):
		d.add("listing", "list-a", stWarn, "plain LIST hides dot files (%d shown by LIST -a only): the library sends LIST -a", dots(all)-dots(plain))
	case dots(all) > 0 || selfDots:
		d.add("listing", "list-a", stOK, "LIST -a is honoured; plain LIST shows dot files too")
	default:
		d.add("listing", "list-a", stSkip, "no dot file in %s to tell whether plain LIST hides them", dir)
	}
	d.timeZone(ctx, c, dir, plain)
	d.charset(append(append(slices.Clone(entries), plain...), all...))
	return entries
}

func isEPSVFallback(l string) bool { return strings.HasPrefix(l, "# EPSV failed") }

// listingFinding reports how the default listing went: MLSD or LIST.
func (d *doctor) listingFinding(lines []string, err error) {
	sent, reply := replyTo(lines, "MLSD")
	switch {
	case !sent && err == nil:
		d.add("commands", "mlsd", stNo, "not advertised in FEAT: listings use LIST")
	case !sent:
		d.add("commands", "mlsd", stSkip, "not advertised, and the listing failed: %v", err)
	case strings.HasPrefix(reply, "1") && err == nil:
		d.add("commands", "mlsd", stOK, "listings use MLSD (exact types, sizes and UTC times)")
	case err == nil:
		d.add("commands", "mlsd", stWarn, "advertised, but MLSD answered %q: the library fell back to LIST (ftp.WithoutMLSD() saves the attempt)", reply)
	default:
		d.add("commands", "mlsd", stFail, "MLSD answered %q: %v", reply, err)
	}
}

// listWith lists dir on a new connection with opts.
func (d *doctor) listWith(ctx context.Context, dir string, opts ...ftp.Option) ([]*ftp.Entry, error) {
	pctx, cancel := d.probeCtx(ctx)
	defer cancel()
	c, _, err := d.dial(pctx, opts...)
	if err != nil {
		return nil, err
	}
	defer c.Quit(pctx) //nolint:errcheck // a probe
	return c.List(pctx, dir)
}

// timeZone compares the LIST time of a recent file with its MDTM (UTC).
func (d *doctor) timeZone(ctx context.Context, c *ftp.Conn, dir string, listed []*ftp.Entry) {
	var f *ftp.Entry
	for _, e := range listed {
		if e.Type == ftp.EntryFile && !e.ModTime.IsZero() && (f == nil || e.ModTime.After(f.ModTime)) {
			f = e
		}
	}
	if f == nil {
		d.add("listing", "timezone", stSkip, "no file with a time in the LIST of %s", dir)
		return
	}
	pctx, cancel := d.probeCtx(ctx)
	defer cancel()
	mt, err := c.ModTime(pctx, path.Join(dir, f.Name))
	switch {
	case err != nil:
		d.add("listing", "timezone", stSkip, "MDTM of %s failed: %v", printable(f.Name), err)
		return
	case time.Since(mt) > 150*24*time.Hour:
		d.add("listing", "timezone", stSkip, "the newest file, %s, is older than LIST shows times of day for", printable(f.Name))
		return
	}
	diff := f.ModTime.Sub(mt)
	off := diff.Round(15 * time.Minute)
	switch rest := diff - off; {
	case rest <= -61*time.Second || rest > time.Second || off.Abs() > 14*time.Hour:
		d.add("listing", "timezone", stSkip, "LIST time %s and MDTM %s of %s do not differ by a time zone",
			f.ModTime.Format(time.DateTime), mt.Format(time.DateTime), printable(f.Name))
	case off == 0:
		d.add("listing", "timezone", stOK, "LIST times are UTC, as MDTM")
	default:
		d.add("listing", "timezone", stWarn, "LIST times are %s from UTC (MDTM of %s): use ftp.WithLocation(time.FixedZone(\"\", %d))",
			off, printable(f.Name), int(off.Seconds()))
	}
}

// charset checks that the names are UTF-8.
func (d *doctor) charset(entries []*ftp.Entry) {
	for _, e := range entries {
		if !utf8.ValidString(e.Name) {
			d.add("listing", "charset", stWarn, "names are not valid UTF-8 (%q): the server uses another charset", e.Name)
			return
		}
	}
	if len(entries) == 0 {
		d.add("listing", "charset", stSkip, "no names to check")
		return
	}
	d.add("listing", "charset", stOK, "names are valid UTF-8")
}

// commands probes the commands: on a file of the listing where there is
// one, else on a name that does not exist (a 550 then shows the command
// is known).
func (d *doctor) commands(ctx context.Context, c *ftp.Conn, entries []*ftp.Entry) {
	var file *ftp.Entry
	for _, e := range entries {
		if e.Type == ftp.EntryFile && (file == nil || e.Size < file.Size) {
			file = e
		}
	}
	name, onFile := path.Join(d.t.path, ".ftpsync-doctor-missing-"+randomHex()), false
	if file != nil {
		name, onFile = path.Join(d.t.path, file.Name), true
	}
	pctx, cancel := d.probeCtx(ctx)
	defer cancel()
	feats := c.Features()
	probe := func(id, line, want string) {
		r, err := c.Quote(pctx, line)
		status, detail := classify(r, err, onFile)
		if status == stOK && onFile && !strings.HasPrefix(strconv.Itoa(r.Code), want) {
			status = stWarn
		}
		if _, adv := feats[strings.ToUpper(id)]; !adv && status != stNo && status != stFail {
			detail += " (not advertised in FEAT)"
		}
		d.add("commands", id, status, "%s", detail)
	}
	probe("mlst", "MLST "+name, "250")
	probe("size", "SIZE "+name, "213")
	probe("mdtm", "MDTM "+name, "213")
	if !d.o.writeTest {
		adv := "not advertised"
		if _, ok := feats["MFMT"]; ok {
			adv = "advertised"
		}
		d.add("commands", "mfmt", stSkip, "%s; not tried, as it changes a file (--write-test tries it)", adv)
	}
	probe("hash", "HASH "+name, "213")
	probe("rest", "REST 0", "350")
	// RFC 2640: a server that lists UTF8 speaks it; OPTS UTF8 ON is for
	// the others.
	r, err := c.Quote(pctx, "OPTS UTF8 ON")
	_, adv := feats["UTF8"]
	switch {
	case r == nil:
		d.add("commands", "utf8", stFail, "%v", err)
	case adv:
		d.add("commands", "utf8", stOK, "advertised in FEAT (OPTS UTF8 ON: %s)", replyText(r))
	case r.Code/100 == 2:
		d.add("commands", "utf8", stOK, "%s (not advertised in FEAT)", replyText(r))
	default:
		d.add("commands", "utf8", stNo, "not advertised, OPTS UTF8 ON: %s", replyText(r))
	}
}

// classify reads a probe's reply: 500, 502, 504 and 202 say the command
// is not implemented; any other reply says it is known.
func classify(r *ftp.Reply, err error, onFile bool) (status, detail string) {
	switch {
	case r == nil:
		return stFail, err.Error()
	case r.Code == 500 || r.Code == 502 || r.Code == 504 || r.Code == 202:
		return stNo, "not implemented: " + replyText(r)
	case r.Code < 400:
		return stOK, replyText(r)
	case !onFile:
		return stOK, "known (" + replyText(r) + " for a name that does not exist)"
	}
	return stWarn, "refused: " + replyText(r)
}

// dataModes checks PASV (and its address, the NAT trap) and active mode,
// each on its own connection with a listing.
func (d *doctor) dataModes(ctx context.Context, c *ftp.Conn) {
	dir := d.t.path
	pctx, cancel := d.probeCtx(ctx)
	r, err := c.Quote(pctx, "PASV")
	cancel()
	var advertised net.IP
	var ipv6 = strings.Contains(d.u.host, ":")
	switch {
	case ipv6:
		d.add("data", "pasv", stSkip, "IPv6: EPSV is the only passive mode")
	case r == nil || r.Code != 227:
		d.add("data", "pasv", stNo, "PASV refused: %v", err)
	default:
		advertised, _ = parse227(replyText(r))
		if _, lerr := d.listWith(ctx, dir, ftp.WithoutEPSV()); lerr != nil {
			d.add("data", "pasv", stFail, "a listing over PASV failed: %v", lerr)
		} else {
			d.add("data", "pasv", stOK, "a listing over PASV (to the control connection's address) worked")
		}
	}
	if advertised != nil {
		d.pasvAddress(ctx, advertised)
	}
	if d.proxy != nil {
		d.add("data", "active", stSkip, "through a proxy: the server cannot connect back to this client (active mode needs a direct path)")
	} else if _, err := d.listWith(ctx, dir, ftp.WithActive()); err != nil {
		d.add("data", "active", stFail, "the server could not connect back for a listing: %v", err)
	} else {
		d.add("data", "active", stOK, "the server connected back to this client for a listing (PORT/EPRT)")
	}
}

// pasvAddress compares the 227 reply's address with the control
// connection's peer.
func (d *doctor) pasvAddress(ctx context.Context, advertised net.IP) {
	peers, err := net.DefaultResolver.LookupIP(ctx, "ip4", d.u.host)
	if err != nil || len(peers) == 0 {
		d.add("data", "pasv-address", stSkip, "cannot resolve %s: %v", d.u.host, err)
		return
	}
	if advertised.IsUnspecified() || slices.ContainsFunc(peers, advertised.Equal) {
		d.add("data", "pasv-address", stOK, "the 227 reply advertises %s, the address the control connection reached", advertised)
		return
	}
	_, terr := d.listWith(ctx, d.t.path, ftp.WithoutEPSV(), ftp.WithTrustedPASVAddress())
	trusting := "connecting to it works too"
	if dce := (*ftp.DataConnError)(nil); errors.As(terr, &dce) {
		trusting = fmt.Sprintf("connecting to it fails (%v): clients that trust it log in, then hang on LIST", dce.Err)
	} else if terr != nil {
		trusting = fmt.Sprintf("connecting to it fails (%v)", terr)
	}
	d.add("data", "pasv-address", stWarn,
		"NAT trap: the 227 reply advertises %s, but the control connection reached %s; %s. This client connects to %s (the default)",
		advertised, peers[0], trusting, peers[0])
}

// parse227 returns the address and port of a 227 reply's
// h1,h2,h3,h4,p1,p2, found anywhere in it (RFC 1123).
func parse227(msg string) (net.IP, int) {
	for i := 0; i < len(msg); i++ {
		if !isDigit(msg[i]) || i > 0 && isDigit(msg[i-1]) {
			continue
		}
		end := i
		for end < len(msg) && (msg[end] == ',' || isDigit(msg[end])) {
			end++
		}
		f := strings.Split(msg[i:end], ",")
		if len(f) < 6 {
			continue
		}
		var n [6]int
		ok := true
		for k := range n {
			v, err := strconv.Atoi(f[k])
			ok = ok && err == nil && v >= 0 && v <= 255
			n[k] = v
		}
		if ok {
			return net.IPv4(byte(n[0]), byte(n[1]), byte(n[2]), byte(n[3])), n[4]<<8 | n[5]
		}
	}
	return nil, 0
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// connLimit counts how many sessions log in at once, up to maxConnProbe
// (the doctor's own session included).
func (d *doctor) connLimit(ctx context.Context) {
	pctx, cancel := d.probeCtx(ctx)
	defer cancel()
	var mu sync.Mutex
	var conns []*ftp.Conn
	var refusals []string
	var wg sync.WaitGroup
	for range maxConnProbe - 1 {
		wg.Go(func() {
			c, _, err := d.dial(pctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				refusals = append(refusals, err.Error())
				return
			}
			conns = append(conns, c)
		})
	}
	wg.Wait()
	for _, c := range conns {
		c.Quit(pctx) //nolint:errcheck // a probe
	}
	n := len(conns) + 1
	switch {
	case len(refusals) == 0:
		d.add("limits", "connections", stOK, "%d parallel sessions logged in (not tried beyond %d)", n, maxConnProbe)
	case n < 4:
		d.add("limits", "connections", stWarn, "only %d parallel sessions logged in; then: %s", n, refusals[0])
	default:
		d.add("limits", "connections", stOK, "%d parallel sessions logged in; then: %s", n, refusals[0])
	}
}

// writeTest makes a uniquely named folder, uploads, downloads and removes
// a small file in it, and removes the folder: nothing else is touched.
func (d *doctor) writeTest(ctx context.Context, c *ftp.Conn) {
	if d.tlsCfg != nil && !d.trusted && !d.o.insecure {
		d.add("write", "write-test", stSkip, "the certificate was not verified: nothing is written (--cacert FILE or --insecure)")
		return
	}
	pctx, cancel := d.probeCtx(ctx)
	defer cancel()
	dir := path.Join(d.t.path, ".ftpsync-doctor-"+randomHex())
	file := path.Join(dir, "probe.txt")
	data := "ftpsync doctor write test\r\nline two\n"
	if err := c.MakeDir(pctx, dir); err != nil {
		d.add("write", "write-test", stFail, "cannot create %s: %v", dir, err)
		return
	}
	defer func() {
		cctx, ccancel := d.probeCtx(context.WithoutCancel(ctx))
		defer ccancel()
		if err := c.RemoveDir(cctx, dir); err != nil {
			d.add("write", "cleanup", stFail, "could not remove %s: %v", dir, err)
		}
	}()
	steps := []string{"created " + dir}
	fail := func(format string, args ...any) {
		d.add("write", "write-test", stFail, "%s; then %s", strings.Join(steps, ", "), fmt.Sprintf(format, args...))
	}
	if err := c.Stor(pctx, file, strings.NewReader(data)); err != nil {
		fail("upload failed: %v", err)
		c.Delete(pctx, file) //nolint:errcheck // a part may be there, or not
		return
	}
	defer func() {
		cctx, ccancel := d.probeCtx(context.WithoutCancel(ctx))
		defer ccancel()
		if err := c.Delete(cctx, file); err != nil {
			d.add("write", "cleanup", stFail, "could not delete %s: %v", file, err)
		}
	}()
	steps = append(steps, "uploaded")
	resp, err := c.Retr(pctx, file)
	if err != nil {
		fail("download failed: %v", err)
		return
	}
	got, err := io.ReadAll(io.LimitReader(resp, 1<<20))
	resp.Close()
	switch {
	case err != nil:
		fail("download failed: %v", err)
		return
	case string(got) != data:
		fail("the download differs from the upload (%d bytes for %d)", len(got), len(data))
		return
	}
	steps = append(steps, "downloaded the same bytes")
	want := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	switch err := c.SetModTime(pctx, file, want); {
	case errors.Is(err, fs.ErrNotExist):
		d.add("commands", "mfmt", stWarn, "refused on the test file: %v", err)
	case err != nil:
		d.add("commands", "mfmt", stNo, "%v", err)
	default:
		mt, err := c.ModTime(pctx, file)
		if err == nil && mt.Equal(want) {
			d.add("commands", "mfmt", stOK, "set the test file's time (checked with MDTM)")
		} else {
			d.add("commands", "mfmt", stWarn, "accepted, but MDTM then says %v (%v)", mt, err)
		}
	}
	d.add("write", "write-test", stOK, "%s, removed", strings.Join(steps, ", "))
}

func randomHex() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// advise turns the findings into options, flags and advice.
func (d *doctor) advise() {
	get := func(name string) string {
		c, _ := d.rep.find(name)
		return c.Status
	}
	r := &d.rep
	switch d.tlsMode {
	case "explicit":
		r.Options = append(r.Options, "ftp.WithExplicitTLS(&tls.Config{…})")
		r.Flags = append(r.Flags, "--explicit-tls")
	case "implicit":
		r.Options = append(r.Options, "ftp.WithImplicitTLS(&tls.Config{…}) (or an ftps:// URL)")
	default:
		if get("tls-explicit") == stOK {
			r.Options = append(r.Options, "ftp.WithExplicitTLS(&tls.Config{…})")
			r.Flags = append(r.Flags, "--explicit-tls")
			r.Advice = append(r.Advice, "the server offers TLS (AUTH TLS): use it, the password goes in clear text otherwise")
		}
	}
	if get("certificate") == stFail {
		r.Options = append(r.Options, "tls.Config{RootCAs: the server's CA}")
		r.Advice = append(r.Advice, "the certificate is not verified: trust the server's CA (tls.Config.RootCAs; doctor --cacert FILE), or fix the certificate; --insecure only on a network you trust")
	}
	passive := get("epsv") == stOK || get("pasv") == stOK
	switch {
	case !passive && get("active") == stOK:
		r.Options = append(r.Options, "ftp.WithActive()")
		r.Flags = append(r.Flags, "--active")
		r.Advice = append(r.Advice, "passive mode fails: use active mode (the server can reach this client)")
	case get("epsv") == stNo && get("pasv") == stOK:
		r.Options = append(r.Options, "ftp.WithoutEPSV() (optional: the library falls back to PASV by itself)")
	case !passive && get("active") != stOK:
		r.Advice = append(r.Advice, "no data connection works in either mode: a firewall blocks them; open the server's passive ports, or this client's ports for active mode (ftp.WithActivePorts, ftp.WithActiveIP)")
	}
	if get("pasv-address") == stWarn {
		r.Advice = append(r.Advice, "the server's PASV reply names an address it is not reached at (NAT): the defaults cope; never use ftp.WithTrustedPASVAddress(). "+
			"Fix on the server: advertise its public address (vsftpd pasv_address=ADDR, ProFTPD MasqueradeAddress ADDR, Pure-FTPd -P ADDR, pyftpdlib masquerade_address)")
	}
	if get("mlsd") == stWarn {
		r.Options = append(r.Options, "ftp.WithoutMLSD()")
	}
	if c, ok := d.rep.find("timezone"); ok && c.Status == stWarn {
		if i := strings.Index(c.Detail, "ftp.WithLocation"); i >= 0 {
			r.Options = append(r.Options, c.Detail[i:])
		}
	}
	if c, ok := d.rep.find("connections"); ok && c.Status == stWarn {
		n, _, _ := strings.Cut(strings.TrimPrefix(c.Detail, "only "), " ")
		r.Flags = append(r.Flags, "--parallel "+n)
		r.Options = append(r.Options, "ftp.NewPool(url, "+n+", …)")
	}
	if get("list-a") == stWarn {
		r.Advice = append(r.Advice, "plain LIST hides dot files: keep the default (ftp.ListAllDetect), which sends LIST -a here")
	}
	if get("size") == stNo || get("mdtm") == stNo {
		r.Advice = append(r.Advice, "no SIZE or MDTM: transfers cannot be checked by size or time; mirror with --checksum where HASH works")
	}
	if get("charset") == stWarn {
		r.Advice = append(r.Advice, "names are not UTF-8: they are passed through as bytes; do not rename them through a UTF-8-only tool")
	}
	if len(r.Options) == 0 {
		r.Options = []string{"none: the defaults work"}
	}
	if len(r.Flags) == 0 {
		r.Flags = []string{"none: the defaults work"}
	}
	if r.Advice == nil {
		r.Advice = []string{}
	}
}

// print writes the report as text.
func (d *doctor) print() {
	w := d.e.stdout
	r := &d.rep
	fmt.Fprintf(w, "ftpsync doctor %s\n", r.Server)
	order := []string{"session", "commands", "listing", "data", "tls", "limits", "write"}
	slices.SortStableFunc(r.Checks, func(a, b check) int {
		return slices.Index(order, a.Area) - slices.Index(order, b.Area)
	})
	area := ""
	for _, c := range r.Checks {
		if c.Area != area {
			area = c.Area
			fmt.Fprintf(w, "\n%s\n", area)
		}
		fmt.Fprintf(w, "  %-4s  %-12s  %s\n", c.Status, c.Name, c.Detail)
	}
	fmt.Fprintf(w, "\nuse with this server\n")
	fmt.Fprintf(w, "  library: %s\n", strings.Join(r.Options, ", "))
	fmt.Fprintf(w, "  ftpsync: %s\n", strings.Join(r.Flags, " "))
	for _, a := range r.Advice {
		fmt.Fprintf(w, "  - %s\n", a)
	}
}

// printable escapes the control characters of server text.
func printable(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, "\\x%02x", s[0])
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
		s = s[n:]
	}
	return b.String()
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// replyText is a reply's code and first line, escaped.
func replyText(r *ftp.Reply) string {
	msg := r.Message()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i] + " …"
	}
	return strconv.Itoa(r.Code) + " " + printable(msg)
}

// rawConn is a bare control connection for the TLS probes the library
// hides on purpose: the handshake's state, and a data connection that
// does not resume the control session.
type rawConn struct {
	nc      net.Conn
	r       *bufio.Reader
	timeout time.Duration
}

func (d *doctor) rawDial(ctx context.Context, port string) (*rawConn, error) {
	dctx, cancel := context.WithTimeout(ctx, d.o.timeout)
	defer cancel()
	var dl net.Dialer
	nc, err := dl.DialContext(dctx, "tcp", net.JoinHostPort(d.u.host, port))
	if err != nil {
		return nil, err
	}
	return &rawConn{nc: nc, r: bufio.NewReaderSize(nc, 4096), timeout: d.o.timeout}, nil
}

// reply reads one reply (multi-line ones whole, at most 200 lines).
func (rc *rawConn) reply() (int, string, error) {
	rc.nc.SetDeadline(time.Now().Add(rc.timeout))
	var first string
	for i := 0; i < 200; i++ {
		line, err := rc.r.ReadSlice('\n')
		if err != nil {
			return 0, "", err
		}
		l := strings.TrimRight(string(line), "\r\n")
		if i == 0 {
			first = l
		}
		if len(l) >= 4 && l[3] == ' ' && l[:3] == first[:min(3, len(first))] {
			code, err := strconv.Atoi(l[:3])
			if err != nil {
				return 0, "", fmt.Errorf("not an FTP reply: %q", printable(l))
			}
			return code, printable(first), nil
		}
		if len(first) < 4 || first[3] != '-' {
			return 0, "", fmt.Errorf("not an FTP reply: %q", printable(first))
		}
	}
	return 0, "", errors.New("a reply of over 200 lines")
}

func (rc *rawConn) cmd(line string) (int, string, error) {
	rc.nc.SetDeadline(time.Now().Add(rc.timeout))
	if _, err := io.WriteString(rc.nc, line+"\r\n"); err != nil {
		return 0, "", err
	}
	return rc.reply()
}

func (rc *rawConn) handshake(cfg *tls.Config) (tls.ConnectionState, error) {
	tc := tls.Client(rc.nc, cfg)
	tc.SetDeadline(time.Now().Add(rc.timeout))
	err := tc.Handshake()
	rc.nc, rc.r = tc, bufio.NewReaderSize(tc, 4096)
	return tc.ConnectionState(), err
}

// probeTLS checks what TLS the server offers, its certificate and
// version, and whether data connections must resume the control
// session.
func (d *doctor) probeTLS(ctx context.Context) {
	if d.proxy != nil {
		d.add("tls", "tls-probes", stSkip, "through a proxy: the raw TLS probes (version, implicit FTPS, session reuse) dial directly and are not made")
		return
	}
	pctx, cancel := d.probeCtx(ctx)
	defer cancel()
	if d.tlsMode == "" && d.u.port == "21" {
		d.implicitOn990(pctx)
	} else if d.tlsMode != "implicit" {
		d.add("tls", "tls-implicit", stSkip, "implicit FTPS listens on a port of its own (often 990): run doctor on ftps://HOST:PORT/")
	}
	cfg, err := tlsConfig(d.o)
	if err != nil {
		d.add("tls", "tls-explicit", stSkip, "%v", err)
		return
	}
	cfg.ServerName = d.u.host
	rc, state, used, err := d.rawTLS(pctx, cfg)
	if err != nil {
		return
	}
	defer rc.nc.Close()
	context.AfterFunc(pctx, func() { rc.nc.Close() })
	d.add("tls", "tls-version", stOK, "%s, %s", tls.VersionName(state.Version), tls.CipherSuiteName(state.CipherSuite))
	if state.Version < tls.VersionTLS12 {
		d.rep.Checks[len(d.rep.Checks)-1].Status = stWarn
	}
	d.reuseRequired(rc, used)
}

func (d *doctor) implicitOn990(ctx context.Context) {
	rc, err := d.rawDial(ctx, "990")
	if err != nil {
		d.add("tls", "tls-implicit", stNo, "nothing answers on port 990 (%v)", err)
		return
	}
	defer rc.nc.Close()
	cfg := &tls.Config{InsecureSkipVerify: true, ServerName: d.u.host} //nolint:gosec // only whether TLS answers
	if _, err := rc.handshake(cfg); err != nil {
		d.add("tls", "tls-implicit", stNo, "port 990 does not speak TLS (%v)", err)
		return
	}
	d.add("tls", "tls-implicit", stOK, "implicit FTPS on port 990 (ftps://%s/)", d.u.host)
}

// rawTLS opens a raw TLS session as the URL and flags say (explicit on a
// plain URL), verifying the certificate when it was not verified yet.
func (d *doctor) rawTLS(ctx context.Context, cfg *tls.Config) (*rawConn, tls.ConnectionState, *tls.Config, error) {
	open := func(cfg *tls.Config) (*rawConn, tls.ConnectionState, error) {
		var st tls.ConnectionState
		rc, err := d.rawDial(ctx, d.u.port)
		if err != nil {
			return nil, st, err
		}
		if d.tlsMode == "implicit" {
			st, err = rc.handshake(cfg)
			if err == nil {
				_, _, err = rc.reply()
			}
		} else {
			var code int
			var text string
			if _, _, err = rc.reply(); err == nil {
				code, text, err = rc.cmd("AUTH TLS")
			}
			if err == nil && code != 234 {
				rc.nc.Close()
				return nil, st, errNoTLS{text}
			}
			if err == nil {
				st, err = rc.handshake(cfg)
			}
		}
		if err != nil {
			rc.nc.Close()
		}
		return rc, st, err
	}
	rc, st, err := open(cfg)
	var noTLS errNoTLS
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &noTLS):
		d.add("tls", "tls-explicit", stNo, "AUTH TLS refused: %s", noTLS.reply)
		return nil, st, nil, err
	case errors.As(err, &certErr):
		if _, done := d.rep.find("certificate"); !done {
			d.add("tls", "certificate", stFail, "%s", tlsVerifyError(certErr))
		}
		cfg = cfg.Clone()
		cfg.InsecureSkipVerify = true
		rc, st, err = open(cfg)
	case err == nil && !cfg.InsecureSkipVerify:
		names := certNames(st.PeerCertificates)
		d.add("tls", "certificate", stOK, "verified for %s (%s)", cfg.ServerName, names)
	case err == nil:
		d.add("tls", "certificate", stSkip, "not verified (--insecure)")
	}
	if err != nil {
		d.add("tls", "tls-"+cmp(d.tlsMode, "explicit"), stFail, "TLS failed: %v", err)
		return nil, st, nil, err
	}
	if d.tlsMode == "implicit" {
		d.add("tls", "tls-implicit", stOK, "TLS from the first byte works")
	} else {
		d.add("tls", "tls-explicit", stOK, "AUTH TLS works")
	}
	return rc, st, cfg, nil
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

type errNoTLS struct{ reply string }

func (e errNoTLS) Error() string { return "AUTH TLS refused: " + e.reply }

// reuseRequired logs in on rc and lists over a data connection that does
// not resume the control session: a server that refuses it requires
// session reuse (the library resumes).
func (d *doctor) reuseRequired(rc *rawConn, cfg *tls.Config) {
	fail := func(format string, args ...any) {
		d.add("tls", "tls-reuse", stSkip, "not probed: "+format, args...)
	}
	code, text, err := rc.cmd("USER " + d.u.user)
	if err == nil && code == 331 {
		code, text, err = rc.cmd("PASS " + d.u.pass)
	}
	if err != nil || code/100 != 2 {
		fail("login over TLS: %s%v", text, errOrNil(err))
		return
	}
	for _, c := range []string{"PBSZ 0", "PROT P", "TYPE A"} {
		if code, text, err = rc.cmd(c); err != nil || code/100 != 2 {
			fail("%s: %s%v", c, text, errOrNil(err))
			return
		}
	}
	code, text, err = rc.cmd("EPSV")
	port := ""
	if err == nil && code == 229 {
		if i := strings.LastIndex(text, "|||"); i >= 0 {
			port = strings.TrimSuffix(strings.TrimSuffix(text[i+3:], ")"), "|")
			port, _, _ = strings.Cut(port, "|")
		}
	} else if err == nil {
		code, text, err = rc.cmd("PASV")
		if _, p := parse227(strings.TrimPrefix(text, "227")); err == nil && code == 227 && p > 0 {
			port = strconv.Itoa(p)
		}
	}
	if err != nil || port == "" {
		fail("no passive port: %s%v", text, errOrNil(err))
		return
	}
	peer := rc.nc.RemoteAddr().(*net.TCPAddr).IP.String()
	dc, err := net.DialTimeout("tcp", net.JoinHostPort(peer, port), d.o.timeout)
	if err != nil {
		fail("data connection: %v", err)
		return
	}
	defer dc.Close()
	if _, err := io.WriteString(rc.nc, "LIST\r\n"); err != nil {
		fail("%v", err)
		return
	}
	fresh := cfg.Clone()
	fresh.ClientSessionCache = nil // a new session: no resumption
	tc := tls.Client(dc, fresh)
	tc.SetDeadline(time.Now().Add(d.o.timeout))
	herr := tc.Handshake()
	if herr == nil {
		io.Copy(io.Discard, io.LimitReader(tc, 16<<20)) //nolint:errcheck // the reply says
	}
	tc.Close()
	code, text, err = rc.reply()
	for err == nil && code/100 == 1 {
		code, text, err = rc.reply()
	}
	switch {
	case err != nil && herr != nil:
		fail("a new TLS session on the data connection failed (%v), then the control connection did (%v)", herr, err)
	case err != nil:
		fail("%v", err)
	case code/100 == 2 && herr == nil:
		d.add("tls", "tls-reuse", stOK, "data connections need not resume the control connection's TLS session (a new session listed: %s)", text)
	default:
		d.add("tls", "tls-reuse", stWarn, "data connections must resume the control connection's TLS session (a new session got %s%v): the library does; other clients may fail here", text, errOrNil(herr))
	}
}

func errOrNil(err error) string {
	if err == nil {
		return ""
	}
	return " (" + err.Error() + ")"
}

// tlsVerifyError says why a certificate did not verify.
func tlsVerifyError(err *tls.CertificateVerificationError) string {
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	names := certNames(err.UnverifiedCertificates)
	switch {
	case errors.As(err, &hostErr):
		return fmt.Sprintf("NOT verified: valid for %s, not for %s", names, hostErr.Host)
	case errors.As(err, &authErr):
		return fmt.Sprintf("NOT verified: %s is signed by an authority this client does not trust", names)
	}
	return fmt.Sprintf("NOT verified (%s): %v", names, err.Err)
}

func certNames(chain []*x509.Certificate) string {
	if len(chain) == 0 {
		return "no certificate"
	}
	c := chain[0]
	names := slices.Clone(c.DNSNames)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		names = append(names, "CN="+c.Subject.CommonName)
	}
	return printable(strings.Join(names, ", "))
}
