// Package latproxy is a TCP proxy for benchmarks over loopback that makes a
// connection behave like one over a long link: every byte written at t is
// delivered at t+Delay, in each direction, in order, without a bandwidth
// limit of its own (many bytes can be in flight at once), and a half-close
// (FIN) is delivered after the bytes written before it. Optional: a rate cap
// per connection and direction, and the TCP handshake as the server sees it
// (ConnectDelay). A trace callback gets every line of the control
// connections and the opening and closing of every connection, with the
// time it was sent and the time it was delivered.
//
// What a user-space proxy cannot delay: the client's connect returns at
// once (the kernel completes the handshake with the proxy), and TCP
// acknowledgements come from the proxy's kernel, at once or after its
// delayed-ACK timer (40 ms), never a round trip later. vsftpd closes a data
// connection with SO_LINGER and sends its 226 when its FIN is acknowledged:
// through the proxy at once after an upload, and after a download when the
// proxy's kernel acknowledges the data and FIN (40 ms, or the client's own
// FIN 1 RTT later, whichever comes first); over a real link a round trip
// after each.
//
// It is meant for loopback addresses only; the caller chooses them.
package latproxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// Config sets up a Proxy.
type Config struct {
	// Delay is the one-way delay: half the round-trip time.
	Delay time.Duration
	// ConnectDelay postpones the proxy's connection to the target after
	// it has accepted a client, and holds the client's bytes until then.
	// 3×Delay is what a real link costs the server: the client's SYN
	// takes Delay, the SYN-ACK Delay, the ACK Delay before the server's
	// accept returns; a greeting then reaches the client 2 RTT after its
	// dial, as over a real link. 0: connect at once.
	ConnectDelay time.Duration
	// Rate caps each connection, in each direction, at this many bytes
	// per second (0: no cap). Bytes then leave the proxy at the rate and
	// arrive Delay later, like over a link of that bandwidth.
	Rate int64
	// Window bounds the bytes queued in the proxy per direction; when it
	// is full the proxy stops reading, and TCP holds the sender back.
	// Throughput is then at most Window/Delay. Default 16 MiB; with a
	// Rate, at most Rate×Delay plus 64 KiB, as a link of that
	// bandwidth-delay product would hold.
	Window int
	// Trace, if not nil, is called for every event (one call at a time).
	Trace func(Event)
}

// Dir is the direction of bytes on a proxied connection.
type Dir int

const (
	Up   Dir = iota // client to server
	Down            // server to client
)

func (d Dir) String() string {
	if d == Up {
		return "C>S"
	}
	return "S>C"
}

// Event kinds.
const (
	Open  = "open"  // a client connected (Sent = Arrived = accept); Text: the listener's address
	Dial  = "dial"  // the proxy connected to the target (Arrived); Text: the target
	Line  = "line"  // a line on a control connection; Text without CR LF, a PASS argument masked
	Data  = "data"  // the first bytes in Dir on a data connection; Bytes: how many
	FIN   = "fin"   // a half-close delivered in Dir; Bytes: the bytes of Dir in all
	Reset = "reset" // a connection was reset or failed in Dir; Text: why
	Close = "close" // the proxy is done with the connection (the last event of each)
)

// Event is something that passed through the proxy.
type Event struct {
	Conn    int  // connection number, from 1 in the order of acceptance
	Control bool // accepted on a control listener
	Kind    string
	Dir     Dir
	Sent    time.Time // when the proxy read it from the sender
	Arrived time.Time // when the proxy wrote it to the receiver
	Text    string
	Bytes   int64
}

func (e Event) String() string {
	s := fmt.Sprintf("%s +%v #%d %s %s %s", e.Sent.Format("15:04:05.000000"), e.Arrived.Sub(e.Sent).Round(10*time.Microsecond), e.Conn, e.Dir, e.Kind, e.Text)
	if e.Kind == Data || e.Kind == FIN {
		s += fmt.Sprintf(" %d B", e.Bytes)
	}
	return strings.TrimSpace(s)
}

// Proxy forwards the connections accepted on its listeners.
type Proxy struct {
	cfg     Config
	mu      sync.Mutex
	lns     []net.Listener
	links   map[*link]struct{}
	closed  bool
	nconn   int
	wg      sync.WaitGroup
	traceMu sync.Mutex
}

const (
	defaultWindow = 16 << 20
	maxChunk      = 64 << 10
)

// New returns a Proxy without listeners.
func New(cfg Config) *Proxy {
	if cfg.Window <= 0 {
		cfg.Window = defaultWindow
	}
	if cfg.Rate > 0 {
		cfg.Window = min(cfg.Window, int(cfg.Rate*int64(cfg.Delay)/int64(time.Second))+64<<10)
	}
	return &Proxy{cfg: cfg, links: map[*link]struct{}{}}
}

// Listen accepts connections on addr and forwards each to target. Lines
// are traced on control connections; data connections report their first
// bytes and their FINs.
func (p *Proxy) Listen(addr, target string, control bool) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		ln.Close()
		return nil, net.ErrClosed
	}
	p.lns = append(p.lns, ln)
	p.wg.Add(1)
	p.mu.Unlock()
	go p.accept(ln, target, control)
	return ln.Addr(), nil
}

// Close stops the listeners, resets every connection and waits for the
// proxy's goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	lns := p.lns
	p.lns = nil
	var links []*link
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	for _, l := range links {
		l.abort()
	}
	p.wg.Wait()
	return nil
}

func (p *Proxy) event(e Event) {
	if p.cfg.Trace == nil {
		return
	}
	p.traceMu.Lock()
	defer p.traceMu.Unlock()
	p.cfg.Trace(e)
}

func (p *Proxy) accept(ln net.Listener, target string, control bool) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and the like: wait a little, bounded by Close.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			return
		}
		p.nconn++
		l := &link{p: p, id: p.nconn, control: control, client: c, done: make(chan struct{})}
		p.links[l] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go l.run(target)
	}
}

// link is one proxied connection.
type link struct {
	p       *Proxy
	id      int
	control bool
	client  net.Conn
	server  net.Conn // set before the pipes that use it start
	once    sync.Once
	done    chan struct{} // closed by abort
	mu      sync.Mutex
	pipes   []*pipe
}

func (l *link) event(e Event) {
	e.Conn, e.Control = l.id, l.control
	l.p.event(e)
}

// abort resets both sockets and stops both directions.
func (l *link) abort() {
	l.once.Do(func() {
		close(l.done)
		l.mu.Lock()
		conns := []net.Conn{l.client, l.server}
		for _, p := range l.pipes {
			p.stop()
		}
		l.mu.Unlock()
		for _, c := range conns {
			if c == nil {
				continue
			}
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
			c.Close()
		}
	})
}

func (l *link) run(target string) {
	defer l.p.wg.Done()
	defer func() {
		l.p.mu.Lock()
		delete(l.p.links, l)
		l.p.mu.Unlock()
	}()
	accepted := time.Now()
	l.event(Event{Kind: Open, Sent: accepted, Arrived: accepted, Text: l.client.LocalAddr().String()})
	defer func() {
		now := time.Now()
		l.event(Event{Kind: Close, Sent: now, Arrived: now})
	}()
	notBefore := accepted.Add(l.p.cfg.ConnectDelay)
	up := l.newPipe(Up, l.client, notBefore)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); up.read() }()
	// The server sees the connection ConnectDelay after the client made it.
	if !sleepUntil(notBefore, l.done) {
		wg.Wait()
		return
	}
	srv, err := net.DialTimeout("tcp", target, 10*time.Second)
	if err != nil {
		l.event(Event{Kind: Reset, Dir: Up, Sent: notBefore, Arrived: time.Now(), Text: err.Error()})
		l.abort()
		wg.Wait()
		return
	}
	l.mu.Lock()
	select {
	case <-l.done: // aborted while dialling
		l.mu.Unlock()
		srv.Close()
		wg.Wait()
		return
	default:
	}
	l.server = srv
	l.mu.Unlock()
	l.event(Event{Kind: Dial, Dir: Up, Sent: notBefore, Arrived: time.Now(), Text: target})
	down := l.newPipe(Down, srv, notBefore)
	wg.Add(3)
	go func() { defer wg.Done(); down.read() }()
	go func() { defer wg.Done(); down.write(l.client) }()
	go func() { defer wg.Done(); up.write(srv) }()
	wg.Wait()
	l.client.Close()
	srv.Close()
}

// sleepUntil waits until t, or returns false when done is closed first.
func sleepUntil(t time.Time, done <-chan struct{}) bool {
	d := time.Until(t)
	if d <= 0 {
		select {
		case <-done:
			return false
		default:
			return true
		}
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-done:
		return false
	}
}

// chunk is what one read brought, or the end of a direction (b == nil).
type chunk struct {
	b    []byte
	buf  *[]byte // to give back to the pool
	sent time.Time
	due  time.Time
	end  error // io.EOF: deliver a FIN; anything else: reset
}

// pipe is one direction of a link: read() queues what the sender wrote,
// stamped with its delivery time; write() delivers it then.
type pipe struct {
	l         *link
	dir       Dir
	src       net.Conn
	notBefore time.Time
	chunkSize int
	window    int

	mu      sync.Mutex
	cond    *sync.Cond
	q       []chunk
	queued  int
	stopped bool
	free    time.Time // Rate: when the modelled link has sent what it was given

	// writer state
	total   int64
	partial []byte // a control line not yet ended
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, maxChunk); return &b }}

func (l *link) newPipe(dir Dir, src net.Conn, notBefore time.Time) *pipe {
	p := &pipe{l: l, dir: dir, src: src, notBefore: notBefore, chunkSize: maxChunk, window: l.p.cfg.Window}
	if r := l.p.cfg.Rate; r > 0 {
		// About 2 ms of the rate per chunk, so that delivery is smooth.
		p.chunkSize = int(min(max(r/500, 1460), maxChunk))
	}
	p.cond = sync.NewCond(&p.mu)
	l.mu.Lock()
	l.pipes = append(l.pipes, p)
	stopped := false
	select {
	case <-l.done:
		stopped = true
	default:
	}
	l.mu.Unlock()
	if stopped {
		p.stop()
	}
	return p
}

func (p *pipe) stop() {
	p.mu.Lock()
	p.stopped = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

// due is when bytes read at t arrive: Delay later, after the modelled
// link has sent them at the rate, and not before the server has the
// connection.
func (p *pipe) due(t time.Time, n int) time.Time {
	cfg := &p.l.p.cfg
	if cfg.Rate > 0 {
		if p.free.After(t) {
			t = p.free
		}
		t = t.Add(time.Duration(int64(n) * int64(time.Second) / cfg.Rate))
		p.free = t
	}
	t = t.Add(cfg.Delay)
	if t.Before(p.notBefore) {
		t = p.notBefore
	}
	return t
}

func (p *pipe) read() {
	for {
		p.mu.Lock()
		for p.queued >= p.window && !p.stopped {
			p.cond.Wait()
		}
		stopped := p.stopped
		p.mu.Unlock()
		if stopped {
			return
		}
		buf := bufPool.Get().(*[]byte)
		n, err := p.src.Read((*buf)[:p.chunkSize])
		t := time.Now()
		p.mu.Lock()
		if n > 0 {
			p.q = append(p.q, chunk{b: (*buf)[:n], buf: buf, sent: t, due: p.due(t, n)})
			p.queued += n
		} else {
			bufPool.Put(buf)
		}
		if err != nil {
			p.q = append(p.q, chunk{sent: t, due: p.due(t, 0), end: err})
		}
		p.cond.Broadcast()
		p.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (p *pipe) pop() (chunk, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.q) == 0 && !p.stopped {
		p.cond.Wait()
	}
	if p.stopped {
		return chunk{}, false
	}
	c := p.q[0]
	p.q[0] = chunk{}
	p.q = p.q[1:]
	return c, true
}

func (p *pipe) release(c chunk) {
	p.mu.Lock()
	p.queued -= len(c.b)
	p.cond.Broadcast()
	p.mu.Unlock()
	bufPool.Put(c.buf)
}

func (p *pipe) write(dst net.Conn) {
	tm := time.NewTimer(time.Hour)
	defer tm.Stop()
	for {
		c, ok := p.pop()
		if !ok {
			return
		}
		if d := time.Until(c.due); d > 0 {
			tm.Reset(d)
			select {
			case <-tm.C:
			case <-p.l.done:
				return
			}
		}
		// Delivery times are taken before the write: the receiver may
		// answer before the write returns.
		now := time.Now()
		if c.b == nil {
			if c.end == io.EOF {
				if tc, ok := dst.(*net.TCPConn); ok {
					if err := tc.CloseWrite(); err != nil {
						p.l.event(Event{Kind: Reset, Dir: p.dir, Sent: c.sent, Arrived: now, Text: err.Error()})
						p.l.abort()
						return
					}
				}
				p.l.event(Event{Kind: FIN, Dir: p.dir, Sent: c.sent, Arrived: now, Bytes: p.total})
				return
			}
			// The sender's connection failed (reset): pass the reset on.
			p.l.event(Event{Kind: Reset, Dir: p.dir, Sent: c.sent, Arrived: now, Text: c.end.Error()})
			p.l.abort()
			return
		}
		_, err := dst.Write(c.b)
		p.trace(c, now)
		p.total += int64(len(c.b))
		p.release(c)
		if err != nil {
			p.l.event(Event{Kind: Reset, Dir: p.dir, Sent: c.sent, Arrived: now, Text: err.Error()})
			p.l.abort()
			return
		}
	}
}

// maxLine bounds a traced control line.
const maxLine = 4096

func (p *pipe) trace(c chunk, arrived time.Time) {
	if p.l.p.cfg.Trace == nil {
		return
	}
	if !p.l.control {
		if p.total == 0 {
			p.l.event(Event{Kind: Data, Dir: p.dir, Sent: c.sent, Arrived: arrived, Bytes: int64(len(c.b))})
		}
		return
	}
	b := c.b
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(p.partial) < maxLine {
				p.partial = append(p.partial, b[:min(len(b), maxLine-len(p.partial))]...)
			}
			return
		}
		if len(p.partial) < maxLine {
			p.partial = append(p.partial, b[:min(i, maxLine-len(p.partial))]...)
		}
		b = b[i+1:]
		line := strings.TrimRight(string(p.partial), "\r")
		p.partial = p.partial[:0]
		if p.dir == Up && len(line) > 5 && strings.EqualFold(line[:5], "PASS ") {
			line = "PASS ****"
		}
		p.l.event(Event{Kind: Line, Dir: p.dir, Sent: c.sent, Arrived: arrived, Text: line})
	}
}
