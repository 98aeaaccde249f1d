//go:build interop

package ftp_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pasvport/ftp"
)

// TestInteropEngine checks the engine's part of issue 17 on the four lab
// servers: ASCII transfers give the right bytes, zero-byte FTPS uploads
// work, an early Close keeps the session, and FS refuses ambiguous names.
func TestInteropEngine(t *testing.T) {
	env := interopEnv(t)
	for _, server := range []string{"VSFTPD", "PROFTPD", "PUREFTPD", "PYFTPDLIB"} {
		t.Run(server, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c := interopDial(t, ctx, env[server+"_PLAIN_ADDR"])
			dir := fmt.Sprintf("engine-%d", time.Now().UnixNano())
			require.NoError(t, c.MakeDir(ctx, dir))
			defer c.RemoveAll(context.Background(), dir)

			t.Run("ASCII", func(t *testing.T) {
				// Uploaded as text: stored with the server's line ending
				// (vsftpd, without ascii_upload_enable, keeps the CRLF).
				require.NoError(t, c.StorASCII(ctx, dir+"/up.txt", strings.NewReader("one\ntwo\r\nthree\n")))
				got := interopRead(t, ctx, c, dir+"/up.txt", false)
				want := "one\ntwo\nthree\n"
				if server == "VSFTPD" {
					want = "one\r\ntwo\r\nthree\r\n"
				}
				assert.Equal(t, want, got, "stored")
				// A Unix text file downloaded as text has LF lines.
				require.NoError(t, c.Stor(ctx, dir+"/down.txt", strings.NewReader("a\nb\n\nc")))
				assert.Equal(t, "a\nb\n\nc", interopRead(t, ctx, c, dir+"/down.txt", true))
				// Binary again after them.
				bin := []byte("x\r\ny\n")
				require.NoError(t, c.Stor(ctx, dir+"/bin", bytes.NewReader(bin)))
				assert.Equal(t, string(bin), interopRead(t, ctx, c, dir+"/bin", false))
			})

			t.Run("early close keeps the session", func(t *testing.T) {
				require.NoError(t, c.Stor(ctx, dir+"/big", bytes.NewReader(make([]byte, 16<<20))))
				for range 2 {
					r, err := c.Retr(ctx, dir+"/big")
					require.NoError(t, err)
					_, err = io.ReadFull(r, make([]byte, 64<<10))
					require.NoError(t, err)
					require.NoError(t, r.Close())
					require.NoError(t, c.NoOp(ctx))
				}
			})

			t.Run("FS ambiguous names", func(t *testing.T) {
				require.NoError(t, c.MakeDir(ctx, dir+"/sub"))
				require.NoError(t, c.Stor(ctx, dir+"/sub/b.txt", strings.NewReader("b")))
				require.NoError(t, c.ChangeDir(ctx, dir))
				defer c.ChangeDir(ctx, "..")
				fsys := c.FS(ctx)
				_, err := fs.ReadFile(fsys, `sub\b.txt`)
				assert.ErrorIs(t, err, fs.ErrInvalid)
				b, err := fs.ReadFile(fsys, "sub/b.txt")
				require.NoError(t, err)
				assert.Equal(t, "b", string(b))
			})

			t.Run("zero-byte FTPS upload", func(t *testing.T) {
				ct, err := ftp.Dial(ctx, env[server+"_TLS_ADDR"], ftp.WithExplicitTLS(tlsConfig(env)), ftp.WithTimeout(10*time.Second))
				require.NoError(t, err)
				defer ct.Quit(context.Background())
				require.NoError(t, ct.Login(ctx, env["FTP_USER"], env["FTP_PASS"]))
				name := fmt.Sprintf("engine-empty-%d", time.Now().UnixNano())
				start := time.Now()
				require.NoError(t, ct.Stor(ctx, name, strings.NewReader("")))
				took := time.Since(start)
				defer ct.Delete(context.Background(), name)
				size, err := ct.FileSize(ctx, name)
				require.NoError(t, err)
				assert.Zero(t, size)
				assert.Less(t, took, 2*time.Second, "no wait for a 150 that comes")
			})
		})
	}
}

// interopDial logs in to addr.
func interopDial(t *testing.T, ctx context.Context, addr string) *ftp.Conn {
	t.Helper()
	env := interopEnv(t)
	c, err := ftp.Dial(ctx, addr, ftp.WithTimeout(10*time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { c.Quit(context.Background()) })
	require.NoError(t, c.Login(ctx, env["FTP_USER"], env["FTP_PASS"]))
	return c
}

// interopRead downloads p, as text if ascii.
func interopRead(t *testing.T, ctx context.Context, c *ftp.Conn, p string, ascii bool) string {
	t.Helper()
	retr := c.Retr
	if ascii {
		retr = c.RetrASCII
	}
	r, err := retr(ctx, p)
	require.NoError(t, err)
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	return string(b)
}
