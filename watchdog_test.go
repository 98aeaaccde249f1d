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
// most, and that start, cap and stop always set it.
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

	limit := time.Now().Add(time.Minute)
	w.cap(limit)
	got = nc.deadlines()
	require.Len(t, got, 2, "cap moves the deadline at once")
	assert.Equal(t, limit, got[1])
	w.cap(time.Time{})

	require.NoError(t, w.stop())
	got = nc.deadlines()
	assert.True(t, got[len(got)-1].IsZero(), "stop clears the deadline")

	w.start(context.Background())
	assert.Len(t, nc.deadlines(), len(got)+1, "a new operation sets its own deadline")
	require.NoError(t, w.stop())
}
