//go:build interop

package main

// ftpsync --encoding GBK on the four plain lab servers, with a file whose
// name is GBK bytes on disk. Run with:
//
//	FTP_INTEROP=required go test -tags interop -run TestInteropEncoding -count=1 -v ./cmd/ftpsync

import (
	"fmt"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInteropEncoding(t *testing.T) {
	env := serversEnv(t)
	login := env["FTP_USER"] + ":" + env["FTP_PASS"]
	report := gbk(t, "报告.txt")
	for _, key := range []string{"VSFTPD", "PROFTPD", "PUREFTPD", "PYFTPDLIB"} {
		t.Run(key, func(t *testing.T) {
			dir := fmt.Sprintf("ftpsync-charset-%d", time.Now().UnixNano())
			data := filepath.Join(env[key+"_PLAIN_DATA"], dir)
			require.NoError(t, os.MkdirAll(data, 0o755))
			t.Cleanup(func() { os.RemoveAll(data) })
			require.NoError(t, os.WriteFile(filepath.Join(data, report), []byte("report"), 0o644))
			if u, err := user.Lookup(env["FTP_USER"]); err == nil {
				uid, _ := strconv.Atoi(u.Uid)
				gid, _ := strconv.Atoi(u.Gid)
				require.NoError(t, os.Chown(data, uid, gid))
				require.NoError(t, os.Chown(filepath.Join(data, report), uid, gid))
			}
			base := "ftp://" + login + "@" + env[key+"_PLAIN_ADDR"] + "/" + dir

			got := lsJSON(t, "--encoding", "GBK", base)
			if key == "PYFTPDLIB" {
				// Measured: pyftpdlib lists a name that is not UTF-8 on its
				// disk with each bad byte as '?': the bytes never reach the
				// client, and the file cannot be named over FTP.
				assert.Contains(t, got, "|????.txt", "%v", got)
				return
			}
			assert.Equal(t, []byte(report), got[report+"|报告.txt"].NameBytes, "%v", got)
			got = lsJSON(t, base)
			assert.Contains(t, got, report+"|"+string([]rune("\ufffd\ufffd\ufffd\ufffd.txt")), "without --encoding: the bytes in name_bytes: %v", got)

			local := t.TempDir()
			r := ftpsync(t, nil, "get", "--encoding", "GBK", base+"/%E6%8A%A5%E5%91%8A.txt", local)
			require.Equal(t, exitOK, r.code, r.stderr)
			b, err := os.ReadFile(filepath.Join(local, "报告.txt"))
			require.NoError(t, err)
			assert.Equal(t, "report", string(b))

			mirror := filepath.Join(t.TempDir(), "m")
			for run, want := range []int{1, 0} {
				sum, r := mirrorJSON(t, nil, "mirror", "--encoding", "GBK", base, mirror)
				require.Equal(t, exitOK, r.code, r.stderr)
				assert.Equal(t, want, sum.Files, "run %d: %+v", run+1, sum.Plan)
			}
			assert.Equal(t, map[string]string{"报告.txt": "report"}, localFiles(t, mirror))
			require.NoError(t, os.WriteFile(filepath.Join(mirror, "新文件.txt"), []byte("new"), 0o644))
			for run, want := range []int{1, 0} {
				sum, r := mirrorJSON(t, nil, "mirror", "--reverse", "--encoding", "GBK", mirror, base)
				require.Equal(t, exitOK, r.code, r.stderr)
				assert.Equal(t, want, sum.Files, "run %d: %+v", run+1, sum.Plan)
			}
			b, err = os.ReadFile(filepath.Join(data, gbk(t, "新文件.txt")))
			require.NoError(t, err, "stored on disk under its GBK name")
			assert.Equal(t, "new", string(b))
		})
	}
}

// TestInteropEncodingDetected runs ftpsync without --encoding on the
// servers that send GBK names as their bytes: a folder of Chinese names
// makes it find GBK (--verbose says so), and ls, get by the Chinese name
// and mirror down and up (a second run copying nothing) work as with
// --encoding GBK.
func TestInteropEncodingDetected(t *testing.T) {
	env := serversEnv(t)
	login := env["FTP_USER"] + ":" + env["FTP_PASS"]
	names := []string{"报告.txt", "新建文件夹.txt", "上海照片.jpg", "数据备份.zip", "说明.txt"}
	for _, key := range []string{"VSFTPD", "PROFTPD", "PUREFTPD"} {
		t.Run(key, func(t *testing.T) {
			dir := fmt.Sprintf("charset-detect-%d", time.Now().UnixNano())
			data := filepath.Join(env[key+"_PLAIN_DATA"], dir)
			require.NoError(t, os.MkdirAll(data, 0o755))
			t.Cleanup(func() { os.RemoveAll(data) })
			uid, gid := -1, -1
			if u, err := user.Lookup(env["FTP_USER"]); err == nil {
				uid, _ = strconv.Atoi(u.Uid)
				gid, _ = strconv.Atoi(u.Gid)
			}
			require.NoError(t, os.Chown(data, uid, gid))
			want := map[string]string{}
			for _, n := range names {
				p := filepath.Join(data, gbk(t, n))
				require.NoError(t, os.WriteFile(p, []byte(n), 0o644))
				require.NoError(t, os.Chown(p, uid, gid))
				want[n] = n
			}
			base := "ftp://" + login + "@" + env[key+"_PLAIN_ADDR"] + "/" + dir

			r := ftpsync(t, nil, "ls", "--verbose", base)
			require.Equal(t, exitOK, r.code, r.stderr)
			for _, n := range names {
				assert.Contains(t, r.stdout, "  "+n+"\n")
			}
			assert.Contains(t, r.stderr, "# names: GBK: ")

			local := t.TempDir()
			r = ftpsync(t, nil, "get", base+"/"+url.PathEscape("说明.txt"), local)
			require.Equal(t, exitOK, r.code, r.stderr)
			b, err := os.ReadFile(filepath.Join(local, "说明.txt"))
			require.NoError(t, err)
			assert.Equal(t, "说明.txt", string(b))

			mirror := filepath.Join(t.TempDir(), "m")
			for run, n := range []int{len(names), 0} {
				sum, r := mirrorJSON(t, nil, "mirror", base, mirror)
				require.Equal(t, exitOK, r.code, r.stderr)
				assert.Equal(t, n, sum.Files, "down, run %d: %+v", run+1, sum.Plan)
			}
			assert.Equal(t, want, localFiles(t, mirror))
			require.NoError(t, os.WriteFile(filepath.Join(mirror, "新文件.txt"), []byte("new"), 0o644))
			for run, n := range []int{1, 0} {
				sum, r := mirrorJSON(t, nil, "mirror", "--reverse", mirror, base)
				require.Equal(t, exitOK, r.code, r.stderr)
				assert.Equal(t, n, sum.Files, "up, run %d: %+v", run+1, sum.Plan)
			}
			b, err = os.ReadFile(filepath.Join(data, gbk(t, "新文件.txt")))
			require.NoError(t, err, "stored on disk under its GBK name")
			assert.Equal(t, "new", string(b))
		})
	}
}
