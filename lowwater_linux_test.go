package ftp

import (
	"crypto/tls"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rcvLowat reads the receive low-water mark of conn's socket.
func rcvLowat(t *testing.T, conn *net.TCPConn) int {
	t.Helper()
	return socketOption(t, conn, syscall.SO_RCVLOWAT)
}

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	s := <-accepted
	require.NotNil(t, s)
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// TestLowWaterMark follows the mark through a transfer: raised after a
// fast MiB, lowered by the patience timer of a read that waits (which
// TestDownloadPausesAfterFastStart drives through a Conn), raised again by
// the next fast MiB.
func TestLowWaterMark(t *testing.T) {
	client, server := tcpPair(t)
	w := newLowWater(client, time.Hour) // every MiB counts as fast
	require.NotNil(t, w)
	defer w.release()
	require.NoError(t, client.SetReadDeadline(time.Now().Add(10*time.Second))) // a failure, not a hang

	var total int64
	receive := func(n int) {
		t.Helper()
		sent := make(chan error, 1)
		go func() {
			_, err := server.Write(make([]byte, n))
			sent <- err
		}()
		buf := make([]byte, 64<<10)
		for want := total + int64(n); total < want; {
			w.before()
			m, err := client.Read(buf[:min(len(buf), int(want-total))])
			total += int64(m)
			w.after(total)
			require.NoError(t, err)
		}
		require.NoError(t, <-sent)
	}

	assert.Equal(t, 1, rcvLowat(t, client), "at the start")
	receive(1 << 20)
	assert.True(t, w.raised.Load())
	assert.Equal(t, lowWaterMark, rcvLowat(t, client), "after a fast MiB")
	assert.Equal(t, lowWaterMark, w.piece())

	// A read that waits on the mark arms the patience timer, which lowers
	// it after lowWaterPatience: here no read follows, and it fires.
	w.before()
	require.Eventually(t, func() bool { return !w.raised.Load() }, 5*time.Second, time.Millisecond,
		"the patience timer lowered the mark")
	assert.Equal(t, 1, rcvLowat(t, client), "after a read waited")
	assert.Equal(t, readPiece, w.piece())
	receive(1000)

	receive(1<<20 - 1000) // its last read completes the second MiB
	assert.True(t, w.raised.Load(), "after the next fast MiB")
	assert.Equal(t, lowWaterMark, rcvLowat(t, client))

	// The end of the data wakes a read below the mark (no timer armed).
	require.NoError(t, server.CloseWrite())
	n, err := client.Read(make([]byte, 10))
	w.after(total)
	assert.Equal(t, 0, n)
	assert.ErrorIs(t, err, io.EOF)
}

// TestLowWaterOnlyPlainTCP: the mark is for plain TCP data connections;
// TLS (whose reads need whole records) and connections that are no TCP
// socket (a custom dialer's pipe) read as before.
func TestLowWaterOnlyPlainTCP(t *testing.T) {
	client, _ := tcpPair(t)
	p1, p2 := net.Pipe()
	t.Cleanup(func() { p1.Close(); p2.Close() })
	tests := []struct {
		name string
		conn net.Conn
		want bool
	}{
		{"plain TCP", client, true},
		{"TLS over TCP", tls.Client(client, &tls.Config{}), false},
		{"pipe", p1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newLowWater(tt.conn, fastMiB)
			assert.Equal(t, tt.want, w != nil)
			if w == nil {
				assert.Equal(t, readPiece, w.piece(), "a nil mark reads small pieces")
			}
		})
	}
}

func TestReleaseAtLeast(t *testing.T) {
	tests := []struct {
		release string
		want    bool
	}{
		{"6.1.0-13-amd64", true},
		{"4.18.0-553.el8_10.x86_64", true},
		{"4.19.0", true},
		{"5.4.0-150-generic", true},
		{"4.17.19", false},
		{"3.10.0-1160.el7.x86_64", false},
		{"4.18-rc1", true},
		{"", false},
		{"garbage", false},
		{"5", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, releaseAtLeast(tt.release, 4, 18), "%q", tt.release)
	}
	t.Logf("this kernel: low-water mark used: %v", rcvLowatSupported())
}
