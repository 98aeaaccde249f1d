//go:build interop

// Resume and rename safety against the four real servers (issue 16,
// findings 3 and 7). Run with:
//
//	FTP_INTEROP=required go test -tags interop -run TestInteropResume -count=1 -v .

package ftp_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pasvport/ftp"
)

// traceBuffer collects a Conn's trace (WithDebug) for several goroutines.
type traceBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *traceBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// sent returns the commands sent since the last call, and the whole
// trace of them. A Pool of more than one connection tags each line with
// the connection's number ("[2] > RETR f"): the tag is left out.
func (w *traceBuffer) sent() (cmds []string, trace string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	trace = w.b.String()
	for _, l := range strings.Split(trace, "\n") {
		if tag, rest, ok := strings.Cut(l, "] "); ok && strings.HasPrefix(tag, "[") {
			l = rest
		}
		if c, ok := strings.CutPrefix(l, "> "); ok {
			cmds = append(cmds, c)
		}
	}
	w.b.Reset()
	return cmds, trace
}

func withPrefix(cmds []string, prefix string) []string {
	var out []string
	for _, c := range cmds {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// TestInteropResume checks on each real server: a rename onto an existing
// file replaces it (so Upload never needs to delete the old file); a
// failed rename keeps the old target and the complete part; a download or
// an upload whose process was killed resumes against the unchanged source,
// byte-identical, and starts over once the source changed (same size, new
// time).
func TestInteropResume(t *testing.T) {
	env := interopEnv(t)
	t.Cleanup(ftp.SetMinResumableForTest(64 << 10))
	for _, server := range interopServers {
		t.Run(server, func(t *testing.T) {
			addr := env[strings.ToUpper(server)+"_PLAIN_ADDR"]
			dataDir := env[strings.ToUpper(server)+"_PLAIN_DATA"]
			if addr == "" || dataDir == "" {
				interopMissing(t, server+" did not start")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			url := fmt.Sprintf("ftp://%s:%s@%s/", env["FTP_USER"], env["FTP_PASS"], addr)
			trace := &traceBuffer{}
			c, err := ftp.DialURL(ctx, url, ftp.WithDebug(trace))
			require.NoError(t, err)
			defer c.Quit(ctx)
			dir := fmt.Sprintf("resume-%d-%d", os.Getpid(), time.Now().UnixNano())
			require.NoError(t, c.MakeDir(ctx, dir))
			defer func() {
				if err := c.RemoveAll(context.Background(), dir); err != nil {
					t.Logf("RemoveAll %s: %v", dir, err)
				}
				os.RemoveAll(filepath.Join(dataDir, dir)) // whatever the listing showed
			}()
			local := t.TempDir()
			mod := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
			// The server's own file, for setting a time where the server
			// has no MFMT (vsftpd).
			onDisk := func(name string) string { return filepath.Join(dataDir, dir, name) }

			t.Run("rename onto an existing file replaces it", func(t *testing.T) {
				require.NoError(t, c.Stor(ctx, path.Join(dir, "r"), strings.NewReader("old")))
				src := filepath.Join(local, "r")
				require.NoError(t, os.WriteFile(src, []byte("new contents"), 0o644))
				trace.sent()
				require.NoError(t, c.Upload(ctx, src, path.Join(dir, "r")))
				sent, _ := trace.sent()
				assert.Empty(t, withPrefix(sent, "DELE "), "nothing deleted")
				assert.Equal(t, "new contents", string(retrieve(t, ctx, c, path.Join(dir, "r"))))
			})

			t.Run("a failed rename keeps the target and the part", func(t *testing.T) {
				target := path.Join(dir, "t")
				require.NoError(t, c.MakeDir(ctx, target)) // RNTO onto a directory fails on every server
				require.NoError(t, c.Stor(ctx, path.Join(target, "keep"), strings.NewReader("kept")))
				src := filepath.Join(local, "t")
				require.NoError(t, os.WriteFile(src, []byte("complete upload"), 0o644))
				err := c.Upload(ctx, src, target)
				require.Error(t, err)
				t.Logf("%s: %v", server, err)
				assert.Contains(t, err.Error(), target+" was left as it was")
				assert.Equal(t, "kept", string(retrieve(t, ctx, c, path.Join(target, "keep"))))
				assert.Equal(t, "complete upload", string(retrieve(t, ctx, c, ftp.PartName(target))))
			})

			t.Run("download killed, then resumed or started over", func(t *testing.T) {
				for _, changed := range []bool{false, true} {
					name := fmt.Sprintf("d%v", changed)
					remote := path.Join(dir, name)
					data := randomData(t, 4<<20)
					require.NoError(t, c.Stor(ctx, remote, bytes.NewReader(data)))
					require.NoError(t, os.Chtimes(onDisk(name), mod, mod))
					dst := filepath.Join(local, name)
					ftp.KilledTransferForTest(t, "download", url, remote, dst, 64<<10, 16<<10)
					fi, err := os.Stat(ftp.PartName(dst))
					require.NoError(t, err)
					require.Positive(t, fi.Size())
					require.Less(t, fi.Size(), int64(len(data)))
					want := data
					if changed {
						want = randomData(t, len(data))
						require.NoError(t, c.Stor(ctx, remote, bytes.NewReader(want)))
						require.NoError(t, os.Chtimes(onDisk(name), mod.Add(time.Hour), mod.Add(time.Hour)))
					}
					trace.sent()
					require.NoError(t, c.Download(ctx, remote, dst))
					sent, tr := trace.sent()
					rest := withPrefix(sent, "REST ")
					got, err := os.ReadFile(dst)
					require.NoError(t, err)
					require.True(t, bytes.Equal(want, got), "changed=%v: byte-identical", changed)
					if changed {
						assert.Empty(t, rest, "a stale part is never appended to: %s", tr)
					} else {
						assert.Equal(t, []string{fmt.Sprintf("REST %d", fi.Size())}, rest, tr)
					}
					assert.NoFileExists(t, ftp.PartName(dst))
					assert.NoFileExists(t, ftp.PartName(dst)+".meta")
				}
			})

			t.Run("upload killed, then resumed or started over", func(t *testing.T) {
				for _, changed := range []bool{false, true} {
					name := fmt.Sprintf("u%v", changed)
					remote := path.Join(dir, name)
					src := filepath.Join(local, name)
					data := randomData(t, 4<<20)
					require.NoError(t, os.WriteFile(src, data, 0o644))
					require.NoError(t, os.Chtimes(src, mod, mod))
					ftp.KilledTransferForTest(t, "upload", url, remote, src, 64<<10, 128<<10)
					_, err := c.FileSize(ctx, ftp.PartName(remote)+".meta")
					require.NoError(t, err, "the record was written before the part")
					want := data
					if changed {
						want = randomData(t, len(data))
						require.NoError(t, os.WriteFile(src, want, 0o644))
						require.NoError(t, os.Chtimes(src, mod.Add(time.Minute), mod.Add(time.Minute)))
					}
					trace.sent()
					require.NoError(t, c.Upload(ctx, src, remote))
					sent, tr := trace.sent()
					require.True(t, bytes.Equal(want, retrieve(t, ctx, c, remote)), "changed=%v: byte-identical", changed)
					if changed {
						assert.Empty(t, withPrefix(sent, "REST "), "a stale part is never appended to: %s", tr)
						assert.Contains(t, sent, "STOR "+ftp.PartName(remote))
					} else {
						assert.Len(t, withPrefix(sent, "REST "), 1, "resumed: %s", tr)
					}
					for _, p := range []string{ftp.PartName(remote), ftp.PartName(remote) + ".meta"} {
						_, err := c.FileSize(ctx, p)
						assert.Error(t, err, "%s is gone", p)
					}
				}
			})
		})
	}
}

// retrieve downloads a whole file.
func retrieve(t *testing.T, ctx context.Context, c *ftp.Conn, p string) []byte {
	t.Helper()
	r, err := c.Retr(ctx, p)
	require.NoError(t, err)
	var b bytes.Buffer
	_, err = b.ReadFrom(r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	return b.Bytes()
}
