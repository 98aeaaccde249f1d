// Package bench holds the parts of the benchmark harness that both the
// ftpbench command and the Go benchmarks (parse_test.go) use: a minimal FTP
// server that serves fixed LIST and MLSD bodies, and the listing benchmarks
// of this library and of github.com/jlaffaye/ftp against it.
package bench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	jftp "github.com/jlaffaye/ftp"
	"github.com/pasvport/ftp"
	"github.com/pasvport/ftp/ftptest"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// ListDir is the directory whose listing the line servers serve.
const ListDir = "/list"

// LineServer is a minimal FTP server on 127.0.0.1 that answers LIST and MLSD
// with fixed bodies written in one call, so that a listing benchmark times
// the client: the server allocates nothing per line (unlike ftptest, which
// formats each line per listing), and its allocations do not blur the
// client's allocs/entry.
type LineServer struct {
	ln   net.Listener
	list []byte
	mlsd []byte
	wg   sync.WaitGroup
	mu   sync.Mutex
	cons map[net.Conn]bool
}

// NewLineServer serves list for LIST and mlsd for MLSD (MLST is offered in
// FEAT only when mlsd is not nil).
func NewLineServer(list, mlsd []string) (*LineServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &LineServer{ln: ln, list: joinCRLF(list), cons: map[net.Conn]bool{}}
	if mlsd != nil {
		s.mlsd = joinCRLF(mlsd)
	}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func joinCRLF(lines []string) []byte {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	return []byte(b.String())
}

// Addr is the control address.
func (s *LineServer) Addr() string { return s.ln.Addr().String() }

// Close stops the server and waits for its goroutines.
func (s *LineServer) Close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.cons {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *LineServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.cons[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.session(c)
			s.mu.Lock()
			delete(s.cons, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

func (s *LineServer) session(c net.Conn) {
	br := bufio.NewReader(c)
	say := func(format string, a ...any) { fmt.Fprintf(c, format+"\r\n", a...) }
	say("220 bench line server")
	var pasv net.Listener
	defer func() {
		if pasv != nil {
			pasv.Close()
		}
	}()
	for {
		c.SetReadDeadline(time.Now().Add(time.Minute))
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, _, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "USER":
			say("331 password")
		case "PASS":
			say("230 logged in")
		case "FEAT":
			mlst := ""
			if s.mlsd != nil {
				mlst = " MLST type*;size*;modify*;perm*;unique*;\r\n"
			}
			fmt.Fprintf(c, "211-Features:\r\n EPSV\r\n PASV\r\n%s SIZE\r\n MDTM\r\n REST STREAM\r\n UTF8\r\n211 End\r\n", mlst)
		case "SYST":
			say("215 UNIX Type: L8")
		case "PWD":
			say(`257 "/" is the current directory`)
		case "OPTS", "TYPE", "NOOP", "MODE", "STRU":
			say("200 ok")
		case "CWD":
			say("250 ok")
		case "EPSV", "PASV":
			if pasv != nil {
				pasv.Close()
			}
			if pasv, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
				say("425 %v", err)
				continue
			}
			p := pasv.Addr().(*net.TCPAddr).Port
			if strings.EqualFold(verb, "EPSV") {
				say("229 Entering Extended Passive Mode (|||%d|)", p)
			} else {
				say("227 Entering Passive Mode (127,0,0,1,%d,%d)", p>>8, p&255)
			}
		case "LIST", "MLSD":
			body := s.list
			if strings.EqualFold(verb, "MLSD") {
				if s.mlsd == nil {
					say("500 MLSD not understood")
					continue
				}
				body = s.mlsd
			}
			if pasv == nil {
				say("425 use EPSV first")
				continue
			}
			pasv.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
			dc, err := pasv.Accept()
			pasv.Close()
			pasv = nil
			if err != nil {
				say("425 %v", err)
				continue
			}
			say("150 here it comes")
			_, err = dc.Write(body)
			dc.Close()
			if err != nil {
				say("426 %v", err)
				continue
			}
			say("226 done")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

// SynthLines makes n LIST lines in vsftpd's format and n MLSD lines in
// pure-ftpd's format, for when no capture from a real server is at hand.
func SynthLines(n int) (list, mlsd []string) {
	list = make([]string, n)
	mlsd = make([]string, n)
	for i := range n {
		name := fmt.Sprintf("f%06d", i)
		list[i] = fmt.Sprintf("-rw-r--r--    1 1000     1000         %4d Nov 25 21:10 %s", i%5000, name)
		mlsd[i] = fmt.Sprintf("type=file;size=%d;modify=20261125211043;UNIX.mode=0644;UNIX.uid=1000;UNIX.gid=1000;unique=803g%x; %s", i%5000, i+1000, name)
	}
	return list, mlsd
}

// ReadLines reads a captured listing (CRLF or LF lines).
func ReadLines(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := strings.TrimRight(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	if s == "" {
		return nil, nil
	}
	return strings.Split(s, "\n"), nil
}

// ListImpl names a client and a listing command for BenchList.
type ListImpl struct {
	Lib  string // "ours", "ours+detect" (WithEncodingDetection) or "jlaffaye"
	MLSD bool   // MLSD if true, else LIST
}

func (li ListImpl) String() string {
	cmd := "LIST"
	if li.MLSD {
		cmd = "MLSD"
	}
	return li.Lib + "/" + cmd
}

// Lister lists ListDir on one logged-in connection.
type Lister interface {
	List() (int, error)
	Close()
}

// NewLister dials addr (no TLS) and logs in with user and pass.
func NewLister(li ListImpl, addr, user, pass string) (Lister, error) {
	ctx := context.Background()
	if strings.HasPrefix(li.Lib, "ours") {
		var opts []ftp.Option
		if !li.MLSD {
			opts = append(opts, ftp.WithoutMLSD())
		}
		if li.Lib == "ours+detect" {
			opts = append(opts, ftp.WithEncodingDetection(simplifiedchinese.GBK, traditionalchinese.Big5, japanese.ShiftJIS, japanese.EUCJP, korean.EUCKR))
		}
		c, err := ftp.Dial(ctx, addr, opts...)
		if err != nil {
			return nil, err
		}
		if err := c.Login(ctx, user, pass); err != nil {
			c.Close()
			return nil, err
		}
		return oursLister{c}, nil
	}
	c, err := jftp.Dial(addr, jftp.DialWithDisabledMLSD(!li.MLSD), jftp.DialWithTimeout(30*time.Second))
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, pass); err != nil {
		c.Quit()
		return nil, err
	}
	return jLister{c}, nil
}

type oursLister struct{ c *ftp.Conn }

func (l oursLister) List() (int, error) {
	es, err := l.c.List(context.Background(), ListDir)
	return len(es), err
}
func (l oursLister) Close() { l.c.Quit(context.Background()) }

type jLister struct{ c *jftp.ServerConn }

func (l jLister) List() (int, error) {
	es, err := l.c.List(ListDir)
	return len(es), err
}
func (l jLister) Close() { l.c.Quit() }

// BenchList lists ListDir b.N times over one connection and reports
// ns/entry, allocs/entry and B/entry (allocations of the whole process: the
// server side allocates next to nothing with a LineServer). The listing must
// hold at least min entries.
func BenchList(b *testing.B, li ListImpl, addr, user, pass string, min int) {
	l, err := NewLister(li, addr, user, pass)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	n, err := l.List()
	if err != nil || n < min {
		b.Fatalf("%v: %d entries (want %d), %v", li, n, min, err)
	}
	perEntry(b, n, func() {
		if _, err := l.List(); err != nil {
			b.Fatal(err)
		}
	})
}

// perEntry times b.N calls of once, each of which handles entries
// entries, and reports ns, allocations and bytes per entry.
func perEntry(b *testing.B, entries int, once func()) {
	var m0, m1 runtime.MemStats
	b.ReportAllocs()
	runtime.GC()
	runtime.ReadMemStats(&m0)
	b.ResetTimer()
	for range b.N {
		once()
	}
	b.StopTimer()
	runtime.ReadMemStats(&m1)
	per := float64(b.N) * float64(entries)
	b.ReportMetric(float64(entries), "entries")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/per, "ns/entry")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/per, "allocs/entry")
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/per, "B/entry")
}

// NewFTPTestListServer serves list for LIST of ListDir from an ftptest
// server without MLSD, as the package's own tests do.
func NewFTPTestListServer(list []string) *ftptest.Server {
	return ftptest.NewServer(ftptest.WithListLines(ListDir, list...), ftptest.WithoutMLSD())
}

// BenchFactsMap times what the API's Entry.Facts alone costs for lines, a
// listing's MLSD lines: one map[string]string per entry, sized for its
// facts, filled with their names and values. The facts are split before
// the timer starts (keys already lower case, as the library stores them),
// so this is the floor under any parser that fills Facts: the map's
// allocation and inserts, nothing else.
func BenchFactsMap(b *testing.B, lines []string) {
	type fact struct{ k, v string }
	var entries [][]fact
	for _, l := range lines {
		facts, _, ok := strings.Cut(l, " ")
		if !ok || facts == "" {
			continue
		}
		var fs []fact
		for f := range strings.SplitSeq(strings.TrimSuffix(facts, ";"), ";") {
			k, v, _ := strings.Cut(f, "=")
			fs = append(fs, fact{strings.ToLower(k), v})
		}
		entries = append(entries, fs)
	}
	maps := make([]map[string]string, len(entries)) // kept, as a listing keeps its entries
	perEntry(b, len(entries), func() {
		for i, fs := range entries {
			m := make(map[string]string, len(fs))
			for _, f := range fs {
				m[f.k] = f.v
			}
			maps[i] = m
		}
	})
}
