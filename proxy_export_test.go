package ftp

import "testing"

// NewTestProxy starts the loopback SOCKS5 ("socks5") or HTTP CONNECT
// ("http") proxy of the package's tests for the interop suite, which is
// in package ftp_test: user and pass, when set, are the credentials it
// requires. Its URL(user, pass) and Targets() are those of testProxy.
func NewTestProxy(t *testing.T, kind, user, pass string) *testProxy {
	return newTestProxy(t, kind, user, pass)
}

// Addr returns the proxy's address.
func (p *testProxy) Addr() string { return p.ln.Addr().String() }
