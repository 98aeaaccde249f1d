package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	jftp "github.com/jlaffaye/ftp"
	"github.com/pasvport/ftp"
	lb "github.com/pasvport/ftp/bench"
)

// Job is what a worker process (ftpbench -worker JSON) does: one timed
// operation of one Go implementation, so that its CPU time and peak RSS are
// those of its own process.
type Job struct {
	Impl       string   // ours, ours-writeto, jlaffaye; ceiling-*; parse
	Op         string   // retr, stor, getmany, putmany, mirror-down, mirror-up, list, ceiling, parse
	Addr       string   // control address
	User, Pass string   //
	TLS        bool     // explicit TLS (AUTH TLS)
	TLS12      bool     // at most TLS 1.2
	CA         string   // PEM file to trust
	ServerName string   //
	Remote     string   // remote file, or remote directory
	Local      string   // local file ("discard" for io.Discard), or local directory
	Files      []string // names for getmany/putmany; empty: list the directory first (mirror)
	Conns      int      // connections for getmany/putmany
	MLSD       bool     // list with MLSD (else LIST)
	CWD        bool     // list: change into Remote, then list the working directory (as curl and lftp do)
	Size       int64    // bytes, for ceiling
	CPUProfile string   // write a CPU profile of the timed part here
	ListFile   string   // parse: captured LIST lines
	MLSDFile   string   // parse: captured MLSD lines
	BenchTime  string   // parse: -test.benchtime (default 1s)
	// Count counts the control commands, through a wrapper around the
	// control connection. Only the untimed counting run sets it: the
	// wrapper hides ours' *net.TCPConn, and with it the poller.
	Count bool
}

// Result is what a worker reports on stdout, as JSON.
type Result struct {
	Bytes   int64          `json:"bytes"`
	Files   int            `json:"files"`
	Entries int            `json:"entries"`
	Cmds    int            `json:"cmds"`  // control commands sent during the timed loop
	Verbs   map[string]int `json:"verbs"` // their verbs
	Seconds float64        `json:"seconds"`
	Parse   []ParseResult  `json:"parse,omitempty"`
	Alloc   uint64         `json:"alloc_bytes"` // bytes allocated by the whole worker
	GCs     uint32         `json:"gcs"`         // garbage collections in the worker
}

// factsFloor names the parse row that times Entry.Facts alone
// (bench.BenchFactsMap) for the MLSD lines.
const factsFloor = "floor: Entry.Facts alone (MLSD lines)"

// ParseResult is one parse-only listing benchmark.
type ParseResult struct {
	Name          string  `json:"name"`
	Entries       int     `json:"entries"`
	NsPerEntry    float64 `json:"ns_per_entry"`
	AllocsPerEnt  float64 `json:"allocs_per_entry"`
	BytesPerEntry float64 `json:"bytes_per_entry"`
	N             int     `json:"n"`
}

func runWorker(spec string) {
	var j Job
	if err := json.Unmarshal([]byte(spec), &j); err != nil {
		fatalf("worker: %v", err)
	}
	res, err := work(&j)
	if err != nil {
		fatalf("worker %s %s: %v", j.Impl, j.Op, err)
	}
	json.NewEncoder(os.Stdout).Encode(res)
}

func work(j *Job) (*Result, error) {
	switch j.Op {
	case "ceiling":
		return ceiling(j)
	case "parse":
		return parseBench(j)
	case "mirror-down", "mirror-up":
		return mirrorJob(j)
	}
	cl, err := dialClient(j)
	if err != nil {
		return nil, err
	}
	defer cl.quit()
	var res Result
	stop := func() {}
	if j.CPUProfile != "" {
		f, err := os.Create(j.CPUProfile)
		if err != nil {
			return nil, err
		}
		pprof.StartCPUProfile(f)
		stop = func() { pprof.StopCPUProfile(); f.Close() }
	}
	t0 := time.Now()
	switch j.Op {
	case "retr":
		err = cl.retr(j, &res)
	case "stor":
		err = cl.stor(j, &res)
	case "list":
		dir := j.Remote
		if j.CWD {
			err, dir = cl.cwd(dir), ""
		}
		if err == nil {
			res.Entries, err = cl.list(dir)
		}
	case "getmany", "putmany":
		err = many(j, cl, &res)
	default:
		err = fmt.Errorf("unknown op %q", j.Op)
	}
	res.Seconds = time.Since(t0).Seconds()
	stop()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.Alloc, res.GCs = ms.TotalAlloc, ms.NumGC
	return &res, err
}

// client is one logged-in connection of either library.
type client struct {
	ours  *ftp.Conn
	j     *jftp.ServerConn
	trace *cmdCounter
}

// cmdCounter counts the commands written on control connections (see
// countConn), for either library.
type cmdCounter struct {
	mu    sync.Mutex
	on    bool
	n     int
	verbs map[string]int
}

func (c *cmdCounter) line(l string) {
	if !c.on {
		return
	}
	c.n++
	v, _, _ := strings.Cut(strings.TrimSpace(l), " ")
	c.verbs[strings.ToUpper(v)]++
}

func (c *cmdCounter) start() {
	c.mu.Lock()
	c.on, c.n, c.verbs = true, 0, map[string]int{}
	c.mu.Unlock()
}

func (c *cmdCounter) stop() (int, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = false
	return c.n, c.verbs
}

// countingDial dials as the library does by default, and counts the
// commands written on connections to the control address, as countConn
// does for jlaffaye's: the same (cheap) counting for both, where our
// WithDebug trace would cost formatting on every line.
func countingDial(control string, c *cmdCounter) ftp.Option {
	d := &net.Dialer{KeepAlive: -1}
	return ftp.WithDialFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil || addr != control {
			return nc, err
		}
		return &countConn{Conn: nc, c: c}, nil
	})
}

// countConn counts the command lines written on a control connection.
type countConn struct {
	net.Conn
	c    *cmdCounter
	part []byte // a line not yet ended
}

func (cc *countConn) Write(p []byte) (int, error) {
	cc.part = append(cc.part, p...)
	for {
		i := bytes.Index(cc.part, []byte("\r\n"))
		if i < 0 {
			break
		}
		cc.c.mu.Lock()
		cc.c.line(string(cc.part[:i]))
		cc.c.mu.Unlock()
		cc.part = cc.part[i+2:]
	}
	return cc.Conn.Write(p)
}

func tlsConfig(j *Job) (*tls.Config, error) {
	pem, err := os.ReadFile(j.CA)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("no certificate in " + j.CA)
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: j.ServerName, ClientSessionCache: tls.NewLRUClientSessionCache(16)}
	if j.TLS12 {
		cfg.MaxVersion = tls.VersionTLS12
	}
	return cfg, nil
}

func dialClient(j *Job) (*client, error) {
	ctx := context.Background()
	counter := &cmdCounter{}
	var cfg *tls.Config
	if j.TLS {
		var err error
		if cfg, err = tlsConfig(j); err != nil {
			return nil, err
		}
	}
	if strings.HasPrefix(j.Impl, "ours") {
		opts := []ftp.Option{ftp.WithTimeout(60 * time.Second)}
		if j.Count {
			opts = append(opts, countingDial(j.Addr, counter))
		}
		if j.TLS {
			opts = append(opts, ftp.WithExplicitTLS(cfg))
		}
		if j.Op == "list" && !j.MLSD {
			opts = append(opts, ftp.WithoutMLSD())
		}
		c, err := ftp.Dial(ctx, j.Addr, opts...)
		if err != nil {
			return nil, err
		}
		if err := c.Login(ctx, j.User, j.Pass); err != nil {
			c.Close()
			return nil, err
		}
		return &client{ours: c, trace: counter}, nil
	}
	first := true
	var mu sync.Mutex
	dial := func(network, addr string) (net.Conn, error) {
		nc, err := net.DialTimeout(network, addr, 30*time.Second)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			return nil, err
		}
		wasFirst := first
		first = false
		switch {
		case !wasFirst && j.TLS:
			// With a dial function, jlaffaye leaves the data
			// connection's TLS to it.
			return tls.Client(nc, cfg), nil
		case !wasFirst || j.TLS || !j.Count:
			return nc, nil
		}
		return &countConn{Conn: nc, c: counter}, nil
	}
	opts := []jftp.DialOption{jftp.DialWithTimeout(60 * time.Second), jftp.DialWithDialFunc(dial)}
	if j.TLS {
		opts = append(opts, jftp.DialWithExplicitTLS(cfg))
	}
	if j.Op == "list" {
		opts = append(opts, jftp.DialWithDisabledMLSD(!j.MLSD))
	}
	c, err := jftp.Dial(j.Addr, opts...)
	if err != nil {
		return nil, err
	}
	if err := c.Login(j.User, j.Pass); err != nil {
		c.Quit()
		return nil, err
	}
	return &client{j: c, trace: counter}, nil
}

func (cl *client) quit() {
	if cl.ours != nil {
		cl.ours.Quit(context.Background())
	} else {
		cl.j.Quit()
	}
}

func openDst(local string) (io.Writer, func() error, error) {
	if local == "discard" {
		return io.Discard, func() error { return nil }, nil
	}
	f, err := os.Create(local)
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}

// retr downloads j.Remote: io.Copy(dst, resp) (which uses our
// Response.WriteTo), or resp.WriteTo(dst) for ours-writeto.
func (cl *client) retr(j *Job, res *Result) error {
	dst, closeDst, err := openDst(j.Local)
	if err != nil {
		return err
	}
	defer closeDst()
	n, err := cl.get(j.Impl, j.Remote, dst)
	res.Bytes, res.Files = n, 1
	if err != nil {
		return err
	}
	return closeDst()
}

func (cl *client) get(impl, remote string, dst io.Writer) (int64, error) {
	if cl.ours != nil {
		r, err := cl.ours.Retr(context.Background(), remote)
		if err != nil {
			return 0, err
		}
		var n int64
		if impl == "ours-writeto" {
			n, err = r.WriteTo(dst)
		} else {
			n, err = io.Copy(dst, r)
		}
		if cerr := r.Close(); err == nil {
			err = cerr
		}
		return n, err
	}
	r, err := cl.j.Retr(remote)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(dst, r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// stor uploads the *os.File j.Local to j.Remote.
func (cl *client) stor(j *Job, res *Result) error {
	f, err := os.Open(j.Local)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := cl.put(j.Remote, f); err != nil {
		return err
	}
	res.Bytes, res.Files = st.Size(), 1
	return nil
}

func (cl *client) put(remote string, f *os.File) error {
	if cl.ours != nil {
		return cl.ours.Stor(context.Background(), remote, f)
	}
	return cl.j.Stor(remote, f)
}

func (cl *client) cwd(dir string) error {
	if cl.ours != nil {
		return cl.ours.ChangeDir(context.Background(), dir)
	}
	return cl.j.ChangeDir(dir)
}

func (cl *client) list(dir string) (int, error) {
	if cl.ours != nil {
		es, err := cl.ours.List(context.Background(), dir)
		return len(es), err
	}
	es, err := cl.j.List(dir)
	return len(es), err
}

func (cl *client) names(dir string) ([]string, error) {
	var out []string
	if cl.ours != nil {
		es, err := cl.ours.List(context.Background(), dir)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if e.Type == ftp.EntryFile {
				out = append(out, e.Name)
			}
		}
		return out, nil
	}
	es, err := cl.j.List(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		if e.Type == jftp.EntryTypeFile {
			out = append(out, e.Name)
		}
	}
	return out, nil
}

// many downloads (getmany) or uploads (putmany) many files over j.Conns
// connections, each taking every Conns-th file. Without j.Files it lists
// the source directory first, as a mirror does: the remote one with List on
// the first connection, the local one with os.ReadDir.
func many(j *Job, first *client, res *Result) error {
	conns := max(j.Conns, 1)
	clients := []*client{first}
	for len(clients) < conns {
		c, err := dialClient(j)
		if err != nil {
			return err
		}
		defer c.quit()
		clients = append(clients, c)
	}
	names := j.Files
	if len(names) == 0 {
		var err error
		if j.Op == "getmany" {
			names, err = first.names(j.Remote)
		} else {
			var des []os.DirEntry
			des, err = os.ReadDir(j.Local)
			for _, d := range des {
				if d.Type().IsRegular() {
					names = append(names, d.Name())
				}
			}
		}
		if err != nil {
			return err
		}
		sort.Strings(names)
	}
	first.trace.start()
	var wg sync.WaitGroup
	errs := make([]error, conns)
	var total int64
	var mu sync.Mutex
	for i, cl := range clients {
		wg.Go(func() {
			var n int64
			for k := i; k < len(names); k += conns {
				var err error
				var m int64
				if j.Op == "getmany" {
					m, err = getOne(j, cl, names[k])
				} else {
					m, err = putOne(j, cl, names[k])
				}
				if err != nil {
					errs[i] = fmt.Errorf("%s: %w", names[k], err)
					return
				}
				n += m
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if conns == 1 { // with more, the trace holds only the first connection's share
		res.Cmds, res.Verbs = first.trace.stop()
	}
	res.Bytes, res.Files = total, len(names)
	return errors.Join(errs...)
}

func getOne(j *Job, cl *client, name string) (int64, error) {
	f, err := os.Create(filepath.Join(j.Local, name))
	if err != nil {
		return 0, err
	}
	n, err := cl.get(j.Impl, path.Join(j.Remote, name), f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

func putOne(j *Job, cl *client, name string) (int64, error) {
	f, err := os.Open(filepath.Join(j.Local, name))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), cl.put(path.Join(j.Remote, name), f)
}

// mirrorJob runs ftp.Mirror through a Pool of j.Conns connections: the
// remote directory j.Remote into the local j.Local (mirror-down), or back
// (mirror-up). Its command count covers every connection of the Pool.
func mirrorJob(j *Job) (*Result, error) {
	counter := &cmdCounter{}
	opts := []ftp.Option{ftp.WithTimeout(60 * time.Second)}
	if j.Count {
		opts = append(opts, countingDial(j.Addr, counter))
	}
	scheme := "ftp"
	if j.TLS {
		cfg, err := tlsConfig(j)
		if err != nil {
			return nil, err
		}
		opts = append(opts, ftp.WithExplicitTLS(cfg))
	}
	u := (&url.URL{Scheme: scheme, User: url.UserPassword(j.User, j.Pass), Host: j.Addr}).String()
	pool, err := ftp.NewPool(u, j.Conns, opts...)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	mo := ftp.MirrorOptions{Direction: ftp.MirrorDown}
	src, dst := j.Remote, j.Local
	if j.Op == "mirror-up" {
		mo.Direction, src, dst = ftp.MirrorUp, j.Local, j.Remote
	}
	if j.CPUProfile != "" {
		f, err := os.Create(j.CPUProfile)
		if err != nil {
			return nil, err
		}
		pprof.StartCPUProfile(f)
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	counter.start()
	t0 := time.Now()
	sum, err := ftp.Mirror(context.Background(), pool, src, dst, mo)
	res := &Result{Seconds: time.Since(t0).Seconds(), Bytes: sum.Bytes, Files: sum.Files}
	res.Cmds, res.Verbs = counter.stop()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.Alloc, res.GCs = ms.TotalAlloc, ms.NumGC
	return res, err
}

// ceiling copies j.Size bytes over one loopback TCP connection between two
// goroutines of this process:
//
//	ceiling-rw:       Write from a 256 KiB buffer → Read into a 256 KiB buffer
//	ceiling-sendfile: io.Copy(conn, *os.File j.Local) (sendfile) → Read loop
//	ceiling-splice:   Write loop → io.Copy(*os.File j.Remote, conn) (splice)
func ceiling(j *Job) (*Result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	src, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, err
	}
	dst := <-accepted
	if dst == nil {
		return nil, errors.New("accept failed")
	}
	defer dst.Close()
	var in *os.File
	if j.Impl == "ceiling-sendfile" {
		if in, err = os.Open(j.Local); err != nil {
			return nil, err
		}
		defer in.Close()
	}
	var out *os.File
	if j.Impl == "ceiling-splice" {
		if out, err = os.Create(j.Remote); err != nil {
			return nil, err
		}
		defer os.Remove(j.Remote)
		defer out.Close()
	}
	t0 := time.Now()
	werr := make(chan error, 1)
	go func() {
		defer src.Close()
		if in != nil {
			_, err := io.Copy(src, io.LimitReader(in, j.Size))
			werr <- err
			return
		}
		buf := make([]byte, 256<<10)
		for left := j.Size; left > 0; {
			n, err := src.Write(buf[:min(left, int64(len(buf)))])
			left -= int64(n)
			if err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	var n int64
	if out != nil {
		n, err = io.Copy(out, dst)
	} else {
		buf := make([]byte, 256<<10)
		for {
			m, rerr := dst.Read(buf)
			n += int64(m)
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				err = rerr
				break
			}
		}
	}
	if e := <-werr; err == nil {
		err = e
	}
	res := &Result{Bytes: n, Seconds: time.Since(t0).Seconds()}
	if err == nil && n != j.Size {
		err = fmt.Errorf("copied %d of %d bytes", n, j.Size)
	}
	return res, err
}

// parseBench runs the parse-only listing benchmarks (lb.BenchList) on
// the captured lines, in this process.
func parseBench(j *Job) (*Result, error) {
	testing.Init()
	if j.BenchTime != "" {
		if err := flag.Set("test.benchtime", j.BenchTime); err != nil {
			return nil, err
		}
	}
	list, err := lb.ReadLines(j.ListFile)
	if err != nil {
		return nil, err
	}
	mlsd, err := lb.ReadLines(j.MLSDFile)
	if err != nil {
		return nil, err
	}
	srv, err := lb.NewLineServer(list, mlsd)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	res := &Result{}
	run := func(name string, li lb.ListImpl, addr, user, pass string, lines []string) error {
		r := testing.Benchmark(func(b *testing.B) { lb.BenchList(b, li, addr, user, pass, len(lines)*9/10) })
		if r.N == 0 {
			return fmt.Errorf("parse benchmark %s failed", name)
		}
		res.Parse = append(res.Parse, ParseResult{
			Name: name, Entries: int(r.Extra["entries"]), N: r.N,
			NsPerEntry: r.Extra["ns/entry"], AllocsPerEnt: r.Extra["allocs/entry"], BytesPerEntry: r.Extra["B/entry"],
		})
		return nil
	}
	for _, li := range []lb.ListImpl{{Lib: "ours", MLSD: true}, {Lib: "jlaffaye", MLSD: true}, {Lib: "ours"}, {Lib: "jlaffaye"}} {
		lines := list
		if li.MLSD {
			lines = mlsd
		}
		if err := run(li.String()+" (line server)", li, srv.Addr(), "u", "p", lines); err != nil {
			return nil, err
		}
	}
	floor := testing.Benchmark(func(b *testing.B) { lb.BenchFactsMap(b, mlsd) })
	res.Parse = append(res.Parse, ParseResult{
		Name: factsFloor, Entries: int(floor.Extra["entries"]), N: floor.N,
		NsPerEntry: floor.Extra["ns/entry"], AllocsPerEnt: floor.Extra["allocs/entry"], BytesPerEntry: floor.Extra["B/entry"],
	})
	ts := lb.NewFTPTestListServer(list)
	defer ts.Close()
	for _, lib := range []string{"ours", "jlaffaye"} {
		if err := run(lib+"/LIST (ftptest WithListLines)", lb.ListImpl{Lib: lib}, ts.Addr(), ts.User(), ts.Password(), list); err != nil {
			return nil, err
		}
	}
	return res, nil
}
