package ftptest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// engOpts are the options of this file: servers that read paths,
// types and data connections in ways a client must cope with.
type engOpts struct {
	backslash      bool // WithBackslashSeparator
	late150        bool // WithPreliminaryAfterTLS
	closedEarly425 bool // WithEarlyCloseRefused
	abortOrder     bool // WithSessionDropOnEarlyClose
	ascii          bool // WithASCIIConversion
}

// WithBackslashSeparator makes the server read "\" as "/" in the paths of
// RETR, STOR and APPE, as Windows servers (and some others) do: "RETR
// sub\b.txt" sends sub/b.txt.
func WithBackslashSeparator() ServerOption {
	return func(c *config) { c.engine.backslash = true }
}

// WithASCIIConversion makes the server honour TYPE A as RFC 959 has it,
// as mainframe and Windows servers do: in ASCII mode RETR sends each LF of
// the file that does not follow a CR as CRLF, and STOR and APPE store
// each CRLF received as LF. Without it (as with vsftpd's defaults) TYPE A
// is only recorded. A session is in ASCII mode until its first TYPE I,
// as RFC 959 has it; this package's client sends TYPE I at login.
func WithASCIIConversion() ServerOption {
	return func(c *config) { c.engine.ascii = true }
}

// WithPreliminaryAfterTLS makes the server send the 150 reply of a
// protected (PROT P) transfer only after the data connection's TLS
// handshake, as some FTPS servers do: a client that waits for the 150
// before it starts the handshake deadlocks.
func WithPreliminaryAfterTLS() ServerOption {
	return func(c *config) { c.engine.late150 = true }
}

// WithEarlyCloseRefused makes the server, after the data connection's TLS
// handshake, look at the connection for a moment (earlyCloseWindow)
// before its 150 reply, and answer "425" instead when the client has
// already closed it, as some FTPS servers do with a zero-byte upload that
// handshakes and closes at once. It implies [WithPreliminaryAfterTLS].
func WithEarlyCloseRefused() ServerOption {
	return func(c *config) { c.engine.late150, c.engine.closedEarly425 = true, true }
}

// WithSessionDropOnEarlyClose makes the server drop the whole session
// (close the control connection) when a transfer's data connection is
// closed by the client before its ABOR arrived, as some servers do; ABOR
// first, then the close, gets "426" and "226" and keeps the session. It
// tells the order from the kernel's view of both sockets (TCP_INFO), so
// it works on Linux only, over plain data connections (elsewhere it does
// nothing), and drops the session only when the close certainly came
// first: two events less than about a microsecond apart keep it.
func WithSessionDropOnEarlyClose() ServerOption {
	return func(c *config) { c.engine.abortOrder = true }
}

// earlyCloseWindow is how long WithEarlyCloseRefused looks for a close.
const earlyCloseWindow = 100 * time.Millisecond

// pathArg is a path argument as the server reads it.
func (s *session) pathArg(arg string) string {
	if s.cfg.engine.backslash {
		return strings.ReplaceAll(arg, `\`, "/")
	}
	return arg
}

// toWire converts a file's data for sending in the session's type: under
// WithASCIIConversion in ASCII mode (TYPE A), each LF that does not follow a CR becomes CRLF, as
// RFC 959's NVT-ASCII has it.
func (s *session) toWire(data []byte) []byte {
	if s.binary || !s.cfg.engine.ascii || bytes.IndexByte(data, '\n') < 0 {
		return data
	}
	out := make([]byte, 0, len(data)+len(data)/16)
	for i, b := range data {
		if b == '\n' && (i == 0 || data[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, b)
	}
	return out
}

// fromWire converts received data for storing: under WithASCIIConversion
// in ASCII mode, each CRLF becomes LF (the server's own line ending).
func (s *session) fromWire(data []byte) []byte {
	if s.binary || !s.cfg.engine.ascii {
		return data
	}
	return bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
}

// errClosedEarly marks a data connection closed before the 150 reply.
var errClosedEarly = fmt.Errorf("%w: the client closed it before the 150 reply", errNoData)

// latePreliminary sends prelim after the TLS handshake of tc under
// WithPreliminaryAfterTLS, first looking for an early close under
// WithEarlyCloseRefused; it returns the connection for the transfer's
// body, which sees any byte read meanwhile. Without those options it
// returns tc and sends nothing.
func (s *session) latePreliminary(tc *tls.Conn, prelim string) (net.Conn, error) {
	if !s.cfg.engine.late150 {
		return tc, nil
	}
	var conn net.Conn = tc
	if s.cfg.engine.closedEarly425 {
		r := bufio.NewReader(tc)
		tc.SetReadDeadline(time.Now().Add(earlyCloseWindow))
		_, err := r.Peek(1)
		tc.SetReadDeadline(time.Time{})
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, errClosedEarly
		}
		conn = &bufConn{Conn: tc, r: r}
	}
	if !s.cfg.noPrelim {
		s.send(prelim)
	}
	return conn, nil
}

// dropOnEarlyClose wraps a transfer's body under WithSessionDropOnEarlyClose:
// if the body fails and the client closed the data connection conn before
// its next command (ABOR) reached the control connection, the session is
// dropped.
func (s *session) dropOnEarlyClose(conn net.Conn, body func(net.Conn) error) func(net.Conn) error {
	if !s.cfg.engine.abortOrder {
		return body
	}
	w := watchOrder(s.conn, conn)
	if w == nil {
		return body
	}
	return func(c net.Conn) error {
		err := body(c)
		if dataFirst := w.stop(err != nil); err != nil && dataFirst {
			s.cfg.logf("ftptest: %s: data connection closed before ABOR: dropping the session", s.conn.RemoteAddr())
			s.cancel()
		}
		return err
	}
}
