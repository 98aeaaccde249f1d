package ftptest_test

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// silent checks that no reply comes within a short while.
func (c *client) silent() {
	c.t.Helper()
	require.NoError(c.t, c.conn.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
	_, err := c.r.ReadByte()
	var ne net.Error
	require.True(c.t, errors.As(err, &ne) && ne.Timeout(), "want silence, got %v", err)
	require.NoError(c.t, c.conn.SetReadDeadline(time.Now().Add(timeout)))
}

func TestRawReply(t *testing.T) {
	tests := []struct {
		name    string
		verb    string
		raw     string
		line    string         // command to send; none for GREETING
		replies []int          // reply codes then expected
		text    string         // text of the first reply, if set
		closes  bool           // the server closes the connection afterwards
		after   map[string]int // further commands and their codes
	}{
		{name: "multi-line greeting", verb: "GREETING", raw: "220-Welcome\r\n220-to the\r\n220 server\r\n",
			replies: []int{220}, text: "220-Welcome\n220-to the\n220 server"},
		{name: "120 then 220", verb: "greeting", raw: "120 Wait a bit\r\n220 Ready\r\n", replies: []int{120, 220}},
		{name: "421 greeting", verb: "GREETING", raw: "421 Too many users\r\n", replies: []int{421}, closes: true},
		{name: "two replies", verb: "NOOP", raw: "200 one\r\n200 two\r\n", line: "NOOP", replies: []int{200, 200}},
		{name: "421 reply", verb: "PWD", raw: "421 Timeout\r\n", line: "PWD", replies: []int{421}, closes: true},
		{name: "no side effect", verb: "CWD", raw: "250 Sure\r\n", line: "CWD /nope", replies: []int{250},
			after: map[string]int{"PWD": 257}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, ftptest.WithRawReply(tt.verb, tt.raw))
			c := dialRaw(t, srv.Addr())
			if tt.line != "" {
				c.expect(220)
				c.cmd("USER user", 331)
				c.cmd("PASS pass", 230)
				c.send(tt.line)
			}
			for i, want := range tt.replies {
				code, text := c.read()
				assert.Equal(t, want, code, text)
				if i == 0 && tt.text != "" {
					assert.Equal(t, tt.text, text)
				}
			}
			if tt.closes {
				assert.True(t, c.closed())
			}
			for line, code := range tt.after {
				c.cmd(line, code)
			}
		})
	}
}

func TestRawReplyGarbage(t *testing.T) {
	srv := newServer(t, ftptest.WithRawReply("SYST", "\x00garbage\r\n"))
	c := login(t, srv)
	c.send("SYST")
	l, err := c.r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "\x00garbage\r\n", l)
	c.cmd("NOOP", 200)
}

func TestDelay(t *testing.T) {
	const d = 300 * time.Millisecond
	srv := newServer(t, ftptest.WithDelay("greeting", d), ftptest.WithDelay("NOOP", d))
	start := time.Now()
	c := login(t, srv)
	assert.GreaterOrEqual(t, time.Since(start), d)
	start = time.Now()
	c.cmd("NOOP", 200)
	assert.GreaterOrEqual(t, time.Since(start), d)
	start = time.Now()
	c.cmd("PWD", 257)
	assert.Less(t, time.Since(start), d)
}

func TestDrop(t *testing.T) {
	t.Run("greeting", func(t *testing.T) {
		c := dialRaw(t, newServer(t, ftptest.WithDrop("GREETING")).Addr())
		c.silent()
		c.send("USER user")
		c.silent()
	})
	t.Run("command", func(t *testing.T) {
		c := login(t, newServer(t, ftptest.WithDrop("pasv")))
		c.send("PASV")
		c.silent()
		c.send("NOOP")
		c.silent()
	})
}

func TestTruncate(t *testing.T) {
	data := make([]byte, 1000)
	tests := []struct {
		name, final string
		code        int
		line        string
		want        int
	}{
		{"lie", "226 Transfer complete\r\n", 226, "RETR f", 100},
		{"honest", "426 Connection closed\r\n", 426, "RETR f", 100},
		{"listing", "226 Transfer complete\r\n", 226, "LIST", 100},
		{"short file", "226 Transfer complete\r\n", 226, "RETR small", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string][]byte{"f": data, "small": data[:10]}
			for i := range 20 {
				files[string(rune('a'+i))+"-long-name.txt"] = data
			}
			c := login(t, newServer(t, ftptest.WithTruncate(100, tt.final), ftptest.WithFiles(files)))
			got, code := c.get(tt.line)
			assert.Equal(t, tt.code, code)
			assert.Len(t, got, tt.want)
		})
	}
}

func TestWithoutPreliminary(t *testing.T) {
	c := login(t, newServer(t, ftptest.WithoutPreliminary(), ftptest.WithFiles(map[string][]byte{"f": []byte("data")})))
	conn := c.passive("EPSV")
	c.send("RETR f")
	got, err := io.ReadAll(conn)
	require.NoError(t, err)
	assert.Equal(t, "data", string(got))
	c.expect(226)
	c.cmd("NOOP", 200)
}

func TestEarlyFinal(t *testing.T) {
	c := login(t, newServer(t, ftptest.WithEarlyFinal(), ftptest.WithFiles(map[string][]byte{"f": bigFile})))
	conn := c.passive("EPSV")
	c.cmd("RETR f", 150)
	c.expect(226) // before a single byte was read: the server is blocked writing
	got, err := io.ReadAll(conn)
	require.NoError(t, err)
	assert.Equal(t, len(bigFile), len(got))
	c.cmd("NOOP", 200)
}

func TestBroadcast(t *testing.T) {
	srv := newServer(t)
	a, b := login(t, srv), login(t, srv)
	srv.Broadcast("200 Hello all\r\n")
	a.expect(200)
	b.expect(200)
	a.cmd("NOOP", 200)
	srv.Broadcast("421 Idle timeout\r\n")
	for _, c := range []*client{a, b} {
		assert.Equal(t, "421 Idle timeout", c.expect(421))
		assert.True(t, c.closed())
	}
	// The server still takes new connections.
	login(t, srv).cmd("NOOP", 200)
}

func TestCloseWhileBusy(t *testing.T) {
	srv := ftptest.NewServer(ftptest.WithDelay("SYST", time.Hour), ftptest.WithFiles(map[string][]byte{"big": bigFile, "f": nil}))
	blocked := login(t, srv) // server blocked writing data nobody reads
	blocked.passive("EPSV")
	blocked.cmd("RETR big", 150)
	waiting := login(t, srv) // server waiting for a passive connection
	waiting.cmd("EPSV", 229)
	waiting.send("RETR f")
	delayed := login(t, srv) // server in a delay
	delayed.send("SYST")
	idle := dialRaw(t, srv.Addr())
	idle.expect(220)

	start := time.Now()
	srv.Close()
	assert.Less(t, time.Since(start), 2*time.Second)
	for _, c := range []*client{blocked, waiting, delayed, idle} {
		_, err := io.ReadAll(c.r)
		assert.NoError(t, err, "the connection ends cleanly")
	}
	srv.Close() // idempotent
	_, err := net.Dial("tcp", srv.Addr())
	assert.Error(t, err)
}
