package ftp

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wire records, in order, the command lines a control connection wrote
// ("> VERB arg") and the data it read ("< ..."). Only the first
// connection dialled, the control connection, is recorded.
type wire struct {
	mu     sync.Mutex
	events []string
	dialed bool
}

func (w *wire) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dialed {
		return nc, nil
	}
	w.dialed = true
	return &wireConn{Conn: nc, w: w}, nil
}

func (w *wire) add(e string) {
	w.mu.Lock()
	w.events = append(w.events, e)
	w.mu.Unlock()
}

// index is the position of the first event with prefix, or -1.
func (w *wire) index(prefix string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.IndexFunc(w.events, func(e string) bool { return strings.HasPrefix(e, prefix) })
}

type wireConn struct {
	net.Conn
	w *wire
}

func (c *wireConn) Write(b []byte) (int, error) {
	// One event per command line, however many go in one write.
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l != "" {
			c.w.add("> " + l)
		}
	}
	return c.Conn.Write(b)
}

func (c *wireConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		// One event per reply line, so that each can be found.
		for _, l := range strings.SplitAfter(string(b[:n]), "\n") {
			if l != "" {
				c.w.add("< " + l)
			}
		}
	}
	return n, err
}

// TestUploadEndsInTwoFlights checks the end of an upload: SIZE, MFMT and
// RNFR go out together, and RNTO, which replaces the target, only once
// the SIZE reply has proven the part complete: two round trips instead of
// four.
func TestUploadEndsInTwoFlights(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("/up/f", []byte("old"))
	local := filepath.Join(t.TempDir(), "f")
	data := randomBytes(t, 5000)
	require.NoError(t, os.WriteFile(local, data, 0o644))
	w := &wire{}
	c := dialTest(t, srv, WithDialFunc(w.dial))
	require.NoError(t, c.Upload(context.Background(), local, "/up/f"))
	got, err := srv.ReadFile("/up/f")
	require.NoError(t, err)
	assert.Equal(t, data, got)

	size, mfmt, rnfr := w.index("> SIZE /up/.f.part"), w.index("> MFMT "), w.index("> RNFR /up/.f.part")
	sized, rnto := w.index("< 213 5000"), w.index("> RNTO /up/f")
	require.True(t, size >= 0 && mfmt >= 0 && rnfr >= 0 && sized >= 0 && rnto >= 0, "%q", w.events)
	assert.Less(t, mfmt, sized, "MFMT sent before the SIZE reply came")
	assert.Less(t, rnfr, sized, "RNFR sent before the SIZE reply came")
	assert.Greater(t, rnto, sized, "RNTO only after the size is proven")
}

// TestUploadPipelinedSizeMismatch checks that a part whose SIZE is wrong is
// never renamed onto the target, although its RNFR went out with the
// SIZE: the RNFR is taken back by renaming the part onto itself, the part
// is checked again one command at a time, and, wrong again, removed.
func TestUploadPipelinedSizeMismatch(t *testing.T) {
	for _, tt := range []struct {
		name  string
		opt   ftptest.ServerOption
		wrong bool // SIZE lies every time, not once
	}{
		{"once", ftptest.WithRawReplyTimes("SIZE", "213 1\r\n", 1), false},
		{"always", ftptest.WithRawReply("SIZE", "213 1\r\n"), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.opt)
			old := []byte("the only copy of the old contents")
			srv.WriteFile("/up/f", old)
			local := filepath.Join(t.TempDir(), "f")
			data := randomBytes(t, 5000)
			require.NoError(t, os.WriteFile(local, data, 0o644))
			c := dialTest(t, srv)
			err := c.Upload(context.Background(), local, "/up/f")
			got, rerr := srv.ReadFile("/up/f")
			require.NoError(t, rerr)
			assert.Contains(t, srv.Commands(), "RNTO /up/.f.part", "the pipelined RNFR taken back")
			if !tt.wrong {
				require.NoError(t, err)
				assert.Equal(t, data, got, "checked again, complete, renamed")
				return
			}
			require.ErrorIs(t, err, ErrSizeMismatch)
			assert.Equal(t, old, got, "the target is kept")
			assert.NotContains(t, srv.Commands(), "RNTO /up/f")
			_, serr := srv.Stat("/up/.f.part")
			assert.Error(t, serr, "the part that is not the file is removed")
		})
	}
}

// dropConn is the control connection to a server that takes the first of
// the commands that come in one write after a transfer's end and loses the
// rest (SIZE with what follows it).
type dropConn struct{ net.Conn }

func (c *dropConn) Write(b []byte) (int, error) {
	if first, rest, ok := strings.Cut(string(b), "\r\n"); ok && rest != "" && strings.HasPrefix(first, "SIZE ") {
		if _, err := c.Conn.Write([]byte(first + "\r\n")); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return c.Conn.Write(b)
}

// TestUploadPipeliningFallsBack checks that a server that loses pipelined
// commands costs one failed attempt, not the upload: the exchange times
// out, nothing is renamed, and the Pool's next connection sends one
// command at a time.
func TestUploadPipeliningFallsBack(t *testing.T) {
	srv := newServer(t)
	old := []byte("the old contents")
	srv.WriteFile("/up/f", old)
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil || addr != srv.Addr() {
			return nc, err
		}
		return &dropConn{Conn: nc}, nil
	}
	p := newTestPool(t, srv, 1, WithDialFunc(dial), WithTimeout(2*time.Second), WithRetry(3, time.Minute, time.Millisecond))
	local := filepath.Join(t.TempDir(), "f")
	data := randomBytes(t, 5000)
	require.NoError(t, os.WriteFile(local, data, 0o644))
	require.NoError(t, p.Upload(context.Background(), local, "/up/f"))
	got, err := srv.ReadFile("/up/f")
	require.NoError(t, err)
	assert.Equal(t, data, got)
	assert.Equal(t, 2, countVerb(srv, "STOR"), "one attempt lost to the pipelined flight")
}
