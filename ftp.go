// Package ftp is an FTP client (RFC 959) that works with the servers
// people actually run, including the ones behind NAT.
//
// It implements these extensions:
//
//	FEAT, OPTS   RFC 2389
//	EPSV, EPRT   RFC 2428 (IPv6 and NAT-proof passive mode)
//	SIZE, MDTM, REST STREAM, MLST, MLSD   RFC 3659
//	UTF8         RFC 2640 (OPTS UTF8 ON when offered)
//	MFMT         draft-somers-ftp-mfxx
//
// A Conn is one control connection. Every method that touches the network
// takes a context: cancelling it, or the per-wait timeout (WithTimeout,
// default 30 s), ends the wait promptly and leaves the Conn either usable
// or closed, never out of step with the server.
//
// Replies out of place do not put a Conn out of step: a preliminary (1xx)
// or "transfer complete" (225, 226) reply read in answer to a command that
// is not a transfer belongs to an earlier transfer, and a 2xx other than
// 226 or 250 read in answer to a transfer command (a late "200" to PORT)
// answers an earlier command; both are skipped, a few at most. Server text
// quoted in errors and traces has its control characters escaped.
//
// Data connections are passive by default: EPSV first, then PASV, always to
// the address of the control connection's peer, so a server that
// advertises a private address in its PASV reply (a NAT trap) still works.
// WithActive selects PORT/EPRT with a local listener instead.
package ftp

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
)

// Dial connects to addr ("host:port", or "host" for port 21) and reads the
// server's greeting. It does not log in: call Login next.
func Dial(ctx context.Context, addr string, opts ...Option) (*Conn, error) {
	cfg := newConfig(opts)
	if err := cfg.checkProxy(); err != nil {
		return nil, err
	}
	defaultPort := "21"
	if cfg.tlsMode == tlsImplicit {
		defaultPort = "990"
	}
	addr, host, err := splitAddr(addr, defaultPort)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	nc, err := cfg.dial(dctx, "tcp", addr)
	if err != nil {
		return nil, errorf("dial %s: %w", addr, err)
	}
	c := newConn(cfg, host, nc)
	c.viaProxy()
	if err := c.open(ctx); err != nil {
		c.ctl.close(err)
		return nil, err
	}
	return c, nil
}

// open starts the session: TLS first when implicit, the greeting, then
// AUTH TLS when explicit.
func (c *Conn) open(ctx context.Context) error {
	if c.cfg.tlsMode == tlsImplicit {
		if err := c.startTLS(ctx); err != nil {
			return err
		}
	}
	if err := c.greeting(ctx); err != nil {
		return err
	}
	if c.cfg.tlsMode == tlsExplicit {
		return c.authTLS(ctx)
	}
	return nil
}

// DialURL dials and logs in from a URL: ftp://user:password@host:port/,
// or ftps://… for implicit TLS (port 990 by default; the tls.Config of a
// WithImplicitTLS option is used if given). A URL without a user logs in
// as anonymous. The path of the URL is not used: callers that want it read
// it from the URL themselves.
func DialURL(ctx context.Context, rawURL string, opts ...Option) (*Conn, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "ftps" {
		opts = append([]Option{WithImplicitTLS(nil)}, opts...)
		opts = append(opts, func(c *config) { c.tlsMode = tlsImplicit })
	}
	user, pass := "anonymous", "anonymous@"
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	c, err := Dial(ctx, u.Host, opts...)
	if err != nil {
		return nil, err
	}
	if err := c.Login(ctx, user, pass); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// parseURL parses the URL of DialURL and NewPool: ftp:// or ftps://. Its
// errors never quote the URL whole, since it may hold a password
// (url.Parse's errors quote it all).
func parseURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	var uerr *url.Error
	var eerr url.EscapeError
	switch {
	case errors.As(err, &eerr): // quotes the escape, which may be in the password
		return nil, errorf("parsing URL: invalid %%-escape (the URL is not shown: it may hold a password)")
	case errors.As(err, &uerr):
		return nil, errorf("parsing URL (not shown: it may hold a password): %w", uerr.Err)
	case err != nil:
		return nil, errorf("parsing URL: invalid (the URL is not shown: it may hold a password)")
	case u.Scheme != "ftp" && u.Scheme != "ftps":
		return nil, errorf("URL scheme %q: must be ftp:// or ftps:// (the URL is not shown: it may hold a password)", u.Scheme)
	}
	return u, nil
}

// splitAddr adds the default port where addr has none and returns the
// host part.
func splitAddr(addr, defaultPort string) (hostport, host string, err error) {
	host, _, err = net.SplitHostPort(addr)
	if err != nil {
		if !strings.Contains(err.Error(), "missing port") {
			return "", "", errorf("address %q: %w", addr, err)
		}
		host = strings.Trim(addr, "[]")
		addr = net.JoinHostPort(host, defaultPort)
	}
	if host == "" {
		return "", "", errorf("address %q has no host", addr)
	}
	return addr, host, nil
}
