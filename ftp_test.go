package ftp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pasvport/ftp/ftptest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// dialTest logs in to srv and closes the connection when the test ends.
func dialTest(t *testing.T, srv *ftptest.Server, opts ...Option) *Conn {
	t.Helper()
	// Generous: under the race detector the in-process server can lag
	// seconds behind a 16 MiB upload. Tests of timeouts set their own.
	opts = append([]Option{WithTimeout(20 * time.Second)}, opts...)
	c, err := DialURL(context.Background(), srv.URL(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// newServer starts an ftptest server that stops when the test ends.
func newServer(t *testing.T, opts ...ftptest.ServerOption) *ftptest.Server {
	t.Helper()
	srv := ftptest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// verbs returns the command words the server received, in order.
func verbs(srv *ftptest.Server) []string {
	var out []string
	for _, c := range srv.Commands() {
		out = append(out, verb(c))
	}
	return out
}

// verb returns the command word of a command line, upper-cased.
func verb(cmd string) string {
	v, _, _ := strings.Cut(cmd, " ")
	return strings.ToUpper(v)
}

func count(list []string, want string) int {
	n := 0
	for _, s := range list {
		if s == want {
			n++
		}
	}
	return n
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

func retrAll(t *testing.T, c *Conn, path string) []byte {
	t.Helper()
	r, err := c.Retr(context.Background(), path)
	require.NoError(t, err)
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	return b
}

func TestLoginSequence(t *testing.T) {
	srv := newServer(t, ftptest.WithCredentials("bob", "s3cret-Pw"))
	var trace bytes.Buffer
	c := dialTest(t, srv, WithDebug(&trace))
	require.NoError(t, c.Quit(context.Background()))

	assert.Equal(t, []string{"USER", "PASS", "FEAT", "TYPE", "OPTS", "QUIT"}, verbs(srv))
	assert.Contains(t, srv.Commands(), "OPTS UTF8 ON")
	assert.Contains(t, srv.Commands(), "TYPE I")
	assert.Contains(t, trace.String(), "> PASS ****")
	assert.NotContains(t, trace.String(), srv.Password())
	assert.Contains(t, trace.String(), "< 230")
	assert.Contains(t, c.Features(), "MLST")
	assert.Contains(t, c.Features(), "UTF8")
}

func TestLoginFailures(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		opts  []ftptest.ServerOption
		check func(t *testing.T, err error)
	}{
		{"bad password", nil, func(t *testing.T, err error) {
			var ferr *Error
			require.ErrorAs(t, err, &ferr)
			assert.Equal(t, 530, ferr.Code)
			assert.Equal(t, "PASS ****", ferr.Cmd)
		}},
		{"account required", []ftptest.ServerOption{ftptest.WithRawReply("PASS", "332 Need account\r\n")},
			func(t *testing.T, err error) { assert.ErrorIs(t, err, ErrAccountRequired) }},
		{"no password needed", []ftptest.ServerOption{
			ftptest.WithRawReply("USER", "230 Welcome\r\n"),
			ftptest.WithRawReply("FEAT", "211 No features\r\n"),
			ftptest.WithRawReply("TYPE", "200 Binary\r\n")},
			func(t *testing.T, err error) { assert.NoError(t, err) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.opts...)
			c, err := Dial(ctx, srv.Addr(), WithTimeout(5*time.Second))
			require.NoError(t, err)
			defer c.Close()
			tt.check(t, c.Login(ctx, srv.User(), "wrong"+srv.Password()))
		})
	}
}

func TestGreeting(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, raw string
		ok        bool
	}{
		{"120 then 220", "120 Ready in a minute\r\n220 Ready\r\n", true},
		{"multi-line", "220-Welcome\r\n 220 inner\r\n220 Go\r\n", true},
		{"421", "421 Too many users\r\n", false},
		{"garbage", "HTTP/1.1 400 Bad Request\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, ftptest.WithRawReply("GREETING", tt.raw))
			c, err := Dial(ctx, srv.Addr(), WithTimeout(5*time.Second))
			if !tt.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.NoError(t, c.Login(ctx, srv.User(), srv.Password()))
			require.NoError(t, c.Close())
		})
	}
}

func TestQuoteMultiLineReply(t *testing.T) {
	raw := "200-First line\r\nSecond line\r\n  234 A line beginning with numbers\r\n200 The last line\r\n"
	srv := newServer(t, ftptest.WithRawReply("SITE", raw))
	c := dialTest(t, srv)
	r, err := c.Quote(context.Background(), "SITE HELP")
	require.NoError(t, err)
	assert.Equal(t, 200, r.Code)
	assert.Len(t, r.Lines, 4)
	assert.Equal(t, "First line\nSecond line\n  234 A line beginning with numbers\nThe last line", r.Message())
	require.NoError(t, c.NoOp(context.Background()), "the stream is in step after the reply")

	_, err = c.Quote(context.Background(), "RETR x")
	assert.Error(t, err, "transfer commands are refused")
}

func TestInjectionRefused(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("keep.txt", []byte("x"))
	c := dialTest(t, srv)
	ctx := context.Background()
	bad := "a.txt\r\nDELE keep.txt"
	checks := map[string]error{
		"Delete":    c.Delete(ctx, bad),
		"MakeDir":   c.MakeDir(ctx, bad),
		"ChangeDir": c.ChangeDir(ctx, "x\ny"),
		"Rename":    c.Rename(ctx, "keep.txt", bad),
		"Stor":      c.Stor(ctx, bad, strings.NewReader("x")),
		"NUL":       c.Delete(ctx, "a\x00b"),
	}
	_, err := c.Retr(ctx, bad)
	checks["Retr"] = err
	_, err = c.Quote(ctx, "NOOP\r\nDELE keep.txt")
	checks["Quote"] = err
	for name, err := range checks {
		assert.ErrorIs(t, err, ErrInvalidArgument, name)
	}
	for _, cmd := range srv.Commands() {
		assert.NotContains(t, []string{"DELE", "MKD", "CWD", "RNFR", "STOR", "RETR", "EPSV"}, verb(cmd), "sent %q", cmd)
	}
	_, err = srv.ReadFile("keep.txt")
	assert.NoError(t, err)
	assert.NoError(t, c.NoOp(ctx))
}

func TestPassiveModes(t *testing.T) {
	tests := []struct {
		name      string
		srvOpts   []ftptest.ServerOption
		opts      []Option
		wantVerbs []string // data-connection commands of two transfers, in order
	}{
		// Each transfer's end sends the next one's passive command ahead
		// (pipeline.go): the second transfer uses the first one's, and the
		// last is left unused.
		{"EPSV by default", nil, nil, []string{"EPSV", "EPSV", "EPSV"}},
		{"PASV without EPSV", nil, []Option{WithoutEPSV()}, []string{"PASV", "PASV", "PASV"}},
		{"EPSV refused falls back to PASV once",
			[]ftptest.ServerOption{ftptest.WithRawReply("EPSV", "500 EPSV not understood\r\n")},
			nil, []string{"EPSV", "PASV", "PASV", "PASV"}},
		{"EPSV port unreachable falls back to PASV",
			[]ftptest.ServerOption{ftptest.WithRawReply("EPSV", "229 Entering Extended Passive Mode (|||1|)\r\n")},
			nil, []string{"EPSV", "PASV", "PASV", "PASV"}},
		{"malformed EPSV reply falls back to PASV",
			[]ftptest.ServerOption{ftptest.WithRawReply("EPSV", "229 Entering Extended Passive Mode\r\n")},
			nil, []string{"EPSV", "PASV", "PASV", "PASV"}},
		{"EPSV 425 (pure-ftpd's port taken) is asked again",
			[]ftptest.ServerOption{ftptest.WithRawReplyTimes("EPSV", "425 Unable to identify the local data socket: Address already in use\r\n", 2)},
			nil, []string{"EPSV", "EPSV", "EPSV", "EPSV", "EPSV"}},
		{"PASV 425 is asked again",
			[]ftptest.ServerOption{ftptest.WithRawReplyTimes("PASV", "425 Can't open passive connection\r\n", 1)},
			[]Option{WithoutEPSV()}, []string{"PASV", "PASV", "PASV", "PASV"}},
		{"without pipelining", nil, []Option{WithoutPipelining()}, []string{"EPSV", "EPSV"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.srvOpts...)
			srv.WriteFile("f.txt", []byte("content"))
			c := dialTest(t, srv, tt.opts...)
			for range 2 {
				assert.Equal(t, "content", string(retrAll(t, c, "f.txt")))
			}
			// The passive reply sent ahead after a download is read with
			// the next command: then the server has surely seen it.
			require.NoError(t, c.NoOp(context.Background()))
			var got []string
			for _, v := range verbs(srv) {
				if v == "EPSV" || v == "PASV" {
					got = append(got, v)
				}
			}
			assert.Equal(t, tt.wantVerbs, got)
		})
	}
}

// TestPassive4xxBounded checks that a passive command answered 4xx is
// asked passiveAttempts times, then the reply is the error.
func TestPassive4xxBounded(t *testing.T) {
	srv := newServer(t, ftptest.WithRawReply("EPSV", "425 Unable to identify the local data socket: Address already in use\r\n"))
	srv.WriteFile("f.txt", []byte("content"))
	c := dialTest(t, srv)
	_, err := c.Retr(context.Background(), "f.txt")
	var fe *Error
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, 425, fe.Code)
	assert.True(t, IsTransient(err), "a 4xx reply is transient")
	n := map[string]int{}
	for _, v := range verbs(srv) {
		n[v]++
	}
	assert.Equal(t, passiveAttempts, n["EPSV"])
	assert.Zero(t, n["PASV"], "a 4xx is no reason to give up EPSV")
	assert.Zero(t, n["RETR"], "no transfer command without a data connection")
	assert.NoError(t, c.NoOp(context.Background()), "the Conn still works")
}

// The NAT trap: the server listens on 127.0.0.1 but advertises 127.0.0.2.
func TestPASVBehindNAT(t *testing.T) {
	srv := newServer(t, ftptest.WithPASVAddress(net.ParseIP("127.0.0.2")))
	srv.WriteFile("f.txt", []byte("through NAT"))

	t.Run("default ignores the advertised address", func(t *testing.T) {
		c := dialTest(t, srv, WithoutEPSV())
		assert.Equal(t, "through NAT", string(retrAll(t, c, "f.txt")))
	})
	t.Run("trusted address fails fast and says what to do", func(t *testing.T) {
		c := dialTest(t, srv, WithoutEPSV(), WithTrustedPASVAddress())
		start := time.Now()
		_, err := c.Retr(context.Background(), "f.txt")
		require.Error(t, err)
		assert.Less(t, time.Since(start), 5*time.Second)
		var dce *DataConnError
		require.ErrorAs(t, err, &dce)
		assert.Equal(t, "PASV", dce.Mode)
		assert.Contains(t, dce.Addr, "127.0.0.2")
		assert.Contains(t, err.Error(), "WithTrustedPASVAddress")
		assert.Contains(t, err.Error(), "WithActive")
		require.NoError(t, c.NoOp(context.Background()), "the connection stays usable")
	})
}

func TestActiveMode(t *testing.T) {
	tests := []struct {
		name string
		ipv6 bool
		verb string
	}{
		{"PORT over IPv4", false, "PORT"},
		{"EPRT over IPv6", true, "EPRT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []ftptest.ServerOption
			if tt.ipv6 {
				skipWithoutIPv6(t)
				opts = append(opts, ftptest.WithIPv6())
			}
			srv := newServer(t, opts...)
			data := randomBytes(t, 256<<10)
			c := dialTest(t, srv, WithActive())
			ctx := context.Background()
			require.NoError(t, c.Stor(ctx, "up.bin", bytes.NewReader(data)))
			assert.Equal(t, data, retrAll(t, c, "up.bin"))
			names, err := c.NameList(ctx, "/")
			require.NoError(t, err)
			assert.Equal(t, []string{"up.bin"}, names)
			assert.Equal(t, 3, count(verbs(srv), tt.verb))
			if tt.ipv6 {
				assert.Contains(t, strings.Join(srv.Commands(), "\n"), "EPRT |2|::1|")
			}
		})
	}
}

func skipWithoutIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback on this machine: %v", err)
	}
	ln.Close()
}

func TestActiveRefusesForeignPeer(t *testing.T) {
	srv := newServer(t, ftptest.WithActiveSourceIP(net.ParseIP("127.0.0.2")))
	srv.WriteFile("secret.txt", []byte("not for you"))
	c := dialTest(t, srv, WithActive())
	start := time.Now()
	_, err := c.Retr(context.Background(), "secret.txt")
	require.Error(t, err)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Contains(t, err.Error(), "127.0.0.2")
	assert.Contains(t, err.Error(), "not the server's address")
	require.NoError(t, c.NoOp(context.Background()), "the connection stays usable")
}

func TestRoundTrip16MiB(t *testing.T) {
	for _, mode := range []struct {
		name string
		opt  Option
	}{{"passive", WithPassive()}, {"active", WithActive()}} {
		t.Run(mode.name, func(t *testing.T) {
			srv := newServer(t)
			c := dialTest(t, srv, mode.opt)
			ctx := context.Background()
			data := randomBytes(t, 16<<20)
			sum := func(b []byte) [32]byte { return sha256.Sum256(b) }

			require.NoError(t, c.Stor(ctx, "big.bin", bytes.NewReader(data)))
			assert.Equal(t, sum(data), sum(retrAll(t, c, "big.bin")), "Stor then Retr")

			more := randomBytes(t, 1<<20)
			require.NoError(t, c.Append(ctx, "big.bin", bytes.NewReader(more)))
			both := append(append([]byte{}, data...), more...)
			stored, err := srv.ReadFile("big.bin")
			require.NoError(t, err)
			assert.Equal(t, sum(both), sum(stored), "Append")

			off := int64(len(data) / 3)
			r, err := c.RetrFrom(ctx, "big.bin", off)
			require.NoError(t, err)
			h := sha256.New()
			_, err = r.WriteTo(h)
			require.NoError(t, err)
			require.NoError(t, r.Close())
			assert.Equal(t, sum(both[off:]), [32]byte(h.Sum(nil)), "RetrFrom")

			// Resume an upload that stopped at off.
			require.NoError(t, c.Stor(ctx, "resumed.bin", bytes.NewReader(data[:off])))
			require.NoError(t, c.StorFrom(ctx, "resumed.bin", bytes.NewReader(data[off:]), off))
			stored, err = srv.ReadFile("resumed.bin")
			require.NoError(t, err)
			assert.Equal(t, sum(data), sum(stored), "StorFrom")

			size, err := c.FileSize(ctx, "big.bin")
			require.NoError(t, err)
			assert.Equal(t, int64(len(both)), size)
		})
	}
}

func TestEmptyUploadAndDownload(t *testing.T) {
	for _, mode := range []Option{WithPassive(), WithActive()} {
		srv := newServer(t)
		c := dialTest(t, srv, mode)
		require.NoError(t, c.Stor(context.Background(), "empty", bytes.NewReader(nil)))
		stored, err := srv.ReadFile("empty")
		require.NoError(t, err)
		assert.Empty(t, stored)
		for range 3 {
			assert.Empty(t, retrAll(t, c, "empty"))
		}
	}
}

func TestCloseBeforeEOF(t *testing.T) {
	for _, mode := range []struct {
		name string
		opt  Option
	}{{"passive", WithPassive()}, {"active", WithActive()}} {
		t.Run(mode.name, func(t *testing.T) {
			srv := newServer(t)
			srv.WriteFile("big.bin", make([]byte, 32<<20))
			c := dialTest(t, srv, mode.opt)
			ctx := context.Background()
			r, err := c.Retr(ctx, "big.bin")
			require.NoError(t, err)
			_, err = io.ReadFull(r, make([]byte, 1000))
			require.NoError(t, err)
			require.NoError(t, r.Close())
			require.NoError(t, c.NoOp(ctx))
			assert.Contains(t, verbs(srv), "ABOR")
			assert.Equal(t, "ok", string(func() []byte {
				require.NoError(t, c.Stor(ctx, "small", strings.NewReader("ok")))
				return retrAll(t, c, "small")
			}()), "transfers work after the abort")
		})
	}
}

func TestBusyWhileResponseOpen(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("f", []byte("data"))
	c := dialTest(t, srv)
	ctx := context.Background()
	r, err := c.Retr(ctx, "f")
	require.NoError(t, err)
	assert.ErrorIs(t, c.NoOp(ctx), ErrBusy)
	_, err = c.Retr(ctx, "f")
	assert.ErrorIs(t, err, ErrBusy)
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "data", string(b))
	require.NoError(t, r.Close())
	assert.NoError(t, c.NoOp(ctx))
}

func TestConcurrentCalls(t *testing.T) {
	srv := newServer(t)
	c := dialTest(t, srv)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 8 {
		wg.Go(func() {
			for j := range 5 {
				name := string(rune('a'+i)) + string(rune('0'+j))
				if err := c.Stor(ctx, name, strings.NewReader(name)); err != nil {
					errs <- err
					continue
				}
				size, err := c.FileSize(ctx, name)
				if err == nil && size != int64(len(name)) {
					err = errors.New("size mismatch for " + name)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	names, err := c.NameList(ctx, "")
	require.NoError(t, err)
	assert.Len(t, names, 40)
}

func TestCancelMidTransfer(t *testing.T) {
	t.Run("download", func(t *testing.T) {
		srv := newServer(t)
		srv.WriteFile("big.bin", make([]byte, 64<<20))
		c := dialTest(t, srv)
		ctx, cancel := context.WithCancel(context.Background())
		r, err := c.Retr(ctx, "big.bin")
		require.NoError(t, err)
		_, err = io.ReadFull(r, make([]byte, 1<<20))
		require.NoError(t, err)
		cancel()
		start := time.Now()
		_, err = io.Copy(io.Discard, r)
		assert.ErrorIs(t, err, context.Canceled)
		r.Close()
		assert.Less(t, time.Since(start), 3*time.Second)
		assert.NoError(t, c.NoOp(context.Background()), "usable after the abort")
	})
	t.Run("upload", func(t *testing.T) {
		srv := newServer(t)
		c := dialTest(t, srv)
		ctx, cancel := context.WithCancel(context.Background())
		src := &cancelAfter{n: 2 << 20, cancel: cancel}
		start := time.Now()
		err := c.Stor(ctx, "partial.bin", src)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Less(t, time.Since(start), 3*time.Second)
		assert.NoError(t, c.NoOp(context.Background()), "usable after the abort")
	})
	t.Run("already cancelled", func(t *testing.T) {
		srv := newServer(t)
		c := dialTest(t, srv)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		assert.ErrorIs(t, c.NoOp(ctx), context.Canceled)
		assert.NoError(t, c.NoOp(context.Background()), "nothing was sent")
	})
}

// cancelAfter yields zeros forever and cancels its context after n bytes.
type cancelAfter struct {
	n      int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	clear(p)
	c.n -= len(p)
	return len(p), nil
}

func TestReply421(t *testing.T) {
	t.Run("as a reply", func(t *testing.T) {
		srv := newServer(t, ftptest.WithRawReply("NOOP", "421 Timeout, closing\r\n"))
		c := dialTest(t, srv)
		err := c.NoOp(context.Background())
		var ferr *Error
		require.ErrorAs(t, err, &ferr)
		assert.Equal(t, 421, ferr.Code)
		assert.ErrorIs(t, err, ErrClosed)
		assert.ErrorIs(t, c.NoOp(context.Background()), ErrClosed)
	})
	t.Run("unsolicited", func(t *testing.T) {
		srv := newServer(t)
		c := dialTest(t, srv)
		srv.Broadcast("421 Idle timeout, closing control connection\r\n")
		err := c.NoOp(context.Background())
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrClosed)
		assert.Contains(t, err.Error(), "421")
		assert.ErrorIs(t, c.NoOp(context.Background()), ErrClosed)
	})
}

func TestTimeouts(t *testing.T) {
	t.Run("silent greeting", func(t *testing.T) {
		srv := newServer(t, ftptest.WithDrop("GREETING"))
		start := time.Now()
		_, err := Dial(context.Background(), srv.Addr(), WithTimeout(200*time.Millisecond))
		require.Error(t, err)
		assert.Less(t, time.Since(start), 3*time.Second)
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		assert.True(t, ne.Timeout())
	})
	t.Run("silent reply closes the connection", func(t *testing.T) {
		srv := newServer(t, ftptest.WithDrop("NOOP"))
		c := dialTest(t, srv, WithTimeout(time.Second))
		err := c.NoOp(context.Background())
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		assert.True(t, ne.Timeout())
		assert.ErrorIs(t, c.NoOp(context.Background()), ErrClosed)
	})
	t.Run("context deadline", func(t *testing.T) {
		srv := newServer(t, ftptest.WithDrop("NOOP"))
		c := dialTest(t, srv)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		assert.ErrorIs(t, c.NoOp(ctx), context.DeadlineExceeded)
	})
	t.Run("no deadline left behind", func(t *testing.T) {
		srv := newServer(t)
		srv.WriteFile("f", []byte("x"))
		c := dialTest(t, srv, WithTimeout(time.Second))
		require.NoError(t, c.NoOp(context.Background()))
		assert.Equal(t, "x", string(retrAll(t, c, "f")))
		time.Sleep(1500 * time.Millisecond) // idle past the timeout: not a synchronisation
		assert.NoError(t, c.NoOp(context.Background()))
		assert.Equal(t, "x", string(retrAll(t, c, "f")))
	})
}

func TestOddTransferReplies(t *testing.T) {
	data := bytes.Repeat([]byte("odd servers "), 100000) // 1.2 MB: more than socket buffers
	tests := []struct {
		name string
		opt  ftptest.ServerOption
	}{
		{"no 1xx", ftptest.WithoutPreliminary()},
		{"226 before the data", ftptest.WithEarlyFinal()},
	}
	for _, tt := range tests {
		for _, mode := range []Option{WithPassive(), WithActive()} {
			forEachWait(t, tt.name, func(t *testing.T, wait Option) {
				srv := newServer(t, tt.opt)
				srv.WriteFile("f", data)
				c := dialTest(t, srv, mode, wait)
				assert.Equal(t, data, retrAll(t, c, "f"))
				require.NoError(t, c.Stor(context.Background(), "g", bytes.NewReader(data)))
				stored, err := srv.ReadFile("g")
				require.NoError(t, err)
				assert.Equal(t, data, stored)
				assert.NoError(t, c.NoOp(context.Background()))
			})
		}
	}
}

func TestTruncatedDownload(t *testing.T) {
	data := make([]byte, 1<<20)
	tests := []struct {
		name  string
		final string
		check func(t *testing.T, err error)
	}{
		{"server admits it", "426 Connection closed; transfer aborted\r\n", func(t *testing.T, err error) {
			var ferr *Error
			require.ErrorAs(t, err, &ferr)
			assert.Equal(t, 426, ferr.Code)
		}},
		{"server claims success", "226 Transfer complete\r\n", func(t *testing.T, err error) {
			assert.ErrorIs(t, err, ErrShortTransfer)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, ftptest.WithTruncate(1000, tt.final))
			srv.WriteFile("f", data)
			c := dialTest(t, srv)
			r, err := c.Retr(context.Background(), "f")
			require.NoError(t, err)
			n, err := io.Copy(io.Discard, r)
			assert.Equal(t, int64(1000), n)
			tt.check(t, err)
			tt.check(t, r.Close())
			assert.NoError(t, c.NoOp(context.Background()))
		})
	}
}

func TestFileCommands(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("/docs/a.txt", []byte("hello"))
	c := dialTest(t, srv)
	ctx := context.Background()

	dir, err := c.CurrentDir(ctx)
	require.NoError(t, err)
	assert.Equal(t, "/", dir)

	require.NoError(t, c.MakeDir(ctx, `/we "quote"`))
	require.NoError(t, c.ChangeDir(ctx, `/we "quote"`))
	dir, err = c.CurrentDir(ctx)
	require.NoError(t, err)
	assert.Equal(t, `/we "quote"`, dir)
	require.NoError(t, c.ChangeDirToParent(ctx))
	require.NoError(t, c.RemoveDir(ctx, `/we "quote"`))

	require.NoError(t, c.Rename(ctx, "/docs/a.txt", "/docs/b.txt"))
	_, err = srv.ReadFile("/docs/a.txt")
	assert.ErrorIs(t, err, fs.ErrNotExist)

	size, err := c.FileSize(ctx, "/docs/b.txt")
	require.NoError(t, err)
	assert.Equal(t, int64(5), size)

	when := time.Date(2024, 2, 29, 12, 30, 45, 0, time.UTC)
	require.NoError(t, c.SetModTime(ctx, "/docs/b.txt", when))
	got, err := c.ModTime(ctx, "/docs/b.txt")
	require.NoError(t, err)
	assert.True(t, when.Equal(got), "got %v", got)

	_, err = c.FileSize(ctx, "/docs/missing")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorIs(t, c.Delete(ctx, "/docs/missing"), fs.ErrNotExist)
	assert.ErrorIs(t, c.ChangeDir(ctx, "/nowhere"), fs.ErrNotExist)

	require.NoError(t, c.Delete(ctx, "/docs/b.txt"))
	_, err = srv.ReadFile("/docs/b.txt")
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestMakeDirAllAndRemoveAll(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("/exists/file", []byte("x"))
	c := dialTest(t, srv)
	ctx := context.Background()

	require.NoError(t, c.MakeDirAll(ctx, "/exists/a/b/c"))
	require.NoError(t, c.MakeDirAll(ctx, "/exists/a/b/c"), "again: no error")
	require.NoError(t, c.MakeDirAll(ctx, "/exists"))
	info, err := srv.Stat("/exists/a/b/c")
	require.NoError(t, err)
	assert.True(t, info.IsDir())
	assert.Error(t, c.MakeDirAll(ctx, "/exists/file/sub"), "a file is in the way")

	srv.WriteFile("/exists/a/b/c/deep.txt", []byte("deep"))
	srv.WriteFile("/exists/a/top.txt", []byte("top"))
	require.NoError(t, c.RemoveAll(ctx, "/exists/a"))
	_, err = srv.Stat("/exists/a")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = srv.Stat("/exists/file")
	assert.NoError(t, err, "siblings stay")

	require.NoError(t, c.RemoveAll(ctx, "/exists/file"), "a file")
	require.NoError(t, c.RemoveAll(ctx, "/not/there"), "missing is no error")
}

func TestDialErrors(t *testing.T) {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	ln.Close()

	_, err = Dial(ctx, closed, WithTimeout(time.Second))
	assert.ErrorContains(t, err, closed)

	_, err = DialURL(ctx, "http://127.0.0.1:1/")
	assert.Error(t, err)

	hostport, host, err := splitAddr("example.invalid", "21")
	require.NoError(t, err)
	assert.Equal(t, "example.invalid:21", hostport)
	assert.Equal(t, "example.invalid", host)
	hostport, _, err = splitAddr("[::1]", "21")
	require.NoError(t, err)
	assert.Equal(t, "[::1]:21", hostport)
}

func TestAnonymousURL(t *testing.T) {
	srv := newServer(t, ftptest.WithAnonymous())
	u := "ftp://" + srv.Addr() + "/"
	c, err := DialURL(context.Background(), u, WithTimeout(5*time.Second))
	require.NoError(t, err)
	defer c.Close()
	assert.Contains(t, srv.Commands(), "USER anonymous")
}

func TestDialFuncForControlAndData(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("f", []byte("via dial func"))
	var mu sync.Mutex
	var dialled []string
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dialled = append(dialled, addr)
		mu.Unlock()
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	c := dialTest(t, srv, WithDialFunc(dial))
	assert.Equal(t, "via dial func", string(retrAll(t, c, "f")))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, dialled, 2, "control, then data")
	assert.Equal(t, srv.Addr(), dialled[0])
}

func TestActiveErrorWhileWaiting(t *testing.T) {
	srv := newServer(t)
	c := dialTest(t, srv, WithActive())
	start := time.Now()
	_, err := c.Retr(context.Background(), "missing")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Less(t, time.Since(start), 2*time.Second, "no wait for a connection that will not come")
	assert.NoError(t, c.NoOp(context.Background()))
}

func TestActivePortRange(t *testing.T) {
	// Two ports below the ephemeral range, so no other socket takes the
	// free one: the first is held, the client must use the second.
	var busy net.Listener
	var lo int
	for try := range 50 {
		lo = 20000 + (try*397+os.Getpid())%10000
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", lo))
		if err != nil {
			continue
		}
		if probe, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", lo+1)); err == nil {
			probe.Close()
			busy = ln
			break
		}
		ln.Close()
	}
	require.NotNil(t, busy, "no free pair of ports")
	defer busy.Close()

	srv := newServer(t)
	srv.WriteFile("f", []byte("x"))
	c := dialTest(t, srv, WithActive(), WithActivePorts(lo, lo+1))
	assert.Equal(t, "x", string(retrAll(t, c, "f")))
	assert.Contains(t, srv.Commands(), "PORT "+portArg(net.ParseIP("127.0.0.1"), lo+1))
}

// pure-ftpd sends a second 150, with statistics, after an aborted download.
// Here the server sends its 1xx replies and then 426 without a byte of
// data, keeping the data connection open: Retr reads past the 150s and
// returns the 426 at once, rather than wait for data until the timeout.
func TestSeveralPreliminaryReplies(t *testing.T) {
	forEachWait(t, "426", func(t *testing.T, wait Option) {
		srv := newServer(t, ftptest.WithRawReply("RETR",
			"150-Accepted data connection\r\n150 16384.0 kbytes to download\r\n150 0.001 seconds (measured here)\r\n426 ABORT\r\n"))
		c := dialTest(t, srv, wait, WithTimeout(time.Minute))
		_, err := c.Retr(context.Background(), "f")
		var ferr *Error
		require.ErrorAs(t, err, &ferr)
		assert.Equal(t, 426, ferr.Code)
		assert.NoError(t, c.NoOp(context.Background()))
	})
	forEachWait(t, "endless", func(t *testing.T, wait Option) {
		srv := newServer(t, ftptest.WithRawReply("RETR", strings.Repeat("150 again\r\n", 10)))
		c := dialTest(t, srv, wait, WithTimeout(time.Minute))
		_, err := c.Retr(context.Background(), "f")
		assert.ErrorIs(t, err, ErrMalformedReply, "an endless run of 1xx replies is refused")
	})
}

// A refusal ends a download at once though the server keeps the data
// connection open (vsftpd and pyftpdlib do), whether it comes while the
// client waits for the first data or before: the second case holds the
// download back until the refusal has been read.
func TestRefusalWithDataConnectionOpen(t *testing.T) {
	replyFirst := func(tr *transfer) { tr.rep.next() }
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"while waiting", nil},
		{"before waiting", []Option{func(c *config) { c.beforeFirst = replyFirst }}},
	} {
		forEachWait(t, tc.name, func(t *testing.T, wait Option) {
			srv := newServer(t, ftptest.WithRawReply("RETR", "550 No such file\r\n"))
			c := dialTest(t, srv, append(tc.opts, wait, WithTimeout(time.Minute))...)
			for range 5 {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := c.Retr(ctx, "f")
				cancel()
				require.ErrorIs(t, err, fs.ErrNotExist)
			}
			assert.NoError(t, c.NoOp(context.Background()))
		})
	}
}

// pyftpdlib sends "226 Transfer complete" when the client closes a data
// connection that a refused transfer never used: the client neither closes
// it before the server lets go of it, nor takes a stray 226 for a reply.
func TestRefusedTransferAndStrayReplies(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("f", []byte("ok"))
	c := dialTest(t, srv)
	ctx := context.Background()
	_, err := c.Retr(ctx, "missing")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.NotNil(t, c.parked, "the unused data connection waits for the next PASV/EPSV")
	assert.Equal(t, "ok", string(retrAll(t, c, "f")))
	assert.Nil(t, c.parked)

	srv = newServer(t, ftptest.WithRawReply("NOOP", "226 Transfer complete.\r\n200 NOOP ok\r\n"))
	c = dialTest(t, srv)
	require.NoError(t, c.NoOp(ctx))
	_, err = c.CurrentDir(ctx)
	assert.NoError(t, err, "still in step")
}

// Files move by splice and sendfile over plain TCP, by copying over TLS:
// both give the same bytes, and a truncated download is still an error.
func TestFileTransfersZeroCopy(t *testing.T) {
	data := randomBytes(t, 9<<20+123)
	for _, tt := range []struct {
		name string
		opts []ftptest.ServerOption
		tls  bool
	}{{"plain", nil, false}, {"TLS", []ftptest.ServerOption{ftptest.WithExplicitTLS()}, true}} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.opts...)
			var opts []Option
			if tt.tls {
				opts = append(opts, WithExplicitTLS(srv.ClientTLSConfig()))
			}
			c := dialTest(t, srv, opts...)
			ctx := context.Background()
			src := t.TempDir() + "/src"
			require.NoError(t, os.WriteFile(src, data, 0o600))
			f, err := os.Open(src)
			require.NoError(t, err)
			require.NoError(t, c.Stor(ctx, "up.bin", f))
			f.Close()
			stored, err := srv.ReadFile("up.bin")
			require.NoError(t, err)
			assert.Equal(t, sha256.Sum256(data), sha256.Sum256(stored), "upload from a file")

			out, err := os.Create(t.TempDir() + "/dst")
			require.NoError(t, err)
			defer out.Close()
			r, err := c.Retr(ctx, "up.bin")
			require.NoError(t, err)
			n, err := io.Copy(out, r) // WriteTo with an *os.File
			require.NoError(t, err)
			require.NoError(t, r.Close())
			assert.Equal(t, int64(len(data)), n)
			got, err := os.ReadFile(out.Name())
			require.NoError(t, err)
			assert.Equal(t, sha256.Sum256(data), sha256.Sum256(got), "download into a file")
		})
	}
	t.Run("truncated", func(t *testing.T) {
		srv := newServer(t, ftptest.WithTruncate(5000, "226 Transfer complete\r\n"))
		srv.WriteFile("f", data)
		c := dialTest(t, srv)
		out, err := os.Create(t.TempDir() + "/dst")
		require.NoError(t, err)
		defer out.Close()
		r, err := c.Retr(context.Background(), "f")
		require.NoError(t, err)
		n, err := io.Copy(out, r)
		assert.Equal(t, int64(5000), n)
		assert.ErrorIs(t, err, ErrShortTransfer)
		assert.ErrorIs(t, r.Close(), ErrShortTransfer)
	})
}

// forEachWait runs f as two subtests of name: with downloads waiting for
// data on the poller (where there is one), and with their replies read in
// the background, the two ways a transfer hears the server while it waits.
func forEachWait(t *testing.T, name string, f func(t *testing.T, wait Option)) {
	for _, w := range []struct {
		name string
		opt  Option
	}{
		{"poller", func(*config) {}},
		{"background", func(c *config) { c.noPoller = true }},
	} {
		t.Run(name+"/"+w.name, func(t *testing.T) { f(t, w.opt) })
	}
}
