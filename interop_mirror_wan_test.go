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

// TestInteropMirrorRerunListsOnce runs a Mirror again, up and then down,
// on every lab server: with nothing to copy, every remote folder is
// listed once (guessed from the local tree), and no ABOR; with a folder that the remote side lacks (up:
// one to create, down: one to delete), Delete on, the guess of that
// folder (vsftpd lists it empty) decides nothing: the runs copy, create
// and delete what they must and nothing else.
func TestInteropMirrorRerunListsOnce(t *testing.T) {
	env := interopEnv(t)
	tree := map[string]string{"top.txt": "t", "d0/sub/g.txt": "g"}
	for i := range 4 {
		tree[fmt.Sprintf("d%d/f.txt", i)] = strings.Repeat("f", 10+i)
	}
	for _, server := range interopServers {
		t.Run(server, func(t *testing.T) {
			addr := env[strings.ToUpper(server)+"_PLAIN_ADDR"]
			if addr == "" {
				interopMissing(t, server+"'s plain instance did not start")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var trace traceBuffer
			url := fmt.Sprintf("ftp://%s:%s@%s/", env["FTP_USER"], env["FTP_PASS"], addr)
			pool, err := ftp.NewPool(url, 2, ftp.WithTimeout(20*time.Second), ftp.WithDebug(&trace))
			require.NoError(t, err)
			defer pool.Close()
			remote := fmt.Sprintf("mirror-rerun-%d", time.Now().UnixNano())
			defer pool.RemoveAll(context.Background(), remote)
			local := t.TempDir()
			for rel, data := range tree {
				p := filepath.Join(local, filepath.FromSlash(rel))
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
				require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
			}
			folders := []string{remote, remote + "/d0", remote + "/d1", remote + "/d2", remote + "/d3", remote + "/d0/sub"}
			up := ftp.MirrorOptions{Direction: ftp.MirrorUp, Delete: true}
			_, err = ftp.Mirror(ctx, pool, local, remote, up)
			require.NoError(t, err)
			trace.sent()
			sum, err := ftp.Mirror(ctx, pool, local, remote, up)
			require.NoError(t, err)
			assert.Equal(t, len(tree), sum.Skipped)
			listedOnce(t, &trace, folders)

			require.NoError(t, os.MkdirAll(filepath.Join(local, "new"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(local, "new", "n.txt"), []byte("n"), 0o644))
			sum, err = ftp.Mirror(ctx, pool, local, remote, up)
			require.NoError(t, err)
			assert.Equal(t, []int{1, 1, 0, len(tree)}, []int{sum.Files, sum.Dirs, sum.Deleted, sum.Skipped}, "%+v", sum.Plan)

			back := t.TempDir()
			down := ftp.MirrorOptions{Delete: true}
			_, err = ftp.Mirror(ctx, pool, remote, back, down)
			require.NoError(t, err)
			trace.sent()
			sum, err = ftp.Mirror(ctx, pool, remote, back, down)
			require.NoError(t, err)
			assert.Equal(t, len(tree)+1, sum.Skipped)
			listedOnce(t, &trace, append(folders, remote+"/new"))

			require.NoError(t, os.MkdirAll(filepath.Join(back, "gone"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(back, "gone", "x"), []byte("x"), 0o644))
			sum, err = ftp.Mirror(ctx, pool, remote, back, down)
			require.NoError(t, err)
			assert.Equal(t, []int{0, 0, 1, len(tree) + 1}, []int{sum.Files, sum.Dirs, sum.Deleted, sum.Skipped}, "%+v", sum.Plan)
			assert.NoDirExists(t, filepath.Join(back, "gone"))
		})
	}
}

// listedOnce checks that the trace since its last reading shows each of
// folders listed once (LIST or MLSD) and nothing else, and no ABOR.
func listedOnce(t *testing.T, trace *traceBuffer, folders []string) {
	t.Helper()
	cmds, _ := trace.sent()
	listed := map[string]int{}
	for _, c := range cmds {
		verb, arg, _ := strings.Cut(c, " ")
		if verb == "LIST" || verb == "MLSD" {
			listed[strings.TrimPrefix(arg, "-a ")]++
		}
	}
	for _, f := range folders {
		assert.Equal(t, 1, listed[f], "%s listed once: %q", f, cmds)
	}
	assert.Len(t, listed, len(folders), "%q", cmds)
	assert.Empty(t, withPrefix(cmds, "ABOR"))
}
