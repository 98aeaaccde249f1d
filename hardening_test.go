package ftp

// Hardening: a hostile or broken server can neither hang the client, nor
// make it lose data without an error, nor turn it against its user. Faults
// that ftptest cannot produce come from rawServer, a scripted server that
// writes exactly the bytes a test gives it.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pasvport/ftp/ftptest"
)

// rawServer is a scripted FTP server on 127.0.0.1: it accepts one control
// connection and runs the script on it. Every connection it opens is
// closed when the test ends, and the script's goroutine is waited for, so
// a script that waits on the client can never outlive the test.
type rawServer struct {
	t    *testing.T
	ln   net.Listener
	done chan struct{}

	mu    sync.Mutex
	conns []io.Closer
}

// rawConn is the script's side of the control connection.
type rawConn struct {
	srv  *rawServer
	conn net.Conn
	r    *bufio.Reader
}

// scriptTime bounds every wait of a script, so that a test whose client
// misbehaves fails instead of hanging.
const scriptTime = 20 * time.Second

func newRawServer(t *testing.T, script func(s *rawConn)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &rawServer{t: t, ln: ln, done: make(chan struct{})}
	srv.track(ln)
	go func() {
		defer close(srv.done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		srv.track(conn)
		conn.SetDeadline(time.Now().Add(scriptTime))
		script(&rawConn{srv: srv, conn: conn, r: bufio.NewReader(conn)})
		conn.Close()
	}()
	t.Cleanup(func() {
		srv.closeAll()
		<-srv.done
	})
	return srv
}

func (s *rawServer) addr() string { return s.ln.Addr().String() }

func (s *rawServer) track(c io.Closer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns = append(s.conns, c)
}

func (s *rawServer) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

// send writes raw as it is: several replies, half a line, garbage.
func (s *rawConn) send(raw string) { io.WriteString(s.conn, raw) }

// line reads one command line; "" once the client has gone.
func (s *rawConn) line() string {
	l, err := s.r.ReadString('\n')
	if err != nil {
		return ""
	}
	return strings.TrimRight(l, "\r\n")
}

// expect reads one command and checks its verb.
func (s *rawConn) expect(verb string) string {
	l := s.line()
	assert.Equal(s.srv.t, verb, strings.ToUpper(strings.Fields(l + " x")[0]), "command %q", l)
	return l
}

// cmd reads one command of the given verb and answers raw.
func (s *rawConn) cmd(verb, raw string) {
	s.expect(verb)
	s.send(raw)
}

// login greets and accepts USER, PASS, FEAT (no features) and TYPE I.
func (s *rawConn) login() {
	s.send("220 raw server ready\r\n")
	s.cmd("USER", "331 Password?\r\n")
	s.cmd("PASS", "230 Logged in\r\n")
	s.cmd("FEAT", "211 No features\r\n")
	s.cmd("TYPE", "200 Binary\r\n")
}

// epsv answers EPSV with a new listener and returns a function that
// accepts the data connection on it.
func (s *rawConn) epsv() func() net.Conn {
	s.expect("EPSV")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if !assert.NoError(s.srv.t, err) {
		return func() net.Conn { return nil }
	}
	s.srv.track(ln)
	s.send(fmt.Sprintf("229 Entering Extended Passive Mode (|||%d|)\r\n", ln.Addr().(*net.TCPAddr).Port))
	return func() net.Conn {
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(scriptTime))
		conn, err := ln.Accept()
		ln.Close()
		if err != nil {
			return nil
		}
		s.srv.track(conn)
		conn.SetDeadline(time.Now().Add(scriptTime))
		return conn
	}
}

// hang reads and ignores everything until the client closes the
// connection (or the test ends): a server that stopped answering.
func (s *rawConn) hang() { io.Copy(io.Discard, s.r) }

// serve answers what a client sends after a fault until it goes: ABOR,
// PWD (the resync marker), NOOP and QUIT.
func (s *rawConn) serve() {
	for range 100 {
		l := s.line()
		if l == "" {
			return
		}
		switch strings.ToUpper(strings.Fields(l + " x")[0]) {
		case "ABOR":
			s.send("225 No transfer to abort\r\n")
		case "PWD":
			s.send("257 \"/\" is the current directory\r\n")
		case "NOOP":
			s.send("200 NOOP ok\r\n")
		case "QUIT":
			s.send("221 Bye\r\n")
			return
		default:
			s.send("502 Not in this script\r\n")
		}
	}
}

// dialRaw logs in to a raw server with timeout.
func dialRaw(t *testing.T, srv *rawServer, timeout time.Duration, opts ...Option) *Conn {
	t.Helper()
	opts = append([]Option{WithTimeout(timeout)}, opts...)
	c, err := Dial(context.Background(), srv.addr(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.Login(context.Background(), "user", "pass"))
	return c
}

// margin is what a bound in these tests may overrun by on a loaded
// machine under the race detector.
const margin = 3 * time.Second

// isTimeout reports whether err is a timeout of a network wait.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// connState reports what the next call on c finds: "closed" or "usable".
func connState(t *testing.T, c *Conn) string {
	t.Helper()
	err := c.NoOp(context.Background())
	switch {
	case err == nil:
		return "usable"
	case errors.Is(err, ErrClosed):
		return "closed"
	}
	return "broken: " + err.Error()
}

// TestSilentServer: a server that stops answering at any point costs the
// client one timeout, and leaves the Conn closed or usable.
func TestSilentServer(t *testing.T) {
	const timeout = 500 * time.Millisecond
	payload := bytes.Repeat([]byte("0123456789abcdef"), 64)
	tests := []struct {
		name   string
		script func(s *rawConn)
		call   func(c *Conn) error
		after  string // what the Conn is afterwards: "closed", "usable" or either
	}{
		{"after a command", func(s *rawConn) {
			s.login()
			s.expect("NOOP")
			s.hang()
		}, func(c *Conn) error { return c.NoOp(context.Background()) }, "closed"},
		{"mid multi-line reply", func(s *rawConn) {
			s.login()
			s.cmd("STAT", "211-Status of the server:\r\n connected\r\n")
			s.hang()
		}, func(c *Conn) error { _, err := c.Quote(context.Background(), "STAT"); return err }, "closed"},
		{"mid line", func(s *rawConn) {
			s.login()
			s.cmd("NOOP", "200 NOOP o")
			s.hang()
		}, func(c *Conn) error { return c.NoOp(context.Background()) }, "closed"},
		{"before the first reply of a download", func(s *rawConn) {
			s.login()
			accept := s.epsv()
			s.expect("RETR")
			accept()
			s.hang()
		}, func(c *Conn) error { _, err := c.Retr(context.Background(), "f"); return err }, "closed"},
		{"mid-download on the data connection", func(s *rawConn) {
			s.login()
			accept := s.epsv()
			s.cmd("RETR", "150 Opening data connection\r\n")
			data := accept()
			data.Write(payload)
			// The client's wait for the final reply ends with its wait
			// for data: it closes the Conn, or it gets the ABOR through.
			s.serve()
		}, func(c *Conn) error { _, err := download(context.Background(), c, "f"); return err }, "closed|usable"},
		{"mid-upload on the data connection", func(s *rawConn) {
			s.login()
			accept := s.epsv()
			s.cmd("STOR", "150 Ok to send data\r\n")
			accept() // and never read from it
			s.hang()
		}, func(c *Conn) error {
			return c.Stor(context.Background(), "f", io.LimitReader(zeros{}, 1<<30))
		}, "closed"},
		{"waiting for the final reply of a download", func(s *rawConn) {
			s.login()
			accept := s.epsv()
			s.cmd("RETR", "150 Opening data connection\r\n")
			data := accept()
			data.Write(payload)
			data.Close()
			s.hang()
		}, func(c *Conn) error { _, err := download(context.Background(), c, "f"); return err }, "closed"},
		{"waiting for the final reply of an upload", func(s *rawConn) {
			s.login()
			accept := s.epsv()
			s.cmd("STOR", "150 Ok to send data\r\n")
			io.Copy(io.Discard, accept())
			s.hang()
		}, func(c *Conn) error { return c.Stor(context.Background(), "f", bytes.NewReader(payload)) }, "closed"},
		{"waiting for the final reply of a listing", func(s *rawConn) {
			s.login()
			accept := s.epsv()
			s.cmd("NLST", "150 Here comes the listing\r\n")
			data := accept()
			io.WriteString(data, "a\r\nb\r\n")
			data.Close()
			s.hang()
		}, func(c *Conn) error { _, err := c.NameList(context.Background(), ""); return err }, "closed"},
	}
	for _, tt := range tests {
		forEachWait(t, tt.name, func(t *testing.T, wait Option) {
			srv := newRawServer(t, tt.script)
			c := dialRaw(t, srv, timeout, wait)
			start := time.Now()
			err := tt.call(c)
			elapsed := time.Since(start)
			require.Error(t, err)
			assert.True(t, isTimeout(err), "a timeout error: %v", err)
			assert.Less(t, elapsed, 2*timeout+margin, "bounded by the timeout")
			assert.Contains(t, strings.Split(tt.after, "|"), connState(t, c))
		})
	}
	t.Run("at the greeting", func(t *testing.T) {
		srv := newRawServer(t, func(s *rawConn) { s.hang() })
		start := time.Now()
		_, err := Dial(context.Background(), srv.addr(), WithTimeout(timeout))
		assert.True(t, isTimeout(err), "a timeout error: %v", err)
		assert.Less(t, time.Since(start), timeout+margin)
	})
}

// zeros is an endless source of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// download runs a whole download: the data it got and the first error.
func download(ctx context.Context, c *Conn, path string) ([]byte, error) {
	r, err := c.Retr(ctx, path)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return b, err
}

// TestConnectionFaults: connections that drop, reset or are closed by a
// 421 mid-transfer give an error, never a silently short file.
func TestConnectionFaults(t *testing.T) {
	payload := bytes.Repeat([]byte("data"), 4096)
	tests := []struct {
		name   string
		script func(s *rawConn)
		call   func(c *Conn) error
		check  func(t *testing.T, err error)
		after  string
	}{
		{"control drops mid-download", func(s *rawConn) {
			s.login()
			accept := s.epsv()
			s.cmd("RETR", "150 Opening data connection\r\n")
			data := accept()
			data.Write(payload[:1000])
			s.conn.Close()
			data.Write(payload[1000:])
			data.Close()
		}, func(c *Conn) error {
			got, err := download(context.Background(), c, "f")
			if err == nil && !bytes.Equal(got, payload) {
				err = errors.New("corrupt data")
			}
			return err
		}, func(t *testing.T, err error) { assert.ErrorIs(t, err, io.EOF) }, "closed"},
		{"control drops mid-upload", func(s *rawConn) {
			s.login()
			accept := s.epsv()
			s.cmd("STOR", "150 Ok to send data\r\n")
			data := accept()
			io.CopyN(io.Discard, data, 1000)
			s.conn.Close()
			io.Copy(io.Discard, data)
		}, func(c *Conn) error { return c.Stor(context.Background(), "f", bytes.NewReader(payload)) },
			func(t *testing.T, err error) {}, "closed"},
		{"data connection reset mid-download", func(s *rawConn) {
			s.login()
			accept := s.epsv()
			s.cmd("RETR", "150 Opening data connection\r\n")
			data := accept()
			data.Write(payload[:1000])
			data.(*net.TCPConn).SetLinger(0)
			data.Close()
			s.send("426 Connection reset\r\n")
			s.serve()
		}, func(c *Conn) error { _, err := download(context.Background(), c, "f"); return err }, func(t *testing.T, err error) {}, "usable"},
		{"data connection reset mid-upload", func(s *rawConn) {
			s.login()
			accept := s.epsv()
			s.cmd("STOR", "150 Ok to send data\r\n")
			data := accept()
			io.CopyN(io.Discard, data, 1000)
			data.(*net.TCPConn).SetLinger(0)
			data.Close()
			s.send("426 Connection reset\r\n")
			s.serve()
		}, func(c *Conn) error { return c.Stor(context.Background(), "f", io.LimitReader(zeros{}, 1<<30)) },
			func(t *testing.T, err error) { assertCode(t, err, 426) }, "usable"},
		{"421 answers a download", func(s *rawConn) {
			s.login()
			s.epsv()
			s.cmd("RETR", "421 Service not available, closing control connection\r\n")
		}, func(c *Conn) error { _, err := download(context.Background(), c, "f"); return err },
			func(t *testing.T, err error) { assertCode(t, err, 421); assert.ErrorIs(t, err, ErrClosed) }, "closed"},
		{"421 answers an active download", func(s *rawConn) {
			s.login()
			s.cmd("PORT", "200 PORT ok\r\n")
			s.cmd("RETR", "421 Service not available, closing control connection\r\n")
		}, func(c *Conn) error { _, err := download(context.Background(), c, "f"); return err },
			func(t *testing.T, err error) { assertCode(t, err, 421); assert.ErrorIs(t, err, ErrClosed) }, "closed"},
		{"421 unsolicited mid-download", func(s *rawConn) {
			s.login()
			accept := s.epsv()
			s.cmd("RETR", "150 Opening data connection\r\n")
			data := accept()
			data.Write(payload[:1000])
			s.send("421 Server shutting down\r\n")
			s.conn.Close()
			data.Close()
		}, func(c *Conn) error { _, err := download(context.Background(), c, "f"); return err },
			func(t *testing.T, err error) { assertCode(t, err, 421) }, "closed"},
		{"421 unsolicited between commands", func(s *rawConn) {
			s.login()
			s.send("421 Idle timeout\r\n")
			s.conn.Close()
		}, func(c *Conn) error { return c.NoOp(context.Background()) },
			func(t *testing.T, err error) { assert.ErrorIs(t, err, ErrClosed) }, "closed"},
	}
	for _, tt := range tests {
		forEachWait(t, tt.name, func(t *testing.T, wait Option) {
			srv := newRawServer(t, tt.script)
			opts := []Option{wait}
			if strings.Contains(tt.name, "active") {
				opts = append(opts, WithActive())
			}
			c := dialRaw(t, srv, 5*time.Second, opts...)
			err := tt.call(c)
			require.Error(t, err)
			tt.check(t, err)
			assert.Equal(t, tt.after, connState(t, c))
		})
	}
}

// assertCode checks that err carries the server's reply code.
func assertCode(t *testing.T, err error, code int) {
	t.Helper()
	var ferr *Error
	if assert.ErrorAs(t, err, &ferr) {
		assert.Equal(t, code, ferr.Code)
	}
}

// TestGarbageReplies: what is not an RFC 959 reply is an error that closes
// the Conn (it cannot be in step any more); odd but well-formed replies
// are taken; replies that answer no command are skipped.
func TestGarbageReplies(t *testing.T) {
	tests := []struct {
		name  string
		raw   string // the answer to NOOP
		err   error  // nil: NoOp succeeds
		after string
	}{
		{"non-numeric code", "2x0 Ok\r\n", ErrMalformedReply, "closed"},
		{"letters", "HTTP/1.1 400 Bad Request\r\n", ErrMalformedReply, "closed"},
		{"code below range", "099 Ok\r\n", ErrMalformedReply, "closed"},
		{"code above range", "600 Ok\r\n", ErrMalformedReply, "closed"},
		{"no separator", "200Ok\r\n", ErrMalformedReply, "closed"},
		{"truncated line", "20", io.ErrUnexpectedEOF, "closed"},
		{"empty line", "\r\n", ErrMalformedReply, "closed"},
		{"NUL bytes", "200 N\x00U\x00L\r\n", nil, "usable"},
		{"invalid UTF-8", "200 \xff\xfe\xc3(\r\n", nil, "usable"},
		{"bare LF", "200 ok\n", nil, "usable"},
		{"a 1xx answers no NOOP", "150 Stray preliminary reply\r\n200 NOOP ok\r\n", nil, "usable"},
		{"226 answers no NOOP", "226 Stray transfer complete\r\n200 NOOP ok\r\n", nil, "usable"},
		{"endless strays", strings.Repeat("226 Stray\r\n", 20), ErrMalformedReply, "closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRawServer(t, func(s *rawConn) {
				s.login()
				s.cmd("NOOP", tt.raw)
				if !strings.HasSuffix(tt.raw, "\n") {
					return // and hang up
				}
				s.serve()
			})
			c := dialRaw(t, srv, 5*time.Second)
			err := c.NoOp(context.Background())
			if tt.err == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.err)
			}
			assert.Equal(t, tt.after, connState(t, c))
		})
	}
	endless := []struct {
		name  string
		start string
		chunk string
	}{
		{"never-ending multi-line reply", "211-Status\r\n", strings.Repeat(" more status\r\n", 4096)},
		{"never-ending line", "211 Status ", strings.Repeat("x", 64<<10)},
	}
	for _, tt := range endless {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRawServer(t, func(s *rawConn) {
				s.login()
				s.cmd("STAT", tt.start)
				for range 1000 { // far more than the client accepts
					if _, err := io.WriteString(s.conn, tt.chunk); err != nil {
						return
					}
				}
			})
			c := dialRaw(t, srv, 5*time.Second)
			_, err := c.Quote(context.Background(), "STAT")
			assert.ErrorIs(t, err, ErrMalformedReply)
			assert.Equal(t, "closed", connState(t, c))
		})
	}
}

// TestTerminalEscapesInErrors: a server's text is quoted in errors with
// its control characters escaped, so printing an error cannot drive the
// user's terminal.
func TestTerminalEscapesInErrors(t *testing.T) {
	srv := newRawServer(t, func(s *rawConn) {
		s.login()
		s.cmd("DELE", "550 \x1b]0;owned\x07\x1b[2J\rgone: No such file\x00\r\n")
		s.cmd("EPSV", "229 Entering Extended Passive Mode (|||\x1b[31m|)\r\n")
		s.cmd("PASV", "227 \x1b[31m\r\n")
		s.serve()
	})
	c := dialRaw(t, srv, 5*time.Second)
	err := c.Delete(context.Background(), "f")
	require.Error(t, err)
	assertCode(t, err, 550)
	_, err2 := c.NameList(context.Background(), "")
	require.ErrorIs(t, err2, ErrMalformedReply)
	for _, err := range []error{err, err2} {
		assert.NotContains(t, err.Error(), "\x1b")
		assert.NotContains(t, err.Error(), "\x07")
		assert.NotContains(t, err.Error(), "\r")
		assert.NotContains(t, err.Error(), "\x00")
	}
	assert.Contains(t, err.Error(), `\x1b]0;owned`)
}

// TestTransferReplyOrder: replies to a transfer in an unusual order, or
// out of place, leave the Conn in step. The rule: a transfer's final reply
// is 226 or 250 (or 4xx, 5xx); any other 2xx (a late "200 PORT ok" that
// ftplib, for one, has seen) answers an earlier command and is skipped;
// a 1xx or a 225/226 read in answer to any other command belongs to an
// earlier transfer and is skipped too.
func TestTransferReplyOrder(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789"), 1000)
	tests := []struct {
		name          string
		before, after string // replies before and after the data
		err           bool
	}{
		{"in order", "150 Opening\r\n", "226 Done\r\n", false},
		{"no 1xx", "", "226 Done\r\n", false},
		{"226 before the data", "150 Opening\r\n226 Done\r\n", "", false},
		{"2xx before the 1xx", "200 PORT command successful\r\n150 Opening\r\n", "226 Done\r\n", false},
		{"226 before the 1xx", "226 Done\r\n150 Opening\r\n", "", false},
		{"1xx then 5xx", "150 Opening\r\n", "551 Read error on disk\r\n", true},
		{"1xx then 4xx", "150 Opening\r\n", "451 Local error\r\n", true},
		{"two 1xx", "125 Already open\r\n150 Opening\r\n", "226 Done\r\n", false},
	}
	for _, tt := range tests {
		forEachWait(t, tt.name, func(t *testing.T, wait Option) {
			srv := newRawServer(t, func(s *rawConn) {
				s.login()
				accept := s.epsv()
				s.cmd("RETR", tt.before)
				data := accept()
				data.Write(payload)
				data.Close()
				s.send(tt.after)
				s.serve()
			})
			c := dialRaw(t, srv, 5*time.Second, wait)
			got, err := download(context.Background(), c, "f")
			if tt.err {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
				assert.Equal(t, payload, got)
			}
			for range 3 {
				require.NoError(t, c.NoOp(context.Background()), "in step")
			}
		})
	}
}

// TestMalformedPassiveReplies: a 227 or 229 that names no usable port is
// ErrMalformedReply; the Conn stays usable.
func TestMalformedPassiveReplies(t *testing.T) {
	tests := []struct{ name, epsv, pasv string }{
		{"port 0", "229 (|||0|)\r\n", "227 Entering Passive Mode (127,0,0,1,0,0)\r\n"},
		{"numbers over 255", "229 (|||65536|)\r\n", "227 Entering Passive Mode (127,0,0,1,256,1)\r\n"},
		{"missing fields", "229 (||)\r\n", "227 Entering Passive Mode (127,0,0,1,4)\r\n"},
		{"no numbers", "229 Entering Extended Passive Mode\r\n", "227 Entering Passive Mode\r\n"},
		{"negative", "229 (|||-21|)\r\n", "227 Entering Passive Mode (127,0,0,1,-4,1)\r\n"},
		{"huge", "229 (|||99999999999999999999|)\r\n", "227 Entering Passive Mode (127,0,0,1,99999999999,1)\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRawServer(t, func(s *rawConn) {
				s.login()
				s.cmd("EPSV", tt.epsv)
				s.cmd("PASV", tt.pasv)
				s.serve()
			})
			c := dialRaw(t, srv, 5*time.Second)
			_, err := c.Retr(context.Background(), "f")
			assert.ErrorIs(t, err, ErrMalformedReply)
			assert.Equal(t, "usable", connState(t, c))
		})
	}
}

// TestShortTransfers: a download that ends early is an error whatever the
// server says; an upload the server refuses midway is an error.
func TestShortTransfers(t *testing.T) {
	payload := bytes.Repeat([]byte("x"), 10000)
	t.Run("226 though fewer bytes than the 150 announced", func(t *testing.T) {
		srv := newRawServer(t, func(s *rawConn) {
			s.login()
			accept := s.epsv()
			s.cmd("RETR", "150 Opening BINARY mode data connection for f (10000 bytes)\r\n")
			data := accept()
			data.Write(payload[:9999])
			data.Close()
			s.send("226 Transfer complete\r\n")
			s.serve()
		})
		c := dialRaw(t, srv, 5*time.Second)
		got, err := download(context.Background(), c, "f")
		assert.ErrorIs(t, err, ErrShortTransfer)
		assert.Len(t, got, 9999)
		assert.Equal(t, "usable", connState(t, c))
	})
	for _, final := range []string{"552 Exceeded storage allocation\r\n", "451 Local error in processing\r\n"} {
		code, _ := strconv.Atoi(final[:3])
		forEachWait(t, "upload refused midway with "+final[:3], func(t *testing.T, wait Option) {
			srv := newRawServer(t, func(s *rawConn) {
				s.login()
				accept := s.epsv()
				s.cmd("STOR", "150 Ok to send data\r\n")
				data := accept()
				io.CopyN(io.Discard, data, 64<<10)
				data.Close()
				s.send(final)
				s.serve()
			})
			c := dialRaw(t, srv, 5*time.Second, wait)
			err := c.Stor(context.Background(), "f", io.LimitReader(zeros{}, 1<<30))
			assertCode(t, err, code)
			assert.Equal(t, "usable", connState(t, c))
		})
	}
}

// TestListingLimit: a listing that never ends is cut at maxListing, one
// line that never ends at maxListLine; the Conn stays usable.
func TestListingLimit(t *testing.T) {
	defer func(old int) { maxListing = old }(maxListing)
	maxListing = 1 << 20
	tests := []struct {
		name, line, err string
	}{
		{"endless lines", strings.Repeat("n", 100) + "\r\n", "listing longer than"},
		{"endless line", strings.Repeat("n", 100), "listing line longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRawServer(t, func(s *rawConn) {
				s.login()
				accept := s.epsv()
				s.cmd("NLST", "150 Here it comes\r\n")
				data := accept()
				for range 100000 { // 10 MB: ten times the limit
					if _, err := io.WriteString(data, tt.line); err != nil {
						break
					}
				}
				data.Close()
				s.send("426 Connection closed; transfer aborted\r\n")
				s.serve()
			})
			c := dialRaw(t, srv, 5*time.Second)
			_, err := c.NameList(context.Background(), "")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.err)
			assert.Equal(t, "usable", connState(t, c))
		})
	}
}

// TestTLSVerifiedByDefault: a nil tls.Config verifies the server's
// certificate against the system roots, in every way of asking for TLS;
// no option of this package turns verification off.
func TestTLSVerifiedByDefault(t *testing.T) {
	ctx := context.Background()
	explicit := newServer(t, ftptest.WithExplicitTLS())
	implicit := newServer(t, ftptest.WithImplicitTLS())
	for name, dial := range map[string]func() error{
		"explicit": func() error {
			_, err := Dial(ctx, explicit.Addr(), WithExplicitTLS(nil), WithTimeout(5*time.Second))
			return err
		},
		"implicit": func() error {
			_, err := Dial(ctx, implicit.Addr(), WithImplicitTLS(nil), WithTimeout(5*time.Second))
			return err
		},
		"ftps URL": func() error {
			_, err := DialURL(ctx, implicit.URL(), WithTimeout(5*time.Second))
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := dial()
			require.Error(t, err)
			assert.Contains(t, err.Error(), "does not trust")
		})
	}
	assert.Empty(t, slices.DeleteFunc(slices.Clone(explicit.Commands()), func(c string) bool {
		return verb(c) == "AUTH"
	}), "nothing but AUTH TLS in the clear")
}

// TestCancellation: cancelling the context at any stage returns at once,
// and the next call works or reports ErrClosed.
func TestCancellation(t *testing.T) {
	ctx := context.Background()
	payload := bytes.Repeat([]byte("z"), 1000)
	// stuck answers the command that follows the login with silence.
	stuck := func(reached chan struct{}) func(s *rawConn) {
		return func(s *rawConn) {
			s.login()
			s.line()
			close(reached)
			s.hang()
		}
	}
	calls := map[string]func(ctx context.Context, c *Conn) error{
		"NoOp":        func(ctx context.Context, c *Conn) error { return c.NoOp(ctx) },
		"CurrentDir":  func(ctx context.Context, c *Conn) error { _, err := c.CurrentDir(ctx); return err },
		"ChangeDir":   func(ctx context.Context, c *Conn) error { return c.ChangeDir(ctx, "d") },
		"MakeDir":     func(ctx context.Context, c *Conn) error { return c.MakeDir(ctx, "d") },
		"MakeDirAll":  func(ctx context.Context, c *Conn) error { return c.MakeDirAll(ctx, "d/e") },
		"RemoveDir":   func(ctx context.Context, c *Conn) error { return c.RemoveDir(ctx, "d") },
		"RemoveAll":   func(ctx context.Context, c *Conn) error { return c.RemoveAll(ctx, "d") },
		"Delete":      func(ctx context.Context, c *Conn) error { return c.Delete(ctx, "f") },
		"Rename":      func(ctx context.Context, c *Conn) error { return c.Rename(ctx, "f", "g") },
		"FileSize":    func(ctx context.Context, c *Conn) error { _, err := c.FileSize(ctx, "f"); return err },
		"ModTime":     func(ctx context.Context, c *Conn) error { _, err := c.ModTime(ctx, "f"); return err },
		"SetModTime":  func(ctx context.Context, c *Conn) error { return c.SetModTime(ctx, "f", time.Now()) },
		"Stat":        func(ctx context.Context, c *Conn) error { _, err := c.Stat(ctx, "f"); return err },
		"List":        func(ctx context.Context, c *Conn) error { _, err := c.List(ctx, "d"); return err },
		"NameList":    func(ctx context.Context, c *Conn) error { _, err := c.NameList(ctx, "d"); return err },
		"Walk":        func(ctx context.Context, c *Conn) error { return c.Walk(ctx, "d", noWalk) },
		"Quote":       func(ctx context.Context, c *Conn) error { _, err := c.Quote(ctx, "SITE HELP"); return err },
		"Retr":        func(ctx context.Context, c *Conn) error { _, err := download(ctx, c, "f"); return err },
		"Stor":        func(ctx context.Context, c *Conn) error { return c.Stor(ctx, "f", bytes.NewReader(payload)) },
		"Append":      func(ctx context.Context, c *Conn) error { return c.Append(ctx, "f", bytes.NewReader(payload)) },
		"Quit":        func(ctx context.Context, c *Conn) error { return c.Quit(ctx) },
		"RetrFrom":    func(ctx context.Context, c *Conn) error { _, err := c.RetrFrom(ctx, "f", 10); return err },
		"StorFrom":    func(ctx context.Context, c *Conn) error { return c.StorFrom(ctx, "f", bytes.NewReader(payload), 10) },
		"Features+Op": func(ctx context.Context, c *Conn) error { _ = c.Features(); return c.NoOp(ctx) },
	}
	type stage struct {
		name   string
		script func(reached chan struct{}) func(s *rawConn)
		call   func(ctx context.Context, c *Conn) error
	}
	var stages []stage
	for name, call := range calls {
		stages = append(stages, stage{"command " + name, stuck, call})
	}
	stages = append(stages,
		stage{"waiting for the first reply to RETR", silentAfterRETR, calls["Retr"]},
		stage{"mid-download", func(reached chan struct{}) func(s *rawConn) {
			return func(s *rawConn) {
				s.login()
				accept := s.epsv()
				s.cmd("RETR", "150 Opening\r\n")
				accept().Write(payload)
				close(reached)
				s.hang()
			}
		}, calls["Retr"]},
		stage{"mid-upload", func(reached chan struct{}) func(s *rawConn) {
			return func(s *rawConn) {
				s.login()
				accept := s.epsv()
				s.cmd("STOR", "150 Ok to send data\r\n")
				accept()
				close(reached)
				s.hang()
			}
		}, func(ctx context.Context, c *Conn) error {
			return c.Stor(ctx, "f", io.LimitReader(zeros{}, 1<<30))
		}},
		stage{"waiting for the final reply", func(reached chan struct{}) func(s *rawConn) {
			return func(s *rawConn) {
				s.login()
				accept := s.epsv()
				s.cmd("RETR", "150 Opening\r\n")
				data := accept()
				data.Write(payload)
				data.Close()
				close(reached)
				s.hang()
			}
		}, calls["Retr"]},
		stage{"during ABOR", func(reached chan struct{}) func(s *rawConn) {
			return func(s *rawConn) {
				s.login()
				accept := s.epsv()
				s.cmd("RETR", "150 Opening\r\n")
				accept().Write(payload)
				s.expect("ABOR")
				close(reached)
				s.hang()
			}
		}, func(ctx context.Context, c *Conn) error {
			r, err := c.Retr(ctx, "f")
			if err != nil {
				return err
			}
			if _, err := io.ReadFull(r, make([]byte, 10)); err != nil {
				return err
			}
			return r.Close() // ABOR, and the server never answers it
		}},
	)
	for _, st := range stages {
		forEachWait(t, st.name, func(t *testing.T, wait Option) {
			reached := make(chan struct{})
			srv := newRawServer(t, st.script(reached))
			// The timeout is long: only the cancellation can end the wait.
			c := dialRaw(t, srv, 20*time.Second, wait)
			cctx, cancel := context.WithCancel(ctx)
			go func() {
				select {
				case <-reached:
				case <-t.Context().Done():
				}
				cancel()
			}()
			start := time.Now()
			err := st.call(cctx, c)
			elapsed := time.Since(start)
			require.Error(t, err)
			if !strings.Contains(st.name, "ABOR") {
				assert.ErrorIs(t, err, context.Canceled)
			}
			assert.Less(t, elapsed, abortGrace+margin)
			assert.Equal(t, "closed", connState(t, c))
		})
	}
	t.Run("dial", func(t *testing.T) {
		reached := make(chan struct{})
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
			close(reached)
			<-ctx.Done()
			return nil, ctx.Err()
		}
		go func() {
			<-reached
			cancel()
		}()
		start := time.Now()
		_, err := Dial(cctx, "127.0.0.1:21", WithDialFunc(dial), WithTimeout(20*time.Second))
		assert.ErrorIs(t, err, context.Canceled)
		assert.Less(t, time.Since(start), margin)
	})
	for _, verb := range []string{"GREETING", "USER", "PASS"} {
		t.Run("login at "+verb, func(t *testing.T) {
			reached := make(chan struct{})
			srv := newRawServer(t, func(s *rawConn) {
				if verb != "GREETING" {
					s.send("220 ready\r\n")
					s.expect("USER")
				}
				if verb == "PASS" {
					s.send("331 Password?\r\n")
					s.expect("PASS")
				}
				close(reached)
				s.hang()
			})
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go func() {
				select {
				case <-reached:
				case <-t.Context().Done():
				}
				cancel()
			}()
			start := time.Now()
			u := "ftp://user:pass@" + srv.addr() + "/"
			_, err := DialURL(cctx, u, WithTimeout(20*time.Second))
			assert.ErrorIs(t, err, context.Canceled)
			assert.Less(t, time.Since(start), margin)
		})
	}
}

// TestUploadRefusedDataConnectionOpen: a server that refuses an upload but
// keeps the data connection open and reads nothing (vsftpd) ends the
// upload at once with its reply, whether the data come from a file
// (sendfile) or a reader, and however the replies are read.
func TestUploadRefusedDataConnectionOpen(t *testing.T) {
	const size = 32 << 20 // more than the socket buffers take
	big := filepath.Join(t.TempDir(), "big")
	require.NoError(t, os.WriteFile(big, make([]byte, size), 0o600))
	sources := map[string]func(t *testing.T) io.Reader{
		"reader": func(*testing.T) io.Reader { return io.LimitReader(zeros{}, size) },
		"file": func(t *testing.T) io.Reader {
			f, err := os.Open(big)
			require.NoError(t, err)
			t.Cleanup(func() { f.Close() })
			return f
		},
	}
	for name, src := range sources {
		forEachWait(t, name, func(t *testing.T, wait Option) {
			srv := newRawServer(t, func(s *rawConn) {
				s.login()
				s.epsv() // the data connection waits in the backlog, never accepted
				s.cmd("STOR", "553 Could not create file.\r\n")
				s.serve()
			})
			c := dialRaw(t, srv, 20*time.Second, wait)
			start := time.Now()
			err := c.Stor(context.Background(), "f", src(t))
			assertCode(t, err, 553)
			require.Error(t, err)
			assert.Equal(t, "ftp: STOR f: 553 Could not create file.", err.Error(),
				"the server's reply alone: the interrupted data connection adds nothing")
			assert.Less(t, time.Since(start), margin, "not the timeout")
			assert.Equal(t, "usable", connState(t, c))
		})
	}
}

// TestCloseWhileWaiting: Close from another goroutine ends a download
// that waits for its first data or its first reply, at once.
func TestCloseWhileWaiting(t *testing.T) {
	forEachWait(t, "Retr", func(t *testing.T, wait Option) {
		reached := make(chan struct{})
		srv := newRawServer(t, silentAfterRETR(reached))
		c := dialRaw(t, srv, 20*time.Second, wait)
		go func() {
			select {
			case <-reached:
			case <-t.Context().Done():
			}
			c.Close()
		}()
		start := time.Now()
		_, err := c.Retr(context.Background(), "f")
		assert.ErrorIs(t, err, ErrClosed)
		assert.Less(t, time.Since(start), margin)
	})
}

// silentAfterRETR is a server that takes the data connection of a RETR,
// closes reached, and then sends nothing on either connection.
func silentAfterRETR(reached chan struct{}) func(s *rawConn) {
	return func(s *rawConn) {
		s.login()
		accept := s.epsv()
		s.expect("RETR")
		accept()
		close(reached)
		s.hang()
	}
}

// noWalk is a WalkDirFunc that stops at the first error.
func noWalk(_ string, _ fs.DirEntry, err error) error { return err }

// TestTCPKeepAlive: every TCP control connection has keepalive probes on,
// also one from a WithDialFunc dialer that turned them off.
func TestTCPKeepAlive(t *testing.T) {
	srv := newServer(t)
	noKeepAlive := &net.Dialer{KeepAlive: -1}
	for name, opts := range map[string][]Option{
		"default dialer": nil,
		"WithDialFunc":   {WithDialFunc(noKeepAlive.DialContext)},
	} {
		t.Run(name, func(t *testing.T) {
			c := dialTest(t, srv, opts...)
			tc, ok := c.ctl.nc.(*net.TCPConn)
			require.True(t, ok)
			assert.True(t, keepAliveOn(t, tc))
		})
	}
}

// pacedReader yields n bytes of pattern in chunks, one chunk per tick, so
// that a transfer lasts n/chunk ticks.
type pacedReader struct {
	n, chunk int
	tick     *time.Ticker
}

func (p *pacedReader) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	<-p.tick.C // pacing, not synchronisation
	k := min(len(b), p.chunk, p.n)
	for i := range b[:k] {
		b[i] = byte(p.n - i)
	}
	p.n -= k
	return k, nil
}

// TestNOOPKeepAlive: with WithKeepAlive, NOOPs go out during a transfer
// that outlasts several intervals; their answers, before or after the
// final reply, leave the Conn in step.
func TestNOOPKeepAlive(t *testing.T) {
	const interval = 40 * time.Millisecond
	ctx := context.Background()
	t.Run("ftptest answers after the transfer", func(t *testing.T) {
		srv := newServer(t)
		data := bytes.Repeat([]byte("keepalive"), 200000) // 1.8 MB
		srv.WriteFile("big", data)
		c := dialTest(t, srv, WithKeepAlive(interval))
		// Download, reading slowly: 28 chunks of 64 KiB, one per 25 ms.
		r, err := c.Retr(ctx, "big")
		require.NoError(t, err)
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		var got bytes.Buffer
		for range 1000 {
			<-tick.C // pacing, not synchronisation
			_, err := io.CopyN(&got, r, 64<<10)
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
		}
		require.NoError(t, r.Close())
		assert.Equal(t, data, got.Bytes())
		noopsAfterRetr := count(verbs(srv), "NOOP")
		assert.GreaterOrEqual(t, noopsAfterRetr, 3, "NOOPs during the download")

		// Upload, written slowly.
		up := &pacedReader{n: 1 << 20, chunk: 32 << 10, tick: time.NewTicker(20 * time.Millisecond)}
		defer up.tick.Stop()
		require.NoError(t, c.Stor(ctx, "up", up))
		assert.GreaterOrEqual(t, count(verbs(srv), "NOOP")-noopsAfterRetr, 3, "NOOPs during the upload")

		// In step: each call gets its own answer.
		dir, err := c.CurrentDir(ctx)
		require.NoError(t, err)
		assert.Equal(t, "/", dir)
		size, err := c.FileSize(ctx, "up")
		require.NoError(t, err)
		assert.Equal(t, int64(1<<20), size)
		assert.Equal(t, data, retrAll(t, c, "big"))
	})
	// pure-ftpd answers any command but ABOR during a transfer with
	// "500 Unknown command", before the final reply.
	for _, answer := range []string{"200 NOOP ok\r\n", "500 Unknown command\r\n"} {
		t.Run("answered "+answer[:3]+" before the final reply", func(t *testing.T) {
			chunk := bytes.Repeat([]byte("k"), 1000)
			srv := newRawServer(t, func(s *rawConn) {
				s.login()
				accept := s.epsv()
				s.cmd("RETR", "150 Opening\r\n")
				data := accept()
				for range 2 * maxStrays { // more answers than strays allowed
					data.Write(chunk)
					s.cmd("NOOP", answer)
				}
				data.Close()
				s.send("226 Transfer complete\r\n")
				s.serve()
			})
			c := dialRaw(t, srv, 5*time.Second, WithKeepAlive(interval))
			got, err := download(context.Background(), c, "f")
			require.NoError(t, err)
			assert.Len(t, got, 2*maxStrays*len(chunk))
			for range 3 {
				require.NoError(t, c.NoOp(ctx), "in step")
			}
		})
	}
}

// TestInjectionEveryMethod: CR, LF and NUL in any argument of any method
// are refused before anything is sent.
func TestInjectionEveryMethod(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	srv.WriteFile("keep.txt", []byte("x"))
	for _, bad := range []string{"a\r\nDELE keep.txt", "a\nDELE keep.txt", "a\rb", "a\x00b"} {
		t.Run(strconv.Quote(bad), func(t *testing.T) {
			fresh, err := Dial(ctx, srv.Addr(), WithTimeout(5*time.Second))
			require.NoError(t, err)
			defer fresh.Close()
			c := dialTest(t, srv)
			sent := len(srv.Commands())
			calls := map[string]error{
				"Login user":     fresh.Login(ctx, bad, "pass"),
				"Login password": fresh.Login(ctx, "user", bad),
				"ChangeDir":      c.ChangeDir(ctx, bad),
				"MakeDir":        c.MakeDir(ctx, bad),
				"MakeDirAll":     c.MakeDirAll(ctx, bad),
				"RemoveDir":      c.RemoveDir(ctx, bad),
				"RemoveAll":      c.RemoveAll(ctx, bad),
				"Delete":         c.Delete(ctx, bad),
				"Rename from":    c.Rename(ctx, bad, "x"),
				"Rename to":      c.Rename(ctx, "keep.txt", bad),
				"SetModTime":     c.SetModTime(ctx, bad, time.Now()),
				"Walk":           c.Walk(ctx, bad, noWalk),
				"Stor":           c.Stor(ctx, bad, strings.NewReader("x")),
				"StorFrom":       c.StorFrom(ctx, bad, strings.NewReader("x"), 1),
				"Append":         c.Append(ctx, bad, strings.NewReader("x")),
			}
			_, calls["FileSize"] = c.FileSize(ctx, bad)
			_, calls["ModTime"] = c.ModTime(ctx, bad)
			_, calls["Stat"] = c.Stat(ctx, bad)
			_, calls["List"] = c.List(ctx, bad)
			_, calls["NameList"] = c.NameList(ctx, bad)
			_, calls["Retr"] = c.Retr(ctx, bad)
			_, calls["RetrFrom"] = c.RetrFrom(ctx, bad, 1)
			_, calls["Quote"] = c.Quote(ctx, "SITE "+bad)
			_, calls["Quote verb"] = c.Quote(ctx, bad)
			for name, err := range calls {
				assert.ErrorIs(t, err, ErrInvalidArgument, name)
			}
			assert.Equal(t, sent, len(srv.Commands()), "nothing sent: %q", srv.Commands()[sent:])
			_, err = srv.ReadFile("keep.txt")
			assert.NoError(t, err)
		})
	}
}

// TestIACOnTheWire: a 0xFF byte in an argument goes out as IAC IAC
// (RFC 959 §4.1.3, Telnet), and the server reads the name back whole.
func TestIACOnTheWire(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	c := dialTest(t, srv)
	name := "caf\xff-\xff\xff"
	require.NoError(t, c.MakeDir(ctx, name))
	require.NoError(t, c.Stor(ctx, name+"/f\xff", strings.NewReader("iac")))
	assert.Contains(t, srv.Commands(), "MKD caf\xff\xff-\xff\xff\xff\xff")
	assert.Contains(t, srv.Commands(), "STOR caf\xff\xff-\xff\xff\xff\xff/f\xff\xff")
	info, err := srv.Stat(name)
	require.NoError(t, err)
	assert.True(t, info.IsDir())
	assert.Equal(t, "iac", string(retrAll(t, c, name+"/f\xff")))
}

// TestTrustedPASVHost: with WithTrustedPASVAddress, a 227 address is used
// only if it can be a server's: 0.0.0.0 means the control peer; broadcast,
// multicast, and loopback or link-local (cloud metadata) addresses from a
// server that is neither are refused.
func TestTrustedPASVHost(t *testing.T) {
	tests := []struct {
		peer, pasv string
		want       string // "" for refused
	}{
		{"192.0.2.10", "0.0.0.0", "192.0.2.10"},
		{"192.0.2.10", "10.1.2.3", "10.1.2.3"},
		{"192.0.2.10", "192.0.2.11", "192.0.2.11"},
		{"192.0.2.10", "224.0.0.1", ""},
		{"192.0.2.10", "239.255.255.250", ""},
		{"192.0.2.10", "255.255.255.255", ""},
		{"192.0.2.10", "127.0.0.1", ""},
		{"192.0.2.10", "127.1.2.3", ""},
		{"192.0.2.10", "169.254.169.254", ""},
		{"127.0.0.1", "127.0.0.1", "127.0.0.1"},
		{"127.0.0.1", "127.0.0.2", "127.0.0.2"},
		{"169.254.7.7", "169.254.7.8", "169.254.7.8"},
	}
	for _, tt := range tests {
		t.Run(tt.peer+" says "+tt.pasv, func(t *testing.T) {
			c := &Conn{dataHost: tt.peer, peerIP: net.ParseIP(tt.peer)}
			host, err := c.trustedPASVHost(net.ParseIP(tt.pasv))
			if tt.want == "" {
				assert.ErrorIs(t, err, ErrMalformedReply)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, host)
		})
	}
}

// TestPasswordNeverLeaks: no error string and no trace line holds the
// password, whatever happens to the login.
func TestPasswordNeverLeaks(t *testing.T) {
	ctx := context.Background()
	const pw = "Hunter2-%v-\xc3\xa9\"q'"
	leaks := []string{pw, url.QueryEscape(pw), url.PathEscape(pw), strconv.Quote(pw), "Hunter2"}
	srv := newServer(t, ftptest.WithCredentials("bob", "right"))
	var trace bytes.Buffer
	var errs []error
	c, err := Dial(ctx, srv.Addr(), WithDebug(&trace), WithTimeout(5*time.Second))
	require.NoError(t, err)
	defer c.Close()
	err = c.Login(ctx, "bob", pw)
	assertCode(t, err, 530)
	errs = append(errs, err, c.Login(ctx, "bob", pw+"\r\n"), c.Login(ctx, "bob", pw+"\x00"))
	for _, q := range []string{"PASS " + pw, "pass " + pw, "ACCT " + pw, "PASS\t" + pw} {
		_, err := c.Quote(ctx, q)
		errs = append(errs, err)
	}
	for _, u := range []string{
		"ftp://bob:" + url.PathEscape(pw) + "@" + srv.Addr() + "/",  // 530
		"ftp://bob:" + pw + "@" + srv.Addr() + "/",                  // does not parse
		"ftp://bob:" + url.PathEscape(pw) + "@ho st/",               // does not parse
		"ftp://bob:" + url.PathEscape(pw) + "@127.0.0.1:1/",         // refused
		"ftps://bob:" + url.PathEscape(pw) + "@" + srv.Addr() + "/", // TLS fails
	} {
		_, err := DialURL(ctx, u, WithDebug(&trace), WithTimeout(5*time.Second))
		errs = append(errs, err)
	}
	for _, err := range errs {
		require.Error(t, err)
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			for _, leak := range leaks {
				assert.NotContains(t, s, leak)
			}
		}
	}
	require.Contains(t, trace.String(), "PASS ****")
	for _, leak := range leaks {
		assert.NotContains(t, trace.String(), leak)
	}
}

// TestListingCannotEscape: a listing entry named "..", "x/.." or
// "../other" is no entry of the directory: RemoveAll and Walk never act
// outside the tree they were given.
func TestListingCannotEscape(t *testing.T) {
	ctx := context.Background()
	lines := []string{
		"drwxr-xr-x 1 ftp ftp 0 Jan  1  2020 x/..",
		"drwxr-xr-x 1 ftp ftp 0 Jan  1  2020 ../victim",
		"-rw-r--r-- 1 ftp ftp 1 Jan  1  2020 ../keep.txt",
		"drwxr-xr-x 1 ftp ftp 0 Jan  1  2020 ..\\..",
		"-rw-r--r-- 1 ftp ftp 1 Jan  1  2020 fine.txt",
	}
	srv := newServer(t, ftptest.WithListLines("/victim/sub", lines...))
	srv.WriteFile("/victim/keep.txt", []byte("keep"))
	srv.WriteFile("/victim/sub/fine.txt", []byte("f"))
	c := dialTest(t, srv, WithoutMLSD())
	entries, err := c.List(ctx, "/victim/sub")
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
	}
	assert.Equal(t, []string{"fine.txt"}, names)
	var walked []string
	require.NoError(t, c.Walk(ctx, "/victim/sub", func(p string, _ fs.DirEntry, err error) error {
		walked = append(walked, p)
		return err
	}))
	assert.Equal(t, []string{"/victim/sub", "/victim/sub/fine.txt"}, walked)
	require.NoError(t, c.RemoveAll(ctx, "/victim/sub"))
	_, err = srv.ReadFile("/victim/keep.txt")
	assert.NoError(t, err, "outside the tree: untouched")
}

// TestLoad runs 64 connections at once, each uploading, downloading and
// listing for a while, against ftptest and, when interop/servers.sh runs
// it, vsftpd; every byte is checked by SHA-256. Afterwards no goroutine
// and no descriptor may be left, and the heap must be as it was. It runs
// only with FTP_LOAD=1 (and not with -short); FTP_LOAD_SECONDS sets the
// time per server (default 30).
func TestLoad(t *testing.T) {
	if testing.Short() || os.Getenv("FTP_LOAD") != "1" {
		t.Skip("set FTP_LOAD=1 to run the load test")
	}
	seconds, err := strconv.Atoi(os.Getenv("FTP_LOAD_SECONDS"))
	if err != nil || seconds <= 0 {
		seconds = 30
	}
	t.Run("ftptest", func(t *testing.T) {
		srv := ftptest.NewServer()
		defer srv.Close()
		loadRun(t, srv.Addr(), srv.User(), srv.Password(), "/load", time.Duration(seconds)*time.Second, srv.Close)
	})
	t.Run("vsftpd", func(t *testing.T) {
		env := loadEnv()
		addr := env["VSFTPD_PLAIN_ADDR"]
		if addr == "" {
			t.Skip("vsftpd is not running: bash interop/servers.sh start plain")
		}
		c, err := Dial(context.Background(), addr, WithTimeout(2*time.Second))
		if err != nil {
			t.Skipf("vsftpd does not answer at %s: %v", addr, err)
		}
		c.Close()
		loadRun(t, addr, env["FTP_USER"], env["FTP_PASS"], fmt.Sprintf("pasvport-load-%d", os.Getpid()), time.Duration(seconds)*time.Second, func() {})
	})
}

// loadEnv reads /tmp/pasvport-interop/servers.env (or $INTEROP_RUN's), if any.
func loadEnv() map[string]string {
	run := os.Getenv("INTEROP_RUN")
	if run == "" {
		run = "/tmp/pasvport-interop"
	}
	env := map[string]string{}
	b, err := os.ReadFile(run + "/servers.env")
	if err != nil {
		return env
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(k, "#") {
			env[k] = strings.Trim(v, `"`)
		}
	}
	return env
}

// loadStats are the totals of a load run.
type loadStats struct {
	mu                       sync.Mutex
	uploads, downloads, list int
	bytesUp, bytesDown       int64
	errors                   []error
	corrupt                  int
}

func (s *loadStats) add(f func(s *loadStats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// loadRun runs the load against addr for d; stop stops the server, if it
// is in-process, before the goroutines are counted.
func loadRun(t *testing.T, addr, user, pass, root string, d time.Duration, stop func()) {
	const workers = 64
	fdsBefore := openFDs(t)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	goroutinesBefore := runtime.NumGoroutine()

	ctx := context.Background()
	setup, err := Dial(ctx, addr, WithTimeout(20*time.Second))
	require.NoError(t, err)
	require.NoError(t, setup.Login(ctx, user, pass))
	require.NoError(t, setup.MakeDirAll(ctx, root))

	stats := &loadStats{}
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { loadWorker(ctx, addr, user, pass, fmt.Sprintf("%s/w%02d", root, w), w, deadline, stats) })
	}
	wg.Wait()
	require.NoError(t, setup.RemoveAll(ctx, root))
	require.NoError(t, setup.Quit(ctx))

	stop() // an in-process server returns once all its goroutines have
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	fdsAfter := openFDs(t)
	t.Logf("%s: %d connections for %v: %d uploads (%.1f MB), %d downloads (%.1f MB), %d listings; "+
		"%d errors, %d corrupt; goroutines %d -> %d; descriptors %d -> %d; heap %.1f -> %.1f MB",
		addr, workers, d, stats.uploads, float64(stats.bytesUp)/1e6, stats.downloads, float64(stats.bytesDown)/1e6,
		stats.list, len(stats.errors), stats.corrupt, goroutinesBefore, runtime.NumGoroutine(), fdsBefore, fdsAfter,
		float64(before.HeapAlloc)/1e6, float64(after.HeapAlloc)/1e6)
	for _, err := range stats.errors[:min(len(stats.errors), 10)] {
		t.Error(err)
	}
	assert.Empty(t, stats.errors)
	assert.Zero(t, stats.corrupt)
	assert.Positive(t, stats.uploads)
	assert.Positive(t, stats.downloads)
	assert.LessOrEqual(t, runtime.NumGoroutine(), goroutinesBefore)
	assert.LessOrEqual(t, fdsAfter, fdsBefore)
	assert.Less(t, after.HeapAlloc, before.HeapAlloc+32<<20, "heap flat")
}

// loadWorker mixes uploads, downloads and listings in dir until deadline.
func loadWorker(ctx context.Context, addr, user, pass, dir string, seed int, deadline time.Time, stats *loadStats) {
	fail := func(err error) { stats.add(func(s *loadStats) { s.errors = append(s.errors, err) }) }
	c, err := Dial(ctx, addr, WithTimeout(30*time.Second))
	if err != nil {
		fail(err)
		return
	}
	defer c.Close()
	if err := c.Login(ctx, user, pass); err != nil {
		fail(err)
		return
	}
	if err := c.MakeDirAll(ctx, dir); err != nil {
		fail(err)
		return
	}
	sums := map[string][32]byte{}
	var names []string
	for i := 0; time.Now().Before(deadline); i++ {
		switch op := (i + seed) % 4; {
		case op == 0 || len(names) == 0: // upload, of 0 to 512 KiB
			name := fmt.Sprintf("%s/f%d", dir, i%16)
			data := make([]byte, (i*7919+seed*104729)%(512<<10))
			for j := range data {
				data[j] = byte(j*31 + i + seed)
			}
			if err := c.Stor(ctx, name, bytes.NewReader(data)); err != nil {
				fail(fmt.Errorf("Stor %s: %w", name, err))
				continue
			}
			if _, ok := sums[name]; !ok {
				names = append(names, name)
			}
			sums[name] = sha256.Sum256(data)
			stats.add(func(s *loadStats) { s.uploads++; s.bytesUp += int64(len(data)) })
		case op == 3:
			got, err := c.NameList(ctx, dir)
			if err != nil {
				fail(fmt.Errorf("NameList %s: %w", dir, err))
				continue
			}
			if len(got) != len(names) {
				stats.add(func(s *loadStats) { s.corrupt++ })
			}
			stats.add(func(s *loadStats) { s.list++ })
		default:
			name := names[(i*13)%len(names)]
			got, err := download(ctx, c, name)
			if err != nil {
				fail(fmt.Errorf("Retr %s: %w", name, err))
				continue
			}
			if sha256.Sum256(got) != sums[name] {
				stats.add(func(s *loadStats) { s.corrupt++ })
			}
			stats.add(func(s *loadStats) { s.downloads++; s.bytesDown += int64(len(got)) })
		}
	}
	if err := c.Quit(ctx); err != nil {
		fail(err)
	}
}

// openFDs counts this process's open descriptors (Linux), or -1.
func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Log("no /proc/self/fd: descriptors not counted")
		return -1
	}
	return len(entries)
}

// TestRemoveAllDoesNotEmptyALink: a server that refuses DELE of a link to a
// folder and answers RMD of it "Not a directory" (while a listing would
// show the target's files) gets no DELE of anything inside: RemoveAll
// empties only what RMD says is a folder that is not empty.
func TestRemoveAllDoesNotEmptyALink(t *testing.T) {
	srv := newRawServer(t, func(s *rawConn) {
		s.login()
		s.cmd("DELE", "550 link: Operation not permitted\r\n")
		s.cmd("RMD", "550 link: Not a directory\r\n")
		for range 100 { // the checks that follow, then QUIT
			l := s.line()
			if l == "" {
				return
			}
			v := strings.ToUpper(strings.Fields(l + " x")[0])
			assert.NotContains(s.srv.t, []string{"DELE", "EPSV", "PASV", "LIST", "MLSD"}, v, "sent %q", l)
			switch v {
			case "QUIT":
				s.send("221 Bye\r\n")
				return
			case "PWD":
				s.send("257 \"/\"\r\n")
			case "CWD":
				s.send("250 OK\r\n")
			default:
				s.send("502 Not implemented\r\n")
			}
		}
	})
	c := dialRaw(t, srv, 5*time.Second)
	err := c.RemoveAll(context.Background(), "link")
	require.Error(t, err)
	assert.NotErrorIs(t, err, fs.ErrNotExist)
	require.NoError(t, c.Quit(context.Background()))
}
