package ftp

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withFastMiB sets the rate that raises a download's low-water mark.
func withFastMiB(d time.Duration) Option { return func(c *config) { c.fastMiB = d } }

// TestDownloadPausesAfterFastStart: a server sends fast, waits until the
// client has read it all, sends less than a low-water mark's worth and
// pauses until the client has that too. The raised mark holds those bytes
// back; the download must get them well within the idle timeout, or the
// server waits and the client times out.
func TestDownloadPausesAfterFastStart(t *testing.T) {
	parts := [][]byte{randomBytes(t, 4<<20), randomBytes(t, 1000), randomBytes(t, 1000)}
	got := make(chan struct{}) // the client has read a part
	srv := newRawServer(t, func(s *rawConn) {
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
		assert.Less(t, time.Since(start), 5*time.Second, "part %d came before the idle timeout", i)
		assert.True(t, bytes.Equal(want, buf), "part %d", i)
		if i == 0 && rcvLowatSupported {
			require.NotNil(t, tr.low, "a plain TCP download has a mark")
			tr.low.mu.Lock()
			raised := tr.low.timer != nil // made by the first raise
			tr.low.mu.Unlock()
			assert.True(t, raised, "the fast part raised the mark")
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
