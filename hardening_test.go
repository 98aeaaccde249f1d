package ftp

// Hardening: a hostile or broken server can neither hang the client, nor
// make it lose data without an error, nor turn it against its user. Faults
// that ftptest cannot produce come from rawServer, a scripted server that
// writes exactly the bytes a test gives it.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
		}, func(c *Conn) error {
			r, err := c.Retr(context.Background(), "f")
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, r)
			r.Close()
			return err
		}, "closed|usable"},
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
		}, func(c *Conn) error {
			r, err := c.Retr(context.Background(), "f")
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, r)
			r.Close()
			return err
		}, "closed"},
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
		t.Run(tt.name, func(t *testing.T) {
			srv := newRawServer(t, tt.script)
			c := dialRaw(t, srv, timeout)
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
func download(c *Conn, path string) ([]byte, error) {
	r, err := c.Retr(context.Background(), path)
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
			got, err := download(c, "f")
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
		}, func(c *Conn) error { _, err := download(c, "f"); return err }, func(t *testing.T, err error) {}, "usable"},
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
		}, func(c *Conn) error { _, err := download(c, "f"); return err },
			func(t *testing.T, err error) { assertCode(t, err, 421); assert.ErrorIs(t, err, ErrClosed) }, "closed"},
		{"421 answers an active download", func(s *rawConn) {
			s.login()
			s.cmd("PORT", "200 PORT ok\r\n")
			s.cmd("RETR", "421 Service not available, closing control connection\r\n")
		}, func(c *Conn) error { _, err := download(c, "f"); return err },
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
		}, func(c *Conn) error { _, err := download(c, "f"); return err },
			func(t *testing.T, err error) { assertCode(t, err, 421) }, "closed"},
		{"421 unsolicited between commands", func(s *rawConn) {
			s.login()
			s.send("421 Idle timeout\r\n")
			s.conn.Close()
		}, func(c *Conn) error { return c.NoOp(context.Background()) },
			func(t *testing.T, err error) { assert.ErrorIs(t, err, ErrClosed) }, "closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRawServer(t, tt.script)
			var opts []Option
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
		s.cmd("DELE", "550 \x1b]0;owned\x07\x1b[2J\rgone\x00\r\n")
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
		t.Run(tt.name, func(t *testing.T) {
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
			c := dialRaw(t, srv, 5*time.Second)
			got, err := download(c, "f")
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
		got, err := download(c, "f")
		assert.ErrorIs(t, err, ErrShortTransfer)
		assert.Len(t, got, 9999)
		assert.Equal(t, "usable", connState(t, c))
	})
	for _, final := range []string{"552 Exceeded storage allocation\r\n", "451 Local error in processing\r\n"} {
		code, _ := strconv.Atoi(final[:3])
		t.Run("upload refused midway with "+final[:3], func(t *testing.T) {
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
			c := dialRaw(t, srv, 5*time.Second)
			err := c.Stor(context.Background(), "f", io.LimitReader(zeros{}, 1<<30))
			assertCode(t, err, code)
			assert.Equal(t, "usable", connState(t, c))
		})
	}
}

// TestListingLimit: a listing that never ends is cut at maxListing.
func TestListingLimit(t *testing.T) {
	defer func(old int) { maxListing = old }(maxListing)
	maxListing = 1 << 20
	srv := newRawServer(t, func(s *rawConn) {
		s.login()
		accept := s.epsv()
		s.cmd("NLST", "150 Here it comes\r\n")
		data := accept()
		line := []byte(strings.Repeat("n", 100) + "\r\n")
		for range 100000 { // 10 MB: ten times the limit
			if _, err := data.Write(line); err != nil {
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
	assert.Contains(t, err.Error(), "listing longer than")
	assert.Equal(t, "usable", connState(t, c))
}
