package ftp

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// maxConnectReply bounds the reply of an HTTP proxy to CONNECT, status
// line and headers: a hostile proxy cannot make the client read for ever.
const maxConnectReply = 16 << 10

// connectRefused is the error of a CONNECT that the proxy answered with
// other than 2xx.
type connectRefused struct {
	code   int
	status string // the status line, escaped and clipped
}

func (e *connectRefused) Error() string {
	return fmt.Sprintf("CONNECT refused: %s", e.status)
}

// dialHTTP opens a tunnel with HTTP CONNECT (RFC 9110 §9.3.6), with Basic
// authentication when the proxy URL has a user. The reply is read a byte
// at a time, so that nothing after it (the server's greeting) is taken
// from the connection, which then goes back as forward gave it.
func (p *proxyDialer) dialHTTP(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := p.forward(ctx, network, p.addr)
	if err != nil {
		return nil, err
	}
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(aLongTimeAgo) })
	err = p.connect(conn, addr)
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		conn.Close()
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, ErrProxyAuth) {
			return nil, fmt.Errorf("%w (%v)", cerr, err)
		}
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return conn, nil
}

// connect sends CONNECT addr on conn and reads the proxy's reply.
func (p *proxyDialer) connect(conn net.Conn, addr string) error {
	var req strings.Builder
	fmt.Fprintf(&req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", addr, addr)
	if p.u.User != nil {
		pass, _ := p.u.User.Password()
		cred := base64.StdEncoding.EncodeToString([]byte(p.u.User.Username() + ":" + pass))
		fmt.Fprintf(&req, "Proxy-Authorization: Basic %s\r\n", cred)
	}
	req.WriteString("\r\n")
	if _, err := conn.Write([]byte(req.String())); err != nil {
		return err
	}
	reply, err := readConnectReply(conn)
	if err != nil {
		return err
	}
	status, _, _ := bytes.Cut(reply, []byte("\n"))
	code, ok := connectStatus(string(status))
	switch {
	case !ok:
		return fmt.Errorf("%w: CONNECT reply %q", ErrMalformedReply, clip(printable(string(status))))
	case code/100 == 2:
		return nil
	}
	cerr := &connectRefused{code: code, status: clip(printable(strings.TrimSpace(string(status))))}
	if code == 407 {
		return fmt.Errorf("%w (%w)", ErrProxyAuth, cerr)
	}
	return cerr
}

// readConnectReply reads the reply to CONNECT up to its empty line, and no
// further.
func readConnectReply(conn net.Conn) ([]byte, error) {
	var reply []byte
	var b [1]byte
	for !bytes.HasSuffix(reply, []byte("\n\r\n")) && !bytes.HasSuffix(reply, []byte("\n\n")) {
		if len(reply) >= maxConnectReply {
			return nil, fmt.Errorf("%w: the reply to CONNECT is over %d bytes", ErrMalformedReply, maxConnectReply)
		}
		if _, err := conn.Read(b[:]); err != nil {
			return nil, fmt.Errorf("reading the reply to CONNECT: %w", err)
		}
		reply = append(reply, b[0])
	}
	return reply, nil
}

// connectStatus reads the code of a status line, "HTTP/1.1 200 OK".
func connectStatus(line string) (int, bool) {
	version, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
	codeText, _, _ := strings.Cut(rest, " ")
	code, err := strconv.Atoi(codeText)
	return code, strings.HasPrefix(version, "HTTP/1.") && err == nil && len(codeText) == 3 && code >= 100
}
