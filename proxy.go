package ftp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"golang.org/x/net/proxy"
)

// WithProxy connects through the proxy at u: the control connection and
// every data connection. Two kinds are known:
//
//	socks5://[user:password@]host[:port]   SOCKS5 (RFC 1928, 1929), port 1080 by default
//	socks5h://…                            the same
//	http://[user:password@]host[:port]     HTTP CONNECT, Basic authentication, port 80 by default
//
// The proxy resolves the server's name (socks5 as socks5h, as Go's
// golang.org/x/net/proxy does), so the client needs no DNS of the
// server's network. WithDialFunc, if given, dials the proxy.
//
// Data connections go to the server's host as dialled, through the
// proxy: EPSV first, whose reply carries no address; the address of a
// PASV reply is ignored as always (the NAT trap), which through a proxy
// matters even more, since the client cannot see the server's address to
// judge it. With WithTrustedPASVAddress the address is used, but the
// server's own address is known only when it was dialled by IP: a PASV
// address on loopback or link-local is refused unless the server's is
// too, as the proxy would connect to a service of its own host or
// network.
//
// Active mode cannot work through a proxy (the server would connect to
// the proxy's network): Dial refuses WithActive with WithProxy before it
// connects. A failure of the proxy is a *ProxyError; its text never shows
// the proxy's credentials. A nil u means no proxy.
func WithProxy(u *url.URL) Option {
	if u != nil {
		cp := *u // the caller's URL may change later
		u = &cp
	}
	return func(c *config) { c.proxy = u }
}

// ErrProxyAuth is wrapped by the *ProxyError of a proxy that refused the
// credentials of WithProxy, or wanted some and had none.
var ErrProxyAuth = errors.New("ftp: the proxy refused the credentials")

// ProxyError says that a connection through the proxy of WithProxy failed:
// the proxy could not be reached, refused the credentials (errors.Is
// ErrProxyAuth), or could not or would not connect to Addr.
type ProxyError struct {
	Proxy string // the proxy, scheme://host:port, without credentials
	Addr  string // where the proxy was asked to connect
	Code  int    // the HTTP status of a refused CONNECT, else 0
	Err   error
}

func (e *ProxyError) Error() string {
	return fmt.Sprintf("ftp: proxy %s, connecting to %s: %v", e.Proxy, e.Addr, unprefixed{e.Err})
}

func (e *ProxyError) Unwrap() error { return e.Err }

// proxyDialer dials through a proxy: forward reaches the proxy, connect
// asks it for a tunnel to addr.
type proxyDialer struct {
	u       *url.URL
	shown   string // scheme://host:port, for errors
	addr    string // the proxy's host:port
	forward func(ctx context.Context, network, addr string) (net.Conn, error)
}

// checkProxy refuses what cannot work through the proxy of cfg, before
// anything is dialled: an unknown kind of proxy, and active mode.
func (cfg *config) checkProxy() error {
	if cfg.proxy == nil {
		return nil
	}
	if _, err := newProxyDialer(cfg.proxy, nil); err != nil {
		return err
	}
	if cfg.active {
		return errorf("active mode (WithActive) cannot work through a proxy (WithProxy): the server would connect to the proxy's network; use passive mode")
	}
	return nil
}

// newProxyDialer checks u and returns its dialer.
func newProxyDialer(u *url.URL, forward func(context.Context, string, string) (net.Conn, error)) (*proxyDialer, error) {
	port := map[string]string{"socks5": "1080", "socks5h": "1080", "http": "80"}[u.Scheme]
	if port == "" {
		return nil, errorf("proxy scheme %q: must be socks5://, socks5h:// or http:// (the URL is not shown: it may hold a password)", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errorf("proxy %s:// URL has no host", u.Scheme)
	}
	if u.Port() != "" {
		port = u.Port()
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	return &proxyDialer{u: u, shown: u.Scheme + "://" + addr, addr: addr, forward: forward}, nil
}

// dial connects to addr through the proxy. It returns the connection to
// the proxy itself once the tunnel is up (a *net.TCPConn when forward
// gives one), so that zero-copy transfers and the poller keep working.
func (p *proxyDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var conn net.Conn
	var err error
	if p.u.Scheme == "http" {
		conn, err = p.dialHTTP(ctx, network, addr)
	} else {
		conn, err = p.dialSOCKS(ctx, network, addr)
	}
	if err != nil {
		perr := &ProxyError{Proxy: p.shown, Addr: addr, Err: err}
		if cr := (*connectRefused)(nil); errors.As(err, &cr) {
			perr.Code = cr.code
		}
		return nil, perr
	}
	return conn, nil
}

// dialSOCKS opens a SOCKS5 tunnel with golang.org/x/net/proxy, and returns
// the connection under its wrapper: the handshake read exactly its own
// bytes.
func (p *proxyDialer) dialSOCKS(ctx context.Context, network, addr string) (net.Conn, error) {
	var auth *proxy.Auth
	if p.u.User != nil {
		pass, _ := p.u.User.Password()
		auth = &proxy.Auth{User: p.u.User.Username(), Password: pass}
	}
	var raw net.Conn
	d, err := proxy.SOCKS5("tcp", p.addr, auth, contextDialer(func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := p.forward(ctx, network, addr)
		raw = c
		return c, err
	}))
	if err != nil {
		return nil, err
	}
	if _, err := d.(proxy.ContextDialer).DialContext(ctx, network, addr); err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) && strings.HasPrefix(oe.Op, "socks") {
			err = oe.Err // its text repeats both addresses
		}
		if msg := err.Error(); strings.Contains(msg, "authentication failed") || strings.Contains(msg, "no acceptable authentication methods") {
			err = fmt.Errorf("%w (%s)", ErrProxyAuth, msg)
		}
		return nil, err
	}
	return raw, nil
}

// contextDialer adapts a dial function to proxy.ContextDialer.
type contextDialer func(ctx context.Context, network, addr string) (net.Conn, error)

func (f contextDialer) Dial(network, addr string) (net.Conn, error) {
	return f(context.Background(), network, addr)
}

func (f contextDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return f(ctx, network, addr)
}

// serverIP is the server's address as far as the client knows it, for
// judging the address of a PASV reply: the control connection's peer;
// through a proxy, the host dialled if it is an IP address, else the
// unspecified address, which is neither loopback nor link-local.
func (c *Conn) serverIP() net.IP {
	if c.cfg.proxy == nil {
		return c.peerIP
	}
	if ip := net.ParseIP(c.host); ip != nil {
		return ip
	}
	return net.IPv4zero
}

// viaProxy sets up a Conn whose control connection goes through a proxy:
// the trace says which proxy (without its credentials), and since the
// control connection's peer is the proxy, only a server dialled by IP
// address is known to be on IPv6 (where PASV does not exist); one dialled
// by name gets EPSV first and PASV after, as on IPv4.
func (c *Conn) viaProxy() {
	if c.cfg.proxy == nil {
		return
	}
	if p, err := newProxyDialer(c.cfg.proxy, nil); err == nil {
		c.ctl.trace("# ", "connected through the proxy "+p.shown+", as every data connection will be")
	}
	ip := net.ParseIP(c.host)
	c.ipv6 = ip != nil && ip.To4() == nil
}
