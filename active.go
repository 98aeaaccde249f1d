package ftp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// listenActive opens the listener of an active data connection on the
// control connection's local address and announces it with PORT (IPv4)
// or EPRT (IPv6, or an IPv4 address announced over IPv6).
func (c *Conn) listenActive(ctx context.Context) (net.Listener, error) {
	if c.localIP == nil {
		return nil, errors.New("ftp: active mode needs a TCP control connection (WithDialFunc returned another kind)")
	}
	ln, err := c.listen(ctx)
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ip := c.localIP
	if c.cfg.activeIP != nil {
		ip = c.cfg.activeIP
	}
	verb, arg := "EPRT", eprtArg(ip, port)
	if ip.To4() != nil && !c.ipv6 {
		verb, arg = "PORT", portArg(ip, port)
	}
	_, err = c.expect(ctx, 2, verb, arg)
	c.unpark()
	if err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// listen binds the active-mode listener: on any port, or on a free port of
// the WithActivePorts range, tried from a random start.
func (c *Conn) listen(ctx context.Context) (net.Listener, error) {
	var lc net.ListenConfig
	lo, hi := c.cfg.activeLo, c.cfg.activeHi
	if lo <= 0 || hi < lo || hi > 65535 {
		lo, hi = 0, 0
	}
	span := hi - lo + 1
	first := rand.IntN(span)
	var err error
	for i := range span {
		port := lo + (first+i)%span
		addr := net.JoinHostPort(c.localIP.String(), strconv.Itoa(port))
		var ln net.Listener
		if ln, err = lc.Listen(ctx, "tcp", addr); err == nil {
			return ln, nil
		}
	}
	return nil, errorf("active mode: listening on %s ports %d-%d: %w", c.localIP, lo, hi, err)
}

// portArg formats "h1,h2,h3,h4,p1,p2" (RFC 959).
func portArg(ip net.IP, port int) string {
	ip4 := ip.To4()
	return fmt.Sprintf("%d,%d,%d,%d,%d,%d", ip4[0], ip4[1], ip4[2], ip4[3], port>>8, port&0xff)
}

// eprtArg formats "|1|h|port|" or "|2|h|port|" (RFC 2428).
func eprtArg(ip net.IP, port int) string {
	family := 2
	if ip.To4() != nil {
		family = 1
	}
	return fmt.Sprintf("|%d|%s|%d|", family, ip, port)
}

// accept waits for the server to connect to the active-mode listener,
// while watching the control connection: a negative reply to the transfer
// command ends the wait at once. Only the control connection's peer may
// connect; anyone else is refused (port theft).
func (t *transfer) accept(ctx context.Context, ln net.Listener) (net.Conn, error) {
	c := t.c
	defer ln.Close()
	if tl, ok := ln.(*net.TCPListener); ok {
		tl.SetDeadline(time.Now().Add(c.cfg.timeout))
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	type accepted struct {
		conn net.Conn
		err  error
	}
	got := make(chan accepted, 1)
	var refused foreignPeers
	t.rep.listen()
	go func() {
		conn, err := acceptFrom(ln, c.peerIP, &refused)
		got <- accepted{conn, err}
	}()
	for {
		select {
		case res := <-t.rep.pending():
			t.rep.take(res)
			err := t.rep.failed(c.tls != nil)
			if err == nil && t.rep.complete() && refused.any() {
				// The server is done, and the only connection was refused.
				err = errorf("%s: the server sent its data to a refused connection", t.cmd)
			}
			if err == nil && t.rep.complete() {
				// The server says it is done, so it has connected: the
				// connection waits in the backlog, if it came from the server.
				if tl, ok := ln.(*net.TCPListener); ok {
					tl.SetDeadline(time.Now().Add(time.Second))
				}
			}
			if err != nil {
				ln.Close()
				if a := <-got; a.conn != nil {
					a.conn.Close()
				}
				return nil, refused.explain(err)
			}
		case a := <-got:
			if a.err == nil {
				return a.conn, nil
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, refused.explain(&DataConnError{
				Mode: "PORT/EPRT", Addr: ln.Addr().String(), Err: a.err,
				Hint: "the server did not connect back (a firewall or NAT in between?): " +
					"try passive mode (the default), or WithActiveIP and WithActivePorts",
			})
		}
	}
}

// acceptFrom accepts connections until one comes from want, closing the
// others and noting their addresses.
func acceptFrom(ln net.Listener, want net.IP, refused *foreignPeers) (net.Conn, error) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return nil, err
		}
		peer, _ := conn.RemoteAddr().(*net.TCPAddr)
		if want == nil || peer != nil && peer.IP.Equal(want) {
			return conn, nil
		}
		refused.add(conn.RemoteAddr().String())
		conn.Close()
	}
}

// foreignPeers records the data connections refused for coming from a
// host other than the server.
type foreignPeers struct {
	mu    sync.Mutex
	addrs []string
}

func (f *foreignPeers) add(addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.addrs) < 8 {
		f.addrs = append(f.addrs, addr)
	}
}

func (f *foreignPeers) any() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.addrs) > 0
}

// explain adds the refused peers, if any, to err.
func (f *foreignPeers) explain(err error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.addrs) == 0 {
		return err
	}
	return errorf("%w (refused data connections from %s: not the server's address)",
		err, strings.Join(f.addrs, ", "))
}
