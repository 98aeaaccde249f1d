//go:build interop

// Entry.Mode on the four real servers (issue 21, item 12): a file made
// 0444 and one made 0750 (SITE CHMOD, or chmod in the data folder where
// the server has no SITE CHMOD) list with those modes through LIST, and
// through MLSD where the server gives UNIX.mode; FS's FileInfo says the
// same. Run it with:
//
//	FTP_INTEROP=required go test -tags interop -run TestInteropEntryMode -count=1 -v .

package ftp_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
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

func TestInteropEntryMode(t *testing.T) {
	env := interopEnv(t)
	want := map[string]fs.FileMode{"ro.txt": 0o444, "x750.bin": 0o750}
	for _, server := range interopServers {
		t.Run(server, func(t *testing.T) {
			prefix := strings.ToUpper(server) + "_PLAIN_"
			addr := env[prefix+"ADDR"]
			if addr == "" {
				interopMissing(t, prefix+"ADDR not in servers.env")
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c := edgesLogin(t, ctx, addr, env)
			dir := fmt.Sprintf("edges-mode-%d", time.Now().UnixNano())
			require.NoError(t, c.MakeDir(ctx, dir))
			defer c.RemoveAll(context.Background(), dir)
			for name, mode := range want {
				p := path.Join(dir, name)
				require.NoError(t, c.Stor(ctx, p, bytes.NewReader([]byte(name))))
				if _, err := c.Quote(ctx, fmt.Sprintf("SITE CHMOD %o %s", mode, p)); err != nil {
					t.Logf("%s: %v: chmod in the data folder", server, err)
					require.NoError(t, os.Chmod(filepath.Join(env[prefix+"DATA"], dir, name), mode))
				}
			}

			for _, how := range []struct {
				name string
				opts []ftp.Option
			}{{"default", nil}, {"LIST", []ftp.Option{ftp.WithoutMLSD()}}} {
				lc := edgesLogin(t, ctx, addr, env, how.opts...)
				entries, err := lc.List(ctx, dir)
				require.NoError(t, err)
				got := map[string]fs.FileMode{}
				for _, e := range entries {
					got[e.Name] = e.Mode
					if e.Mode == 0 {
						// Only MLSD without a UNIX.mode fact may say nothing.
						assert.NotEmpty(t, e.Facts, "%s %s: no mode from %q", how.name, e.Name, e.Raw)
						assert.NotContains(t, e.Facts, "unix.mode", "%s %s", how.name, e.Name)
						got[e.Name] = want[e.Name]
					}
				}
				assert.Equal(t, want, got, "%s: modes", how.name)
				fsys := lc.FS(ctx)
				for name, mode := range want {
					info, err := fs.Stat(fsys, path.Join(dir, name))
					require.NoError(t, err)
					e := info.Sys().(*ftp.Entry)
					if e.Mode != 0 {
						assert.Equal(t, mode, info.Mode(), "%s: FS mode of %s", how.name, name)
					}
				}
				lc.Quit(ctx)
			}
		})
	}
}

// edgesLogin dials addr and logs in as the lab user.
func edgesLogin(t *testing.T, ctx context.Context, addr string, env map[string]string, opts ...ftp.Option) *ftp.Conn {
	t.Helper()
	c, err := ftp.Dial(ctx, addr, append([]ftp.Option{ftp.WithTimeout(15 * time.Second)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.Login(ctx, env["FTP_USER"], env["FTP_PASS"]))
	return c
}
