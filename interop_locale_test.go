//go:build interop

// LIST lines that GNU ls -l prints under Chinese, Japanese and Korean
// locales, from the pyftpdlib-ls* lab servers (issue 18, problem 2; the
// Debian FTP servers all print English dates: interop/README.md). Run
// with:
//
//	FTP_INTEROP=required go test -tags interop -run TestInteropLocalisedLIST -count=1 -v .

package ftp

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
	"golang.org/x/text/encoding/simplifiedchinese"
)

// TestInteropLocalisedLIST lists a folder of three files on each server
// whose LIST is ls -l in a CJK locale: a file of today (a time of day in
// the line: "12月  6日 20:19", "12월  6일  20:19"), one of 2024 (a year:
// "2024年 1月 6日") and one with a name in the locale's script, in its
// encoding. Each must come back as a file with its name and time (to the
// minute, or the day where the line gives a date only), never as
// EntryOther or a name holding the date; a second Mirror down copies
// nothing; on the GBK server detection chooses GBK.
func TestInteropLocalisedLIST(t *testing.T) {
	env := minimalEnv(t)
	gbkName, err := simplifiedchinese.GBK.NewEncoder().String("中文.txt")
	require.NoError(t, err)
	tests := []struct {
		inst     string
		name     string // the name the API gives
		diskName string // its bytes on disk
		opts     []Option
	}{
		{"PYFTPDLIB_LSZH", "中文.txt", "中文.txt", nil},
		{"PYFTPDLIB_LSGBK", "中文.txt", gbkName, []Option{WithEncodingDetection(simplifiedchinese.GBK)}},
		{"PYFTPDLIB_LSJA", "日本語.txt", "日本語.txt", nil},
		{"PYFTPDLIB_LSKO", "한국어.txt", "한국어.txt", nil},
	}
	old := time.Date(2024, 1, 6, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.inst, func(t *testing.T) {
			addr := env[tt.inst+"_ADDR"]
			require.NotEmpty(t, addr, "%s is not running: interop/servers.sh start locale", tt.inst)
			url := fmt.Sprintf("ftp://%s:%s@%s", env["FTP_USER"], env["FTP_PASS"], addr)
			dir := fmt.Sprintf("charset-ls-%d", time.Now().UnixNano())
			root := labFolder(t, env[tt.inst+"_DATA"], dir, map[string]string{
				"today.txt": "today", "old.txt": "2024", tt.diskName: "name",
			})
			recent := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
			require.NoError(t, os.Chtimes(filepath.Join(root, "today.txt"), recent, recent))
			require.NoError(t, os.Chtimes(filepath.Join(root, "old.txt"), old, old))
			require.NoError(t, os.Chtimes(filepath.Join(root, tt.diskName), recent, recent))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()

			c, err := DialURL(ctx, url, tt.opts...)
			require.NoError(t, err)
			defer c.Close()
			entries, err := c.List(ctx, "/"+dir)
			require.NoError(t, err)
			stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
			want := map[string]string{
				"today.txt": stamp(recent.Truncate(time.Minute)),
				tt.name:     stamp(recent.Truncate(time.Minute)),
				"old.txt":   stamp(time.Date(2024, 1, 6, 0, 0, 0, 0, time.UTC)),
			}
			got := map[string]string{}
			for _, e := range entries {
				assert.Equal(t, EntryFile, e.Type, "%q from %q", e.Name, e.Raw)
				got[e.Name] = stamp(e.ModTime)
				t.Logf("%s", e.Raw)
			}
			assert.Equal(t, want, got)
			if tt.opts != nil {
				enc, how := c.Encoding()
				assert.Equal(t, simplifiedchinese.GBK, enc, how)
			}
			require.NoError(t, c.Quit(ctx))

			p, err := NewPool(url, 2, tt.opts...)
			require.NoError(t, err)
			defer p.Close()
			local := filepath.Join(t.TempDir(), "m")
			for run, n := range []int{3, 0} {
				sum, err := Mirror(ctx, p, "/"+dir, local, MirrorOptions{Direction: MirrorDown})
				require.NoError(t, err)
				assert.Equal(t, n, sum.Files, "run %d: %+v", run+1, sum.Plan)
			}
			body, err := os.ReadFile(filepath.Join(local, tt.name))
			require.NoError(t, err)
			assert.Equal(t, "name", string(body))
			assert.False(t, strings.ContainsAny(tt.name, "月월"))
		})
	}
}
