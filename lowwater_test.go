package ftp

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withFastMiB sets the rate that raises a download's low-water mark.
func withFastMiB(d time.Duration) Option { return func(c *config) { c.fastMiB = d } }

// pausingServer serves one RETR whose data are parts, sent one at a time:
// after each but the last it waits until the test says, on got, that the
// client has it.
func pausingServer(t *testing.T, parts [][]byte, got <-chan struct{}) *rawServer {
	return newRawServer(t, func(s *rawConn) {
		s.login()
		accept := s.epsv()
		s.expect("RETR")
		data := accept()
		if data == nil {
			return
		}
		s.send("150 Here it comes\r\n")
		for i, p := range parts {
			data.Write(p)
			if i < len(parts)-1 {
				select {
				case <-got:
				case <-time.After(scriptTime):
				}
			}
		}
		data.Close()
		s.send("226 Done\r\n")
		s.serve()
	})
}

// TestDownloadPausesAfterFastStart: a server sends fast, waits until the
// client has read it all, sends less than a low-water mark's worth and
// pauses until the client has that too. The raised mark holds those bytes
// back; the download must get them well within the idle timeout, or the
// server waits and the client times out.
func TestDownloadPausesAfterFastStart(t *testing.T) {
	parts := [][]byte{randomBytes(t, 4<<20), randomBytes(t, 1000), randomBytes(t, 1000)}
	got := make(chan struct{}) // the client has read a part
	srv := pausingServer(t, parts, got)
	c := dialRaw(t, srv, 10*time.Second, withFastMiB(time.Hour))
	ctx := context.Background()
	r, err := c.Retr(ctx, "f")
	require.NoError(t, err)
	tr := c.cur.Load()
	require.NotNil(t, tr)
	for i, want := range parts {
		buf := make([]byte, len(want))
		start := time.Now()
		_, err = io.ReadFull(r, buf)
		require.NoError(t, err, "part %d", i)
		assert.Less(t, time.Since(start), 2*time.Second, "part %d came well before the idle timeout", i)
		assert.True(t, bytes.Equal(want, buf), "part %d", i)
		if i == 0 && rcvLowatSupported() {
			// Its last read completed the fourth MiB: the mark is up.
			require.NotNil(t, tr.low, "a plain TCP download has a mark")
			assert.True(t, tr.low.raised.Load(), "the fast part raised the mark")
		}
		if i < len(parts)-1 {
			got <- struct{}{}
		}
	}
	n, err := r.Read(make([]byte, 1))
	assert.Equal(t, 0, n)
	assert.ErrorIs(t, err, io.EOF)
	require.NoError(t, r.Close())
	require.NoError(t, c.Quit(ctx))
}

// TestSpliceAfterFastStart: a download read fast through Read (which
// raises the mark), then written into a file by WriteTo, which splices.
// The server sends less than a mark's worth and waits until the file has
// it: splice waits on the socket without the patience timer, so the mark
// must be down by then.
func TestSpliceAfterFastStart(t *testing.T) {
	head, mid, tail := randomBytes(t, 2<<20), randomBytes(t, 1000), randomBytes(t, 1000)
	got := make(chan struct{}) // the client has what was sent so far
	srv := pausingServer(t, [][]byte{head, mid, tail}, got)
	c := dialRaw(t, srv, 10*time.Second, withFastMiB(time.Hour))
	ctx := context.Background()
	r, err := c.Retr(ctx, "f")
	require.NoError(t, err)
	buf := make([]byte, len(head))
	_, err = io.ReadFull(r, buf)
	require.NoError(t, err)
	require.True(t, bytes.Equal(head, buf))
	tr := c.cur.Load()
	if rcvLowatSupported() {
		assert.True(t, tr.low.raised.Load(), "the fast start raised the mark")
	}
	got <- struct{}{}

	name := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(name)
	require.NoError(t, err)
	defer f.Close()
	done := make(chan error, 1)
	go func() {
		_, err := r.WriteTo(f)
		done <- err
	}()
	spliced := assert.Eventually(t, func() bool {
		fi, err := f.Stat()
		return err == nil && fi.Size() == int64(len(mid))
	}, 2*time.Second, time.Millisecond, "the bytes before the pause reached the file")
	if rcvLowatSupported() {
		// Still splicing (the server waits): the mark is down, also when
		// those bytes came before the splice waited on the socket.
		assert.False(t, tr.low.raised.Load(), "splicing put the mark down")
	}
	got <- struct{}{} // either way, let the server finish
	require.NoError(t, <-done)
	require.NoError(t, r.Close())
	if spliced {
		data, err := os.ReadFile(name)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(append(mid, tail...), data))
	}
	require.NoError(t, c.Quit(ctx))
}

// TestTLSDownloadHasNoMark: FTPS data connections read without the mark
// (see lowwater.go): the Conn makes none for them.
func TestTLSDownloadHasNoMark(t *testing.T) {
	srv := tlsServer(t, "explicit", tls.VersionTLS13)
	data := randomBytes(t, 3<<20)
	srv.WriteFile("/big", data)
	c := dialTLS(t, srv, "explicit", withFastMiB(time.Hour))
	ctx := context.Background()
	r, err := c.Retr(ctx, "/big")
	require.NoError(t, err)
	tr := c.cur.Load()
	require.NotNil(t, tr)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Nil(t, tr.low)
	assert.True(t, bytes.Equal(data, got))
	require.NoError(t, r.Close())
}
