package ftp

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrPoolClosed is returned by the methods of a Pool after Close.
var ErrPoolClosed = errors.New("ftp: pool closed")

// maxRefusals bounds how many times in a row a Pool retries a dial that
// the server refuses with "too many connections" while the Pool has no
// connection open at all.
const maxRefusals = 12

// capProbeInterval is how long a Pool whose cap a full server lowered
// waits before it tries one connection more: the server may have had
// other clients then, and a long job should not run at the low cap for
// good.
const capProbeInterval = 30 * time.Second

// poolConfig is what the pool options set.
type poolConfig struct {
	idleCheck time.Duration // 0: 10 s
	attempts  int           // 0: 5
	retryTime time.Duration // 0: 2 min
	backoff   time.Duration // first retry delay; 0: 200 ms
}

// WithIdleCheck sets how long a pooled connection may stay idle before the
// Pool checks it with NOOP before handing it out again (default 10 s;
// zero or less: check every time). Dial ignores it.
func WithIdleCheck(d time.Duration) Option {
	return func(c *config) { c.pool.idleCheck = max(d, time.Nanosecond) }
}

// WithRetry sets how the transfers and other methods of a Pool retry after
// transient failures (4xx replies, dropped or closed connections, cut
// transfers): at most attempts tries in all, none started later than
// within after the first, waiting first backoff (doubled each time, with
// jitter, up to 5 s) in between. Downloads and uploads resume where the
// failed attempt stopped. attempts 1 disables retrying; zero values keep
// the defaults (5 attempts within 2 minutes, backoff 200 ms). Dial
// ignores it.
func WithRetry(attempts int, within, backoff time.Duration) Option {
	return func(c *config) {
		c.pool.attempts, c.pool.retryTime, c.pool.backoff = attempts, within, backoff
	}
}

// A Pool keeps up to a number of logged-in connections to one server and
// hands them out for one operation at a time. Connections are dialled when
// needed, reused, checked with NOOP after idling, and dropped when broken
// (421, closed, network errors) so that the next use dials afresh. A server
// that refuses a login with "421 too many connections" lowers the Pool's
// cap to what the server accepts, and the refused operation waits for a
// connection instead of failing; every 30 seconds after, the Pool tries
// one connection more, so that the cap comes back up when the server has
// room again. A Pool is safe for concurrent use.
type Pool struct {
	url  string
	opts []Option
	cfg  poolConfig

	mu      sync.Mutex
	idle    []idleConn // most recently used last
	open    int        // connections open or being dialled
	limit   int        // the effective cap, at most max
	max     int
	lowered time.Time // when a full server last lowered limit
	now     func() time.Time
	closed  bool
	wake    chan struct{} // closed and replaced when a connection frees up
	// zone is the time zone of the server's LIST times as one
	// connection found it (an MDTM compared with a LIST time), given to
	// the others so that each does not ask again.
	zone *time.Location
	// noPipeline: a connection's pipelined exchange failed; the others
	// send one command at a time too.
	noPipeline bool
	dials      atomic.Int64 // connections dialled, to number their traces
}

type idleConn struct {
	c     *Conn
	since time.Time
}

// PoolStats describes the connections of a Pool.
type PoolStats struct {
	Open  int // open or being dialled, idle ones included
	Idle  int
	Limit int // the cap, lowered when the server refused connections
	Max   int // the cap given to NewPool
}

// NewPool returns a Pool of at most size connections (at least 1) to the
// server of rawURL (ftp:// or ftps://, with credentials as DialURL takes
// them), each dialled with opts. Nothing is dialled until the Pool is used.
func NewPool(rawURL string, size int, opts ...Option) (*Pool, error) {
	if _, err := parseURL(rawURL); err != nil {
		return nil, err
	}
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	pc := cfg.pool
	if pc.idleCheck == 0 {
		pc.idleCheck = 10 * time.Second
	}
	if pc.attempts <= 0 {
		pc.attempts = 5
	}
	if pc.retryTime <= 0 {
		pc.retryTime = 2 * time.Minute
	}
	if pc.backoff <= 0 {
		pc.backoff = 200 * time.Millisecond
	}
	size = max(size, 1)
	return &Pool{url: rawURL, opts: opts, cfg: pc, limit: size, max: size, now: time.Now, wake: make(chan struct{})}, nil
}

// Stats returns the state of the Pool's connections.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PoolStats{Open: p.open, Idle: len(p.idle), Limit: p.limit, Max: p.max}
}

// Close closes the Pool: idle connections are ended with QUIT, busy ones
// when their operation returns. Later calls fail with ErrPoolClosed.
// Close does not wait for the replies to QUIT.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.open -= len(idle)
	p.broadcastLocked()
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, ic := range idle {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			ic.c.quitNow(ctx)
		})
	}
	wg.Wait()
	return nil
}

// broadcastLocked wakes every goroutine waiting for a connection.
func (p *Pool) broadcastLocked() {
	close(p.wake)
	p.wake = make(chan struct{})
}

// Do runs fn with a connection of the Pool, dialling one if none is idle
// and the cap allows, or else waiting for one. The connection goes back to
// the Pool after fn, unless fn's error says it is broken. fn must not keep
// the connection, nor leave a Response open.
func (p *Pool) Do(ctx context.Context, fn func(*Conn) error) error {
	c, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	err = fn(c)
	p.release(c, err)
	return err
}

// acquire takes an idle connection or dials one.
func (p *Pool) acquire(ctx context.Context) (*Conn, error) {
	refusals := 0
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, ErrPoolClosed
		}
		if n := len(p.idle); n > 0 {
			ic := p.idle[n-1]
			p.idle = p.idle[:n-1]
			p.mu.Unlock()
			if time.Since(ic.since) >= p.cfg.idleCheck {
				if err := ic.c.NoOp(ctx); !answered(err) {
					p.discard(ic.c)
					continue
				}
			}
			p.share(ic.c)
			return ic.c, nil
		}
		if p.open < p.limit {
			p.open++
			p.mu.Unlock()
			c, err := DialURL(ctx, p.url, p.dialOpts()...)
			if err == nil {
				p.share(c)
				return c, nil
			}
			p.mu.Lock()
			if !p.dialFailedLocked(ctx, err) {
				p.mu.Unlock()
				return nil, errorf("pool: %w", err)
			}
			others := p.open
			w := p.wake
			p.mu.Unlock()
			refusals++
			if others == 0 && refusals > maxRefusals {
				return nil, errorf("pool: refused %d times: %w", refusals, err)
			}
			if err := waitBackoff(ctx, backoffDelay(p.cfg.backoff, refusals), w); err != nil {
				return nil, err
			}
			continue
		}
		if p.limit < p.max && p.now().Sub(p.lowered) >= capProbeInterval {
			// Try one more: a refusal lowers the cap again.
			p.limit++
			p.lowered = p.now()
			p.mu.Unlock()
			continue
		}
		w := p.wake
		p.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// dialFailedLocked frees the place of a dial that failed with err and
// reports whether the server refused it for being full, in which case the
// cap comes down to the connections it took. The caller holds mu.
func (p *Pool) dialFailedLocked(ctx context.Context, err error) (full bool) {
	p.open--
	p.broadcastLocked()
	if !isTooManyConnections(err) || ctx.Err() != nil {
		return false
	}
	if p.open > 0 && p.open < p.limit {
		p.limit = p.open
	}
	p.lowered = p.now()
	return true
}

// warm dials at once, each on a goroutine of its own, the connections
// that n operations at a time would open, within the cap, into the idle
// ones: logins overlap instead of each waiting for the operation that
// needs it (over a network a login costs 5 to 10 round trips), and an
// operation that comes meanwhile takes the first one ready. Their places
// are taken before warm returns; wait returns when each dial has ended. A
// failed dial is left to the operation that dials again.
func (p *Pool) warm(ctx context.Context, n int) (wait func()) {
	p.mu.Lock()
	n = max(min(n, p.limit)-p.open, 0) // idle ones included in open
	if p.closed {
		n = 0
	}
	p.open += n
	p.mu.Unlock()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			c, err := DialURL(ctx, p.url, p.dialOpts()...)
			if err == nil {
				p.share(c)
				p.release(c, nil)
				return
			}
			p.mu.Lock()
			p.dialFailedLocked(ctx, err)
			p.mu.Unlock()
		})
	}
	return wg.Wait
}

// share gives c, which no call is using, what another connection of the
// Pool learned of the server, or the other way round: the time zone of
// its LIST times (see findZone), and that it mishandles pipelined
// commands (see pipelines).
func (p *Pool) share(c *Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.noPipeline = p.noPipeline || c.pipe.off
	if p.noPipeline {
		c.pipelineOff("another connection of the Pool lost commands sent together")
	}
	switch {
	case c.zone == nil && p.zone != nil:
		c.zone, c.zoneAsked = p.zone, true
	case c.zone != nil && p.zone == nil:
		p.zone = c.zone
	}
}

// release gives c back after an operation that ended with err.
func (p *Pool) release(c *Conn, err error) {
	if err != nil && broken(err) {
		p.discard(c)
		return
	}
	p.share(c)
	p.mu.Lock()
	if p.closed {
		p.open--
		p.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c.quitNow(ctx)
		return
	}
	p.idle = append(p.idle, idleConn{c, time.Now()})
	p.broadcastLocked()
	p.mu.Unlock()
}

// discard closes a broken connection and frees its place.
func (p *Pool) discard(c *Conn) {
	p.share(c) // what broke it may concern the others
	c.Close()
	p.mu.Lock()
	p.open--
	p.broadcastLocked()
	p.mu.Unlock()
}

// broken reports whether an operation's error leaves its connection
// unfit for reuse: anything but a plain negative reply or a local problem.
func broken(err error) bool {
	if errors.Is(err, ErrClosed) || errors.Is(err, ErrBusy) {
		return true
	}
	if errors.Is(err, ErrChecksumMismatch) || errors.Is(err, ErrSizeMismatch) ||
		errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrNotDir) || errors.Is(err, ErrIsDir) {
		return false // a check on the connection proved what the path is: it works
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Code == 421
	}
	var pe *fs.PathError
	return !errors.As(err, &pe)
}

// answered reports whether the idle check's NOOP found the session alive:
// any reply but 421 does, also a refusal ("502 Command not implemented"
// from servers without NOOP); only a reply that never came, or 421, means
// the connection is gone.
func answered(err error) bool {
	if err == nil {
		return true
	}
	var fe *Error
	return errors.As(err, &fe) && fe.Code != 421 && !errors.Is(err, ErrClosed)
}

// isTooManyConnections reports whether a dial failed because the server
// has no room for another session: 421 as greeting or reply to the login,
// or a 530 that says so (ProFTPD's MaxClients).
func isTooManyConnections(err error) bool {
	var fe *Error
	if !errors.As(err, &fe) {
		return false
	}
	if fe.Code == 421 {
		return true
	}
	msg := strings.ToLower(fe.Msg)
	return fe.Code == 530 && (strings.Contains(msg, "too many") || strings.Contains(msg, "maximum"))
}

// IsTransient reports whether err is a failure that trying again may cure:
// a 4xx reply, a dropped or closed connection (also one the server closed
// without a reply: io.EOF), a transfer cut short or one
// whose checksum did not match (its temporary file is gone). Cancellation,
// 5xx replies and local file errors are not transient.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, ErrClosed) || errors.Is(err, ErrShortTransfer) || errors.Is(err, ErrChecksumMismatch) ||
		errors.Is(err, ErrSizeMismatch) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var fe *Error
	if errors.As(err, &fe) {
		switch fe.fact {
		case fs.ErrNotExist, ErrNotDir, ErrIsDir, fs.ErrPermission:
			return false // a check proved what the path is: asking again changes nothing
		}
		return fe.Code/100 == 4
	}
	var de *DataConnError
	if errors.As(err, &de) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// backoffDelay is the wait before retry n (1, 2 …): base doubled each
// time up to 5 s, with ±25 % jitter.
func backoffDelay(base time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < 5*time.Second; i++ {
		d *= 2
	}
	d = min(d, 5*time.Second)
	return d - d/4 + rand.N(d/2+1)
}

// waitBackoff waits d, or until wake is closed (if not nil) or ctx ends.
func waitBackoff(ctx context.Context, d time.Duration, wake <-chan struct{}) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Retry runs fn through Do, again after transient failures (see
// IsTransient and WithRetry), with backoff. It returns the last error.
func (p *Pool) Retry(ctx context.Context, fn func(*Conn) error) error {
	start := time.Now()
	var err error
	for attempt := 1; ; attempt++ {
		err = p.Do(ctx, fn)
		if err == nil || !IsTransient(err) || attempt >= p.cfg.attempts || ctx.Err() != nil {
			return err
		}
		d := backoffDelay(p.cfg.backoff, attempt)
		if time.Since(start)+d > p.cfg.retryTime {
			return err
		}
		if werr := waitBackoff(ctx, d, nil); werr != nil {
			return errors.Join(err, werr)
		}
	}
}

// Download is Conn.Download through the Pool, retried after transient
// failures, each attempt resuming from what the last one stored; with
// WithSegments, over several connections at once.
func (p *Pool) Download(ctx context.Context, remote, local string, opts ...TransferOption) error {
	if cfg := newTransferConfig(opts); cfg.segments > 1 {
		if done, err := p.downloadSegments(ctx, remote, local, cfg); done {
			return err
		}
	}
	return p.Retry(ctx, func(c *Conn) error { return c.Download(ctx, remote, local, opts...) })
}

// Upload is Conn.Upload through the Pool, retried after transient
// failures, each attempt resuming from what the server stored.
func (p *Pool) Upload(ctx context.Context, local, remote string, opts ...TransferOption) error {
	return p.Retry(ctx, func(c *Conn) error { return c.Upload(ctx, local, remote, opts...) })
}

// List is Conn.List through the Pool, retried after transient failures.
func (p *Pool) List(ctx context.Context, dir string) ([]*Entry, error) {
	var out []*Entry
	err := p.Retry(ctx, func(c *Conn) (err error) { out, err = c.List(ctx, dir); return err })
	return out, err
}

// Stat is Conn.Stat through the Pool, retried after transient failures.
func (p *Pool) Stat(ctx context.Context, name string) (*Entry, error) {
	var out *Entry
	err := p.Retry(ctx, func(c *Conn) (err error) { out, err = c.Stat(ctx, name); return err })
	return out, err
}

// MakeDirAll is Conn.MakeDirAll through the Pool, retried after transient
// failures.
func (p *Pool) MakeDirAll(ctx context.Context, dir string) error {
	return p.Retry(ctx, func(c *Conn) error { return c.MakeDirAll(ctx, dir) })
}

// MakeDir is Conn.MakeDir through the Pool, retried after transient
// failures.
func (p *Pool) MakeDir(ctx context.Context, dir string) error {
	return p.Retry(ctx, func(c *Conn) error { return c.MakeDir(ctx, dir) })
}

// Delete is Conn.Delete through the Pool, retried after transient failures.
func (p *Pool) Delete(ctx context.Context, name string) error {
	return p.Retry(ctx, func(c *Conn) error { return c.Delete(ctx, name) })
}

// RemoveDir is Conn.RemoveDir through the Pool, retried after transient
// failures.
func (p *Pool) RemoveDir(ctx context.Context, dir string) error {
	return p.Retry(ctx, func(c *Conn) error { return c.RemoveDir(ctx, dir) })
}

// RemoveAll is Conn.RemoveAll through the Pool, retried after transient
// failures.
func (p *Pool) RemoveAll(ctx context.Context, name string) error {
	return p.Retry(ctx, func(c *Conn) error { return c.RemoveAll(ctx, name) })
}
