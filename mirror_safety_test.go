package ftp

// Mirror's safety: a listing that lies, a run that fails, a destination
// holding what Mirror does not manage, or a server presenting an endless
// tree never make it delete or overwrite what it should not. ftptest plays
// vsftpd (LIST only, an empty listing for a missing path, dot files hidden,
// vague removal errors); the scripted servers of hardening_test.go play
// the endless ones.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pasvport/ftp/ftptest"
)

// vsftpdLike are the options that make ftptest answer listings and
// removals as vsftpd does.
func vsftpdLike(more ...ftptest.ServerOption) []ftptest.ServerOption {
	return append([]ftptest.ServerOption{ftptest.WithoutMLSD(), ftptest.WithEmptyListingForMissing(),
		ftptest.WithHiddenDotfiles(), ftptest.WithVagueRemoveErrors()}, more...)
}

// precious is what a destination holds before a run that must not touch it.
var precious = map[string][]byte{
	"keep.txt":          []byte("the only copy"),
	"dir/deep/data.bin": []byte("more"),
	"empty dir/":        nil,
}

// remoteHas checks that srv holds tree under root.
func remoteHas(t *testing.T, srv *ftptest.Server, root string, tree map[string][]byte) {
	t.Helper()
	checkRemoteTree(t, srv, root, tree)
}

// TestMirrorSourceNotADirectory: a source that is missing, or names a
// file, on a server that lists both as if they were folders (vsftpd), is
// an error (fs.ErrNotExist, ErrNotDir), and the destination is left as it
// was, in both directions.
func TestMirrorSourceNotADirectory(t *testing.T) {
	tests := []struct {
		name    string
		dir     MirrorDirection
		src     string // remote (down); up: a local path below the temp dir
		server  []ftptest.ServerOption
		wantErr error
	}{
		{"down: missing, vsftpd", MirrorDown, "/pub/mistyped", vsftpdLike(), fs.ErrNotExist},
		{"down: missing, MLSD", MirrorDown, "/pub/mistyped", nil, fs.ErrNotExist},
		{"down: a file, vsftpd", MirrorDown, "/pub/file.txt", vsftpdLike(), ErrNotDir},
		{"down: a file, LIST with 550 for missing", MirrorDown, "/pub/file.txt", []ftptest.ServerOption{ftptest.WithoutMLSD()}, ErrNotDir},
		{"up: missing", MirrorUp, "mistyped", vsftpdLike(), fs.ErrNotExist},
		{"up: a file", MirrorUp, "file.txt", vsftpdLike(), ErrNotDir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.server...)
			srv.WriteFile("/pub/file.txt", []byte("a file"))
			base := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(base, "file.txt"), []byte("a file"), 0o644))
			local := filepath.Join(base, "dst")
			writeLocalTree(t, local, precious)
			writeRemoteTree(srv, "/dst", precious)
			src, dst := tt.src, local
			if tt.dir == MirrorUp {
				src, dst = filepath.Join(base, tt.src), "/dst"
			}
			sum, err := Mirror(context.Background(), newTestPool(t, srv, 2), src, dst, MirrorOptions{Direction: tt.dir, Delete: true})
			require.ErrorIs(t, err, tt.wantErr)
			assert.Zero(t, sum.Deleted)
			assert.Zero(t, sum.Files)
			checkLocalTree(t, local, precious)
			remoteHas(t, srv, "/dst", precious)
		})
	}
}

// emptySource makes a source folder that holds nothing (remote for down,
// local for up) and a destination that holds precious, and returns them.
func emptySource(t *testing.T, srv *ftptest.Server, dir MirrorDirection) (src, dst, local string) {
	srv.MkdirAll("/src")
	local = filepath.Join(t.TempDir(), "l")
	writeLocalTree(t, local, precious)
	writeRemoteTree(srv, "/dst", precious)
	if dir == MirrorDown {
		return "/src", local, local
	}
	src = filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.Mkdir(src, 0o755))
	return src, "/dst", local
}

// TestMirrorEmptySourceDeletesNothing: a source that lists empty while
// the destination holds files is refused.
func TestMirrorEmptySourceDeletesNothing(t *testing.T) {
	for _, dir := range []MirrorDirection{MirrorDown, MirrorUp} {
		t.Run(dir.String(), func(t *testing.T) {
			srv := newServer(t, vsftpdLike()...)
			src, dst, local := emptySource(t, srv, dir)
			sum, err := Mirror(context.Background(), newTestPool(t, srv, 2), src, dst, MirrorOptions{Direction: dir, Delete: true})
			require.ErrorIs(t, err, ErrDeleteRefused)
			assert.Contains(t, err.Error(), "AllowEmptySource")
			assert.Zero(t, sum.Deleted)
			checkLocalTree(t, local, precious)
			remoteHas(t, srv, "/dst", precious)
		})
	}
}

// TestMirrorAllowEmptySource: AllowEmptySource lets Delete empty the
// destination.
func TestMirrorAllowEmptySource(t *testing.T) {
	for _, dir := range []MirrorDirection{MirrorDown, MirrorUp} {
		t.Run(dir.String(), func(t *testing.T) {
			srv := newServer(t, vsftpdLike()...)
			src, dst, local := emptySource(t, srv, dir)
			sum, err := Mirror(context.Background(), newTestPool(t, srv, 2), src, dst,
				MirrorOptions{Direction: dir, Delete: true, AllowEmptySource: true})
			require.NoError(t, err)
			assert.Equal(t, 3, sum.Deleted, "keep.txt, dir and empty dir")
			if dir == MirrorDown {
				checkLocalTree(t, local, map[string][]byte{})
				return
			}
			for _, gone := range []string{"/dst/keep.txt", "/dst/dir", "/dst/empty dir"} {
				_, err := srv.Stat(gone)
				require.ErrorIs(t, err, fs.ErrNotExist, gone)
			}
		})
	}
}

// TestMirrorUntrustedListingsDeleteNothing: a source folder whose listing
// cannot be trusted keeps what is below it at the destination, and a
// listing that fails keeps everything: vsftpd lists a folder it cannot
// read as a lone entry named like it, other servers as an empty folder
// they then refuse to enter, and a listing may hold lines no parser
// understands.
func TestMirrorUntrustedListingsDeleteNothing(t *testing.T) {
	local := map[string][]byte{
		"locked/precious.txt": []byte("only copy"),
		"locked/sub/x":        []byte("x"),
		"extra.txt":           []byte("extra"),
		"ok.txt":              []byte("ok"),
	}
	tests := []struct {
		name    string
		server  []ftptest.ServerOption
		failed  bool     // the run fails: nothing at all is deleted
		deleted []string // otherwise
	}{
		{"vsftpd lists an unreadable folder as itself", vsftpdLike(
			ftptest.WithListLines("/src/locked", "d---------    2 999      995          4096 Dec 06 17:48 locked"),
		), true, nil},
		{"an unreadable folder lists empty and CWD is refused", []ftptest.ServerOption{ftptest.WithoutMLSD(),
			ftptest.WithListLines("/src/locked"), ftptest.WithRawReply("CWD", "550 Permission denied.\r\n"),
		}, true, nil},
		{"a line no parser understands", []ftptest.ServerOption{ftptest.WithoutMLSD(),
			ftptest.WithListLines("/src/locked", "###  not a listing line  ###"),
		}, false, []string{"extra.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.server...)
			srv.WriteFile("/src/ok.txt", []byte("ok"))
			srv.WriteFile("/src/locked/precious.txt", []byte("only copy"))
			dst := filepath.Join(t.TempDir(), "l")
			writeLocalTree(t, dst, local)
			sum, err := Mirror(context.Background(), newTestPool(t, srv, 1), "/src", dst, MirrorOptions{Delete: true})
			want := map[string][]byte{}
			for k, v := range local {
				want[k] = v
			}
			if tt.failed {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrDeleteRefused)
				assert.NotZero(t, sum.Failed)
			} else {
				require.NoError(t, err)
				assert.Contains(t, sum.Plan, MirrorAction{Op: OpKeep, Path: "locked/precious.txt", Reason: KeepUnlisted})
				assert.Contains(t, sum.Plan, MirrorAction{Op: OpKeep, Path: "locked/sub", Dir: true, Reason: KeepUnlisted})
			}
			for _, d := range tt.deleted {
				delete(want, d)
			}
			checkLocalTree(t, dst, want)
			assert.Equal(t, len(tt.deleted), sum.Deleted)
		})
	}
}

// TestMirrorFailedRunDeletesNothing: deletions are the last step, and only
// of a run in which nothing failed: a folder renamed on the server whose
// download fails leaves the old copy at the destination.
func TestMirrorFailedRunDeletesNothing(t *testing.T) {
	srv := newServer(t, ftptest.WithRawReply("RETR", "550 Failed to open file.\r\n"))
	srv.WriteFile("/src/renamed/a.txt", []byte("a"))
	srv.WriteFile("/src/renamed/b.txt", []byte("b"))
	dst := filepath.Join(t.TempDir(), "l")
	old := map[string][]byte{"old name/a.txt": []byte("a"), "old name/b.txt": []byte("b")}
	writeLocalTree(t, dst, old)
	sum, err := Mirror(context.Background(), newTestPool(t, srv, 2), "/src", dst, MirrorOptions{Delete: true})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "deletion refused")
	assert.Equal(t, 2, sum.Failed)
	assert.Zero(t, sum.Deleted)
	for name, data := range old {
		got, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(name)))
		require.NoError(t, err, name)
		assert.Equal(t, data, got)
	}
}

// TestMirrorKeepsWhatItDoesNotManage: what an Exclude pattern matches is
// kept also inside a folder the source lacks (the folder stays, the rest of
// it goes), and so are the counterparts of symbolic links the source has,
// and dot files where the source's LIST may hide them.
func TestMirrorKeepsWhatItDoesNotManage(t *testing.T) {
	extras := map[string][]byte{
		"gone/keep.log":    []byte("excluded"),
		"gone/x":           []byte("x"),
		"gone/sub/y":       []byte("y"),
		"wholly gone/z":    []byte("z"),
		"link":             []byte("the real file"),
		"dirlink/inside":   []byte("the real folder's file"),
		"a.txt":            []byte("a"),
		".htaccess":        []byte("hidden by LIST"),
		"sub/.hidden/file": []byte("hidden by LIST"),
	}
	for _, dir := range []MirrorDirection{MirrorDown, MirrorUp} {
		t.Run(dir.String(), func(t *testing.T) {
			var srv *ftptest.Server
			src, dst := "/src", filepath.Join(t.TempDir(), "l")
			links := []string{
				"lrwxrwxrwx    1 999      995             5 Dec 06 17:48 link -> a.txt",
				"lrwxrwxrwx    1 999      995             3 Dec 06 17:48 dirlink -> sub",
			}
			if dir == MirrorUp {
				srv = newServer(t)
				src, dst = filepath.Join(t.TempDir(), "src"), "/dst"
				writeLocalTree(t, src, map[string][]byte{"a.txt": []byte("a"), "sub/": nil})
				require.NoError(t, os.Symlink("a.txt", filepath.Join(src, "link")))
				require.NoError(t, os.Symlink("sub", filepath.Join(src, "dirlink")))
				writeRemoteTree(srv, "/dst", extras)
			} else {
				// vsftpd: LIST, dot files hidden; the root's listing
				// shows the links.
				srv = newServer(t, vsftpdLike(ftptest.WithListLines("/src", append(links,
					"-rw-r--r--    1 999      995             1 Dec 06 17:48 a.txt",
					"drwxr-xr-x    2 999      995          4096 Dec 06 17:48 sub")...))...)
				srv.WriteFile("/src/a.txt", []byte("a"))
				srv.MkdirAll("/src/sub")
				srv.WriteFile("/src/.htaccess", []byte("hidden by LIST"))
				srv.WriteFile("/src/sub/.hidden/file", []byte("hidden by LIST"))
				writeLocalTree(t, dst, extras)
			}
			sum, err := Mirror(context.Background(), newTestPool(t, srv, 2), src, dst,
				MirrorOptions{Direction: dir, Delete: true, Exclude: []string{"*.log"}})
			require.NoError(t, err)
			kept := map[string][]byte{
				"gone/keep.log":  []byte("excluded"),
				"link":           []byte("the real file"),
				"dirlink/inside": []byte("the real folder's file"),
				"a.txt":          []byte("a"),
			}
			if dir == MirrorDown {
				kept[".htaccess"] = []byte("hidden by LIST")
				kept["sub/.hidden/file"] = []byte("hidden by LIST")
				checkLocalTree(t, dst, kept)
			} else {
				remoteHas(t, srv, "/dst", kept)
				for _, gone := range []string{"/dst/gone/x", "/dst/gone/sub", "/dst/wholly gone", "/dst/.htaccess", "/dst/sub/.hidden"} {
					_, err := srv.Stat(gone)
					require.ErrorIs(t, err, fs.ErrNotExist, gone)
				}
			}
			for _, k := range []string{"link", "dirlink"} {
				assert.Contains(t, sum.Plan, MirrorAction{Op: OpKeep, Path: k, Dir: k == "dirlink", Reason: KeepSkipped})
			}
			assert.Contains(t, sum.Plan, MirrorAction{Op: OpKeep, Path: "gone/keep.log", Reason: KeepExcluded})
		})
	}
}

// TestMirrorMaxDelete: over MaxDelete deletions (what is inside a folder
// counted), none are done and the run fails saying why; a dry run says so
// too.
func TestMirrorMaxDelete(t *testing.T) {
	tests := []struct {
		max     int
		refused bool
	}{
		{max: 0}, {max: 7}, {max: 6, refused: true}, {max: 1, refused: true}, {max: -1, refused: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.max), func(t *testing.T) {
			srv := newServer(t)
			srv.WriteFile("/src/a", []byte("a"))
			dst := filepath.Join(t.TempDir(), "l")
			// 7 to delete: x, and d with 5 entries below it.
			writeLocalTree(t, dst, map[string][]byte{"a": []byte("a"), "x": nil, "d/1": nil, "d/2": nil, "d/e/3": nil, "d/e/4": nil})
			p := newTestPool(t, srv, 1)
			opts := MirrorOptions{Delete: true, MaxDelete: tt.max, DryRun: true}
			_, err := Mirror(context.Background(), p, "/src", dst, opts)
			if tt.refused {
				require.ErrorIs(t, err, ErrDeleteRefused)
				want := fmt.Sprintf("7 files and directories to delete, more than MaxDelete (%d)", tt.max)
				if tt.max < 0 {
					want = "7 files and directories to delete, and MaxDelete allows none"
				}
				assert.Contains(t, err.Error(), want)
			} else {
				require.NoError(t, err)
			}
			opts.DryRun = false
			sum, err := Mirror(context.Background(), p, "/src", dst, opts)
			if tt.refused {
				require.ErrorIs(t, err, ErrDeleteRefused)
				assert.Zero(t, sum.Deleted)
				assert.FileExists(t, filepath.Join(dst, "x"))
				assert.FileExists(t, filepath.Join(dst, "d", "e", "4"))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, 2, sum.Deleted)
			checkLocalTree(t, dst, map[string][]byte{"a": []byte("a")})
		})
	}
}

// TestMirrorDoesNotWriteThroughSymlinks: a symbolic link in the local
// destination, to a folder or a file outside it, is an error where the
// source has a folder or file, never written through; the rest is copied.
func TestMirrorDoesNotWriteThroughSymlinks(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("/src/sub/f", []byte("from the server"))
	srv.WriteFile("/src/g", []byte("from the server"))
	srv.WriteFile("/src/ok", []byte("ok"))
	outside := t.TempDir()
	target := filepath.Join(outside, "target")
	require.NoError(t, os.WriteFile(target, []byte("not yours"), 0o600))
	dst := filepath.Join(t.TempDir(), "l")
	require.NoError(t, os.Mkdir(dst, 0o755))
	require.NoError(t, os.Symlink(outside, filepath.Join(dst, "sub")))
	require.NoError(t, os.Symlink(target, filepath.Join(dst, "g")))

	sum, err := Mirror(context.Background(), newTestPool(t, srv, 2), "/src", dst, MirrorOptions{Delete: true})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sub: the destination has a symbolic link")
	assert.Contains(t, err.Error(), "g: the destination has a symbolic link")
	assert.Equal(t, 2, sum.Failed)
	assert.Equal(t, 1, sum.Files)
	assert.NoFileExists(t, filepath.Join(outside, "f"))
	assert.NoFileExists(t, filepath.Join(outside, ".f.part"))
	got, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, "not yours", string(got))
	for _, l := range []string{"sub", "g"} {
		fi, err := os.Lstat(filepath.Join(dst, l))
		require.NoError(t, err)
		assert.NotZero(t, fi.Mode()&fs.ModeSymlink, "%s is still the link", l)
	}
}

// TestMirrorLinkAppearingBeforeCopy: a folder of the destination replaced
// by a symbolic link after the listing is found before the download
// writes through it.
func TestMirrorLinkAppearingBeforeCopy(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("/src/sub/f", []byte("from the server"))
	outside := t.TempDir()
	dst := filepath.Join(t.TempDir(), "l")
	require.NoError(t, os.MkdirAll(filepath.Join(dst, "sub"), 0o755))
	// The plan is made with sub a folder; then sub becomes a link.
	opts := MirrorOptions{DryRun: true}
	p := newTestPool(t, srv, 1)
	sum, err := Mirror(context.Background(), p, "/src", dst, opts)
	require.NoError(t, err)
	require.Equal(t, []MirrorAction{{Op: OpCopy, Path: "sub/f", Size: 15, Reason: "missing"}}, sum.Plan)
	m := &mirror{pool: p, opts: MirrorOptions{}, lim: WalkLimits{}.withDefaults(), src: "/src", dst: dst, parts: map[string]int64{}}
	defer m.close()
	m.srcTree, err = m.scanSource(context.Background())
	require.NoError(t, err)
	m.dstTree, err = m.scanDest(context.Background())
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(dst, "sub")))
	require.NoError(t, os.Symlink(outside, filepath.Join(dst, "sub")))
	err = m.copy(context.Background(), "sub/f")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "symbolic link")
	assert.NoFileExists(t, filepath.Join(outside, "f"))
	assert.NoFileExists(t, filepath.Join(outside, ".f.part"))
}

// endlessTree answers as a server whose every folder lists what lines
// returns for it (written by write, which may trickle), for ever: LIST
// only, every CWD accepted, every SIZE refused.
func endlessTree(write func(data net.Conn)) func(s *rawConn) {
	return func(s *rawConn) {
		s.login()
		var ln net.Listener
		for range 100_000 {
			l := s.line()
			if l == "" {
				return
			}
			verb, _, _ := strings.Cut(l, " ")
			switch strings.ToUpper(verb) {
			case "EPSV":
				var err error
				if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
					s.send("425 No listener\r\n")
					continue
				}
				s.srv.track(ln)
				s.send(fmt.Sprintf("229 Entering Extended Passive Mode (|||%d|)\r\n", ln.Addr().(*net.TCPAddr).Port))
			case "LIST":
				s.send("150 Here comes the directory listing.\r\n")
				data, err := ln.Accept()
				ln.Close()
				if err != nil {
					return
				}
				s.srv.track(data)
				write(data)
				data.Close()
				s.send("226 Directory send OK.\r\n")
			case "PWD":
				s.send("257 \"/\" is the current directory\r\n")
			case "CWD":
				s.send("250 Directory successfully changed.\r\n")
			case "SIZE":
				s.send("550 Could not get file size.\r\n")
			case "NOOP":
				s.send("200 NOOP ok.\r\n")
			case "ABOR":
				s.send("225 No transfer to ABOR.\r\n")
			case "QUIT":
				s.send("221 Goodbye.\r\n")
				return
			default:
				s.send("502 Not in this script\r\n")
			}
		}
	}
}

// twoFolders lists two subfolders, wherever it is asked.
func twoFolders(data net.Conn) {
	fmt.Fprint(data, "drwxr-xr-x 2 u g 4096 Jan 01  2020 a\r\ndrwxr-xr-x 2 u g 4096 Jan 01  2020 b\r\n")
}

// trickle sends a listing a byte at a time, every 20 ms, until the client
// goes.
func trickle(data net.Conn) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for range 100_000 {
		if _, err := data.Write([]byte("d")); err != nil {
			return
		}
		<-tick.C // pacing, not synchronisation
	}
}

func rawPool(t *testing.T, srv *rawServer) *Pool {
	t.Helper()
	p, err := NewPool("ftp://user:pass@"+srv.addr()+"/", 1, WithTimeout(5*time.Second), WithRetry(1, 0, 0))
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

// TestEndlessTreesBounded: a server whose every folder lists two folders
// makes Walk and Mirror stop at MaxDirs, and one whose listing trickles a
// byte at a time, each well within the Conn's timeout, at ListTimeout.
func TestEndlessTreesBounded(t *testing.T) {
	tests := []struct {
		name  string
		write func(net.Conn)
		lim   WalkLimits
		want  string
	}{
		{"wide", twoFolders, WalkLimits{MaxDirs: 40}, "more than 40 directories"},
		{"entries", twoFolders, WalkLimits{MaxEntries: 50}, "more than 50 entries"},
		{"trickle", trickle, WalkLimits{ListTimeout: 300 * time.Millisecond}, "took longer than 300ms"},
	}
	for _, tt := range tests {
		for _, via := range []string{"Walk", "Mirror"} {
			t.Run(tt.name+"/"+via, func(t *testing.T) {
				srv := newRawServer(t, endlessTree(tt.write))
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				start := time.Now()
				var err error
				if via == "Walk" {
					c := dialRaw(t, srv, 5*time.Second)
					err = c.WalkLimited(ctx, "/top", tt.lim, func(string, fs.DirEntry, error) error { return nil })
				} else {
					_, err = Mirror(ctx, rawPool(t, srv), "/top", t.TempDir(), MirrorOptions{Limits: tt.lim, Delete: true})
				}
				require.ErrorIs(t, err, ErrTreeLimit)
				assert.Contains(t, err.Error(), tt.want)
				assert.NoError(t, ctx.Err(), "the limit ended it, not the context")
				assert.Less(t, time.Since(start), 5*time.Second)
			})
		}
	}
}

// TestFSDepthBounded: fs.WalkDir over FS, which recurses, stops at the
// depth Walk stops at.
func TestFSDepthBounded(t *testing.T) {
	old := maxWalkDepth
	maxWalkDepth = 8
	t.Cleanup(func() { maxWalkDepth = old })
	srv := newServer(t)
	srv.WriteFile("/top"+strings.Repeat("/d", 20)+"/f", []byte("x"))
	c := dialTest(t, srv)
	require.NoError(t, c.ChangeDir(context.Background(), "/top"))
	deepest := 0
	err := fs.WalkDir(c.FS(context.Background()), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		deepest = max(deepest, strings.Count(p, "/")+1)
		return nil
	})
	require.ErrorIs(t, err, ErrTreeLimit)
	assert.Contains(t, err.Error(), "more than 8 directories deep")
	assert.Equal(t, 8, deepest)
}

// TestWalkLimitsDefaults: the defaults are far beyond real trees.
func TestWalkLimitsDefaults(t *testing.T) {
	l := WalkLimits{}.withDefaults()
	assert.Equal(t, WalkLimits{MaxDepth: 512, MaxDirs: 1_000_000, MaxEntries: 10_000_000, ListTimeout: 10 * time.Minute}, l)
	assert.Equal(t, WalkLimits{MaxDepth: 3, MaxDirs: 4, MaxEntries: 5, ListTimeout: time.Second},
		WalkLimits{MaxDepth: 3, MaxDirs: 4, MaxEntries: 5, ListTimeout: time.Second}.withDefaults())
	assert.True(t, errors.Is(errTooDeep("x", 3), fs.ErrInvalid))
}

// unreadableFS is a MapFS whose folder dir cannot be read.
type unreadableFS struct {
	fstest.MapFS
	dir string
}

func (u unreadableFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if name == u.dir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrPermission}
	}
	return u.MapFS.ReadDir(name)
}

// TestMirrorUnreadableLocalSource: a local source folder that cannot be
// read (as root, chmod cannot make one) fails the run and keeps what is
// below it at the destination, and every other deletion; without the
// failure the same plan deletes.
func TestMirrorUnreadableLocalSource(t *testing.T) {
	for _, unreadable := range []bool{true, false} {
		t.Run(fmt.Sprint("unreadable=", unreadable), func(t *testing.T) {
			srv := newServer(t)
			srv.WriteFile("/dst/locked/precious.txt", []byte("only copy"))
			srv.WriteFile("/dst/extra.txt", []byte("extra"))
			fsys := unreadableFS{MapFS: fstest.MapFS{"locked": {Mode: fs.ModeDir | 0o755}}}
			if unreadable {
				fsys.dir = "locked"
			}
			ctx := context.Background()
			opts := MirrorOptions{Direction: MirrorUp, Delete: true}
			m := &mirror{pool: newTestPool(t, srv, 1), opts: opts, lim: WalkLimits{}.withDefaults(), src: "src", dst: "/dst", parts: map[string]int64{}}
			m.srcTree = newSide()
			require.NoError(t, m.scanLocal(fsys, "src", m.srcTree, true))
			var err error
			m.dstTree, err = m.scanDest(ctx)
			require.NoError(t, err)
			var sum MirrorSummary
			m.plan(ctx, &sum)
			sum, err = m.run(ctx, sum)
			if !unreadable {
				require.NoError(t, err)
				assert.Equal(t, 2, sum.Deleted)
				return
			}
			require.ErrorIs(t, err, ErrDeleteRefused)
			require.ErrorIs(t, err, fs.ErrPermission)
			assert.Equal(t, 1, sum.Failed)
			assert.Zero(t, sum.Deleted)
			assert.Contains(t, sum.Plan, MirrorAction{Op: OpKeep, Path: "locked/precious.txt", Reason: KeepUnlisted})
			remoteHas(t, srv, "/dst", map[string][]byte{"locked/precious.txt": []byte("only copy"), "extra.txt": []byte("extra")})
		})
	}
}
