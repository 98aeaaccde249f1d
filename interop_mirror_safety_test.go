//go:build interop

package ftp_test

// Mirror's safety on the real servers: a mistyped source, a source that
// names a file, a folder the server cannot read, and dot files, both ways.
// The server's trees are made on disk in its data folder (and a folder is
// made unreadable with chmod 000), so that they are what the server
// really has, whatever its listings say.

import (
	"context"
	"errors"
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

	"github.com/pasvport/ftp"
)

// diskTree makes files (slash paths; a trailing slash makes a folder) below
// root, owned by the server's user when the test runs as root, and chmods
// each folder of locked to 000. It is all removed when the test ends.
func diskTree(t *testing.T, root string, files map[string]string, locked ...string) {
	t.Helper()
	uid, gid := -1, -1
	if u, err := user.Lookup("ftpuser"); err == nil && os.Geteuid() == 0 {
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
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
		} else {
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
		}
	}
	if uid >= 0 {
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

// diskFiles reads the regular files below root, by slash path.
func diskFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	got := map[string]string{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrPermission) || os.IsPermission(err) {
				return fs.SkipDir
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		got[filepath.ToSlash(rel)] = string(b)
		return err
	}))
	return got
}

// copies counts the copies of a plan.
func copies(plan []ftp.MirrorAction) (n int) {
	for _, a := range plan {
		if a.Op == ftp.OpCopy {
			n++
		}
	}
	return n
}

func TestInteropMirrorSafety(t *testing.T) {
	env := interopEnv(t)
	for _, server := range interopServers {
		t.Run(server, func(t *testing.T) {
			key := strings.ToUpper(server)
			addr, data := env[key+"_PLAIN_ADDR"], env[key+"_PLAIN_DATA"]
			if addr == "" || data == "" {
				interopMissing(t, key+"_PLAIN_ADDR or _DATA not in servers.env: the server did not start")
			}
			name := fmt.Sprintf("msafe-%d-%d", os.Getpid(), time.Now().UnixNano())
			disk := filepath.Join(data, name)
			diskTree(t, disk, map[string]string{
				"file.txt":                "a file",
				"dots/a.txt":              "a",
				"dots/.htaccess":          "deny from all",
				"dots/sub/.hidden":        "h",
				"dots/sub/b.txt":          "b",
				"withlocked/ok.txt":       "ok",
				"withlocked/extra.txt":    "not in the local source",
				"withlocked/locked/l.txt": "unreadable",
			}, "withlocked/locked")
			p, err := ftp.NewPool("ftp://"+env["FTP_USER"]+":"+env["FTP_PASS"]+"@"+addr+"/", 2,
				ftp.WithTimeout(15*time.Second), ftp.WithRetry(2, time.Minute, 50*time.Millisecond))
			require.NoError(t, err)
			defer p.Close()
			ctx := context.Background()
			precious := map[string]string{"keep.txt": "the only copy", "locked/precious.txt": "mine", "local-extra.txt": "x"}
			local := func(t *testing.T, files map[string]string) string {
				dir := filepath.Join(t.TempDir(), "local")
				for n, d := range files {
					require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0o755))
					require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte(d), 0o644))
				}
				return dir
			}

			down := []struct {
				name    string
				src     string
				wantErr error
			}{
				{"mistyped", name + "/mistyped", fs.ErrNotExist},
				{"a file", name + "/file.txt", ftp.ErrNotDir},
				{"unreadable subfolder", name + "/withlocked", ftp.ErrDeleteRefused},
			}
			for _, tt := range down {
				t.Run("down/"+tt.name, func(t *testing.T) {
					dst := local(t, precious)
					sum, err := ftp.Mirror(ctx, p, tt.src, dst, ftp.MirrorOptions{Delete: true})
					require.ErrorIs(t, err, tt.wantErr)
					assert.Zero(t, sum.Deleted)
					got := diskFiles(t, dst)
					for n, d := range precious {
						assert.Equal(t, d, got[n], "%s is kept", n)
					}
					if tt.name == "unreadable subfolder" {
						assert.NotZero(t, sum.Failed)
						assert.Contains(t, err.Error(), "locked")
					}
				})
			}

			up := []struct {
				name    string
				src     string
				wantErr error
			}{
				{"mistyped", "mistyped", fs.ErrNotExist},
				{"a file", "keep.txt", ftp.ErrNotDir},
				{"unreadable destination subfolder", ".", ftp.ErrDeleteRefused},
			}
			for _, tt := range up {
				t.Run("up/"+tt.name, func(t *testing.T) {
					src := filepath.Join(local(t, map[string]string{"keep.txt": "k", "ok.txt": "ok"}), tt.src)
					sum, err := ftp.Mirror(ctx, p, src, name+"/withlocked", ftp.MirrorOptions{Direction: ftp.MirrorUp, Delete: true})
					require.ErrorIs(t, err, tt.wantErr)
					assert.Zero(t, sum.Deleted)
					got := diskFiles(t, filepath.Join(disk, "withlocked"))
					assert.Equal(t, "not in the local source", got["extra.txt"])
					require.NoError(t, os.Chmod(filepath.Join(disk, "withlocked/locked"), 0o755))
					_, err = os.Stat(filepath.Join(disk, "withlocked/locked/l.txt"))
					require.NoError(t, os.Chmod(filepath.Join(disk, "withlocked/locked"), 0))
					assert.NoError(t, err, "the unreadable folder's file is kept")
				})
			}

			// Dot files go both ways, and a second run copies nothing.
			// On vsftpd this needs List to use LIST -a.
			t.Run("dots/down", func(t *testing.T) {
				dst := filepath.Join(t.TempDir(), "dots")
				_, err := ftp.Mirror(ctx, p, name+"/dots", dst, ftp.MirrorOptions{Delete: true})
				require.NoError(t, err)
				assert.Equal(t, diskFiles(t, filepath.Join(disk, "dots")), diskFiles(t, dst))
				sum, err := ftp.Mirror(ctx, p, name+"/dots", dst, ftp.MirrorOptions{Delete: true})
				require.NoError(t, err)
				assert.Zero(t, copies(sum.Plan), "second run: %+v", sum.Plan)
				assert.Zero(t, sum.Deleted)
			})
			t.Run("dots/up", func(t *testing.T) {
				src := local(t, map[string]string{".htaccess": "deny", "sub/.hidden": "h", "sub/b.txt": "b", "a.txt": "a"})
				_, err := ftp.Mirror(ctx, p, src, name+"/up-dots", ftp.MirrorOptions{Direction: ftp.MirrorUp, Delete: true})
				require.NoError(t, err)
				assert.Equal(t, diskFiles(t, src), diskFiles(t, filepath.Join(disk, "up-dots")))
				sum, err := ftp.Mirror(ctx, p, src, name+"/up-dots", ftp.MirrorOptions{Direction: ftp.MirrorUp, Delete: true})
				require.NoError(t, err)
				assert.Zero(t, copies(sum.Plan), "second run: %+v", sum.Plan)
				assert.Zero(t, sum.Deleted)
			})
		})
	}
}

// TestInteropMirrorUpRemoteLink: Mirror up with Delete never empties a
// remote folder that is a symbolic link to another (pyftpdlib's MLSD lists
// such a link as a folder): the files of the link's target, outside the
// tree, stay (found by review; on the code before, precious.txt was gone).
func TestInteropMirrorUpRemoteLink(t *testing.T) {
	env := interopEnv(t)
	for _, server := range interopServers {
		t.Run(server, func(t *testing.T) {
			key := strings.ToUpper(server)
			addr, data := env[key+"_PLAIN_ADDR"], env[key+"_PLAIN_DATA"]
			if addr == "" || data == "" {
				interopMissing(t, key+"_PLAIN_ADDR or _DATA not in servers.env: the server did not start")
			}
			name := fmt.Sprintf("mlink-%d-%d", os.Getpid(), time.Now().UnixNano())
			disk := filepath.Join(data, name)
			diskTree(t, disk, map[string]string{"shared/precious.txt": "outside the tree", "site/a.txt": "a"})
			link := filepath.Join(disk, "site", "shared")
			require.NoError(t, os.Symlink("../shared", link))
			if u, err := user.Lookup("ftpuser"); err == nil && os.Geteuid() == 0 {
				uid, _ := strconv.Atoi(u.Uid)
				gid, _ := strconv.Atoi(u.Gid)
				require.NoError(t, os.Lchown(link, uid, gid))
			}
			local := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(local, "a.txt"), []byte("a"), 0o644))
			p, err := ftp.NewPool("ftp://"+env["FTP_USER"]+":"+env["FTP_PASS"]+"@"+addr+"/", 2,
				ftp.WithTimeout(15*time.Second), ftp.WithRetry(2, time.Minute, 50*time.Millisecond))
			require.NoError(t, err)
			defer p.Close()
			sum, err := ftp.Mirror(context.Background(), p, local, name+"/site", ftp.MirrorOptions{Direction: ftp.MirrorUp, Delete: true})
			t.Logf("summary %+v, err %v", sum, err)
			got, rerr := os.ReadFile(filepath.Join(disk, "shared", "precious.txt"))
			require.NoError(t, rerr, "the link's target keeps its files")
			assert.Equal(t, "outside the tree", string(got))
			_, lerr := os.Lstat(link)
			assert.NoError(t, lerr, "the link is kept")
		})
	}
}
