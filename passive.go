package ftp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// DataConnError says that a data connection could not be opened: which
// command set it up, which address was tried, why it failed, and what to
// try instead.
type DataConnError struct {
	Mode string // EPSV, PASV, PORT or EPRT
	Addr string // the address dialled (passive) or listened on (active)
	Err  error
	Hint string // what to try instead
}

func (e *DataConnError) Error() string {
	return fmt.Sprintf("ftp: data connection (%s) %s: %v; %s", e.Mode, e.Addr, e.Err, e.Hint)
}

func (e *DataConnError) Unwrap() error { return e.Err }

// passiveAttempts bounds how many times one data connection asks EPSV or
// PASV when the server answers 4xx. pure-ftpd answers "425 Unable to
// identify the local data socket: Address already in use" when the random
// passive port it picked is taken; nothing has been transferred yet, so
// asking again is safe.
const passiveAttempts = 3

// dialPassive opens a passive data connection: EPSV first; PASV when the
// server refuses EPSV or its EPSV port cannot be reached, remembered for
// the rest of the session. On IPv6 EPSV is the only choice (RFC 2428). A
// 4xx answer is asked again, up to passiveAttempts times in all.
func (c *Conn) dialPassive(ctx context.Context) (net.Conn, error) {
	defer c.unpark()
	for attempt := 1; ; attempt++ {
		conn, err := c.dialPassiveOnce(ctx)
		var rerr *Error
		if err == nil || attempt == passiveAttempts || !errors.As(err, &rerr) || rerr.Code/100 != 4 ||
			ctx.Err() != nil || c.ctl.closedErr() != nil {
			return conn, err
		}
		c.ctl.trace("# ", fmt.Sprintf("asking again after %v", err))
	}
}

func (c *Conn) dialPassiveOnce(ctx context.Context) (net.Conn, error) {
	defer c.ctl.portOpen.Store(false) // used, or replaced by a new one
	if conn, ok := c.dialReady(ctx); ok {
		return conn, nil
	}
	if c.passiveVerb() == "PASV" {
		return c.pasv(ctx)
	}
	conn, err := c.epsv(ctx)
	var dce *DataConnError
	var rerr *Error
	fallback := errors.As(err, &dce) || errors.As(err, &rerr) && rerr.Code >= 500 || errors.Is(err, ErrMalformedReply)
	if err == nil || c.ipv6 || !fallback || c.ctl.closedErr() != nil {
		return conn, err
	}
	c.epsvOff = true
	c.ctl.trace("# ", fmt.Sprintf("EPSV failed (%v); using PASV from now on", err))
	conn, perr := c.pasv(ctx)
	if perr != nil {
		return nil, errorf("%w (EPSV failed before: %v)", perr, err)
	}
	return conn, nil
}

// epsv sends EPSV and connects to the port of its 229 reply on the
// control connection's host.
func (c *Conn) epsv(ctx context.Context) (net.Conn, error) {
	r, err := c.send(ctx, "EPSV", "")
	if err != nil {
		return nil, err
	}
	return c.epsvDial(ctx, r)
}

// epsvDial connects to the port of an EPSV reply, which must be 229.
func (c *Conn) epsvDial(ctx context.Context, r *Reply) (net.Conn, error) {
	if r.Code != 229 {
		return nil, replyError("EPSV", r)
	}
	port, err := parseEPSV(r.Message())
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(c.dataHost, strconv.Itoa(port))
	conn, err := c.dialData(ctx, addr)
	if err != nil {
		hint := c.unreachableHint()
		if !c.ipv6 {
			hint += ", or WithoutEPSV() if only EPSV is broken"
		}
		return nil, &DataConnError{Mode: "EPSV", Addr: addr, Err: err, Hint: hint}
	}
	return conn, nil
}

// pasv sends PASV and connects to the port of its 227 reply: on the
// control connection's host unless WithTrustedPASVAddress is set.
func (c *Conn) pasv(ctx context.Context) (net.Conn, error) {
	r, err := c.expect(ctx, 2, "PASV", "")
	if err != nil {
		return nil, err
	}
	return c.pasvDial(ctx, r)
}

// pasvDial connects to the port of a 2xx PASV reply.
func (c *Conn) pasvDial(ctx context.Context, r *Reply) (net.Conn, error) {
	ip, port, err := parsePASV(r.Message())
	if err != nil {
		return nil, err
	}
	host := c.dataHost
	hint := c.unreachableHint()
	if c.cfg.trustPASV {
		if host, err = c.trustedPASVHost(ip); err != nil {
			return nil, err
		}
		hint = fmt.Sprintf("the server advertised %s in its PASV reply, which may be a private address behind NAT: "+
			"drop WithTrustedPASVAddress() to use the control connection's address", ip)
		if c.cfg.proxy == nil {
			hint += ", or try WithActive()"
		}
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	conn, err := c.dialData(ctx, addr)
	if err != nil {
		return nil, &DataConnError{Mode: "PASV", Addr: addr, Err: err, Hint: hint}
	}
	return conn, nil
}

// unreachableHint says what to try when a passive data connection cannot
// be made: active mode, except through a proxy, where the server cannot
// connect back and the proxy (or a firewall behind it) refused the port.
func (c *Conn) unreachableHint() string {
	if c.cfg.proxy != nil {
		return "the proxy could not reach the server's passive port (the proxy's rules or a firewall behind it?); active mode cannot work through a proxy"
	}
	return "the server's passive port is unreachable from here (firewall?): try WithActive()"
}

// trustedPASVHost vets the address of a 227 reply before connecting to
// it: 0.0.0.0 means "the address you reached me on"; broadcast, multicast,
// and a loopback or link-local address (where cloud metadata services
// listen) from a server that is neither are refused: a hostile server
// could otherwise aim the client at a service of the client's own host or
// network.
func (c *Conn) trustedPASVHost(ip net.IP) (string, error) {
	peer := c.serverIP()
	switch {
	case ip.IsUnspecified():
		return c.dataHost, nil
	case ip.IsMulticast() || ip.Equal(net.IPv4bcast) ||
		ip.IsLoopback() && peer != nil && !peer.IsLoopback() ||
		ip.IsLinkLocalUnicast() && peer != nil && !peer.IsLinkLocalUnicast():
		return "", errorf("%w: PASV reply names %s, which is not a host to connect to", ErrMalformedReply, ip)
	}
	return ip.String(), nil
}

// dialData dials a data connection through the configured dial function,
// bounded by the timeout.
func (c *Conn) dialData(ctx context.Context, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.timeout)
	defer cancel()
	return c.cfg.dial(ctx, "tcp", addr)
}

// parseEPSV reads the port of a 229 reply: "(|||port|)", where the
// delimiter may be any printable character (RFC 2428 §3).
func parseEPSV(msg string) (int, error) {
	start := strings.IndexByte(msg, '(')
	end := strings.LastIndexByte(msg, ')')
	if start < 0 || end < start+6 {
		return 0, errorf("%w: EPSV reply %q", ErrMalformedReply, clip(msg))
	}
	inner := msg[start+1 : end]
	d := inner[0]
	fields := strings.Split(inner, string(d))
	if d < 33 || d > 126 || len(fields) != 5 || fields[1] != "" || fields[2] != "" || fields[4] != "" {
		return 0, errorf("%w: EPSV reply %q", ErrMalformedReply, clip(msg))
	}
	port, err := strconv.Atoi(fields[3])
	if err != nil || port < 1 || port > 65535 {
		return 0, errorf("%w: EPSV port in %q", ErrMalformedReply, clip(msg))
	}
	return port, nil
}

// parsePASV finds the six numbers h1,h2,h3,h4,p1,p2 anywhere in a 227
// reply, with or without parentheses (RFC 1123 §4.1.2.6).
func parsePASV(msg string) (net.IP, int, error) {
	for i := 0; i < len(msg); i++ {
		if !isDigit(msg[i]) || i > 0 && isDigit(msg[i-1]) {
			continue
		}
		if nums, ok := sixNumbers(msg[i:]); ok {
			port := nums[4]<<8 | nums[5]
			if port == 0 {
				break
			}
			ip := net.IPv4(byte(nums[0]), byte(nums[1]), byte(nums[2]), byte(nums[3]))
			return ip, port, nil
		}
	}
	return nil, 0, errorf("%w: PASV reply %q", ErrMalformedReply, clip(msg))
}

// sixNumbers parses "a,b,c,d,e,f" at the start of s, each 0..255.
func sixNumbers(s string) ([6]int, bool) {
	var nums [6]int
	for k := range nums {
		n, digits := 0, 0
		for digits < len(s) && isDigit(s[digits]) && digits < 4 {
			n = n*10 + int(s[digits]-'0')
			digits++
		}
		if digits == 0 || digits == 4 || n > 255 {
			return nums, false
		}
		nums[k], s = n, s[digits:]
		if k < 5 {
			if s == "" || s[0] != ',' {
				return nums, false
			}
			s = s[1:]
		}
	}
	return nums, true
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }
