package ftp

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deadlineConn records the deadlines set on it.
type deadlineConn struct {
	net.Conn
	mu  sync.Mutex
	set []time.Time
}

func (d *deadlineConn) SetDeadline(t time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.set = append(d.set, t)
	return nil
}

func (d *deadlineConn) deadlines() []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Time(nil), d.set...)
}

// TestWatchdogExtendThrottled checks that extend, called before every read
// of a transfer, moves the deadline once per sixteenth of the timeout at
// most, also across operations, and that a cap, a context's deadline and
// a cancellation always set it.
func TestWatchdogExtendThrottled(t *testing.T) {
	nc := &deadlineConn{}
	w := newWatchdog(nc.SetDeadline, time.Hour)
	before := time.Now()
	w.start(context.Background())
	for range 1000 {
		w.extend()
	}
	got := nc.deadlines()
	require.Len(t, got, 1, "1,000 extends within a sixteenth of the timeout move the deadline once")
	assert.False(t, got[0].Before(before.Add(time.Hour)))
	require.NoError(t, w.stop())

	for range 100 {
		w.start(context.Background())
		w.extend()
		require.NoError(t, w.stop())
	}
	assert.Len(t, nc.deadlines(), 1, "operations within a sixteenth of the timeout keep the idle deadline in force")

	w.start(context.Background())
	limit := time.Now().Add(time.Minute)
	w.cap(limit)
	got = nc.deadlines()
	require.Len(t, got, 2, "cap moves the deadline at once")
	assert.Equal(t, limit, got[1])
	w.cap(time.Time{})
	require.NoError(t, w.stop())
	w.start(context.Background())
	require.NoError(t, w.stop())
	got = nc.deadlines()
	assert.False(t, got[len(got)-1].Before(before.Add(time.Hour)), "after a cap, the next operation has the idle deadline again")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	w.start(ctx)
	got = nc.deadlines()
	assert.True(t, got[len(got)-1].Before(time.Now().Add(2*time.Minute)), "a context's deadline bounds the operation at once")
	cancel()
	assert.Eventually(t, func() bool {
		got := nc.deadlines()
		return got[len(got)-1].Equal(aLongTimeAgo)
	}, 5*time.Second, time.Millisecond, "cancelling interrupts at once")
	assert.ErrorIs(t, w.stop(), context.Canceled)
	n := len(nc.deadlines())
	w.start(context.Background())
	got = nc.deadlines()
	require.Len(t, got, n+1, "after a cancellation the next operation sets a deadline")
	assert.False(t, got[n].Before(before.Add(time.Hour)))
	require.NoError(t, w.stop())
}
