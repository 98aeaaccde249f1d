//go:build interop

package ftp_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pasvport/ftp"
)

// slowReader yields data a chunk per tick, so that a transfer outlasts
// several keepalive intervals.
type slowReader struct {
	data  []byte
	chunk int
	tick  *time.Ticker
}

func (s *slowReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	<-s.tick.C // pacing, not synchronisation
	n := copy(p[:min(len(p), s.chunk)], s.data)
	s.data = s.data[n:]
	return n, nil
}

// TestInteropKeepAlive: NOOPs sent during slow transfers to real servers
// (answered during the transfer or after its final reply) leave the
// session in step.
func TestInteropKeepAlive(t *testing.T) {
	env := interopEnv(t)
	for _, server := range []string{"VSFTPD", "PUREFTPD", "PROFTPD", "PYFTPDLIB"} {
		t.Run(server, func(t *testing.T) {
			addr := env[server+"_PLAIN_ADDR"]
			if addr == "" {
				interopMissing(t, server+" is not running")
			}
			ctx := context.Background()
			var trace bytes.Buffer
			c, err := ftp.Dial(ctx, addr, ftp.WithTimeout(10*time.Second), ftp.WithKeepAlive(40*time.Millisecond), ftp.WithDebug(&trace))
			require.NoError(t, err)
			defer c.Close()
			require.NoError(t, c.Login(ctx, env["FTP_USER"], env["FTP_PASS"]))
			dir := fmt.Sprintf("keepalive-%d", os.Getpid())
			require.NoError(t, c.MakeDirAll(ctx, dir))
			defer c.RemoveAll(ctx, dir)

			defer func() {
				if t.Failed() {
					t.Log(trace.String())
				}
			}()
			data := randomData(t, 1<<20)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			require.NoError(t, c.Stor(ctx, dir+"/slow", &slowReader{data: data, chunk: 64 << 10, tick: tick}))
			size, err := c.FileSize(ctx, dir+"/slow")
			require.NoError(t, err)
			assert.Equal(t, int64(len(data)), size, "in step after the upload")

			r, err := c.Retr(ctx, dir+"/slow")
			require.NoError(t, err)
			h := sha256.New()
			for range 1000 {
				<-tick.C // read slowly: pacing, not synchronisation
				if _, err := io.CopyN(h, r, 32<<10); err == io.EOF {
					break
				} else {
					require.NoError(t, err)
				}
			}
			require.NoError(t, r.Close())
			assert.Equal(t, sha256.Sum256(data), [32]byte(h.Sum(nil)))
			cwd, err := c.CurrentDir(ctx)
			require.NoError(t, err, "in step after the download")
			assert.NotEmpty(t, cwd)
			for range 3 {
				require.NoError(t, c.NoOp(ctx))
			}
			noops := bytes.Count(trace.Bytes(), []byte("> NOOP"))
			assert.GreaterOrEqual(t, noops, 10, "keepalive NOOPs sent")
			t.Logf("%s: %d NOOPs sent during the two transfers", server, noops)
		})
	}
}
