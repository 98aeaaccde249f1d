//go:build interop

package main

// The exit codes of the help's table, and what is kept, on the real
// servers that interop/servers.sh starts (vsftpd, proftpd, pure-ftpd,
// pyftpdlib, plain instances). Run with:
//
//	FTP_INTEROP=required go test -tags interop -run TestInteropExitCodes -count=1 ./cmd/ftpsync

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serversEnv reads interop/servers.sh's servers.env; without it the test
// skips, unless FTP_INTEROP=required.
func serversEnv(t *testing.T) map[string]string {
	run := os.Getenv("INTEROP_RUN")
	if run == "" {
		run = "/tmp/pasvport-interop"
	}
	f, err := os.Open(filepath.Join(run, "servers.env"))
	if err != nil {
		if os.Getenv("FTP_INTEROP") == "required" {
			t.Fatalf("no servers.env: %v", err)
		}
		t.Skipf("no servers.env (%v): run interop/servers.sh start", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(k, "#") {
			env[k] = strings.Trim(v, `"`)
		}
	}
	require.NoError(t, sc.Err())
	return env
}

// onDisk makes files (slash paths; a trailing slash makes a folder) below
// root, owned by the server's user when the test runs as root, and chmods
// each folder of locked to 000; all is removed when the test ends.
func onDisk(t *testing.T, root string, files map[string]string, locked ...string) {
	t.Helper()
	t.Cleanup(func() {
		for _, l := range locked {
			os.Chmod(filepath.Join(root, l), 0o755)
		}
		os.RemoveAll(root)
	})
	for name, data := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			require.NoError(t, os.MkdirAll(p, 0o755))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	}
	if u, err := user.Lookup("ftpuser"); err == nil && os.Geteuid() == 0 {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		require.NoError(t, filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, uid, gid)
		}))
	}
	for _, l := range locked {
		require.NoError(t, os.Chmod(filepath.Join(root, l), 0))
	}
}

func TestInteropExitCodes(t *testing.T) {
	env := serversEnv(t)
	for _, server := range []string{"vsftpd", "proftpd", "pureftpd", "pyftpdlib"} {
		t.Run(server, func(t *testing.T) {
			key := strings.ToUpper(server)
			addr, data := env[key+"_PLAIN_ADDR"], env[key+"_PLAIN_DATA"]
			if addr == "" || data == "" {
				t.Fatalf("%s_PLAIN_ADDR or _DATA not in servers.env", key)
			}
			name := fmt.Sprintf("cli-safe-%d-%d", os.Getpid(), time.Now().UnixNano())
			disk := filepath.Join(data, name)
			onDisk(t, disk, map[string]string{
				"file.txt":             "a file",
				"dir/sub/x":            "x",
				"dir/.hidden":          "h",
				"gone/.hidden":         "h",
				"gone/seen":            "s",
				"empty/":               "",
				"withlocked/ok.txt":    "ok",
				"withlocked/extra.txt": "extra",
				"withlocked/locked/l":  "unreadable",
			}, "withlocked/locked")
			url := func(p string) string {
				return "ftp://" + env["FTP_USER"] + ":" + env["FTP_PASS"] + "@" + addr + "/" + name + "/" + p
			}
			local := func(t *testing.T) string {
				dir := filepath.Join(t.TempDir(), "local")
				writeTree(t, dir, map[string][]byte{"keep.txt": []byte("the only copy"), "locked/precious": []byte("mine")})
				return dir
			}
			exists := func(p string) bool {
				_, err := os.Lstat(filepath.Join(disk, filepath.FromSlash(p)))
				return err == nil
			}
			tests := []struct {
				name   string
				args   func(dir string) []string
				code   int
				stderr string
			}{
				{"mirror --delete of a mistyped folder", func(dir string) []string {
					return []string{"mirror", "--delete", url("mistyped"), dir}
				}, exitNotFound, "does not exist"},
				{"mirror --delete of a file", func(dir string) []string {
					return []string{"mirror", "--delete", url("file.txt"), dir}
				}, exitFailed, "not a directory"},
				{"mirror --delete of a folder holding an unreadable one", func(dir string) []string {
					return []string{"mirror", "--delete", url("withlocked"), dir}
				}, exitFailed, "deletion refused"},
				{"mirror --delete of an empty folder", func(dir string) []string {
					return []string{"mirror", "--delete", url("empty"), dir}
				}, exitFailed, "--allow-empty-source"},
				{"mirror --reverse --delete of a mistyped folder", func(dir string) []string {
					return []string{"mirror", "--reverse", "--delete", filepath.Join(dir, "mistyped"), url("withlocked")}
				}, exitNotFound, ""},
				{"mirror --reverse --delete to a folder holding an unreadable one", func(dir string) []string {
					return []string{"mirror", "--reverse", "--delete", dir, url("withlocked")}
				}, exitFailed, "deletion refused"},
				{"ls of a missing folder", func(string) []string { return []string{"ls", url("mistyped")} }, exitNotFound, ""},
				{"ls of a file", func(string) []string { return []string{"ls", url("file.txt")} }, exitOK, ""},
				{"ls of an empty folder", func(string) []string { return []string{"ls", url("empty")} }, exitOK, ""},
				{"rm of a folder", func(string) []string { return []string{"rm", url("dir")} }, exitFailed, "is a directory"},
				{"rm of a missing file", func(string) []string { return []string{"rm", url("mistyped")} }, exitNotFound, ""},
				{"rm -r of a missing folder", func(string) []string { return []string{"rm", "-r", url("mistyped")} }, exitNotFound, ""},
				{"mkdir in a missing folder", func(string) []string { return []string{"mkdir", url("mistyped/new")} }, exitNotFound, ""},
				{"get of a missing file", func(dir string) []string {
					return []string{"get", url("mistyped"), filepath.Join(dir, "x")}
				}, exitNotFound, ""},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					dir := local(t)
					r := ftpsync(t, nil, tt.args(dir)...)
					t.Logf("exit %d: %s", r.code, strings.TrimSpace(r.stderr))
					assert.Equal(t, tt.code, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
					assert.Contains(t, r.stderr, tt.stderr)
					assert.Equal(t, map[string]string{"keep.txt": "the only copy", "locked/precious": "mine"},
						withoutCopies(localFiles(t, dir)), "the local folder is kept")
					for _, p := range []string{"file.txt", "dir/sub/x", "withlocked/extra.txt", "withlocked/ok.txt", "empty"} {
						assert.True(t, exists(p), "%s is kept on the server", p)
					}
				})
			}
			// A folder whose listing hides a dot file (vsftpd's LIST): rm -r
			// succeeds only if the folder is gone.
			t.Run("rm -r of a folder holding a dot file", func(t *testing.T) {
				r := ftpsync(t, nil, "rm", "-r", url("gone"))
				t.Logf("exit %d: %s", r.code, strings.TrimSpace(r.stderr))
				if exists("gone") {
					assert.Equal(t, exitFailed, r.code, "the folder is still there: %s", r.stderr)
				} else {
					assert.Equal(t, exitOK, r.code, r.stderr)
				}
			})
		})
	}
}

// withoutCopies drops what a mirror copied from the server (its files are
// not the local ones the test checks).
func withoutCopies(files map[string]string) map[string]string {
	for _, n := range []string{"ok.txt", "extra.txt", "file.txt"} {
		delete(files, n)
	}
	return files
}
