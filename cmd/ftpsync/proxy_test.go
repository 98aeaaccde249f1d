package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProxyFor: --proxy wins (an empty one means none); without it
// ftp_proxy, then ALL_PROXY, in either case, unless NO_PROXY names the
// host; a proxy without a scheme is an HTTP one, as in curl; what cannot
// be used is a usage error that does not show the value.
func TestProxyFor(t *testing.T) {
	str := func(s string) *string { return &s }
	const dial = "ftp://u:p@files.example.com:21/"
	tests := []struct {
		name    string
		flag    *string
		env     map[string]string
		dialURL string
		want    string // "": no proxy
		wantErr string
	}{
		{"nothing", nil, nil, dial, "", ""},
		{"flag", str("socks5://a:b@127.0.0.1:1080"), map[string]string{"ALL_PROXY": "http://127.0.0.1:3128"}, dial, "socks5://a:b@127.0.0.1:1080", ""},
		{"empty flag: none", str(""), map[string]string{"ALL_PROXY": "http://127.0.0.1:3128"}, dial, "", ""},
		{"flag ignores NO_PROXY", str("http://127.0.0.1:3128"), map[string]string{"NO_PROXY": "*"}, dial, "http://127.0.0.1:3128", ""},
		{"ALL_PROXY", nil, map[string]string{"ALL_PROXY": "socks5h://127.0.0.1:1080"}, dial, "socks5h://127.0.0.1:1080", ""},
		{"all_proxy", nil, map[string]string{"all_proxy": "socks5://127.0.0.1:1080"}, dial, "socks5://127.0.0.1:1080", ""},
		{"ftp_proxy first", nil, map[string]string{"ALL_PROXY": "socks5://127.0.0.1:1", "ftp_proxy": "http://127.0.0.1:2"}, dial, "http://127.0.0.1:2", ""},
		{"FTP_PROXY", nil, map[string]string{"FTP_PROXY": "127.0.0.1:3128"}, dial, "http://127.0.0.1:3128", ""},
		{"NO_PROXY domain", nil, map[string]string{"ALL_PROXY": "socks5://127.0.0.1:1", "NO_PROXY": "other.org, .example.com"}, dial, "", ""},
		{"no_proxy star", nil, map[string]string{"ALL_PROXY": "socks5://127.0.0.1:1", "no_proxy": "*"}, dial, "", ""},
		{"NO_PROXY other", nil, map[string]string{"ALL_PROXY": "socks5://127.0.0.1:1", "NO_PROXY": "ample.com,example.co"}, dial, "socks5://127.0.0.1:1", ""},
		{"NO_PROXY CIDR", nil, map[string]string{"ALL_PROXY": "socks5://127.0.0.1:1", "NO_PROXY": "10.0.0.0/8"}, "ftp://10.1.2.3/", "", ""},
		{"NO_PROXY IP", nil, map[string]string{"ALL_PROXY": "socks5://127.0.0.1:1", "NO_PROXY": "127.0.0.5"}, "ftp://127.0.0.5/", "", ""},
		{"NO_PROXY IPv6", nil, map[string]string{"ALL_PROXY": "socks5://127.0.0.1:1", "NO_PROXY": "[::1]"}, "ftp://[::1]:2121/", "", ""},
		{"unknown scheme", str("socks4://127.0.0.1:1080"), nil, dial, "", "only socks5://, socks5h:// and http://"},
		{"not a URL", nil, map[string]string{"ALL_PROXY": "http://u:se%zzcret@127.0.0.1:3128"}, dial, "", "ALL_PROXY: not a proxy URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := proxyFor(tt.flag, tt.dialURL, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.NotContains(t, err.Error(), "cret")
				return
			}
			require.NoError(t, err)
			if tt.want == "" {
				assert.Nil(t, u)
				return
			}
			require.NotNil(t, u)
			assert.Equal(t, tt.want, u.String())
		})
	}
}

// connectProxy is an HTTP CONNECT proxy on loopback that counts its
// tunnels.
type connectProxy struct {
	ln      net.Listener
	mu      sync.Mutex
	tunnels int
	wg      sync.WaitGroup
}

func newConnectProxy(t *testing.T) *connectProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &connectProxy{ln: ln}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.tunnel(c) })
		}
	})
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *connectProxy) tunnel(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	host, _, _ := net.SplitHostPort(req.Host)
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		io.WriteString(c, "HTTP/1.1 403 Forbidden\r\n\r\n")
		return
	}
	up, err := net.Dial("tcp", req.Host)
	if err != nil {
		return
	}
	defer up.Close()
	p.mu.Lock()
	p.tunnels++
	p.mu.Unlock()
	io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	var wg sync.WaitGroup
	wg.Go(func() { io.Copy(up, br); up.(*net.TCPConn).CloseWrite() })
	io.Copy(c, up)
	c.(*net.TCPConn).CloseWrite()
	wg.Wait()
}

func (p *connectProxy) Tunnels() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tunnels
}

// TestProxyFlagAndEnvironment: get goes through the proxy of --proxy, or
// of ALL_PROXY when no flag is given, and not when NO_PROXY names the
// host: the proxy's tunnel count says which.
func TestProxyFlagAndEnvironment(t *testing.T) {
	srv := newServer(t)
	data := random(t, 100_000)
	srv.WriteFile("/f.bin", data)
	tests := []struct {
		name    string
		flags   func(proxy string) []string
		env     func(proxy string) map[string]string
		tunnels bool
	}{
		{"--proxy", func(px string) []string { return []string{"--proxy", px} }, func(string) map[string]string { return nil }, true},
		{"ALL_PROXY", func(string) []string { return nil }, func(px string) map[string]string { return map[string]string{"ALL_PROXY": px} }, true},
		{"NO_PROXY", func(string) []string { return nil }, func(px string) map[string]string {
			return map[string]string{"ALL_PROXY": px, "NO_PROXY": "127.0.0.1"}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			px := newConnectProxy(t)
			pxURL := "http://" + px.ln.Addr().String()
			local := filepath.Join(t.TempDir(), "f.bin")
			args := append([]string{"get", at(srv, "f.bin"), local}, tt.flags(pxURL)...)
			r := ftpsync(t, tt.env(pxURL), args...)
			require.Equal(t, exitOK, r.code, r.stderr)
			got, err := os.ReadFile(local)
			require.NoError(t, err)
			assert.Equal(t, data, got)
			if tt.tunnels {
				assert.GreaterOrEqual(t, px.Tunnels(), 2, "the control connection and the data connection")
			} else {
				assert.Zero(t, px.Tunnels())
			}
		})
	}
}

// TestDoctorThroughProxy: doctor goes through the proxy that --proxy or
// the environment names, as every other command does, and says which
// probes a proxy rules out instead of making them directly.
func TestDoctorThroughProxy(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("/pub/a.txt", []byte("hello"))
	for _, how := range []string{"--proxy", "ALL_PROXY"} {
		t.Run(how, func(t *testing.T) {
			px := newConnectProxy(t)
			pxURL := "http://" + px.ln.Addr().String()
			args := []string{"doctor", "--json", "--timeout", "5s", at(srv, "pub/")}
			env := map[string]string{"ALL_PROXY": pxURL}
			if how == "--proxy" {
				args, env = append(args, "--proxy", pxURL), nil
			}
			r := ftpsync(t, env, args...)
			require.Equal(t, exitOK, r.code, r.stderr)
			var rep doctorJSON
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
			st, _ := rep.status("epsv")
			assert.Equal(t, "ok", st, "a listing through the proxy")
			st, detail := rep.status("active")
			assert.Equal(t, "skip", st)
			assert.Contains(t, detail, "through a proxy")
			st, _ = rep.status("tls-probes")
			assert.Equal(t, "skip", st)
			// The doctor's session, the listings' data connections and the
			// connection-limit probe's sessions: all through the proxy.
			assert.Greater(t, px.Tunnels(), maxConnProbe, "every connection goes through the proxy")
		})
	}
}
