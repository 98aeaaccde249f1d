package ftp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pasvport/ftp/ftptest"
)

// Issue 17, behaviour 5: a server without NOOP (502) keeps its pooled
// sessions; only a missing reply, or 421, is a dead connection.
func TestPoolIdleCheckWithoutNOOP(t *testing.T) {
	for _, tc := range []struct {
		name      string
		noop      string
		wantDials int
	}{
		{"502 not implemented", "502 Command not implemented.\r\n", 1},
		{"500 unknown", "500 Unknown command.\r\n", 1},
		{"421 closing", "421 Service not available, closing control connection.\r\n", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, ftptest.WithRawReply("NOOP", tc.noop))
			p, err := NewPool(srv.URL(), 1, WithIdleCheck(0), WithTimeout(10*time.Second))
			require.NoError(t, err)
			defer p.Close()
			ctx := context.Background()
			for range 3 {
				_, err := p.List(ctx, "/")
				require.NoError(t, err)
			}
			assert.Equal(t, tc.wantDials, countCommands(srv, "USER"), "logins for three operations")
			assert.Equal(t, 2, countCommands(srv, "NOOP"), "an idle check before the second and third")
		})
	}
}

// Issue 17, behaviour 8: through FS, a name that a server reads as
// another name (here "\" as "/") is refused, never an alias of it.
func TestFSRefusesAmbiguousNames(t *testing.T) {
	srv := newServer(t, ftptest.WithBackslashSeparator(), ftptest.WithFiles(map[string][]byte{
		"sub/b.txt": []byte("the file sub/b.txt"),
		"plain.txt": []byte("plain"),
	}))
	c := dialTest(t, srv)
	fsys := c.FS(context.Background())
	for _, name := range []string{`sub\b.txt`, `sub\..\plain.txt`, "plain.txt ", " plain.txt", "plain.txt.", "sub /b.txt"} {
		t.Run(name, func(t *testing.T) {
			b, err := fs.ReadFile(fsys, name)
			require.ErrorIs(t, err, fs.ErrInvalid, "got %q", b)
			_, err = fs.Stat(fsys, name)
			require.ErrorIs(t, err, fs.ErrInvalid)
			_, err = fsys.Open(name)
			require.ErrorIs(t, err, fs.ErrInvalid)
		})
	}
	b, err := fs.ReadFile(fsys, "sub/b.txt")
	require.NoError(t, err)
	assert.Equal(t, "the file sub/b.txt", string(b))
}

// The same names in a listing are left out of ReadDir: they could not be
// opened.
func TestFSReadDirLeavesOutAmbiguousNames(t *testing.T) {
	srv := newServer(t, ftptest.WithListLines("/d",
		"-rw-r--r-- 1 ftp ftp 5 Jan 02 2020 ok.txt",
		`-rw-r--r-- 1 ftp ftp 5 Jan 02 2020 back\slash.txt`,
		"-rw-r--r-- 1 ftp ftp 5 Jan 02 2020 trailing. ",
	), ftptest.WithoutMLSD())
	srv.MkdirAll("d")
	c := dialTest(t, srv)
	entries, err := fs.ReadDir(c.FS(context.Background()), "d")
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"ok.txt"}, names)
}

// Issue 17, behaviour 7: closing a download early keeps the session on a
// server that drops it when the data connection closes before ABOR.
func TestAbortKeepsSessionOnStrictServer(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("WithSessionDropOnEarlyClose tells the order of events on Linux only")
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 2<<20) // 32 MiB: more than the sockets buffer
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"passive", nil},
		{"passive without poller", []Option{func(c *config) { c.noPoller = true }}},
		{"active", []Option{WithActive()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, ftptest.WithSessionDropOnEarlyClose(), ftptest.WithFiles(map[string][]byte{"big": big}))
			c := dialTest(t, srv, tc.opts...)
			ctx := context.Background()
			const aborts = 10 // the old order was caught on about one in ten
			for i := range aborts {
				r, err := c.Retr(ctx, "big")
				require.NoError(t, err)
				_, err = io.ReadFull(r, make([]byte, 64<<10))
				require.NoError(t, err)
				require.NoError(t, r.Close(), "abort %d", i)
				require.NoError(t, c.NoOp(ctx), "the session after abort %d", i)
			}
			assert.Equal(t, aborts, countCommands(srv, "ABOR"))
		})
	}
}

// The ftptest mode does drop the session when the data connection closes
// first: the test above would catch the other order.
func TestSessionDropOnEarlyCloseMode(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	big := bytes.Repeat([]byte("x"), 32<<20)
	srv := newServer(t, ftptest.WithSessionDropOnEarlyClose(), ftptest.WithFiles(map[string][]byte{"big": big}))
	c := dialTest(t, srv)
	ctx := context.Background()
	r, err := c.Retr(ctx, "big")
	require.NoError(t, err)
	_, err = io.ReadFull(r, make([]byte, 64<<10))
	require.NoError(t, err)
	r.t.closeData(true)            // the data connection closes, and no ABOR follows
	for range maxPreliminary + 1 { // the 150 if still unread, then the end
		if _, err = c.ctl.readReply(ctx, "RETR"); err != nil {
			break
		}
	}
	require.ErrorIs(t, err, io.EOF, "the server dropped the session")
}

// Issue 17, behaviour 9: FTPS servers that send the 150 only after the data
// connection's TLS handshake, and those that refuse a data connection
// closed before their 150 (a zero-byte upload that handshakes and closes
// at once): uploads of every size and downloads work.
func TestFTPSLatePreliminary(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  ftptest.ServerOption
	}{
		{"150 after the handshake", ftptest.WithPreliminaryAfterTLS()},
		{"425 if closed before the 150", ftptest.WithEarlyCloseRefused()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, ftptest.WithExplicitTLS(), tc.opt)
			c := dialTest(t, srv, WithExplicitTLS(srv.ClientTLSConfig()))
			ctx := context.Background()
			for _, size := range []int{0, 1, 100 << 10} {
				data := bytes.Repeat([]byte("z"), size)
				require.NoError(t, c.Stor(ctx, "f", bytes.NewReader(data)), "upload of %d bytes", size)
				got, err := srv.ReadFile("f")
				require.NoError(t, err)
				require.Equal(t, len(data), len(got))
				r, err := c.Retr(ctx, "f")
				require.NoError(t, err)
				b, err := io.ReadAll(r)
				require.NoError(t, err)
				require.NoError(t, r.Close())
				require.Equal(t, data, b)
			}
			require.NoError(t, c.Stor(ctx, "empty", strings.NewReader("")), "a second empty upload")
			require.NoError(t, c.NoOp(ctx))
		})
	}
}

// Issue 17, behaviour 11: ASCII transfers convert line endings on the
// wire, and leave the Conn in TYPE I.
func TestASCIITransfers(t *testing.T) {
	srv := newServer(t, ftptest.WithASCIIConversion())
	c := dialTest(t, srv)
	ctx := context.Background()
	for _, tc := range []struct {
		name, local, stored string
	}{
		{"LF lines", "a\nb\n", "a\nb\n"},
		{"CRLF lines kept", "a\r\nb\r\n", "a\nb\n"},
		{"mixed", "a\r\nb\nc", "a\nb\nc"},
		{"lone CR", "a\rb\n", "a\rb\n"},
		{"final CR", "a\n\r", "a\n\r"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, c.StorASCII(ctx, "t.txt", strings.NewReader(tc.local)))
			got, err := srv.ReadFile("t.txt")
			require.NoError(t, err)
			assert.Equal(t, tc.stored, string(got), "stored")
			r, err := c.RetrASCII(ctx, "t.txt")
			require.NoError(t, err)
			b, err := io.ReadAll(r)
			require.NoError(t, err)
			require.NoError(t, r.Close())
			assert.Equal(t, tc.stored, string(b), "downloaded")
		})
	}
	// Binary transfers after them are binary again.
	bin := []byte("x\r\ny\nz\r")
	require.NoError(t, c.Stor(ctx, "bin", bytes.NewReader(bin)))
	got, err := srv.ReadFile("bin")
	require.NoError(t, err)
	assert.Equal(t, bin, got)
	r, err := c.Retr(ctx, "bin")
	require.NoError(t, err)
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	assert.Equal(t, bin, b)
	assert.Equal(t, 1+4*6, countCommands(srv, "TYPE "), "the login's TYPE I, then TYPE A and TYPE I around each of the 12 ASCII transfers")
	assert.Equal(t, "TYPE I", lastType(srv.Commands()))
}

// An ASCII download closed early, or refused, still restores TYPE I.
func TestASCIIRestoresBinary(t *testing.T) {
	srv := newServer(t, ftptest.WithASCIIConversion(), ftptest.WithFiles(map[string][]byte{
		"big": bytes.Repeat([]byte("line\n"), 1<<20),
	}))
	c := dialTest(t, srv)
	ctx := context.Background()
	r, err := c.RetrASCII(ctx, "big")
	require.NoError(t, err)
	_, err = io.ReadFull(r, make([]byte, 1000))
	require.NoError(t, err)
	require.NoError(t, r.Close())
	_, err = c.RetrASCII(ctx, "missing")
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.Error(t, c.StorASCII(ctx, "nodir/x", strings.NewReader("a\n")))
	bin := []byte("p\nq")
	require.NoError(t, c.Stor(ctx, "bin", bytes.NewReader(bin)))
	got, err := srv.ReadFile("bin")
	require.NoError(t, err)
	assert.Equal(t, bin, got, "binary after the ASCII transfers")
	cmds := srv.Commands()
	assert.Equal(t, "TYPE I", lastType(cmds))
}

// lastType returns the last TYPE command of cmds.
func lastType(cmds []string) string {
	last := ""
	for _, c := range cmds {
		if strings.HasPrefix(c, "TYPE ") {
			last = c
		}
	}
	return last
}

func TestCRLFDecoder(t *testing.T) {
	for _, tc := range []struct{ wire, want string }{
		{"", ""},
		{"a\r\nb\r\n", "a\nb\n"},
		{"a\nb", "a\nb"},
		{"a\rb", "a\rb"},
		{"\r", "\r"},
		{"a\r", "a\r"},
		{"\r\r\n", "\r\n"},
		{"\r\n\r\n", "\n\n"},
		{"\r\r", "\r\r"},
	} {
		for _, wrap := range []struct {
			name string
			r    func(io.Reader) io.Reader
		}{
			{"whole", func(r io.Reader) io.Reader { return r }},
			{"one byte", iotest.OneByteReader},
			{"half", iotest.HalfReader},
			{"data and EOF", iotest.DataErrReader},
		} {
			got, err := io.ReadAll(&crlfDecoder{src: bufio.NewReaderSize(wrap.r(strings.NewReader(tc.wire)), 16)})
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got), "%q %s", tc.wire, wrap.name)
		}
	}
	// Small reads: the decoder fills any buffer length.
	for _, n := range []int{1, 2, 3} {
		d := &crlfDecoder{src: bufio.NewReaderSize(strings.NewReader("a\r\nb\rc\r\n\r"), 16)}
		var out []byte
		buf := make([]byte, n)
		for range 100 {
			m, err := d.Read(buf)
			out = append(out, buf[:m]...)
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
		}
		assert.Equal(t, "a\nb\rc\n\r", string(out), "reads of %d", n)
	}
}

func TestCRLFEncoder(t *testing.T) {
	errBoom := errors.New("boom")
	for _, tc := range []struct{ text, wire string }{
		{"", ""},
		{"a\nb\n", "a\r\nb\r\n"},
		{"a\r\nb", "a\r\nb"},
		{"\n", "\r\n"},
		{"a\rb", "a\rb"},
		{"a\r", "a\r"},
		{"\r\r\n\n", "\r\r\n\r\n"},
	} {
		for _, wrap := range []func(io.Reader) io.Reader{func(r io.Reader) io.Reader { return r }, iotest.OneByteReader, iotest.HalfReader} {
			got, err := io.ReadAll(&crlfEncoder{src: wrap(strings.NewReader(tc.text))})
			require.NoError(t, err)
			assert.Equal(t, tc.wire, string(got), "%q", tc.text)
		}
	}
	_, err := io.ReadAll(&crlfEncoder{src: io.MultiReader(strings.NewReader("a\n"), iotest.ErrReader(errBoom))})
	assert.ErrorIs(t, err, errBoom)
}

// FuzzASCIIRoundTrip checks that what an ASCII upload sends has no bare
// LF, and that downloading it gives the text back with CRLF made LF,
// however the data are split into reads.
func FuzzASCIIRoundTrip(f *testing.F) {
	for _, s := range []string{"", "a\nb", "a\r\nb", "\r", "\r\r\n", "x\n\r", "\n\n\r\n\r"} {
		f.Add([]byte(s), uint8(1))
	}
	f.Fuzz(func(t *testing.T, text []byte, split uint8) {
		chunk := int(split%7) + 1
		wire, err := io.ReadAll(&crlfEncoder{src: &chunkReader{b: text, n: chunk}})
		require.NoError(t, err)
		for i, b := range wire {
			if b == '\n' {
				require.True(t, i > 0 && wire[i-1] == '\r', "bare LF at %d of %q", i, wire)
			}
		}
		back, err := io.ReadAll(&crlfDecoder{src: bufio.NewReaderSize(&chunkReader{b: wire, n: chunk}, 16)})
		require.NoError(t, err)
		require.Equal(t, string(bytes.ReplaceAll(text, []byte("\r\n"), []byte("\n"))), string(back))
	})
}

// chunkReader reads b at most n bytes at a time.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[n:]
	return n, nil
}
