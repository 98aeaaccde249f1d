package ftp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testProxy is a SOCKS5 or HTTP CONNECT proxy on loopback, for tests: it
// tunnels to loopback addresses only, and counts its tunnels.
type testProxy struct {
	ln         net.Listener
	kind       string // "socks5" or "http"
	user, pass string // required credentials; "" for none
	refuse     int    // HTTP: answer CONNECT with this status, when not 0
	// holdVerb, when set, holds a line of the first tunnel (the control
	// connection) that starts with it until another tunnel (a data
	// connection) has carried bytes from the client, or holdFor: as a
	// proxy that relays each connection on its own may deliver them.
	holdVerb string
	dataSeen chan struct{} // closed at the first byte a data tunnel carries up
	seenOnce sync.Once

	mu      sync.Mutex
	targets []string // each tunnel's destination, in order
	conns   []net.Conn
	wg      sync.WaitGroup
}

// newTestProxy starts a proxy of kind; user and pass, when set, are the
// only credentials it accepts. It stops when the test ends.
func newTestProxy(t *testing.T, kind, user, pass string) *testProxy {
	t.Helper()
	return newTestProxyOn(t, "127.0.0.1:0", kind, user, pass)
}

// newTestProxyOn is newTestProxy listening on addr.
func newTestProxyOn(t *testing.T, addr, kind, user, pass string) *testProxy {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	return startProxy(t, &testProxy{ln: ln, kind: kind, user: user, pass: pass})
}

// startProxy serves p until the test ends.
func startProxy(t *testing.T, p *testProxy) *testProxy {
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// URL returns the proxy's URL, with the credentials given.
func (p *testProxy) URL(user, pass string) *url.URL {
	u := &url.URL{Scheme: p.kind, Host: p.ln.Addr().String()}
	if user != "" {
		u.User = url.UserPassword(user, pass)
	}
	return u
}

// Targets returns the destinations of the tunnels opened so far.
func (p *testProxy) Targets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.targets...)
}

func (p *testProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *testProxy) track(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns = append(p.conns, c)
}

func (p *testProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.track(c)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer c.Close()
			br := bufio.NewReader(c)
			var up net.Conn
			if p.kind == "http" {
				up = p.handshakeHTTP(c, br)
			} else {
				up = p.handshakeSOCKS(c, br)
			}
			if up != nil {
				p.relay(c, br, up, len(p.Targets()) == 1)
			}
		}()
	}
}

// dialTarget connects to a loopback target, or fails.
func (p *testProxy) dialTarget(target string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		return nil, err
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 || !ips[0].IsLoopback() {
		return nil, fmt.Errorf("test proxy: %s is not on loopback", target)
	}
	return net.Dial("tcp", target)
}

// holdFor bounds how long holdVerb holds a control line.
const holdFor = 500 * time.Millisecond

// upstream is what carries a tunnel's bytes from the client: as they come,
// or with holdVerb's rule (see testProxy).
func (p *testProxy) upstream(src io.Reader, control bool) io.Reader {
	if p.holdVerb == "" {
		return src
	}
	if !control {
		return readHook{r: src, seen: func() { p.seenOnce.Do(func() { close(p.dataSeen) }) }}
	}
	return readHook{r: src, verb: p.holdVerb, held: p.dataSeen}
}

// readHook is a Reader that calls seen after each read that returned
// bytes, or, with verb set, waits (at most holdFor) for held to close
// before it returns a read that holds a line starting with verb.
type readHook struct {
	r    io.Reader
	seen func()
	verb string
	held <-chan struct{}
}

func (h readHook) Read(b []byte) (int, error) {
	n, err := h.r.Read(b)
	if n > 0 && h.seen != nil {
		h.seen()
	}
	if n > 0 && h.verb != "" && (bytes.HasPrefix(b[:n], []byte(h.verb)) || bytes.Contains(b[:n], []byte("\n"+h.verb))) {
		select {
		case <-h.held:
		case <-time.After(holdFor):
		}
	}
	return n, err
}

// relay carries a tunnel both ways, passing half-closes on; control is
// the first tunnel.
func (p *testProxy) relay(c net.Conn, br *bufio.Reader, up net.Conn, control bool) {
	var wg sync.WaitGroup
	wg.Add(2)
	pipe := func(dst net.Conn, src io.Reader) {
		defer wg.Done()
		if _, err := io.Copy(dst, src); err != nil {
			dst.(*net.TCPConn).SetLinger(0) // pass a reset on
			dst.Close()
			return
		}
		dst.(*net.TCPConn).CloseWrite()
	}
	go pipe(up, p.upstream(br, control))
	go pipe(c, up)
	wg.Wait()
	up.Close()
}

// connectTarget dials target and records it as a tunnel; nil if it
// could not.
func (p *testProxy) connectTarget(target string) net.Conn {
	up, err := p.dialTarget(target)
	if err != nil {
		return nil
	}
	p.mu.Lock()
	p.targets = append(p.targets, target)
	p.conns = append(p.conns, up)
	p.mu.Unlock()
	return up
}

func (p *testProxy) handshakeHTTP(c net.Conn, br *bufio.Reader) net.Conn {
	req, err := http.ReadRequest(br)
	if err != nil || req.Method != http.MethodConnect {
		return nil
	}
	status := 0
	if p.user != "" {
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte(p.user+":"+p.pass))
		if req.Header.Get("Proxy-Authorization") != want {
			status = http.StatusProxyAuthRequired
		}
	}
	p.mu.Lock()
	if status == 0 && p.refuse != 0 {
		status = p.refuse
	}
	p.mu.Unlock()
	var up net.Conn
	if status == 0 {
		if up = p.connectTarget(req.Host); up == nil {
			status = http.StatusBadGateway
		}
	}
	if status != 0 {
		fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\n\r\n", status, http.StatusText(status))
		return nil
	}
	io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	return up
}

func (p *testProxy) handshakeSOCKS(c net.Conn, br *bufio.Reader) net.Conn {
	hello := make([]byte, 2)
	if _, err := io.ReadFull(br, hello); err != nil || hello[0] != 5 {
		return nil
	}
	methods := make([]byte, hello[1])
	if _, err := io.ReadFull(br, methods); err != nil {
		return nil
	}
	want := byte(0)
	if p.user != "" {
		want = 2
	}
	if !bytes.Contains(methods, []byte{want}) {
		c.Write([]byte{5, 0xff})
		return nil
	}
	c.Write([]byte{5, want})
	if want == 2 {
		var user, pass string
		ok := readSOCKSAuth(br, &user, &pass)
		if !ok || user != p.user || pass != p.pass {
			c.Write([]byte{1, 1})
			return nil
		}
		c.Write([]byte{1, 0})
	}
	head := make([]byte, 4)
	if _, err := io.ReadFull(br, head); err != nil || head[1] != 1 {
		return nil
	}
	var host string
	switch head[3] {
	case 1, 4:
		ip := make([]byte, map[byte]int{1: 4, 4: 16}[head[3]])
		io.ReadFull(br, ip)
		host = net.IP(ip).String()
	case 3:
		n, _ := br.ReadByte()
		name := make([]byte, n)
		io.ReadFull(br, name)
		host = string(name)
	}
	port := make([]byte, 2)
	if _, err := io.ReadFull(br, port); err != nil {
		return nil
	}
	target := net.JoinHostPort(host, strconv.Itoa(int(port[0])<<8|int(port[1])))
	up := p.connectTarget(target)
	if up == nil {
		c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}) // connection refused
		return nil
	}
	c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	return up
}

func readSOCKSAuth(br *bufio.Reader, user, pass *string) bool {
	field := func() (string, bool) {
		n, err := br.ReadByte()
		b := make([]byte, n)
		_, err2 := io.ReadFull(br, b)
		return string(b), err == nil && err2 == nil
	}
	if v, err := br.ReadByte(); err != nil || v != 1 {
		return false
	}
	u, ok1 := field()
	pw, ok2 := field()
	*user, *pass = u, pw
	return ok1 && ok2
}

// dialRecorder is a WithDialFunc that records every address the client
// dials itself.
type dialRecorder struct {
	mu    sync.Mutex
	addrs []string
}

func (d *dialRecorder) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.addrs = append(d.addrs, addr)
	d.mu.Unlock()
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func (d *dialRecorder) Addrs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.addrs...)
}

// TestProxyCarriesEveryConnection: through a SOCKS5 and an HTTP CONNECT
// proxy, with and without credentials, plain and FTPS, a session logs in,
// lists, uploads and downloads (zero-copy too), and every connection the
// client opens goes to the proxy: the proxy's tunnels are the control
// connection and one per EPSV or PASV, all to the server.
func TestProxyCarriesEveryConnection(t *testing.T) {
	data := randomBytes(t, 1<<20)
	for _, kind := range []string{"socks5", "http"} {
		for _, creds := range []bool{false, true} {
			for _, secure := range []bool{false, true} {
				name := fmt.Sprintf("%s/auth=%v/tls=%v", kind, creds, secure)
				t.Run(name, func(t *testing.T) {
					user, pass := "", ""
					if creds {
						user, pass = "proxyuser", "pr0xy-s3cret"
					}
					px := newTestProxy(t, kind, user, pass)
					var sopts []ftptest.ServerOption
					if secure {
						sopts = append(sopts, ftptest.WithExplicitTLS(), ftptest.WithRequireTLS())
					}
					srv := newServer(t, sopts...)
					srv.WriteFile("f.bin", data)
					rec := &dialRecorder{}
					var trace bytes.Buffer
					opts := []Option{WithProxy(px.URL(user, pass)), WithDialFunc(rec.dial), WithTimeout(20 * time.Second), WithDebug(&trace)}
					var c *Conn
					if secure {
						c = dialTLS(t, srv, "explicit", opts...)
					} else {
						c = dialTest(t, srv, opts...)
					}
					ctx := context.Background()
					require.NoError(t, c.Stor(ctx, "up.bin", bytes.NewReader(data)))
					got, err := srv.ReadFile("up.bin")
					require.NoError(t, err)
					assert.True(t, bytes.Equal(data, got), "upload")
					r, err := c.Retr(ctx, "f.bin")
					require.NoError(t, err)
					var buf bytes.Buffer
					_, err = io.Copy(&buf, r)
					require.NoError(t, err)
					require.NoError(t, r.Close())
					assert.True(t, bytes.Equal(data, buf.Bytes()), "download")
					entries, err := c.List(ctx, "/")
					require.NoError(t, err)
					assert.Len(t, entries, 2)
					require.NoError(t, c.Quit(ctx))

					proxyAddr := px.ln.Addr().String()
					assert.Contains(t, trace.String(), "# connected through the proxy "+kind+"://"+proxyAddr+",")
					if creds {
						assert.NotContains(t, trace.String(), pass)
						assert.NotContains(t, trace.String(), user)
					}
					dialled := rec.Addrs()
					for _, a := range dialled {
						assert.Equal(t, proxyAddr, a, "every dial goes to the proxy")
					}
					targets := px.Targets()
					assert.Len(t, dialled, len(targets))
					transfers := countVerb(srv, "STOR") + countVerb(srv, "RETR") + countVerb(srv, "MLSD") + countVerb(srv, "LIST")
					assert.Equal(t, 1+transfers, len(targets), "the control connection and one per data connection")
					assert.GreaterOrEqual(t, len(targets), 4)
					_, srvPort, _ := net.SplitHostPort(srv.Addr())
					assert.Equal(t, srv.Addr(), targets[0], "control")
					for _, tg := range targets[1:] {
						host, port, _ := net.SplitHostPort(tg)
						assert.Equal(t, "127.0.0.1", host, "data")
						assert.NotEqual(t, srvPort, port, "data")
					}
				})
			}
		}
	}
}

// TestProxyFailures: each way a proxy fails is a *ProxyError that says
// which proxy and why, and never shows its credentials, not in the error
// nor in the trace.
func TestProxyFailures(t *testing.T) {
	srv := newServer(t)
	const pass = "wr0ng-pr0xy-pass"
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedAddr := closed.Addr().String()
	closed.Close() // a closed loopback port: nothing listens
	tests := []struct {
		name     string
		proxy    func(t *testing.T) *url.URL
		wantIs   error
		wantCode int
		wantText string
	}{
		{"SOCKS5 refuses the password", func(t *testing.T) *url.URL {
			return newTestProxy(t, "socks5", "u", "right").URL("u", pass)
		}, ErrProxyAuth, 0, "authentication failed"},
		{"SOCKS5 wants credentials, none given", func(t *testing.T) *url.URL {
			return newTestProxy(t, "socks5", "u", "right").URL("", "")
		}, ErrProxyAuth, 0, "no acceptable authentication methods"},
		{"CONNECT 407", func(t *testing.T) *url.URL {
			return newTestProxy(t, "http", "u", "right").URL("u", pass)
		}, ErrProxyAuth, 407, "407 Proxy Authentication Required"},
		{"CONNECT 403", func(t *testing.T) *url.URL {
			px := newTestProxy(t, "http", "", "")
			px.refuse = http.StatusForbidden
			return px.URL("u", pass)
		}, nil, 403, "CONNECT refused: HTTP/1.1 403 Forbidden"},
		{"SOCKS5 proxy down", func(t *testing.T) *url.URL {
			return &url.URL{Scheme: "socks5", Host: closedAddr, User: url.UserPassword("u", pass)}
		}, syscall.ECONNREFUSED, 0, "connection refused"},
		{"HTTP proxy down", func(t *testing.T) *url.URL {
			return &url.URL{Scheme: "http", Host: closedAddr, User: url.UserPassword("u", pass)}
		}, syscall.ECONNREFUSED, 0, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.proxy(t)
			var trace bytes.Buffer
			_, err := Dial(context.Background(), srv.Addr(), WithProxy(u), WithDebug(&trace), WithTimeout(5*time.Second))
			require.Error(t, err)
			var perr *ProxyError
			require.ErrorAs(t, err, &perr)
			assert.Equal(t, u.Scheme+"://"+u.Host, perr.Proxy)
			assert.Equal(t, srv.Addr(), perr.Addr)
			assert.Equal(t, tt.wantCode, perr.Code)
			if tt.wantIs != nil {
				assert.ErrorIs(t, err, tt.wantIs)
			} else {
				assert.NotErrorIs(t, err, ErrProxyAuth)
			}
			assert.Contains(t, err.Error(), tt.wantText)
			assert.Equal(t, 1, strings.Count(err.Error(), "ftp: "), err.Error())
			assert.NotContains(t, err.Error()+trace.String(), pass)
			assert.NotContains(t, err.Error()+trace.String(), base64.StdEncoding.EncodeToString([]byte("u:"+pass)))
		})
	}
}

// TestProxyRefusesWhatCannotWork: active mode and an unknown kind of
// proxy are refused before anything is dialled, with errors that say why.
func TestProxyRefusesWhatCannotWork(t *testing.T) {
	srv := newServer(t)
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"active mode", []Option{WithProxy(&url.URL{Scheme: "socks5", Host: "127.0.0.1:1080"}), WithActive()}, "active mode (WithActive) cannot work through a proxy"},
		{"https proxy", []Option{WithProxy(&url.URL{Scheme: "https", Host: "127.0.0.1:1080", User: url.UserPassword("u", "s3cret")})}, `proxy scheme "https"`},
		{"no host", []Option{WithProxy(&url.URL{Scheme: "socks5"})}, "has no host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &dialRecorder{}
			_, err := Dial(context.Background(), srv.Addr(), append(tt.opts, WithDialFunc(rec.dial))...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "s3cret")
			assert.Empty(t, rec.Addrs(), "nothing dialled")
		})
	}
}

// TestProxyDataConnectionRefused: a proxy that refuses a data connection
// fails the transfer with a DataConnError around the ProxyError; the
// session stays usable.
func TestProxyDataConnectionRefused(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("f.bin", []byte("data"))
	px := newTestProxy(t, "http", "", "")
	c := dialTest(t, srv, WithProxy(px.URL("", "")))
	px.mu.Lock()
	px.refuse = http.StatusForbidden
	px.mu.Unlock()
	_, err := c.Retr(context.Background(), "f.bin")
	var dce *DataConnError
	require.ErrorAs(t, err, &dce)
	var perr *ProxyError
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, 403, perr.Code)
	assert.Contains(t, dce.Hint, "active mode cannot work through a proxy")
	assert.NotContains(t, dce.Hint, "WithActive", "refused through a proxy: not a hint to give")
	require.NoError(t, c.NoOp(context.Background()))
}

// TestProxyTrustedPASVAddress: through a proxy, WithTrustedPASVAddress
// judges the PASV address against the server's address as dialled: a
// loopback address is taken from a server dialled by a loopback IP, and
// refused from one dialled by name, whose address only the proxy knows.
func TestProxyTrustedPASVAddress(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("f.bin", []byte("data"))
	px := newTestProxy(t, "socks5", "", "")
	_, port, _ := net.SplitHostPort(srv.Addr())
	opts := []Option{WithProxy(px.URL("", "")), WithTrustedPASVAddress(), WithoutEPSV(), WithTimeout(10 * time.Second)}
	tests := []struct {
		host string
		ok   bool
	}{{"127.0.0.1", true}, {"localhost", false}}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			ctx := context.Background()
			c, err := Dial(ctx, net.JoinHostPort(tt.host, port), opts...)
			require.NoError(t, err)
			defer c.Close()
			require.NoError(t, c.Login(ctx, srv.User(), srv.Password()))
			_, err = c.NameList(ctx, "/")
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrMalformedReply)
			assert.Contains(t, err.Error(), "PASV reply names 127.0.0.1")
		})
	}
}

// TestProxyHostileConnectReply: what an HTTP proxy answers to CONNECT is
// read within 16 KiB, its status line is escaped and clipped in the
// error, and a proxy that hangs up is an error: never a hang, a panic or
// unbounded memory.
func TestProxyHostileConnectReply(t *testing.T) {
	tests := []struct {
		name  string
		reply string
		is    error
		text  string
	}{
		{"endless headers", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Pad: yyyyyyyy\r\n", 2000), ErrMalformedReply, "over 16384 bytes"},
		{"not HTTP", "SSH-2.0-OpenSSH_9.6\r\n\r\n", ErrMalformedReply, `CONNECT reply "SSH-2.0-OpenSSH_9.6`},
		{"escape sequences", "HTTP/1.1 502 \x1b[2J\x1b]0;owned\x07\r\n\r\n", nil, `502 \x1b[2J\x1b]0;owned\x07`},
		{"hang-up", "HTTP/1.1 200", io.EOF, "reading the reply to CONNECT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer ln.Close()
			done := make(chan struct{})
			go func() {
				defer close(done)
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				bufio.NewReader(c).ReadString('\n')
				io.WriteString(c, tt.reply)
			}()
			_, err = Dial(context.Background(), "127.0.0.1:21", WithProxy(&url.URL{Scheme: "http", Host: ln.Addr().String()}), WithTimeout(5*time.Second))
			<-done
			var perr *ProxyError
			require.ErrorAs(t, err, &perr)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			assert.Contains(t, err.Error(), tt.text)
			assert.NotContains(t, err.Error(), "\x1b")
		})
	}
}

// TestProxyOnIPv6ServerByName: the control connection's peer is the
// proxy, so a proxy on IPv6 does not make an IPv4 server dialled by name
// an IPv6 one: WithoutEPSV still gets PASV.
func TestProxyOnIPv6ServerByName(t *testing.T) {
	px := newTestProxyOn(t, "[::1]:0", "socks5", "", "")
	srv := newServer(t, ftptest.WithFiles(map[string][]byte{"f": []byte("x")}))
	_, port, _ := net.SplitHostPort(srv.Addr())
	ctx := context.Background()
	c, err := Dial(ctx, net.JoinHostPort("localhost", port), WithProxy(px.URL("", "")), WithoutEPSV(), WithTimeout(10*time.Second))
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Login(ctx, srv.User(), srv.Password()))
	names, err := c.NameList(ctx, "/")
	require.NoError(t, err)
	assert.Equal(t, []string{"f"}, names)
	assert.Contains(t, verbs(srv), "PASV")
	assert.NotContains(t, verbs(srv), "EPSV")
}

// TestProxyUploadWaitsForCommand: through a proxy, the data of an upload
// can overtake its STOR, as the proxy relays the two connections on their
// own; a server that takes data before the command for a disconnection
// (pyftpdlib, ftptest.WithEarlyDataLost) then loses the upload. The
// client sends no data before the server's first reply to STOR, so the
// upload arrives whatever the proxy does. The proxy here holds STOR back
// until the data connection has carried bytes (at most holdFor).
func TestProxyUploadWaitsForCommand(t *testing.T) {
	for _, kind := range []string{"socks5", "http"} {
		t.Run(kind, func(t *testing.T) {
			srv := newServer(t, ftptest.WithEarlyDataLost())
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			px := startProxy(t, &testProxy{ln: ln, kind: kind, holdVerb: "STOR", dataSeen: make(chan struct{})})
			c := dialTest(t, srv, WithProxy(px.URL("", "")), WithTimeout(3*time.Second))
			data := bytes.Repeat([]byte("upload through a proxy\n"), 1000)
			require.NoError(t, c.Stor(context.Background(), "up.txt", bytes.NewReader(data)))
			got, err := srv.ReadFile("/up.txt")
			require.NoError(t, err)
			assert.Equal(t, data, got)
		})
	}
}
