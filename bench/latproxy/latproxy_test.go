package latproxy

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// slack is how late a delivery may be on a busy machine (timers, the
// scheduler, other tests running at the same time).
const slack = 25 * time.Millisecond

// setup starts a target on loopback that hands each accepted connection to
// serve, and a proxy in front of it; it returns the proxy's address.
func setup(t *testing.T, cfg Config, control bool, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(20 * time.Second))
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c)
			}()
		}
	}()
	p := New(cfg)
	addr, err := p.Listen("127.0.0.1:0", ln.Addr().String(), control)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		done := make(chan struct{})
		go func() { p.Close(); ln.Close(); wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("proxy and target did not stop within 5 s")
		}
	})
	return addr.String()
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

func within(t *testing.T, what string, got, lo, hi time.Duration) {
	t.Helper()
	if got < lo || got > hi {
		t.Errorf("%s: %v, want %v to %v", what, got, lo, hi)
	} else {
		t.Logf("%s: %v (bounds %v to %v)", what, got, lo, hi)
	}
}

// Each byte arrives Delay after it was written, in both directions, and a
// burst is not held back more than once: the delay does not limit the
// bandwidth.
func TestDelay(t *testing.T) {
	const d = 20 * time.Millisecond
	arrived := make(chan time.Time, 16)
	sent := make(chan time.Time, 16)
	addr := setup(t, Config{Delay: d}, false, func(c net.Conn) {
		b := make([]byte, 1)
		for range 5 {
			if _, err := io.ReadFull(c, b); err != nil {
				return
			}
			arrived <- time.Now()
		}
		for range 5 {
			time.Sleep(5 * time.Millisecond)
			sent <- time.Now()
			if _, err := c.Write([]byte{'s'}); err != nil {
				return
			}
		}
		// A burst of 8 MiB: it takes Delay and the copy, not Delay per read.
		io.Copy(io.Discard, io.LimitReader(c, 8<<20))
		c.Write([]byte{'!'})
	})
	c := dial(t, addr)
	for i := range 5 {
		t0 := time.Now()
		if _, err := c.Write([]byte{'c'}); err != nil {
			t.Fatal(err)
		}
		within(t, "C>S byte "+string(rune('1'+i)), (<-arrived).Sub(t0), d, d+slack)
		time.Sleep(3 * time.Millisecond)
	}
	b := make([]byte, 1)
	for i := range 5 {
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatal(err)
		}
		within(t, "S>C byte "+string(rune('1'+i)), time.Since(<-sent), d, d+slack)
	}
	t0 := time.Now()
	if _, err := c.Write(make([]byte, 8<<20)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	// Held back per 64 KiB read, 8 MiB would take 128 × 20 ms = 2.56 s.
	within(t, "8 MiB burst, then 1 byte back", time.Since(t0), 2*d, 2*d+time.Second)
}

// Bytes arrive in the order written, in both directions at once, whatever
// the sizes of the writes.
func TestOrder(t *testing.T) {
	const size = 16 << 20
	gen := func(seed uint64) []byte {
		r := rand.New(rand.NewPCG(seed, 1))
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	up, down := gen(1), gen(2)
	writeAll := func(c net.Conn, b []byte, seed uint64) error {
		r := rand.New(rand.NewPCG(seed, 7))
		for len(b) > 0 {
			n := min(len(b), 1+r.IntN(100000))
			if _, err := c.Write(b[:n]); err != nil {
				return err
			}
			b = b[n:]
		}
		return nil
	}
	gotUp := make(chan [32]byte, 1)
	addr := setup(t, Config{Delay: 5 * time.Millisecond}, false, func(c net.Conn) {
		werr := make(chan error, 1)
		go func() { werr <- writeAll(c, down, 3) }()
		h := sha256.New()
		io.Copy(h, io.LimitReader(c, size))
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		gotUp <- sum
		<-werr // then close
	})
	c := dial(t, addr)
	werr := make(chan error, 1)
	go func() { werr <- writeAll(c, up, 4) }()
	h := sha256.New()
	if n, err := io.Copy(h, io.LimitReader(c, size)); err != nil || n != size {
		t.Fatalf("S>C: read %d of %d bytes: %v", n, size, err)
	}
	if !bytes.Equal(h.Sum(nil), sha(down)) {
		t.Error("S>C: bytes differ")
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	if s := <-gotUp; !bytes.Equal(s[:], sha(up)) {
		t.Error("C>S: bytes differ")
	}
}

func sha(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

// A half-close arrives after the bytes before it, Delay after it was made,
// and the other direction keeps working until it is closed too.
func TestHalfClose(t *testing.T) {
	const d = 15 * time.Millisecond
	type res struct {
		data string
		eof  time.Time
		err  error
	}
	got := make(chan res, 1)
	addr := setup(t, Config{Delay: d}, false, func(c net.Conn) {
		b, err := io.ReadAll(c) // to the FIN
		got <- res{string(b), time.Now(), err}
		time.Sleep(10 * time.Millisecond)
		c.Write([]byte("world"))
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c)
	})
	c := dial(t, addr)
	c.Write([]byte("hel"))
	c.Write([]byte("lo"))
	t0 := time.Now()
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil || r.data != "hello" {
		t.Fatalf("server read %q, %v; want hello, EOF", r.data, r.err)
	}
	within(t, "FIN C>S", r.eof.Sub(t0), d, d+slack)
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "world" {
		t.Fatalf("client read %q, %v after its half-close; want world, EOF", b, err)
	}
}

// With a rate cap, a connection carries Rate bytes per second in each
// direction, plus the delay.
func TestRate(t *testing.T) {
	const (
		d    = 10 * time.Millisecond
		rate = 2_000_000
		n    = 1_000_000
	)
	done := make(chan time.Time, 1)
	addr := setup(t, Config{Delay: d, Rate: rate}, false, func(c net.Conn) {
		go c.Write(make([]byte, n))
		io.CopyN(io.Discard, c, n)
		done <- time.Now()
	})
	c := dial(t, addr)
	t0 := time.Now()
	go c.Write(make([]byte, n))
	if _, err := io.CopyN(io.Discard, c, n); err != nil {
		t.Fatal(err)
	}
	want := time.Duration(n)*time.Second/rate + d
	within(t, "1 MB S>C at 2 MB/s", time.Since(t0), want-2*time.Millisecond, want*5/4+slack)
	within(t, "1 MB C>S at 2 MB/s", (<-done).Sub(t0), want-2*time.Millisecond, want*5/4+slack)
}

// ConnectDelay: the server accepts that much after the client connected,
// bytes written at once wait for it, and a greeting reaches the client
// ConnectDelay + Delay after its dial.
func TestConnectDelay(t *testing.T) {
	const d, cd = 10 * time.Millisecond, 30 * time.Millisecond
	accepted := make(chan time.Time, 1)
	first := make(chan time.Time, 1)
	addr := setup(t, Config{Delay: d, ConnectDelay: cd}, false, func(c net.Conn) {
		accepted <- time.Now()
		c.Write([]byte("220 hi\r\n"))
		b := make([]byte, 1)
		io.ReadFull(c, b)
		first <- time.Now()
	})
	t0 := time.Now()
	c := dial(t, addr)
	c.Write([]byte{'x'})
	b := make([]byte, 8)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	within(t, "greeting", time.Since(t0), cd+d, cd+d+slack)
	within(t, "server's accept", (<-accepted).Sub(t0), cd, cd+slack)
	within(t, "first byte, written at once", (<-first).Sub(t0), cd, cd+slack)
}

// The trace has every control line with its times (PASS masked), and the
// first bytes and FINs of data connections.
func TestTrace(t *testing.T) {
	const d = 5 * time.Millisecond
	var mu sync.Mutex
	var evs []Event
	cfg := Config{Delay: d, Trace: func(e Event) { mu.Lock(); evs = append(evs, e); mu.Unlock() }}
	srv, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		for range 2 {
			c, err := srv.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				c.Write([]byte("220 ready\r\n"))
				io.Copy(io.Discard, c)
			}()
		}
	}()
	p := New(cfg)
	defer p.Close()
	ctl, err := p.Listen("127.0.0.1:0", srv.Addr().String(), true)
	if err != nil {
		t.Fatal(err)
	}
	data, err := p.Listen("127.0.0.1:0", srv.Addr().String(), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []net.Addr{ctl, data} {
		c := dial(t, a.String())
		b := make([]byte, 11)
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("USER a\r\nPA"))
		time.Sleep(time.Millisecond)
		c.Write([]byte("SS secret\r\n"))
		c.CloseWrite()
		io.Copy(io.Discard, c)
	}
	// Both connections end when the target closes; Close waits for them.
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := 0
		for _, e := range evs {
			if e.Kind == Close {
				n++
			}
		}
		mu.Unlock()
		if n == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	got := map[bool][]string{}
	for _, e := range evs {
		s := strings.TrimSpace(strings.Join([]string{map[bool]string{true: "ctl", false: "data"}[e.Control], e.Dir.String(), e.Kind, e.Text}, " "))
		if e.Kind == Open || e.Kind == Dial || e.Kind == Close {
			s = map[bool]string{true: "ctl", false: "data"}[e.Control] + " " + e.Kind
		}
		if e.Kind == Data || e.Kind == FIN {
			s += " " + strconv.FormatInt(e.Bytes, 10)
		}
		got[e.Control] = append(got[e.Control], s)
		if e.Kind == Line || e.Kind == Data {
			if lag := e.Arrived.Sub(e.Sent); lag < d || lag > d+slack {
				t.Errorf("%s: delivered %v after it was sent, want %v to %v", s, lag, d, d+slack)
			}
		}
		if strings.Contains(e.Text, "secret") {
			t.Errorf("the password is in the trace: %v", e)
		}
	}
	want := map[bool][]string{
		true:  {"ctl open", "ctl dial", "ctl S>C line 220 ready", "ctl C>S line USER a", "ctl C>S line PASS ****", "ctl C>S fin 21", "ctl S>C fin 11", "ctl close"},
		false: {"data open", "data dial", "data S>C data 11", "data C>S data 10", "data C>S fin 21", "data S>C fin 11", "data close"},
	}
	for _, control := range []bool{true, false} {
		if g, w := strings.Join(got[control], "\n"), strings.Join(want[control], "\n"); g != w {
			t.Errorf("trace:\n%s\nwant:\n%s", g, w)
		}
	}
}

// Close resets what is in flight and returns at once, even with bytes
// queued far ahead by a rate cap.
func TestCloseInFlight(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.Copy(io.Discard, c)
		}
	}()
	p := New(Config{Delay: 50 * time.Millisecond, Rate: 100_000})
	a, err := p.Listen("127.0.0.1:0", ln.Addr().String(), false)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, a.String())
	go c.Write(make([]byte, 1<<20)) // 10 s at the rate
	time.Sleep(100 * time.Millisecond)
	t0 := time.Now()
	p.Close()
	within(t, "Close", time.Since(t0), 0, time.Second)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("the client's connection is still open after Close")
	}
}
