package ftp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"sync"
)

// tlsMode says when TLS starts on the control connection.
type tlsMode int

const (
	tlsNone     tlsMode = iota
	tlsExplicit         // AUTH TLS after the greeting (RFC 4217)
	tlsImplicit         // TLS from the first byte (ftps://, port 990)
)

// WithExplicitTLS secures the session with AUTH TLS (RFC 4217): the
// control connection is upgraded before login, and data connections are
// protected (PBSZ 0, PROT P). A nil cfg verifies the server's certificate
// against the system roots. If the server refuses AUTH TLS, Dial fails:
// there is never a silent fall back to clear text.
func WithExplicitTLS(cfg *tls.Config) Option {
	return func(c *config) { c.tlsMode, c.tlsConfig = tlsExplicit, cfg }
}

// WithImplicitTLS speaks TLS from the first byte (the legacy ftps:// on
// port 990), then protects data connections like WithExplicitTLS. When
// cfg has no ServerName, the dialled host is used.
func WithImplicitTLS(cfg *tls.Config) Option {
	return func(c *config) { c.tlsMode, c.tlsConfig = tlsImplicit, cfg }
}

// secure holds the TLS state of one session.
//
// Servers demand that data connections resume the control connection's
// TLS session (vsftpd's require_ssl_reuse, ProFTPD, FileZilla Server), so
// that nobody else can connect to a data port. Go's crypto/tls keys its
// session cache by ServerName or by host:port, and every connection that
// receives a ticket writes it there. So each session gets its own cache,
// which data connections read and only the control connection writes: a
// ticket received on a data connection describes a new session, not the
// control one.
type secure struct {
	control *tls.Config // for the control connection
	data    *tls.Config // the same, with the read-only view of the cache
}

func newSecure(cfg *tls.Config, host string) *secure {
	if cfg == nil {
		cfg = &tls.Config{}
	}
	control := cfg.Clone()
	if control.ServerName == "" {
		control.ServerName = host
	}
	cache := &sessionCache{}
	control.ClientSessionCache = cache
	data := control.Clone()
	data.ClientSessionCache = readOnlyCache{cache}
	return &secure{control: control, data: data}
}

// client makes a data connection TLS. The FTP client is always the TLS
// client, in passive and in active mode (RFC 4217 §7). The handshake
// happens on first use, after the transfer command was sent: servers do
// not answer it before that.
func (s *secure) client(conn net.Conn) net.Conn {
	return tls.Client(conn, s.data)
}

// sessionCache holds the control connection's latest session.
type sessionCache struct {
	mu      sync.Mutex
	session *tls.ClientSessionState
}

func (c *sessionCache) Get(string) (*tls.ClientSessionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session, c.session != nil
}

func (c *sessionCache) Put(_ string, cs *tls.ClientSessionState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.session = cs
}

// readOnlyCache lets data connections resume the control session without
// replacing it with their own.
type readOnlyCache struct{ c *sessionCache }

func (r readOnlyCache) Get(key string) (*tls.ClientSessionState, bool) { return r.c.Get(key) }
func (r readOnlyCache) Put(string, *tls.ClientSessionState)            {}

// startTLS runs the TLS handshake on the control connection and carries
// on over TLS.
func (c *Conn) startTLS(ctx context.Context) error {
	tc := tls.Client(c.ctl.nc, c.tls.control)
	hctx, cancel := context.WithTimeout(ctx, c.cfg.timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return handshakeError(c.tls.control.ServerName, err)
	}
	c.ctl.attach(tc, c.cfg.timeout)
	return nil
}

// authTLS asks for TLS on the control connection (AUTH TLS, RFC 4217).
func (c *Conn) authTLS(ctx context.Context) error {
	r, err := c.send(ctx, "AUTH", "TLS")
	if err != nil {
		return err
	}
	if r.class() != 2 {
		return errorf("the server refused TLS (it may not support FTPS, or only implicit TLS on another port): %w",
			replyError("AUTH TLS", r))
	}
	return c.startTLS(ctx)
}

// protect asks for protected data connections after login (PBSZ 0, then
// PROT P; RFC 4217 §9, §10).
func (c *Conn) protect(ctx context.Context) error {
	if _, err := c.expect(ctx, 2, "PBSZ", "0"); err != nil {
		return err
	}
	_, err := c.expect(ctx, 2, "PROT", "P")
	return err
}

// handshakeError says what failed in a TLS handshake, and what to check.
func handshakeError(name string, err error) error {
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	var invalidErr x509.CertificateInvalidError
	switch {
	case errors.As(err, &hostErr):
		return errorf("TLS: the server's certificate is not valid for %q (it names %s): %w",
			name, certNames(hostErr.Certificate), err)
	case errors.As(err, &authErr):
		return errorf("TLS: the server's certificate (%s) is signed by an authority this client does not trust; "+
			"add it to tls.Config.RootCAs: %w", certNames(authErr.Cert), err)
	case errors.As(err, &invalidErr):
		return errorf("TLS: the server's certificate (%s) is invalid: %w", certNames(invalidErr.Cert), err)
	}
	return errorf("TLS handshake with %q: %w", name, err)
}

// certNames lists the names a certificate is valid for.
func certNames(cert *x509.Certificate) string {
	if cert == nil {
		return "no certificate"
	}
	names := append([]string{}, cert.DNSNames...)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		names = append(names, "CN="+cert.Subject.CommonName)
	}
	return printable(strings.Join(names, ", ")) // a certificate is the server's text too
}

// reuseHint explains a data connection that a server refused for want of
// TLS session resumption.
func reuseHint(err error) error {
	var ferr *Error
	if !errors.As(err, &ferr) || !mentions(ferr.Msg, "reuse", "resum", "session") {
		return err
	}
	return errorf("%w (the server requires data connections to resume the control connection's TLS session, "+
		"which this client does; if the session expired after a long idle time, reconnect; "+
		"on vsftpd see require_ssl_reuse, on ProFTPD TLSOptions NoSessionReuseRequired)", err)
}
