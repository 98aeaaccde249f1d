package ftp

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// virtualClock is the clock of a rate limit in tests: a sleep moves it
// forward at once, so a test reads how long the limit held a transfer
// back without waiting for it, or timing anything.
type virtualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (v *virtualClock) now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.t
}

func (v *virtualClock) sleep(_ context.Context, d time.Duration) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.t = v.t.Add(d)
	return nil
}

// limitOnVirtualClock returns a WithRateLimit option whose limit runs on
// a virtual clock, and the clock's start.
func limitOnVirtualClock(bytesPerSecond int64) (Option, *virtualClock, time.Time) {
	opt := WithRateLimit(bytesPerSecond)
	var cfg config
	opt(&cfg)
	start := time.Unix(1_000_000_000, 0)
	vc := &virtualClock{t: start}
	cfg.limit.now, cfg.limit.sleep = vc.now, vc.sleep
	return opt, vc, start
}

// TestRateLimitHoldsEveryPath: a limited transfer, by whichever path its
// data take (reads, writes, splice into a file, sendfile from one, and
// through TLS), waits as long as the token bucket says: after the 64 KiB
// burst, the rest of the bytes at the rate, to the byte. Splice and
// sendfile are kept under the limit, and taken without one.
func TestRateLimitHoldsEveryPath(t *testing.T) {
	const size = 1 << 20
	const bps = 256 << 10
	want := time.Duration(float64(size-rateBurst) / bps * float64(time.Second)) // 3.75 s
	data := randomBytes(t, size)
	local := filepath.Join(t.TempDir(), "local.bin")
	require.NoError(t, os.WriteFile(local, data, 0o600))
	ctx := context.Background()

	tests := []struct {
		name     string
		tls      bool
		zeroCopy bool
		do       func(t *testing.T, c *Conn, srv *ftptest.Server)
	}{
		{"read", false, false, func(t *testing.T, c *Conn, srv *ftptest.Server) {
			r, err := c.Retr(ctx, "f.bin")
			require.NoError(t, err)
			got, err := io.ReadAll(r)
			require.NoError(t, err)
			require.NoError(t, r.Close())
			assert.True(t, bytes.Equal(data, got))
		}},
		{"splice", false, true, func(t *testing.T, c *Conn, srv *ftptest.Server) {
			f, err := os.Create(filepath.Join(t.TempDir(), "got"))
			require.NoError(t, err)
			defer f.Close()
			r, err := c.Retr(ctx, "f.bin")
			require.NoError(t, err)
			_, err = io.Copy(f, r)
			require.NoError(t, err)
			require.NoError(t, r.Close())
			got, err := os.ReadFile(f.Name())
			require.NoError(t, err)
			assert.True(t, bytes.Equal(data, got))
		}},
		{"write", false, false, func(t *testing.T, c *Conn, srv *ftptest.Server) {
			require.NoError(t, c.Stor(ctx, "up.bin", bytes.NewReader(data)))
			got, err := srv.ReadFile("up.bin")
			require.NoError(t, err)
			assert.True(t, bytes.Equal(data, got))
		}},
		{"sendfile", false, true, func(t *testing.T, c *Conn, srv *ftptest.Server) {
			f, err := os.Open(local)
			require.NoError(t, err)
			defer f.Close()
			require.NoError(t, c.Stor(ctx, "up.bin", f))
			got, err := srv.ReadFile("up.bin")
			require.NoError(t, err)
			assert.True(t, bytes.Equal(data, got))
		}},
		{"TLS download", true, false, func(t *testing.T, c *Conn, srv *ftptest.Server) {
			f, err := os.Create(filepath.Join(t.TempDir(), "got"))
			require.NoError(t, err)
			defer f.Close()
			r, err := c.Retr(ctx, "f.bin")
			require.NoError(t, err)
			_, err = io.Copy(f, r)
			require.NoError(t, err)
			require.NoError(t, r.Close())
		}},
		{"TLS upload", true, false, func(t *testing.T, c *Conn, srv *ftptest.Server) {
			require.NoError(t, c.Stor(ctx, "up.bin", bytes.NewReader(data)))
			got, err := srv.ReadFile("up.bin")
			require.NoError(t, err)
			assert.True(t, bytes.Equal(data, got))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, limited := range []bool{false, true} {
				var srv *ftptest.Server
				var c *Conn
				var opts []Option
				var vc *virtualClock
				var start time.Time
				if limited {
					var opt Option
					opt, vc, start = limitOnVirtualClock(bps)
					opts = append(opts, opt)
				}
				if tt.tls {
					srv = newServer(t, ftptest.WithExplicitTLS())
					c = dialTLS(t, srv, "explicit", opts...)
				} else {
					srv = newServer(t)
					c = dialTest(t, srv, opts...)
				}
				srv.WriteFile("f.bin", data)
				before := zeroCopyChunks.Load()
				tt.do(t, c, srv)
				if tt.zeroCopy {
					assert.Greater(t, zeroCopyChunks.Load(), before, "limited %v: zero-copy taken", limited)
				}
				if limited {
					assert.InDelta(t, want, vc.now().Sub(start), float64(time.Millisecond), "time held back")
				}
			}
		})
	}
}

// TestRateLimitSharedByPool: the connections of a Pool made with
// WithRateLimit share one limit: two downloads on two of its connections
// are held back as one transfer of both sizes would be (separate limits
// would each give a burst, and half the wait).
func TestRateLimitSharedByPool(t *testing.T) {
	const size = 512 << 10
	const bps = 128 << 10
	srv := newServer(t)
	data := randomBytes(t, size)
	srv.WriteFile("f.bin", data)
	opt, vc, start := limitOnVirtualClock(bps)
	p, err := NewPool(srv.URL(), 2, opt, WithTimeout(20*time.Second))
	require.NoError(t, err)
	defer p.Close()
	ctx := context.Background()
	get := func(c *Conn) {
		r, err := c.Retr(ctx, "f.bin")
		require.NoError(t, err)
		got, err := io.ReadAll(r)
		require.NoError(t, err)
		require.NoError(t, r.Close())
		assert.True(t, bytes.Equal(data, got))
	}
	require.NoError(t, p.Do(ctx, func(c1 *Conn) error {
		return p.Do(ctx, func(c2 *Conn) error {
			require.NotSame(t, c1, c2)
			get(c1)
			get(c2)
			return nil
		})
	}))
	want := time.Duration(float64(2*size-rateBurst) / bps * float64(time.Second))
	assert.InDelta(t, want, vc.now().Sub(start), float64(time.Millisecond))
}

// TestRateLimitWaitEndsWithContext: cancelling the context ends a
// transfer that waits for the limit at once, with the context's error;
// the Conn stays usable. (At 1 KiB/s the wait would be minutes long.)
func TestRateLimitWaitEndsWithContext(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("f.bin", randomBytes(t, 1<<20))
	c := dialTest(t, srv, WithRateLimit(1<<10))
	ctx, cancel := context.WithCancel(context.Background())
	r, err := c.Retr(ctx, "f.bin")
	require.NoError(t, err)
	buf := make([]byte, 128<<10)
	n, err := io.ReadFull(r, buf[:rateBurst])
	require.NoError(t, err, "the burst passes at once")
	require.Equal(t, rateBurst, n)
	cancel()
	_, err = io.ReadAll(r)
	require.ErrorIs(t, err, context.Canceled)
	r.Close()
	require.NoError(t, c.NoOp(context.Background()))
}

// TestRateLimitPiece: a limit so low that a burst would take more than a
// quarter of the idle timeout moves smaller pieces, so that no wait comes
// near the timeout; never more than the burst, never nothing.
func TestRateLimitPiece(t *testing.T) {
	tests := []struct {
		bps     int64
		timeout time.Duration
		want    int
	}{
		{4 << 20, 30 * time.Second, rateBurst},
		{1 << 10, 30 * time.Second, 7680},
		{1, time.Second, 1},
	}
	for _, tt := range tests {
		var cfg config
		WithRateLimit(tt.bps)(&cfg)
		assert.Equal(t, tt.want, cfg.limit.piece(tt.timeout), "%d B/s", tt.bps)
	}
	var cfg config
	WithRateLimit(0)(&cfg)
	assert.Nil(t, cfg.limit, "no limit")
}
