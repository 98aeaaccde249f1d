package ftptest_test

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clientTLS returns a client config that trusts srv, for ServerName
// 127.0.0.1.
func clientTLS(srv *ftptest.Server) *tls.Config {
	cfg := srv.ClientTLSConfig()
	cfg.ServerName = "127.0.0.1"
	return cfg
}

// startTLS sends AUTH TLS and runs the client side of the handshake on the
// control connection.
func (c *client) startTLS(cfg *tls.Config) {
	c.t.Helper()
	c.cmd("AUTH TLS", 234)
	tc := tls.Client(c.conn, cfg)
	require.NoError(c.t, tc.Handshake())
	c.conn, c.r = tc, bufio.NewReader(tc)
}

// loginTLS connects to srv, secures the control connection with cfg, logs
// in and asks for protected data connections.
func loginTLS(t *testing.T, srv *ftptest.Server, cfg *tls.Config) *client {
	t.Helper()
	c := dialRaw(t, srv.Addr())
	c.expect(220)
	c.startTLS(cfg)
	c.cmd("USER "+srv.User(), 331)
	c.cmd("PASS "+srv.Password(), 230)
	c.cmd("PBSZ 0", 200)
	c.cmd("PROT P", 200)
	return c
}

// dialImplicit connects to srv with TLS from the first byte and reads the
// greeting.
func dialImplicit(t *testing.T, srv *ftptest.Server, cfg *tls.Config) *client {
	t.Helper()
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: cfg}
	conn, err := d.Dial("tcp", srv.Addr())
	require.NoError(t, err)
	require.NoError(t, conn.SetDeadline(time.Now().Add(timeout)))
	t.Cleanup(func() { conn.Close() })
	c := &client{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.expect(220)
	return c
}

// getTLS runs a download command over a protected passive connection and
// returns the data, the final reply code and the data connection's state.
func (c *client) getTLS(line string, cfg *tls.Config) ([]byte, int, tls.ConnectionState) {
	c.t.Helper()
	data := c.passive("EPSV")
	c.cmd(line, 150)
	tc := tls.Client(data, cfg)
	require.NoError(c.t, tc.Handshake())
	b, err := io.ReadAll(tc)
	require.NoError(c.t, err)
	code, _ := c.read()
	return b, code, tc.ConnectionState()
}

// putTLS runs an upload command over a protected passive connection and
// returns the final reply code. It ends the data with a close_notify, or
// with closeNotify false with a bare FIN, then waits for the server's end.
func (c *client) putTLS(line string, payload []byte, cfg *tls.Config, closeNotify bool) int {
	c.t.Helper()
	data := c.passive("EPSV")
	c.cmd(line, 150)
	tc := tls.Client(data, cfg)
	require.NoError(c.t, tc.Handshake())
	_, err := tc.Write(payload)
	require.NoError(c.t, err)
	if closeNotify {
		require.NoError(c.t, tc.CloseWrite())
	} else {
		require.NoError(c.t, data.(*net.TCPConn).CloseWrite())
	}
	_, err = io.ReadAll(tc) // session tickets, then the server's close_notify
	require.NoError(c.t, err)
	code, _ := c.read()
	return code
}

// randomData returns n random bytes.
func randomData(t *testing.T, n int) []byte {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// reuseCache is a client session cache as an FTPS client needs it: the
// control connection stores its session, every data connection gets that
// session back whatever the key.
type reuseCache struct {
	mu      sync.Mutex
	session *tls.ClientSessionState
}

func (c *reuseCache) Get(string) (*tls.ClientSessionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session, c.session != nil
}

func (c *reuseCache) Put(_ string, cs *tls.ClientSessionState) {
	if cs != nil {
		c.mu.Lock()
		c.session = cs
		c.mu.Unlock()
	}
}

// readOnly is the view of a reuseCache for data connections: their
// sessions are not stored.
type readOnly struct{ *reuseCache }

func (readOnly) Put(string, *tls.ClientSessionState) {}

// reuseConfigs returns a control and a data config sharing a reuseCache.
func reuseConfigs(srv *ftptest.Server) (control, data *tls.Config, cache *reuseCache) {
	cache = &reuseCache{}
	control = clientTLS(srv)
	control.ClientSessionCache = cache
	data = clientTLS(srv)
	data.ClientSessionCache = readOnly{cache}
	return control, data, cache
}

func TestExplicitTLSLoginAndFEAT(t *testing.T) {
	srv := newServer(t, ftptest.WithExplicitTLS())
	c := dialRaw(t, srv.Addr())
	c.expect(220)
	feat := c.cmd("FEAT", 211)
	for _, f := range []string{" AUTH TLS", " PBSZ", " PROT"} {
		assert.Contains(t, strings.Split(feat, "\n"), f)
	}
	c.cmd("PBSZ 0", 503)
	c.cmd("PROT P", 503)
	c.cmd("AUTH KERBEROS_V4", 504)
	c.startTLS(clientTLS(srv))
	c.cmd("AUTH TLS", 503)
	c.cmd("USER "+srv.User(), 331)
	c.cmd("PASS "+srv.Password(), 230)
	c.cmd("PROT P", 503) // before PBSZ
	c.cmd("PBSZ 0", 200)
	c.cmd("PROT S", 536)
	c.cmd("PROT E", 536)
	c.cmd("PROT X", 504)
	c.cmd("PROT C", 200)
	c.cmd("PROT P", 200)
	c.cmd("CCC", 533)
	c.cmd("PWD", 257)
	assert.Subset(t, srv.Commands(), []string{"AUTH TLS", "PBSZ 0", "PROT P"})
}

func TestAuthSSL(t *testing.T) {
	srv := newServer(t, ftptest.WithExplicitTLS())
	c := dialRaw(t, srv.Addr())
	c.expect(220)
	c.cmd("AUTH SSL", 234)
	tc := tls.Client(c.conn, clientTLS(srv))
	require.NoError(t, tc.Handshake())
	c.conn, c.r = tc, bufio.NewReader(tc)
	c.cmd("NOOP", 200)
}

func TestTLSCommandsWithoutTLS(t *testing.T) {
	srv := newServer(t)
	c := login(t, srv)
	c.cmd("AUTH TLS", 502)
	c.cmd("PBSZ 0", 502)
	c.cmd("PROT P", 502)
	c.cmd("CCC", 502)
	assert.NotContains(t, c.cmd("FEAT", 211), "AUTH")
}

func TestImplicitTLS(t *testing.T) {
	srv := newServer(t, ftptest.WithImplicitTLS(), ftptest.WithFiles(map[string][]byte{"a.txt": []byte("hello")}))
	u, err := url.Parse(srv.URL())
	require.NoError(t, err)
	assert.Equal(t, "ftps", u.Scheme)
	assert.Equal(t, srv.Addr(), u.Host)

	cfg := clientTLS(srv)
	c := dialImplicit(t, srv, cfg)
	feat := strings.Split(c.cmd("FEAT", 211), "\n")
	assert.Contains(t, feat, " PBSZ")
	assert.Contains(t, feat, " PROT")
	assert.NotContains(t, feat, " AUTH TLS")
	c.cmd("AUTH TLS", 503)
	c.cmd("USER "+srv.User(), 331)
	c.cmd("PASS "+srv.Password(), 230)
	c.cmd("PBSZ 0", 200)
	c.cmd("PROT P", 200)
	b, code, _ := c.getTLS("RETR a.txt", cfg)
	assert.Equal(t, 226, code)
	assert.Equal(t, "hello", string(b))
}

func TestImplicitTLSRefusesPlain(t *testing.T) {
	srv := newServer(t, ftptest.WithImplicitTLS())
	c := dialRaw(t, srv.Addr())
	c.send("USER user") // not a ClientHello: the server hangs up
	b, err := io.ReadAll(c.r)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "220")
	assert.NotContains(t, string(b), "331")
}

func TestProtectedPassiveTransfers(t *testing.T) {
	payload := randomData(t, 1<<20)
	srv := newServer(t, ftptest.WithExplicitTLS(), ftptest.WithFiles(map[string][]byte{"big": payload}))
	cfg := clientTLS(srv)
	c := loginTLS(t, srv, cfg)
	c.cmd("TYPE I", 200)

	got, code, st := c.getTLS("RETR big", cfg)
	assert.Equal(t, 226, code)
	assert.True(t, bytes.Equal(payload, got), "downloaded data differs")
	assert.Equal(t, uint16(tls.VersionTLS13), st.Version)

	for _, closeNotify := range []bool{true, false} {
		name := "up-fin"
		if closeNotify {
			name = "up-close-notify"
		}
		assert.Equal(t, 226, c.putTLS("STOR "+name, payload, cfg, closeNotify), name)
		stored, err := srv.ReadFile(name)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(payload, stored), "%s: uploaded data differs", name)
	}

	c.cmd("PROT C", 200)
	clear, code := c.get("RETR big")
	assert.Equal(t, 226, code)
	assert.True(t, bytes.Equal(payload, clear))
	assert.Len(t, srv.DataTLS(), 3)
}

func TestProtectedActiveDownload(t *testing.T) {
	payload := randomData(t, 1<<20)
	srv := newServer(t, ftptest.WithExplicitTLS(), ftptest.WithFiles(map[string][]byte{"big": payload}))
	cfg := clientTLS(srv)
	c := loginTLS(t, srv, cfg)
	for _, verb := range []string{"PORT", "EPRT"} {
		ln := listen(t, "127.0.0.1")
		c.cmd(verb+" "+activeArg(verb, ln), 200)
		c.cmd("RETR big", 150)
		conn, err := ln.Accept()
		require.NoError(t, err)
		require.NoError(t, conn.SetDeadline(time.Now().Add(timeout)))
		tc := tls.Client(conn, cfg) // the FTP client is the TLS client
		require.NoError(t, tc.Handshake())
		got, err := io.ReadAll(tc)
		require.NoError(t, err)
		tc.Close()
		c.expect(226)
		assert.True(t, bytes.Equal(payload, got), "%s: downloaded data differs", verb)
	}
}

func TestDataHandshakeFailure(t *testing.T) {
	srv := newServer(t, ftptest.WithExplicitTLS(), ftptest.WithFiles(map[string][]byte{"a": []byte("x")}))
	c := loginTLS(t, srv, clientTLS(srv))
	data := c.passive("EPSV")
	c.cmd("RETR a", 150)
	_, err := io.WriteString(data, "not a ClientHello\r\n")
	require.NoError(t, err)
	text := c.expect(522)
	assert.Contains(t, text, "SSL connection failed")
	c.cmd("NOOP", 200)
}

func TestRequireTLSReuse(t *testing.T) {
	versions := map[string]func(*tls.Config){
		"TLS1.2": func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 },
		"TLS1.3": func(c *tls.Config) { c.MinVersion = tls.VersionTLS13 },
	}
	for name, adjust := range versions {
		t.Run(name, func(t *testing.T) {
			want := uint16(tls.VersionTLS12)
			if name == "TLS1.3" {
				want = tls.VersionTLS13
			}
			payload := randomData(t, 64<<10)
			srv := newServer(t, ftptest.WithRequireTLSReuse(), ftptest.WithTLSConfig(adjust),
				ftptest.WithFiles(map[string][]byte{"f": payload}))
			control, data, _ := reuseConfigs(srv)
			c := loginTLS(t, srv, control)

			const n = 20
			for i := range n {
				got, code, st := c.getTLS("RETR f", data)
				require.Equal(t, 226, code, "transfer %d", i)
				require.True(t, bytes.Equal(payload, got), "transfer %d: data differs", i)
				require.True(t, st.DidResume, "transfer %d", i)
			}
			require.Equal(t, 226, c.putTLS("STOR up", payload, data, true))

			ln := listen(t, "127.0.0.1")
			c.cmd("EPRT "+activeArg("EPRT", ln), 200)
			c.cmd("RETR f", 150)
			conn, err := ln.Accept()
			require.NoError(t, err)
			tc := tls.Client(conn, data)
			require.NoError(t, conn.SetDeadline(time.Now().Add(timeout)))
			got, err := io.ReadAll(tc)
			require.NoError(t, err)
			tc.Close()
			c.expect(226)
			assert.True(t, bytes.Equal(payload, got))

			infos := srv.DataTLS()
			require.Len(t, infos, n+2)
			for i, info := range infos {
				assert.Equal(t, ftptest.DataTLSInfo{Version: want, Resumed: true, ControlSession: true}, info, "data connection %d", i)
			}
			assert.Zero(t, srv.TLSReuseRefusals())
		})
	}
}

func TestRequireTLSReuseRefusesFreshSession(t *testing.T) {
	srv := newServer(t, ftptest.WithRequireTLSReuse(), ftptest.WithFiles(map[string][]byte{"f": []byte("data")}))
	control, data, _ := reuseConfigs(srv)
	c := loginTLS(t, srv, control)

	got, code, st := c.getTLS("RETR f", clientTLS(srv)) // no session cache
	assert.False(t, st.DidResume)
	assert.Empty(t, got)
	assert.Equal(t, 522, code)
	assert.Equal(t, 1, srv.TLSReuseRefusals())
	assert.Equal(t, []ftptest.DataTLSInfo{{Version: tls.VersionTLS13}}, srv.DataTLS())

	// The session goes on, and a transfer that resumes works.
	got, code, _ = c.getTLS("RETR f", data)
	assert.Equal(t, 226, code)
	assert.Equal(t, "data", string(got))
	assert.Equal(t, 1, srv.TLSReuseRefusals())
}

func TestRequireTLSReuseReplyText(t *testing.T) {
	srv := newServer(t, ftptest.WithRequireTLSReuse(), ftptest.WithFiles(map[string][]byte{"f": []byte("data")}))
	control, _, _ := reuseConfigs(srv)
	c := loginTLS(t, srv, control)
	conn := c.passive("EPSV")
	c.cmd("RETR f", 150)
	tc := tls.Client(conn, clientTLS(srv))
	require.NoError(t, tc.Handshake())
	_, _ = io.ReadAll(tc)
	assert.Equal(t, "522 SSL connection failed: session reuse required", c.expect(522))
}

func TestRequireTLSReuseRefusesOtherSession(t *testing.T) {
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			srv := newServer(t, ftptest.WithRequireTLSReuse(),
				ftptest.WithTLSConfig(func(c *tls.Config) { c.MinVersion, c.MaxVersion = version, version }),
				ftptest.WithFiles(map[string][]byte{"f": []byte("data")}))
			controlA, dataA, _ := reuseConfigs(srv)
			a := loginTLS(t, srv, controlA)
			controlB, _, _ := reuseConfigs(srv)
			b := loginTLS(t, srv, controlB)

			// B offers A's control session.
			got, code, st := b.getTLS("RETR f", dataA)
			assert.Equal(t, 522, code)
			assert.Empty(t, got)
			assert.False(t, st.DidResume)
			assert.Equal(t, 1, srv.TLSReuseRefusals())

			// A itself may use it.
			got, code, _ = a.getTLS("RETR f", dataA)
			assert.Equal(t, 226, code)
			assert.Equal(t, "data", string(got))
			assert.Equal(t, 1, srv.TLSReuseRefusals())
		})
	}
}

func TestRequireTLSReuseRefusesDataTicket(t *testing.T) {
	srv := newServer(t, ftptest.WithRequireTLSReuse(), ftptest.WithFiles(map[string][]byte{"f": []byte("data")}))
	control, _, cache := reuseConfigs(srv)
	c := loginTLS(t, srv, control)

	// A data connection that resumes the control session, and stores the
	// ticket it is given in a cache of its own.
	dataCache := &reuseCache{session: cache.session}
	data := clientTLS(srv)
	data.ClientSessionCache = dataCache
	_, code, st := c.getTLS("RETR f", data)
	require.Equal(t, 226, code)
	require.True(t, st.DidResume)
	dataCache.mu.Lock()
	fromData := dataCache.session
	dataCache.mu.Unlock()
	require.NotSame(t, cache.session, fromData, "the data connection issued no ticket")

	// That ticket came from a data connection: refused.
	_, code, st = c.getTLS("RETR f", data)
	assert.Equal(t, 522, code)
	assert.False(t, st.DidResume)
	assert.Equal(t, 1, srv.TLSReuseRefusals())
}

func TestLenientReuseIsRecorded(t *testing.T) {
	srv := newServer(t, ftptest.WithExplicitTLS(), ftptest.WithFiles(map[string][]byte{"f": []byte("data")}))
	controlA, dataA, _ := reuseConfigs(srv)
	a := loginTLS(t, srv, controlA)
	controlB, _, _ := reuseConfigs(srv)
	b := loginTLS(t, srv, controlB)

	for _, tr := range []struct {
		c   *client
		cfg *tls.Config
	}{{a, dataA}, {b, dataA}, {a, clientTLS(srv)}} {
		_, code, _ := tr.c.getTLS("RETR f", tr.cfg)
		require.Equal(t, 226, code)
	}
	v := uint16(tls.VersionTLS13)
	assert.Equal(t, []ftptest.DataTLSInfo{
		{Version: v, Resumed: true, ControlSession: true},
		{Version: v, Resumed: true, ControlSession: false}, // another session's ticket
		{Version: v},
	}, srv.DataTLS())
	assert.Zero(t, srv.TLSReuseRefusals())
}

func TestRequireTLS(t *testing.T) {
	srv := newServer(t, ftptest.WithRequireTLS(), ftptest.WithAnonymous())
	c := dialRaw(t, srv.Addr())
	c.expect(220)
	assert.Equal(t, "530 Non-anonymous sessions must use encryption.", c.cmd("USER "+srv.User(), 530))
	c.cmd("PASS "+srv.Password(), 503)
	c.cmd("USER anonymous", 331)
	c.cmd("PASS me@example.com", 230)

	c2 := dialRaw(t, srv.Addr())
	c2.expect(220)
	c2.startTLS(clientTLS(srv))
	c2.cmd("USER "+srv.User(), 331)
	c2.cmd("PASS "+srv.Password(), 230)
}

func TestCertificateAndClientTLSConfig(t *testing.T) {
	for _, ipv6 := range []bool{false, true} {
		opts := []ftptest.ServerOption{ftptest.WithImplicitTLS()}
		names := []string{"localhost", "127.0.0.1"}
		if ipv6 {
			opts = append(opts, ftptest.WithIPv6())
			names = []string{"localhost", "::1"}
		}
		srv := newServer(t, opts...)
		cert := srv.Certificate()
		require.NotNil(t, cert)
		assert.Contains(t, cert.DNSNames, "localhost")
		assert.True(t, cert.NotBefore.Before(time.Now().Add(-50*time.Minute)))
		assert.True(t, cert.NotAfter.After(time.Now().Add(23*time.Hour)))
		assert.True(t, cert.NotAfter.Before(time.Now().Add(25*time.Hour)))
		for _, name := range names {
			cfg := srv.ClientTLSConfig()
			assert.Empty(t, cfg.ServerName)
			cfg.ServerName = name
			c := dialImplicit(t, srv, cfg)
			st := c.conn.(*tls.Conn).ConnectionState()
			require.NotEmpty(t, st.PeerCertificates)
			assert.True(t, cert.Equal(st.PeerCertificates[0]))
		}
		if ipv6 {
			continue
		}
		// Another server's config does not trust this one.
		other := newServer(t)
		cfg := other.ClientTLSConfig()
		cfg.ServerName = "localhost"
		conn, err := tls.Dial("tcp", srv.Addr(), cfg)
		if err == nil {
			conn.Close()
		}
		require.Error(t, err)
	}
}

func TestWithCertificate(t *testing.T) {
	cert := certFor(t, "ftp.example.com")
	srv := newServer(t, ftptest.WithExplicitTLS(), ftptest.WithCertificate(cert))
	assert.Equal(t, []string{"ftp.example.com"}, srv.Certificate().DNSNames)

	c := dialRaw(t, srv.Addr())
	c.expect(220)
	c.cmd("AUTH TLS", 234)
	tc := tls.Client(c.conn, clientTLS(srv)) // ServerName 127.0.0.1: wrong name
	var hostErr x509.HostnameError
	require.ErrorAs(t, tc.Handshake(), &hostErr)

	cfg := srv.ClientTLSConfig()
	cfg.ServerName = "ftp.example.com"
	loginTLS(t, srv, cfg)
}

func TestTLSVersionMismatch(t *testing.T) {
	srv := newServer(t, ftptest.WithExplicitTLS(), ftptest.WithTLSConfig(func(c *tls.Config) { c.MinVersion = tls.VersionTLS13 }))
	c := dialRaw(t, srv.Addr())
	c.expect(220)
	c.cmd("AUTH TLS", 234)
	cfg := clientTLS(srv)
	cfg.MaxVersion = tls.VersionTLS12
	require.Error(t, tls.Client(c.conn, cfg).Handshake())
	assert.True(t, c.closed(), "the server ends the session after a failed handshake")
}

// certFor returns a self-signed certificate valid only for name.
func certFor(t *testing.T, name string) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{name},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestProtectedAbort(t *testing.T) {
	t.Run("during the transfer", func(t *testing.T) {
		srv := newServer(t, ftptest.WithExplicitTLS(), ftptest.WithFiles(map[string][]byte{"big": bigFile}))
		cfg := clientTLS(srv)
		c := loginTLS(t, srv, cfg)
		data := c.passive("EPSV")
		c.cmd("RETR big", 150)
		tc := tls.Client(data, cfg)
		_, err := io.ReadFull(tc, make([]byte, 1))
		require.NoError(t, err)
		c.cmd("ABOR", 426)
		c.expect(226)
		c.cmd("NOOP", 200)
	})
	t.Run("during the handshake", func(t *testing.T) {
		srv := newServer(t, ftptest.WithExplicitTLS(), ftptest.WithFiles(map[string][]byte{"f": nil}))
		c := loginTLS(t, srv, clientTLS(srv))
		c.passive("EPSV") // connected, but never sends a ClientHello
		c.cmd("RETR f", 150)
		c.cmd("ABOR", 426)
		c.expect(226)
		c.cmd("NOOP", 200)
	})
}

func TestImplicitTLSReuse(t *testing.T) {
	srv := newServer(t, ftptest.WithImplicitTLS(), ftptest.WithRequireTLSReuse(),
		ftptest.WithFiles(map[string][]byte{"f": []byte("data")}))
	control, data, _ := reuseConfigs(srv)
	c := dialImplicit(t, srv, control)
	c.cmd("USER "+srv.User(), 331)
	c.cmd("PASS "+srv.Password(), 230)
	c.cmd("PBSZ 0", 200)
	c.cmd("PROT P", 200)
	got, code, st := c.getTLS("RETR f", data)
	assert.Equal(t, 226, code)
	assert.Equal(t, "data", string(got))
	assert.True(t, st.DidResume)
	_, code, _ = c.getTLS("RETR f", clientTLS(srv))
	assert.Equal(t, 522, code)
	assert.Equal(t, 1, srv.TLSReuseRefusals())
}
