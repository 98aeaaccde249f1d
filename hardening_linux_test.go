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
	return socketOption(t, tc, syscall.SO_KEEPALIVE) != 0
}

// socketOption reads the SOL_SOCKET option opt of tc's socket.
func socketOption(t *testing.T, tc *net.TCPConn, opt int) int {
	t.Helper()
	raw, err := tc.SyscallConn()
	require.NoError(t, err)
	var v int
	var serr error
	require.NoError(t, raw.Control(func(fd uintptr) {
		v, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, opt)
	}))
	require.NoError(t, serr)
	return v
}
