//go:build !linux

package ftp

import (
	"net"
	"testing"
)

// keepAliveOn skips: reading SO_KEEPALIVE back is done on Linux only.
func keepAliveOn(t *testing.T, _ *net.TCPConn) bool {
	t.Skip("SO_KEEPALIVE is read back on Linux only")
	return false
}
