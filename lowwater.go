package ftp

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// A download that arrives fast wakes its reader for every few kilobytes;
// the socket's receive low-water mark (SO_RCVLOWAT) holds the wakeup until
// lowWaterMark bytes are there, so each read takes a large piece (figures:
// bench/README.md, the io.Discard case). The mark is raised only while a
// MiB comes within fastMiB, and a read that waits on it longer than
// lowWaterPatience lowers it: a slow sender's bytes are never held long.
// Only plain TCP downloads read through transfer.read use it: splice puts
// it down first (it waits without the patience timer), and a TLS read,
// which needs a whole record, would wait on it for a record's second half.

const (
	lowWaterMark     = 128 << 10
	fastMiB          = 10 * time.Millisecond // 100 MiB/s
	lowWaterPatience = 20 * time.Millisecond
)

// lowWater raises and lowers the receive low-water mark of one data
// connection. Reads happen on one goroutine; the patience timer lowers the
// mark from another.
type lowWater struct {
	raw   syscall.RawConn // the TCP socket
	fast  time.Duration   // a MiB that comes within this raises the mark
	mib   int64           // MiB received at the last rate check
	since time.Time       // when
	timer *time.Timer     // made by the first raise: lowers the mark when a read waits too long

	raised  atomic.Bool // the mark is up; changes with the socket's, under mu
	waiting atomic.Bool // a read the timer is armed for is under way

	mu    sync.Mutex
	ended bool // released: the mark stays down
}

// newLowWater returns the low-water mark control of a data connection, or
// nil when it is not a plain TCP socket this platform can mark. fast is
// the time within which a MiB must come to raise the mark (fastMiB; tests
// make it long, to raise it at once).
func newLowWater(conn net.Conn, fast time.Duration) *lowWater {
	if !rcvLowatSupported() {
		return nil
	}
	raw, ok := rawSocket(conn)
	if !ok {
		return nil
	}
	return &lowWater{raw: raw, fast: fast, since: time.Now()}
}

// rawSocket returns the socket of a plain TCP connection, for the socket
// options and waits the standard library has no call for.
func rawSocket(conn net.Conn) (syscall.RawConn, bool) {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return nil, false
	}
	raw, err := tc.SyscallConn()
	return raw, err == nil
}

// before is called before each read: with the mark raised, it arms the
// timer that lowers it if the read waits too long.
func (w *lowWater) before() {
	if w != nil && w.raised.Load() {
		w.waiting.Store(true)
		w.timer.Reset(lowWaterPatience)
	}
}

// after is called after each read with the bytes received so far: it
// disarms the timer, and raises the mark when a MiB has come fast.
func (w *lowWater) after(total int64) {
	if w == nil {
		return
	}
	if w.waiting.Swap(false) {
		w.timer.Stop()
	}
	mib := total >> 20
	if mib == w.mib {
		return
	}
	now := time.Now()
	fast := now.Sub(w.since) <= time.Duration(mib-w.mib)*w.fast
	w.mib, w.since = mib, now
	if fast {
		w.raise()
	}
}

// piece returns how much a read should ask for: a whole mark's worth once
// it is raised, else small (see readPiece).
func (w *lowWater) piece() int {
	if w != nil && w.raised.Load() {
		return lowWaterMark
	}
	return readPiece
}

// raise raises the mark, unless it is up or has been released.
func (w *lowWater) raise() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.raised.Load() || w.ended {
		return
	}
	if w.timer == nil {
		w.timer = time.AfterFunc(time.Hour, w.lower)
		w.timer.Stop()
	}
	if w.set(lowWaterMark) {
		w.raised.Store(true)
	}
}

// lower is the patience timer's: if the read it was armed for still
// waits, it puts the mark down, which wakes that read at once on what has
// arrived. A timer that fires as its read returns does nothing.
func (w *lowWater) lower() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.waiting.Load() {
		w.down()
	}
}

// release puts the mark down for good: before a splice, which waits on
// the socket without the patience timer, and at the end of the transfer.
func (w *lowWater) release() {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ended = true
	if w.timer != nil {
		w.timer.Stop()
	}
	w.down()
}

// down sets the mark back to one byte. The caller holds mu.
func (w *lowWater) down() {
	if w.raised.Load() {
		w.set(1)
		w.raised.Store(false)
	}
}

// set sets the mark and reports whether the socket took it.
func (w *lowWater) set(mark int) bool {
	var serr error
	if err := w.raw.Control(func(fd uintptr) { serr = setRcvLowat(fd, mark) }); err != nil {
		return false
	}
	return serr == nil
}
