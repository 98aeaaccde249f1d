package ftp

import (
	"net"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// keepAliveOn reports whether SO_KEEPALIVE is set on tc.
func keepAliveOn(t *testing.T, tc *net.TCPConn) bool {
	t.Helper()
	raw, err := tc.SyscallConn()
	require.NoError(t, err)
	var on int
	var serr error
	require.NoError(t, raw.Control(func(fd uintptr) {
		on, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
	}))
	require.NoError(t, serr)
	return on != 0
}
