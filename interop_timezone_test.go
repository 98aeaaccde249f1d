//go:build interop

// The LIST time zone of the four real servers (issue 18, problem 3). Run
// with:
//
//	FTP_INTEROP=required go test -tags interop -run TestInteropListZone -count=1 -v .

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
