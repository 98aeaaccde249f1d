//go:build interop

package ftp_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pasvport/ftp"
)

// TestInteropMirrorOverTLS mirrors a tree of folders up and back down
// over FTPS on every lab server, with what saves round trips at work: the
// Pool's logins at once, folders listed in parallel, the end of each
// upload in two flights, LIST servers' times asked many to a flight.
func TestInteropMirrorOverTLS(t *testing.T) {
	env := interopEnv(t)
	local := t.TempDir()
	files := map[string]string{}
	stamp := time.Date(2021, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 24 {
		rel := fmt.Sprintf("d%d/sub/f%02d.txt", i%4, i)
		files[rel] = strings.Repeat(fmt.Sprint(i), 100+i)
		p := filepath.Join(local, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(files[rel]), 0o644))
		require.NoError(t, os.Chtimes(p, stamp, stamp))
	}
	for _, server := range interopServers {
		t.Run(server, func(t *testing.T) {
			addr := env[strings.ToUpper(server)+"_TLS_ADDR"]
			if addr == "" {
				interopMissing(t, server+"'s TLS instance did not start")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			url := fmt.Sprintf("ftp://%s:%s@%s/", env["FTP_USER"], env["FTP_PASS"], addr)
			pool, err := ftp.NewPool(url, 4, ftp.WithExplicitTLS(tlsConfig(env)), ftp.WithTimeout(20*time.Second))
			require.NoError(t, err)
			defer pool.Close()
			remote := fmt.Sprintf("mirror-tls-%d", time.Now().UnixNano())
			defer pool.RemoveAll(context.Background(), remote)

			up, err := ftp.Mirror(ctx, pool, local, remote, ftp.MirrorOptions{Direction: ftp.MirrorUp})
			require.NoError(t, err)
			assert.Equal(t, len(files), up.Files)
			again, err := ftp.Mirror(ctx, pool, local, remote, ftp.MirrorOptions{Direction: ftp.MirrorUp})
			require.NoError(t, err)
			assert.Zero(t, again.Files, "a second run copies nothing")

			back := t.TempDir()
			down, err := ftp.Mirror(ctx, pool, remote, back, ftp.MirrorOptions{})
			require.NoError(t, err)
			assert.Equal(t, len(files), down.Files)
			for rel, want := range files {
				got, err := os.ReadFile(filepath.Join(back, filepath.FromSlash(rel)))
				require.NoError(t, err)
				assert.Equal(t, want, string(got), rel)
				if server == "vsftpd" {
					continue // no MFMT: an upload has the server's time
				}
				dst, err := os.Stat(filepath.Join(back, filepath.FromSlash(rel)))
				require.NoError(t, err)
				assert.True(t, stamp.Equal(dst.ModTime()), "%s keeps its time both ways: %v", rel, dst.ModTime())
			}
			again, err = ftp.Mirror(ctx, pool, remote, back, ftp.MirrorOptions{})
			require.NoError(t, err)
			assert.Zero(t, again.Files, "a second run down copies nothing")
		})
	}
}
