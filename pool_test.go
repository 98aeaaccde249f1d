package ftp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestPool returns a Pool on srv closed when the test ends, with quick
// retries.
func newTestPool(t *testing.T, srv *ftptest.Server, size int, opts ...Option) *Pool {
	t.Helper()
	opts = append([]Option{WithTimeout(20 * time.Second), WithRetry(8, time.Minute, time.Millisecond)}, opts...)
	p, err := NewPool(srv.URL(), size, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

func logins(srv *ftptest.Server) int {
	n := 0
	for _, c := range srv.Commands() {
		if strings.HasPrefix(c, "USER ") {
			n++
		}
	}
	return n
}

func TestNewPoolBadURL(t *testing.T) {
	for _, u := range []string{"http://x/", "::", "sftp://host/"} {
		_, err := NewPool(u, 2)
		assert.Error(t, err, u)
	}
}

func TestPoolReusesConnections(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("f", []byte("x"))
	p := newTestPool(t, srv, 3)
	assert.Equal(t, 0, logins(srv), "dialled lazily")
	ctx := context.Background()
	for range 10 {
		e, err := p.Stat(ctx, "f")
		require.NoError(t, err)
		assert.Equal(t, int64(1), e.Size)
	}
	assert.Equal(t, 1, logins(srv))
	assert.Equal(t, PoolStats{Open: 1, Idle: 1, Limit: 3, Max: 3}, p.Stats())
	require.NoError(t, p.Close())
	assert.Equal(t, 0, p.Stats().Open)
	_, err := p.Stat(ctx, "f")
	require.ErrorIs(t, err, ErrPoolClosed)
}

// parallelDownloads downloads n files of srv through p at once and checks
// them.
func parallelDownloads(t *testing.T, srv *ftptest.Server, p *Pool, n int) {
	t.Helper()
	files := map[string][]byte{}
	for i := range n {
		name := fmt.Sprintf("/d/file %d.bin", i)
		files[name] = randomBytes(t, 10_000+i)
		srv.WriteFile(name, files[name])
	}
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for name := range files {
		wg.Go(func() { errs <- p.Download(context.Background(), name, filepath.Join(dir, filepath.Base(name))) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.Base(name)))
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
}

func TestPoolConcurrentCap(t *testing.T) {
	srv := newServer(t)
	p := newTestPool(t, srv, 3)
	parallelDownloads(t, srv, p, 12)
	st := p.Stats()
	assert.LessOrEqual(t, st.Open, 3)
	assert.LessOrEqual(t, logins(srv), 3)
}

func TestPoolServerCappedAt2(t *testing.T) {
	srv := newServer(t, ftptest.WithMaxConnections(2))
	p := newTestPool(t, srv, 8)
	parallelDownloads(t, srv, p, 16)
	st := p.Stats()
	assert.LessOrEqual(t, st.Open, 2)
	assert.GreaterOrEqual(t, st.Limit, 1)
	assert.LessOrEqual(t, st.Limit, 2, "the cap comes down to what the server accepts")
}

func TestPoolRedialsAfter421(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
	}{
		{"NOOP check before reuse", []Option{WithIdleCheck(0)}},
		{"retry after the failure", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			srv.WriteFile("f", []byte("abc"))
			p := newTestPool(t, srv, 2, tt.opts...)
			ctx := context.Background()
			_, err := p.Stat(ctx, "f")
			require.NoError(t, err)
			srv.Broadcast("421 Timeout.\r\n")
			e, err := p.Stat(ctx, "f")
			require.NoError(t, err)
			assert.Equal(t, int64(3), e.Size)
			assert.Equal(t, 2, logins(srv))
		})
	}
}

func TestPoolRetryResumesDownload(t *testing.T) {
	data := randomBytes(t, 100_000)
	tests := []struct {
		name     string
		attempts int
		ok       bool
	}{
		{"enough attempts", 8, true},
		{"too few", 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, ftptest.WithTruncate(30_000, "426 Connection closed.\r\n"))
			srv.WriteFile("big", data)
			p := newTestPool(t, srv, 1, WithRetry(tt.attempts, time.Minute, time.Millisecond))
			local := filepath.Join(t.TempDir(), "big")
			err := p.Download(context.Background(), "big", local)
			if !tt.ok {
				require.Error(t, err)
				assert.True(t, IsTransient(err))
				fi, serr := os.Stat(PartName(local))
				require.NoError(t, serr)
				assert.Equal(t, int64(60_000), fi.Size(), "the part keeps what came")
				return
			}
			require.NoError(t, err)
			got, err := os.ReadFile(local)
			require.NoError(t, err)
			require.Equal(t, data, got)
			assert.Contains(t, srv.Commands(), "REST 90000")
		})
	}
}

func TestPoolNoRetryOnPermanent(t *testing.T) {
	srv := newServer(t)
	p := newTestPool(t, srv, 1)
	_, err := p.Stat(context.Background(), "/missing")
	require.ErrorIs(t, err, os.ErrNotExist)
	n := 0
	for _, c := range srv.Commands() {
		if strings.HasPrefix(c, "MLST") {
			n++
		}
	}
	assert.Equal(t, 1, n)
}

func TestPoolWaitHonoursContext(t *testing.T) {
	srv := newServer(t)
	p := newTestPool(t, srv, 1)
	held := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- p.Do(context.Background(), func(*Conn) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := p.Do(ctx, func(*Conn) error { return nil })
	require.ErrorIs(t, err, context.Canceled)
	close(release)
	require.NoError(t, <-done)
	require.NoError(t, p.Do(context.Background(), func(c *Conn) error { return c.NoOp(context.Background()) }))
}

func TestIsTransient(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&Error{Code: 421}, true},
		{&Error{Code: 450}, true},
		{&Error{Code: 550}, false},
		{fmt.Errorf("x: %w", ErrClosed), true},
		{ErrShortTransfer, true},
		{fmt.Errorf("reply to RNTO x: %w", io.EOF), true}, // the server hung up without a word
		{context.Canceled, false},
		{&os.PathError{Op: "open", Path: "x", Err: os.ErrNotExist}, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, IsTransient(tt.err), "%v", tt.err)
	}
}

func TestPoolRetryIsBounded(t *testing.T) {
	tests := []struct {
		name      string
		reply     string
		attempts  int
		wantStors int
		transient bool
	}{
		{"4xx retried", "452 Insufficient storage.\r\n", 3, 3, true},
		{"5xx not retried", "553 Not allowed.\r\n", 3, 1, false},
		{"one attempt", "450 Busy.\r\n", 1, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, ftptest.WithRawReply("STOR", tt.reply))
			local := filepath.Join(t.TempDir(), "f")
			require.NoError(t, os.WriteFile(local, []byte("data"), 0o644))
			p := newTestPool(t, srv, 2, WithRetry(tt.attempts, time.Minute, time.Millisecond))
			err := p.Upload(context.Background(), local, "f")
			require.Error(t, err)
			assert.Equal(t, tt.transient, IsTransient(err))
			assert.Equal(t, tt.wantStors, countVerb(srv, "STOR"))
		})
	}
}

func TestPoolRetryTimeBound(t *testing.T) {
	srv := newServer(t, ftptest.WithRawReply("STOR", "452 Insufficient storage.\r\n"))
	local := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(local, []byte("data"), 0o644))
	// The first backoff (≥ 750 ms) is already beyond the 1 ms budget.
	p := newTestPool(t, srv, 1, WithRetry(100, time.Millisecond, time.Second))
	require.Error(t, p.Upload(context.Background(), local, "f"))
	assert.Equal(t, 1, countVerb(srv, "STOR"))
}

// TestPoolCapComesBackUp checks that a cap lowered by a full server goes
// up again once the server has room: a Pool of 3 on a server of 3 where
// another client holds a session settles for 2, and after that client
// leaves and capProbeInterval has passed, opens the third.
func TestPoolCapComesBackUp(t *testing.T) {
	srv := newServer(t, ftptest.WithMaxConnections(3))
	other := dialTest(t, srv)
	p := newTestPool(t, srv, 3)
	clock := time.Now()
	setClock := func(f func() time.Time) {
		p.mu.Lock()
		p.now = f
		p.mu.Unlock()
	}
	setClock(func() time.Time { return clock })

	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	hold := func() {
		wg.Go(func() {
			assert.NoError(t, p.Do(ctx, func(*Conn) error {
				started <- struct{}{}
				<-release
				return nil
			}))
		})
	}
	for range 3 {
		hold()
	}
	<-started
	<-started
	require.Eventually(t, func() bool { return p.Stats().Limit == 2 }, 10*time.Second, time.Millisecond,
		"the third dial is refused and the cap comes down")
	release <- struct{}{}
	<-started // the third operation got the freed connection

	require.NoError(t, other.Quit(ctx))
	setClock(func() time.Time { // capProbeInterval passes at every look
		clock = clock.Add(capProbeInterval)
		return clock
	})
	hold()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the fourth operation still waits: the cap did not come back up")
	}
	st := p.Stats()
	assert.Equal(t, 3, st.Limit, "the cap is back up")
	assert.Equal(t, 3, st.Open)
	for range 3 {
		release <- struct{}{}
	}
	wg.Wait()
}

// TestPoolSharesServerZone checks that the time zone of a LIST server's
// times, found by one connection of a Pool (an MDTM against a LIST time),
// is given to the others, which do not ask again.
func TestPoolSharesServerZone(t *testing.T) {
	east8 := time.FixedZone("CST", 8*3600)
	srv := newServer(t, ftptest.WithoutMLSD(), ftptest.WithListLocation(east8))
	recent := recentTime(east8)
	srv.WriteFile("/new/f", []byte("x"))
	require.NoError(t, srv.SetModTime("/new/f", recent))
	p := newTestPool(t, srv, 2)
	ctx := context.Background()
	_, err := p.List(ctx, "/new")
	require.NoError(t, err)
	require.Equal(t, 1, countVerb(srv, "MDTM"))
	// The first connection busy, the second is dialled for this listing.
	require.NoError(t, p.Do(ctx, func(*Conn) error {
		entries, err := p.List(ctx, "/new")
		require.NoError(t, err)
		require.Len(t, entries, 1)
		assert.True(t, recent.Truncate(time.Minute).Equal(entries[0].ModTime), "listed %v, want %v", entries[0].ModTime, recent)
		return nil
	}))
	assert.Equal(t, 2, p.Stats().Open)
	assert.Equal(t, 1, countVerb(srv, "MDTM"), "the zone found once for the Pool")
}

// TestPoolKeepsConnAfterProvenPath: an error that a check on the
// connection proved (a missing folder that vsftpd lists as empty, found
// missing with CWD and a listing of its parent) leaves the connection in
// the Pool: the next operation logs in no more.
func TestPoolKeepsConnAfterProvenPath(t *testing.T) {
	srv := newServer(t, vsftpdLike()...)
	srv.MkdirAll("/pub")
	p := newTestPool(t, srv, 1)
	ctx := context.Background()
	_, err := p.List(ctx, "/pub/missing")
	require.ErrorIs(t, err, fs.ErrNotExist)
	_, err = p.List(ctx, "/pub")
	require.NoError(t, err)
	assert.Equal(t, 1, countVerb(srv, "USER"), "one login: the connection was kept")
}

// TestPoolCloseDoesNotWaitForQuit: Close ends each idle connection with
// QUIT and closes it without reading the 221, which says nothing anyone
// acts on: the round trip it would cost comes at the end of every run.
func TestPoolCloseDoesNotWaitForQuit(t *testing.T) {
	srv := newServer(t)
	var trace bytes.Buffer // one connection: one writer at a time
	p, err := NewPool("ftp://user:pass@"+srv.Addr(), 1, WithDebug(&trace))
	require.NoError(t, err)
	_, err = p.List(context.Background(), "/")
	require.NoError(t, err)
	require.NoError(t, p.Close())
	assert.Contains(t, trace.String(), "> QUIT")
	assert.NotContains(t, trace.String(), "< 221")
}
