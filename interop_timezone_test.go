//go:build interop

// The LIST time zone of the four real servers, and of vsftpd-shanghai
// (issue 18, problem 3). Run with:
//
//	FTP_INTEROP=required go test -tags interop -run 'TestInteropListZone|TestInteropShanghai' -count=1 -v .

package ftp

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInteropListZone checks, on each real server, that the LIST offset
// is found with one MDTM a Conn where times come from LIST (always on
// vsftpd, which has no MLSD; with WithoutMLSD on the others), that listed
// times are then the files' times to the minute, that a server with MLSD
// is sent no MDTM for it, and that a second Mirror down over LIST copies
// nothing.
func TestInteropListZone(t *testing.T) {
	env := minimalEnv(t)
	for _, name := range []string{"VSFTPD", "PROFTPD", "PUREFTPD", "PYFTPDLIB"} {
		t.Run(strings.ToLower(name), func(t *testing.T) {
			addr := env[name+"_PLAIN_ADDR"]
			require.NotEmpty(t, addr)
			url := fmt.Sprintf("ftp://%s:%s@%s", env["FTP_USER"], env["FTP_PASS"], addr)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()

			setup, err := DialURL(ctx, url)
			require.NoError(t, err)
			defer setup.Quit(ctx)
			dir := fmt.Sprintf("/tz-%d", time.Now().UnixNano())
			require.NoError(t, setup.MakeDir(ctx, dir))
			defer setup.RemoveAll(context.Background(), dir)
			local := filepath.Join(t.TempDir(), "f.txt")
			require.NoError(t, os.WriteFile(local, []byte("zone\n"), 0o644))
			// The upload's own time (vsftpd has no MFMT), as MDTM gives it.
			mod := map[string]time.Time{}
			for _, f := range []string{"a.txt", "b.txt"} {
				require.NoError(t, setup.Upload(ctx, local, dir+"/"+f))
				mod[f], err = setup.ModTime(ctx, dir+"/"+f)
				require.NoError(t, err)
			}
			mlsd := setup.Features()["MLST"] != ""

			for _, mode := range []struct {
				name string
				opts []Option
			}{{"default", nil}, {"LIST", []Option{WithoutMLSD()}}} {
				t.Run(mode.name, func(t *testing.T) {
					var trace bytes.Buffer
					c, err := DialURL(ctx, url, append(mode.opts, WithDebug(&trace))...)
					require.NoError(t, err)
					defer c.Quit(ctx)
					for range 2 {
						entries, err := c.List(ctx, dir)
						require.NoError(t, err)
						require.Len(t, entries, 2)
						for _, e := range entries {
							want := mod[e.Name]
							if _, ok := e.Facts["modify"]; !ok {
								want = want.Truncate(time.Minute)
							}
							assert.True(t, want.Equal(e.ModTime), "%s: listed %v, want %v", e.Name, e.ModTime, want)
						}
					}
					asked := strings.Count(trace.String(), "> MDTM ")
					if mlsd && mode.opts == nil {
						assert.Zero(t, asked, "MLSD gives UTC times: no MDTM")
						return
					}
					assert.Equal(t, 1, asked, "one MDTM a Conn")
					assert.Contains(t, trace.String(), "LIST times are in UTC+00:00")
					for _, l := range strings.Split(trace.String(), "\n") {
						if strings.HasPrefix(l, "# LIST times") {
							t.Log(l)
						}
					}
				})
			}

			t.Run("mirror", func(t *testing.T) {
				p, err := NewPool(url, 2, WithoutMLSD())
				require.NoError(t, err)
				defer p.Close()
				dst := t.TempDir()
				sum, err := Mirror(ctx, p, dir, dst, MirrorOptions{Direction: MirrorDown})
				require.NoError(t, err)
				require.Equal(t, 2, sum.Files)
				sum, err = Mirror(ctx, p, dir, dst, MirrorOptions{Direction: MirrorDown})
				require.NoError(t, err)
				assert.Equal(t, 0, sum.Files, "second run: %+v", sum.Plan)
			})
		})
	}
}

// TestInteropShanghaiMirror mirrors with vsftpd-shanghai: vsftpd, which
// has no MLSD, in TZ=Asia/Shanghai with use_localtime=YES, so that LIST
// shows UTC+8. Without any option, a second Mirror copies nothing, down
// and up.
func TestInteropShanghaiMirror(t *testing.T) {
	env := minimalEnv(t)
	addr := env["VSFTPD_SHANGHAI_ADDR"]
	require.NotEmpty(t, addr, "vsftpd-shanghai is not running: interop/servers.sh start vsftpd-shanghai")
	url := fmt.Sprintf("ftp://%s:%s@%s", env["FTP_USER"], env["FTP_PASS"], addr)
	dir := fmt.Sprintf("charset-tz-%d", time.Now().UnixNano())
	root := labFolder(t, env["VSFTPD_SHANGHAI_DATA"], dir, map[string]string{"a.txt": "a", "b.txt": "bb"})
	old := time.Date(2024, 1, 6, 12, 0, 0, 0, time.UTC)
	require.NoError(t, os.Chtimes(filepath.Join(root, "b.txt"), old, old))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Measured: use_localtime=YES puts MDTM in local time too (RFC 3659
	// wants UTC), so comparing LIST with MDTM finds no offset, and
	// without WithLocation the times are 8 hours late; WithLocation
	// gives the files' times.
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	for _, opts := range [][]Option{nil, {WithLocation(shanghai)}} {
		c, err := DialURL(ctx, url, opts...)
		require.NoError(t, err)
		entries, err := c.List(ctx, "/"+dir)
		require.NoError(t, err)
		require.Len(t, entries, 2)
		for _, e := range entries {
			fi, err := os.Stat(filepath.Join(root, e.Name))
			require.NoError(t, err)
			want := fi.ModTime().Truncate(time.Minute)
			if e.Name == "b.txt" {
				want = time.Date(2024, 1, 6, 0, 0, 0, 0, shanghai) // a date only: midnight where it was read
			}
			if opts == nil {
				t.Logf("%s: listed %v, on disk %v (UTC), %v apart", e.Name, e.ModTime.UTC(), fi.ModTime().UTC(), e.ModTime.Sub(fi.ModTime()).Round(time.Minute))
				continue
			}
			assert.True(t, want.Equal(e.ModTime), "%s: listed %v, want %v", e.Name, e.ModTime, want)
		}
		require.NoError(t, c.Quit(ctx))
	}

	p, err := NewPool(url, 2)
	require.NoError(t, err)
	defer p.Close()
	local := filepath.Join(t.TempDir(), "m")
	for run, n := range []int{2, 0} {
		sum, err := Mirror(ctx, p, "/"+dir, local, MirrorOptions{Direction: MirrorDown})
		require.NoError(t, err)
		assert.Equal(t, n, sum.Files, "down, run %d: %+v", run+1, sum.Plan)
	}
	require.NoError(t, os.WriteFile(filepath.Join(local, "c.txt"), []byte("ccc"), 0o644))
	for run, n := range []int{1, 0} {
		sum, err := Mirror(ctx, p, local, "/"+dir, MirrorOptions{Direction: MirrorUp})
		require.NoError(t, err)
		assert.Equal(t, n, sum.Files, "up, run %d: %+v", run+1, sum.Plan)
	}
}
