package ftptest_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// timeout bounds every read and write of the tests.
const timeout = 10 * time.Second

// client is a tiny raw FTP client: it sends lines and reads replies.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// dialRaw connects to addr without reading the greeting.
func dialRaw(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	require.NoError(t, conn.SetDeadline(time.Now().Add(timeout)))
	t.Cleanup(func() { conn.Close() })
	return &client{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// login connects to srv, reads the greeting and logs in.
func login(t *testing.T, srv *ftptest.Server) *client {
	t.Helper()
	c := dialRaw(t, srv.Addr())
	c.expect(220)
	c.cmd("USER "+srv.User(), 331)
	c.cmd("PASS "+srv.Password(), 230)
	return c
}

func (c *client) send(line string) {
	c.t.Helper()
	_, err := io.WriteString(c.conn, line+"\r\n")
	require.NoError(c.t, err)
}

// read reads one reply, multi-line ones whole, and returns its code and
// its lines joined by "\n".
func (c *client) read() (int, string) {
	c.t.Helper()
	var lines []string
	for {
		l, err := c.r.ReadString('\n')
		require.NoError(c.t, err, "reply so far: %q", lines)
		lines = append(lines, strings.TrimRight(l, "\r\n"))
		first := lines[0]
		require.GreaterOrEqual(c.t, len(first), 4, "short reply %q", first)
		if len(lines) == 1 && first[3] == ' ' || len(lines) > 1 && strings.HasPrefix(lines[len(lines)-1], first[:3]+" ") {
			code, err := strconv.Atoi(first[:3])
			require.NoError(c.t, err, "reply %q", first)
			return code, strings.Join(lines, "\n")
		}
	}
}

// expect reads a reply and checks its code.
func (c *client) expect(code int) string {
	c.t.Helper()
	got, text := c.read()
	require.Equal(c.t, code, got, "reply %q", text)
	return text
}

// cmd sends line and checks the reply's code.
func (c *client) cmd(line string, code int) string {
	c.t.Helper()
	c.send(line)
	return c.expect(code)
}

var pasvRe = regexp.MustCompile(`\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)`)
var epsvRe = regexp.MustCompile(`\(\|\|\|(\d+)\|\)`)

// passiveAddr sends verb (PASV or EPSV) and returns the address to dial:
// the port the reply names on the control connection's host.
func (c *client) passiveAddr(verb string) string {
	c.t.Helper()
	text := c.cmd(verb, map[string]int{"PASV": 227, "EPSV": 229}[verb])
	var port string
	if m := epsvRe.FindStringSubmatch(text); m != nil {
		port = m[1]
	} else if m := pasvRe.FindStringSubmatch(text); m != nil {
		hi, _ := strconv.Atoi(m[5])
		lo, _ := strconv.Atoi(m[6])
		port = strconv.Itoa(hi<<8 | lo)
	}
	require.NotEmpty(c.t, port, "no port in %q", text)
	host, _, _ := net.SplitHostPort(c.conn.RemoteAddr().String())
	return net.JoinHostPort(host, port)
}

// passive sends verb (PASV or EPSV) and connects to the port it names.
func (c *client) passive(verb string) net.Conn {
	c.t.Helper()
	return dialData(c.t, nil, c.passiveAddr(verb))
}

// dialData connects to a data address, from local if not nil.
func dialData(t *testing.T, local net.IP, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: timeout}
	if local != nil {
		d.LocalAddr = &net.TCPAddr{IP: local}
	}
	conn, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	require.NoError(t, conn.SetDeadline(time.Now().Add(timeout)))
	t.Cleanup(func() { conn.Close() })
	return conn
}

// activeArg returns the PORT or EPRT argument for the address of ln.
func activeArg(verb string, ln net.Listener) string {
	a := ln.Addr().(*net.TCPAddr)
	if verb == "PORT" {
		ip := a.IP.To4()
		return fmt.Sprintf("%d,%d,%d,%d,%d,%d", ip[0], ip[1], ip[2], ip[3], a.Port>>8, a.Port&0xff)
	}
	proto := 1
	if a.IP.To4() == nil {
		proto = 2
	}
	return fmt.Sprintf("|%d|%s|%d|", proto, a.IP, a.Port)
}

// listen listens on host:0 for an active data connection.
func listen(t *testing.T, host string) *net.TCPListener {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.ParseIP(host)})
	require.NoError(t, err)
	require.NoError(t, ln.SetDeadline(time.Now().Add(timeout)))
	t.Cleanup(func() { ln.Close() })
	return ln
}

// get runs a command that sends data over a passive connection opened with
// EPSV and returns the data and the final reply code. The pre lines (REST)
// go between EPSV and line, each expecting a positive reply.
func (c *client) get(line string, pre ...string) ([]byte, int) {
	c.t.Helper()
	data := c.passive("EPSV")
	c.preamble(pre)
	c.cmd(line, 150)
	b, err := io.ReadAll(data)
	require.NoError(c.t, err)
	code, _ := c.read()
	return b, code
}

// put runs a command that receives payload over a passive connection and
// returns the final reply code. The pre lines are as for get.
func (c *client) put(line string, payload []byte, pre ...string) int {
	c.t.Helper()
	data := c.passive("EPSV")
	c.preamble(pre)
	c.cmd(line, 150)
	_, err := data.Write(payload)
	require.NoError(c.t, err)
	require.NoError(c.t, data.Close())
	code, _ := c.read()
	return code
}

// preamble sends lines, each expecting a 2xx or 3xx reply.
func (c *client) preamble(lines []string) {
	c.t.Helper()
	for _, l := range lines {
		c.send(l)
		code, text := c.read()
		require.True(c.t, code >= 200 && code < 400, "%s: %s", l, text)
	}
}

// closed reports whether the server has closed the control connection.
func (c *client) closed() bool {
	_, err := c.r.ReadByte()
	return err == io.EOF
}

// newServer starts a server for one test.
func newServer(t *testing.T, opts ...ftptest.ServerOption) *ftptest.Server {
	srv := ftptest.NewServer(append([]ftptest.ServerOption{ftptest.WithLogf(t.Logf)}, opts...)...)
	t.Cleanup(srv.Close)
	return srv
}
