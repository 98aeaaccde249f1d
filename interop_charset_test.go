//go:build interop

// Servers whose names are not UTF-8 (issue 18): the lab's real servers
// with names in GBK bytes on disk. Run with:
//
//	FTP_INTEROP=required go test -tags interop -run TestInteropGBK -count=1 -v .

package ftp

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// labFolder makes a folder named dir in an instance's data folder (data),
// owned by the FTP user as if it had made it, with files (GBK names as
// bytes, the way a Chinese Linux server keeps them), and removes it when
// the test ends.
func labFolder(t *testing.T, data, dir string, files map[string]string) string {
	t.Helper()
	root := filepath.Join(data, dir)
	require.NoError(t, os.MkdirAll(root, 0o755))
	t.Cleanup(func() { os.RemoveAll(root) })
	uid, gid := -1, -1
	if u, err := user.Lookup("ftpuser"); err == nil {
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	require.NoError(t, os.Chown(root, uid, gid))
	for name, body := range files {
		p := filepath.Join(root, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		require.NoError(t, os.Chown(p, uid, gid))
	}
	return root
}

// TestInteropGBKRoundTrip runs the round trip of issue 18 on each real
// server whose folder holds names in GBK bytes: list, download by the
// decoded name, upload a new Chinese name, rename it, delete it, mirror
// the folder down and up (a second run copying nothing) and
// fstest.TestFS over FS; with WithEncoding(GBK), and with detection,
// which must find GBK (after OPTS UTF8 ON where the server offers UTF8:
// ProFTPD and Pure-FTPd list their disk's bytes all the same).
func TestInteropGBKRoundTrip(t *testing.T) {
	env := minimalEnv(t)
	enc := simplifiedchinese.GBK
	for _, name := range []string{"VSFTPD", "PROFTPD", "PUREFTPD", "PYFTPDLIB"} {
		for _, mode := range []struct {
			name string
			opt  Option
		}{{"WithEncoding", WithEncoding(enc)}, {"detection", WithEncodingDetection(cjk...)}} {
			t.Run(strings.ToLower(name)+"/"+mode.name, func(t *testing.T) {
				addr := env[name+"_PLAIN_ADDR"]
				require.NotEmpty(t, addr)
				url := fmt.Sprintf("ftp://%s:%s@%s", env["FTP_USER"], env["FTP_PASS"], addr)
				dir := fmt.Sprintf("charset-gbk-%d", time.Now().UnixNano())
				files := map[string]string{}
				for i, n := range zhNames {
					files[gbk(t, n)] = strconv.Itoa(i)
				}
				root := labFolder(t, env[name+"_PLAIN_DATA"], dir, files)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				c, err := DialURL(ctx, url, mode.opt)
				require.NoError(t, err)
				defer c.Quit(ctx)

				entries, err := c.List(ctx, "/"+dir)
				require.NoError(t, err)
				if name == "PYFTPDLIB" {
					// Measured: pyftpdlib (Python's str names) lists each byte
					// that is not UTF-8 as '?': the bytes never reach a client.
					require.Len(t, entries, len(zhNames))
					assert.Contains(t, entries[0].Name, "?")
					return
				}
				got := map[string]string{}
				for _, e := range entries {
					raw, err := c.NameBytes(e.Name)
					require.NoError(t, err)
					got[e.Name] = string(raw)
				}
				want := map[string]string{}
				for _, n := range zhNames {
					want[n] = gbk(t, n)
				}
				require.Equal(t, want, got)
				used, how := c.Encoding()
				assert.Equal(t, enc, used, how)
				t.Log(how)

				assert.Equal(t, []byte("7"), retrAll(t, c, "/"+dir+"/说明.txt"))
				require.NoError(t, c.Stor(ctx, "/"+dir+"/新文件.txt", strings.NewReader("new")))
				b, err := os.ReadFile(filepath.Join(root, gbk(t, "新文件.txt")))
				require.NoError(t, err, "stored on disk under its GBK name")
				assert.Equal(t, "new", string(b))
				require.NoError(t, c.Rename(ctx, "/"+dir+"/新文件.txt", "/"+dir+"/改名.txt"))
				_, err = os.Stat(filepath.Join(root, gbk(t, "改名.txt")))
				require.NoError(t, err, "renamed on disk to its GBK name")
				require.NoError(t, c.Delete(ctx, "/"+dir+"/改名.txt"))
				_, err = os.Stat(filepath.Join(root, gbk(t, "改名.txt")))
				require.ErrorIs(t, err, fs.ErrNotExist)
				// io/fs rooted at the folder: the others change under it.
				require.NoError(t, c.ChangeDir(ctx, "/"+dir))
				require.NoError(t, fstest.TestFS(c.FS(ctx), "报告.txt", "说明.txt"))

				p, err := NewPool(url, 2, mode.opt)
				require.NoError(t, err)
				defer p.Close()
				local := filepath.Join(t.TempDir(), "m")
				for run, n := range []int{len(zhNames), 0} {
					sum, err := Mirror(ctx, p, "/"+dir, local, MirrorOptions{Direction: MirrorDown})
					require.NoError(t, err)
					assert.Equal(t, n, sum.Files, "down, run %d: %+v", run+1, sum.Plan)
				}
				b, err = os.ReadFile(filepath.Join(local, "上海照片.jpg"))
				require.NoError(t, err, "saved under the Chinese name")
				assert.Equal(t, "3", string(b))
				require.NoError(t, os.WriteFile(filepath.Join(local, "上传.txt"), []byte("up"), 0o644))
				for run, n := range []int{1, 0} {
					sum, err := Mirror(ctx, p, local, "/"+dir, MirrorOptions{Direction: MirrorUp})
					require.NoError(t, err)
					assert.Equal(t, n, sum.Files, "up, run %d: %+v", run+1, sum.Plan)
				}
				b, err = os.ReadFile(filepath.Join(root, gbk(t, "上传.txt")))
				require.NoError(t, err, "uploaded under its GBK name")
				assert.Equal(t, "up", string(b))
			})
		}
	}
}
