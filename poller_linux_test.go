package ftp

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPollerTakesPlainTransfers: on Linux, plain passive transfers read
// their replies on the caller's goroutine, and the poller holds no data
// connection once a transfer is over, refused ones included; active mode
// keeps its background reader.
func TestPollerTakesPlainTransfers(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		opts   []Option
		polled bool
	}{
		{"passive", []Option{WithPassive()}, true},
		{"active", []Option{WithActive()}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			srv.WriteFile("f", []byte("data"))
			var polled, background int
			count := func(tr *transfer) {
				if tr.poll != nil && tr.rep.ch == nil {
					polled++
				} else {
					background++
				}
			}
			c := dialTest(t, srv, append(tc.opts, func(c *config) { c.beforeFirst = count })...)
			for range 5 {
				assert.Equal(t, "data", string(retrAll(t, c, "f")))
				_, err := c.Retr(ctx, "missing")
				assert.ErrorIs(t, err, fs.ErrNotExist)
				require.NoError(t, c.Stor(ctx, "g", bytes.NewReader([]byte("up"))))
			}
			if !tc.polled {
				assert.Zero(t, polled)
				assert.GreaterOrEqual(t, background, 5, "every download that got a data connection")
				assert.Nil(t, c.ctl.poll, "no poller made")
				return
			}
			assert.Equal(t, 10, polled, "downloads waited on the poller")
			require.NotNil(t, c.ctl.poll)
			assert.Equal(t, 1, pollerTargets(t, c.ctl.poll), "the control connection only")
		})
	}
}

// pollerTargets counts the descriptors in p's epoll instance.
func pollerTargets(t *testing.T, p *poller) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/self/fdinfo/%d", p.fd()))
	require.NoError(t, err)
	defer f.Close()
	n := 0
	for s := bufio.NewScanner(f); s.Scan(); {
		if strings.HasPrefix(s.Text(), "tfd:") {
			n++
		}
	}
	return n
}

// fd is the epoll descriptor, for tests.
func (p *poller) fd() int {
	fd := -1
	p.raw.Control(func(s uintptr) { fd = int(s) })
	return fd
}
