package ftptest_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"io/fs"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// canListenIPv6 reports whether [::1] can be listened on here.
func canListenIPv6() bool {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func TestDownload(t *testing.T) {
	data := randomBytes(t, 100_000)
	tests := []struct {
		mode string // PASV, EPSV, PORT or EPRT
		ipv6 bool
	}{
		{"PASV", false}, {"EPSV", false}, {"PORT", false}, {"EPRT", false},
		{"EPSV", true}, {"EPRT", true},
	}
	for _, tt := range tests {
		name := tt.mode
		if tt.ipv6 {
			name += " IPv6"
		}
		t.Run(name, func(t *testing.T) {
			opts := []ftptest.ServerOption{ftptest.WithFiles(map[string][]byte{"d/f.bin": data})}
			host := "127.0.0.1"
			if tt.ipv6 {
				if !canListenIPv6() {
					t.Skip("cannot listen on [::1]")
				}
				opts, host = append(opts, ftptest.WithIPv6()), "::1"
			}
			srv := newServer(t, opts...)
			c := login(t, srv)
			assert.Contains(t, c.conn.RemoteAddr().String(), host)
			var conn net.Conn
			var ln *net.TCPListener
			if tt.mode == "PASV" || tt.mode == "EPSV" {
				conn = c.passive(tt.mode)
			} else {
				ln = listen(t, host)
				c.cmd(tt.mode+" "+activeArg(tt.mode, ln), 200)
			}
			text := c.cmd("RETR d/f.bin", 150)
			assert.Equal(t, "150 Opening ASCII mode data connection for d/f.bin (100000 bytes).", text)
			if ln != nil {
				var err error
				conn, err = ln.Accept()
				require.NoError(t, err)
				defer conn.Close()
			}
			got, err := io.ReadAll(conn)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(data, got))
			c.expect(226)
		})
	}
}

func TestIPv6(t *testing.T) {
	if !canListenIPv6() {
		t.Skip("cannot listen on [::1]")
	}
	srv := newServer(t, ftptest.WithIPv6())
	assert.True(t, strings.HasPrefix(srv.Addr(), "[::1]:"), srv.Addr())
	c := login(t, srv)
	c.cmd("PASV", 522)
	c.cmd("EPSV 1", 522)
	c.cmd("EPRT |1|127.0.0.1|2000|", 504)
}

func TestUploadRoundTrip(t *testing.T) {
	srv := newServer(t)
	c := login(t, srv)
	c.cmd("TYPE I", 200)
	data := randomBytes(t, 1<<20)
	extra := randomBytes(t, 1000)

	require.Equal(t, 226, c.put("STOR big.bin", data))
	stored, err := srv.ReadFile("big.bin")
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, stored))

	got, code := c.get("RETR big.bin")
	assert.Equal(t, 226, code)
	assert.True(t, bytes.Equal(data, got))

	got, code = c.get("RETR big.bin", "REST 1000")
	assert.Equal(t, 226, code)
	assert.True(t, bytes.Equal(data[1000:], got))

	require.Equal(t, 226, c.put("APPE big.bin", extra))
	stored, _ = srv.ReadFile("big.bin")
	assert.True(t, bytes.Equal(append(bytes.Clone(data), extra...), stored))

	require.Equal(t, 226, c.put("STOR big.bin", extra, "REST 500"))
	stored, _ = srv.ReadFile("big.bin")
	assert.True(t, bytes.Equal(append(bytes.Clone(data[:500]), extra...), stored), "STOR at offset truncates after")

	got, _ = c.get("RETR big.bin", "REST 5000", "NOOP")
	assert.Len(t, got, 1500, "any command between REST and RETR resets the offset")

	c.cmd("REST 99999", 350)
	c.cmd("RETR big.bin", 554)
	c.cmd("REST 99999", 350)
	c.cmd("STOR big.bin", 550)
	c.cmd("EPSV", 229)
	c.cmd("STOR nodir/x", 550)

	huge := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
	require.Equal(t, 226, c.put("STOR huge.bin", huge))
	stored, _ = srv.ReadFile("huge.bin")
	assert.True(t, bytes.Equal(huge, stored), "16 MiB STOR")
}

func TestListings(t *testing.T) {
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	srv := newServer(t, ftptest.WithFiles(map[string][]byte{"pub/a.txt": []byte("hello"), "pub/sub/x": nil}),
		ftptest.WithListLines("/weird", "total 0", "this is not ls output"))
	require.NoError(t, srv.SetModTime("pub/a.txt", old))
	require.NoError(t, srv.SetModTime("pub", old))
	recent := time.Now().UTC().Add(-time.Minute)
	require.NoError(t, srv.SetModTime("pub/sub", recent))
	c := login(t, srv)

	tests := []struct {
		line string
		want []string // regular expressions, one a line
	}{
		{"LIST pub", []string{
			`^-rw-r--r-- 1 ftp ftp +5 Feb  3  2001 a\.txt$`,
			`^drwxr-xr-x 1 ftp ftp +4096 ` + regexp.QuoteMeta(recent.Format("Jan _2 15:04")) + ` sub$`}},
		{"LIST -la /pub", []string{`^drwxr-xr-x .* \.$`, `^drwxr-xr-x .* \.\.$`, `a\.txt$`, `sub$`}}, // ls -a: "." and ".." first
		{"LIST pub/a.txt", []string{`^-rw-r--r-- .* a\.txt$`}},
		{"LIST", []string{`^drwxr-xr-x .* pub$`}},
		{"NLST pub", []string{`^a\.txt$`, `^sub$`}},
		{"MLSD pub", []string{
			`^type=cdir;size=4096;modify=20010203040506;perm=cdeflmp;unique=[0-9a-f]+; \.$`,
			`^type=file;size=5;modify=20010203040506;perm=adfrw;unique=[0-9a-f]+; a\.txt$`,
			`^type=dir;size=4096;modify=\d{14};perm=cdeflmp;unique=[0-9a-f]+; sub$`}},
		{"LIST /weird", []string{`^total 0$`, `^this is not ls output$`}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, code := c.get(tt.line)
			require.Equal(t, 226, code)
			require.True(t, strings.HasSuffix(string(got), "\r\n"), "%q", got)
			lines := strings.Split(strings.TrimSuffix(string(got), "\r\n"), "\r\n")
			require.Len(t, lines, len(tt.want), "%q", got)
			for i, re := range tt.want {
				assert.Regexp(t, re, lines[i])
			}
		})
	}

	text := c.cmd("MLST pub/a.txt", 250)
	assert.Regexp(t, `^250-.*\n type=file;size=5;modify=20010203040506;perm=adfrw;unique=[0-9a-f]+; /pub/a\.txt\n250 End$`, text)
	c.cmd("MLST nope", 550)
	c.cmd("EPSV", 229)
	c.cmd("MLSD pub/a.txt", 501)
	c.cmd("EPSV", 229)
	c.cmd("LIST nope", 550)
}

func TestWithoutMLSD(t *testing.T) {
	c := login(t, newServer(t, ftptest.WithoutMLSD()))
	c.cmd("MLST /", 500)
	c.cmd("EPSV", 229)
	c.cmd("MLSD /", 500)
	_, code := c.get("LIST")
	assert.Equal(t, 226, code)
}

func TestDataConnectionErrors(t *testing.T) {
	srv := newServer(t, ftptest.WithFiles(map[string][]byte{"f": []byte("data")}))
	c := login(t, srv)
	c.cmd("RETR f", 425)

	addr := c.passiveAddr("EPSV")
	c.cmd("RETR missing", 550)
	_, err := net.Dial("tcp", addr)
	assert.Error(t, err, "the pending passive listener must be closed after 550")

	ln := listen(t, "127.0.0.2")
	c.cmd("PORT "+activeArg("PORT", ln), 504)
	c.cmd("EPRT "+activeArg("EPRT", ln), 504)
	for _, bad := range []string{"PORT 1,2,3", "PORT 127,0,0,1,300,1", "PORT a,b,c,d,e,f", "PORT 127,0,0,1,0,0",
		"EPRT", "EPRT |1|127.0.0.1|", "EPRT |1|::1|2000|", "EPRT |1|127.0.0.1|99999|"} {
		c.cmd(bad, 501)
	}
	c.cmd("EPRT |3|127.0.0.1|2000|", 522)
	c.cmd("EPSV 2", 522)
	c.cmd("EPSV ALL", 200)
	c.cmd("PASV", 503)
	c.cmd("PORT 127,0,0,1,10,10", 503)
	got, code := c.get("RETR f")
	assert.Equal(t, 226, code)
	assert.Equal(t, "data", string(got))
}

func TestPassiveAcceptsOnlyThePeer(t *testing.T) {
	srv := newServer(t, ftptest.WithFiles(map[string][]byte{"f": []byte("data")}))
	c := login(t, srv)
	addr := c.passiveAddr("EPSV")
	foreign := dialData(t, net.ParseIP("127.0.0.2"), addr)
	c.send("RETR f")
	got, _ := io.ReadAll(foreign)
	assert.Empty(t, got, "a connection from another host must be dropped")
	conn := dialData(t, nil, addr)
	c.expect(150)
	got, err := io.ReadAll(conn)
	require.NoError(t, err)
	assert.Equal(t, "data", string(got))
	c.expect(226)
}

func TestPASVAddress(t *testing.T) {
	srv := newServer(t, ftptest.WithPASVAddress(net.ParseIP("127.0.0.2")), ftptest.WithFiles(map[string][]byte{"f": []byte("data")}))
	c := login(t, srv)
	text := c.cmd("PASV", 227)
	assert.Regexp(t, `^227 Entering Passive Mode \(127,0,0,2,\d+,\d+\)\.$`, text)
	m := pasvRe.FindStringSubmatch(text)
	require.NotNil(t, m)
	port := strconv.Itoa(atoi(t, m[5])<<8 | atoi(t, m[6]))
	// A client that trusts the reply fails; one that uses the control host works.
	_, err := net.Dial("tcp", "127.0.0.2:"+port)
	assert.Error(t, err)
	conn := dialData(t, nil, "127.0.0.1:"+port)
	c.cmd("RETR f", 150)
	got, err := io.ReadAll(conn)
	require.NoError(t, err)
	assert.Equal(t, "data", string(got))
	c.expect(226)
}

func atoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

func TestActiveSourceIP(t *testing.T) {
	srv := newServer(t, ftptest.WithActiveSourceIP(net.ParseIP("127.0.0.2")), ftptest.WithFiles(map[string][]byte{"f": []byte("data")}))
	c := login(t, srv)
	ln := listen(t, "127.0.0.1")
	c.cmd("PORT "+activeArg("PORT", ln), 200)
	c.send("RETR f")
	conn, err := ln.Accept()
	require.NoError(t, err)
	defer conn.Close()
	assert.Equal(t, "127.0.0.2", conn.RemoteAddr().(*net.TCPAddr).IP.String())
	c.expect(150)
	got, err := io.ReadAll(conn)
	require.NoError(t, err)
	assert.Equal(t, "data", string(got))
	c.expect(226)
}

// bigFile is larger than the socket buffers of loopback, so that a RETR of
// it blocks until the client reads.
var bigFile = bytes.Repeat([]byte("x"), 32<<20)

func TestAbort(t *testing.T) {
	t.Run("RETR", func(t *testing.T) {
		srv := newServer(t, ftptest.WithFiles(map[string][]byte{"big": bigFile}))
		c := login(t, srv)
		conn := c.passive("EPSV")
		c.cmd("RETR big", 150)
		_, err := io.ReadFull(conn, make([]byte, 1))
		require.NoError(t, err)
		c.cmd("ABOR", 426)
		c.expect(226)
		c.cmd("NOOP", 200)
	})
	t.Run("STOR", func(t *testing.T) {
		srv := newServer(t)
		c := login(t, srv)
		conn := c.passive("EPSV")
		c.cmd("STOR part", 150)
		_, err := conn.Write([]byte("some bytes"))
		require.NoError(t, err)
		c.cmd("ABOR", 426)
		c.expect(226)
		_, err = srv.ReadFile("part")
		assert.ErrorIs(t, err, fs.ErrNotExist, "an aborted STOR stores nothing")
	})
	t.Run("waiting for the data connection", func(t *testing.T) {
		c := login(t, newServer(t, ftptest.WithFiles(map[string][]byte{"f": nil})))
		c.cmd("EPSV", 229)
		c.send("RETR f")
		c.cmd("ABOR", 426)
		c.expect(226)
	})
	t.Run("client closes the data connection", func(t *testing.T) {
		srv := newServer(t, ftptest.WithFiles(map[string][]byte{"big": bigFile}))
		c := login(t, srv)
		conn := c.passive("EPSV")
		c.cmd("RETR big", 150)
		_, err := io.ReadFull(conn, make([]byte, 1))
		require.NoError(t, err)
		require.NoError(t, conn.Close())
		c.expect(426)
		c.cmd("NOOP", 200)
	})
	t.Run("commands wait for the transfer", func(t *testing.T) {
		srv := newServer(t)
		c := login(t, srv)
		conn := c.passive("EPSV")
		c.cmd("STOR f", 150)
		c.send("NOOP")
		_, err := conn.Write([]byte("abc"))
		require.NoError(t, err)
		require.NoError(t, conn.Close())
		c.expect(226)
		c.expect(200)
		got, err := srv.ReadFile("f")
		require.NoError(t, err)
		assert.Equal(t, "abc", string(got))
	})
}
