//go:build interop

package ftp_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pasvport/ftp"
)

// TestInteropMirrorUpBatches mirrors many small files up on every lab
// server (and vsftpd over TLS) with the ends of the uploads batched
// across files (mirrorcopy.go's copyUp): on one connection, the parts of
// 16 files are stored before their SIZE and MFMT go in one flight and
// their renames in another; two files past the batch's byte budget (1
// MiB, with a record beside their part) go in batches of their own.
// Every file arrives whole (read back with RETR), each rename is paid
// once, and a second run copies nothing. TestInteropMirror and
// TestInteropMirrorOverTLS cover trees of files with 4 connections.
func TestInteropMirrorUpBatches(t *testing.T) {
	env := interopEnv(t)
	local := t.TempDir()
	files := map[string][]byte{}
	for i := range 40 {
		n := 4<<10 + i
		if i == 7 || i == 30 {
			n = 3 << 19 // 1.5 MiB
		}
		rel := fmt.Sprintf("f%02d.bin", i)
		files[rel] = randomData(t, n)
		require.NoError(t, os.WriteFile(filepath.Join(local, rel), files[rel], 0o644))
	}
	type target struct {
		name, key string
		tls       bool
	}
	var targets []target
	for _, s := range interopServers {
		targets = append(targets, target{s, strings.ToUpper(s) + "_PLAIN_ADDR", false})
	}
	targets = append(targets, target{"vsftpd-tls", "VSFTPD_TLS_ADDR", true})
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			addr := env[tg.key]
			if addr == "" {
				interopMissing(t, tg.key+" not in servers.env: the server did not start")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			trace := &traceBuffer{}
			o := []ftp.Option{ftp.WithTimeout(20 * time.Second), ftp.WithDebug(trace)}
			if tg.tls {
				o = append(o, ftp.WithExplicitTLS(tlsConfig(env)))
			}
			url := fmt.Sprintf("ftp://%s:%s@%s/", env["FTP_USER"], env["FTP_PASS"], addr)
			pool, err := ftp.NewPool(url, 1, o...)
			require.NoError(t, err)
			defer pool.Close()
			remote := fmt.Sprintf("mirror-batch-%d", time.Now().UnixNano())
			defer pool.RemoveAll(context.Background(), remote)

			trace.sent()
			up, err := ftp.Mirror(ctx, pool, local, remote, ftp.MirrorOptions{Direction: ftp.MirrorUp})
			require.NoError(t, err)
			assert.Equal(t, len(files), up.Files)
			cmds, upTrace := trace.sent()
			assert.NotContains(t, upTrace, "no pipelining from now on")
			assert.Len(t, withPrefix(cmds, "RNTO "+remote+"/f"), len(files), "one rename a file")
			// The first batch: files f00 to f06 (f07 is past the budget),
			// every part stored before the first SIZE.
			stored := 0
			for _, c := range cmds {
				if strings.HasPrefix(c, "SIZE "+remote+"/.f") {
					break
				}
				if strings.HasPrefix(c, "STOR ") && strings.HasSuffix(c, ".part") {
					stored++
				}
			}
			assert.Equal(t, 7, stored, "parts stored before the first part's SIZE")

			again, err := ftp.Mirror(ctx, pool, local, remote, ftp.MirrorOptions{Direction: ftp.MirrorUp})
			require.NoError(t, err)
			assert.Zero(t, again.Files, "a second run copies nothing")

			require.NoError(t, pool.Do(ctx, func(c *ftp.Conn) error {
				for rel, want := range files {
					r, err := c.Retr(ctx, path.Join(remote, rel))
					if err != nil {
						return err
					}
					var got bytes.Buffer
					_, err = got.ReadFrom(r)
					if cerr := r.Close(); err == nil {
						err = cerr
					}
					if err != nil {
						return err
					}
					assert.True(t, bytes.Equal(want, got.Bytes()), "%s: %d bytes, want %d", rel, got.Len(), len(want))
				}
				return nil
			}))
		})
	}
}
