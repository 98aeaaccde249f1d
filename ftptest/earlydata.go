package ftptest

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// WithEarlyDataLost makes the server accept a passive data connection as
// soon as it comes, and close it when data arrive on it before the
// transfer command that is to use it, as pyftpdlib 1.5.7 does (it takes
// data on a connection that expects none for a disconnection). The
// command then waits for a data connection that never comes, until the
// client aborts or dataTimeout passes (425); pyftpdlib answers "150 File
// status okay. About to open data connection." and waits for ever.
//
// A client meets it when its data overtake its command: an upload sent
// at once behind STOR, through a proxy that relays the control and data
// connections independently.
func WithEarlyDataLost() ServerOption {
	return func(c *config) { c.earlyDataLost = true }
}

// eagerData is a passive data connection accepted before its transfer
// command (WithEarlyDataLost).
type eagerData struct {
	mu    sync.Mutex
	taken bool          // the transfer command came
	lost  bool          // data came first: the connection is closed
	conn  net.Conn      // the connection accepted, unless lost
	first []byte        // what the watch read of the data, handed on
	ready chan struct{} // closed once conn or lost is settled
	done  chan struct{} // closed when the watch has stopped reading
}

// acceptEagerly accepts on ln at once and watches the connection for
// data until the transfer command takes it.
func (s *session) acceptEagerly(ln *net.TCPListener) *eagerData {
	e := &eagerData{ready: make(chan struct{}), done: make(chan struct{})}
	peer := addrIP(s.conn.RemoteAddr())
	s.srv.wg.Go(func() {
		defer close(e.done)
		c, err := acceptFrom(s.ctx, ln, peer)
		if err != nil {
			e.lost = true
			close(e.ready)
			return
		}
		e.conn = c
		close(e.ready)
		buf := make([]byte, 1)
		n, _ := c.Read(buf) // ended by a byte, a close, or take's deadline
		e.mu.Lock()
		defer e.mu.Unlock()
		if n > 0 && !e.taken {
			e.lost = true
			s.cfg.logf("ftptest: data before the transfer command: data connection closed")
			c.Close()
			return
		}
		e.first = buf[:n]
	})
	return e
}

// take is the opener of a transfer whose data connection was accepted
// eagerly: the connection, with any byte the watch read put back, or a
// wait until ctx ends or dataTimeout passes when it was lost.
func (e *eagerData) take(ctx context.Context) (net.Conn, error) {
	e.mu.Lock()
	e.taken = true
	e.mu.Unlock()
	select {
	case <-e.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if e.conn != nil {
		e.conn.SetReadDeadline(time.Unix(1, 0)) // stop the watch
		<-e.done
		e.conn.SetReadDeadline(time.Time{})
	}
	if e.lost {
		t := time.NewTimer(dataTimeout)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		return nil, errEarlyData
	}
	if len(e.first) == 0 {
		return e.conn, nil
	}
	return &replayConn{Conn: e.conn, first: e.first}, nil
}

// drop closes a connection accepted eagerly that no transfer took (its
// listener is closed already, which ends a pending accept).
func (e *eagerData) drop() {
	e.mu.Lock()
	e.taken = true
	e.mu.Unlock()
	<-e.ready
	if e.conn != nil {
		e.conn.Close()
	}
}

// errEarlyData: the data connection was closed for data that came before
// the transfer command.
var errEarlyData = errors.New("data came before the transfer command: data connection closed")

// replayConn is a connection whose first reads return first.
type replayConn struct {
	net.Conn
	first []byte
}

func (r *replayConn) Read(p []byte) (int, error) {
	if len(r.first) > 0 {
		n := copy(p, r.first)
		r.first = r.first[n:]
		return n, nil
	}
	return r.Conn.Read(p)
}
