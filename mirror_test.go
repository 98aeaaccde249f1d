package ftp

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mirrorTree is a tree with nested folders, empty files, names with spaces
// and non-ASCII names; a nil value is an empty directory.
func mirrorTree(t *testing.T) map[string][]byte {
	return map[string][]byte{
		"a.txt":                     []byte("alpha\n"),
		"empty":                     {},
		"dir one/b.bin":             randomBytes(t, 70_000),
		"dir one/nested/deep/c.txt": []byte("deep"),
		"dir one/nested/empty file": {},
		"ünïcødé/файл.txt":          []byte("привет"),
		"ünïcødé/日本 語.dat":          randomBytes(t, 3000),
		"empty dir/":                nil,
	}
}

func writeLocalTree(t *testing.T, root string, tree map[string][]byte) {
	t.Helper()
	for name, data := range tree {
		p := filepath.Join(root, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			require.NoError(t, os.MkdirAll(p, 0o755))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, data, 0o644))
	}
}

func writeRemoteTree(srv *ftptest.Server, root string, tree map[string][]byte) {
	for name, data := range tree {
		if strings.HasSuffix(name, "/") {
			srv.MkdirAll(path.Join(root, name))
			continue
		}
		srv.WriteFile(path.Join(root, name), data)
	}
}

// checkLocalTree checks that root holds exactly tree.
func checkLocalTree(t *testing.T, root string, tree map[string][]byte) {
	t.Helper()
	got := map[string][]byte{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if entries, _ := os.ReadDir(p); len(entries) == 0 && rel != "." {
				got[rel+"/"] = nil
			}
			return nil
		}
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		got[rel] = data
		return nil
	}))
	require.Equal(t, normalise(tree), normalise(got))
}

// checkRemoteTree checks that the files of tree are on srv under root,
// byte for byte, and that the empty directories exist.
func checkRemoteTree(t *testing.T, srv *ftptest.Server, root string, tree map[string][]byte) {
	t.Helper()
	for name, want := range tree {
		p := path.Join(root, name)
		if strings.HasSuffix(name, "/") {
			fi, err := srv.Stat(p)
			require.NoError(t, err, name)
			assert.True(t, fi.IsDir())
			continue
		}
		got, err := srv.ReadFile(p)
		require.NoError(t, err, name)
		require.Equal(t, len(want), len(got), name)
		require.Equal(t, string(want), string(got), name)
	}
}

// mirrorSides puts tree on the source side of a mirror in direction dir:
// under remoteSrc on srv (down) or in a new local folder (up). It returns
// the Mirror's source and destination and the local folder.
func mirrorSides(t *testing.T, srv *ftptest.Server, dir MirrorDirection, tree map[string][]byte, remoteSrc, remoteDst string) (src, dst, local string) {
	t.Helper()
	local = filepath.Join(t.TempDir(), "l")
	if dir == MirrorUp {
		writeLocalTree(t, local, tree)
		return local, remoteDst, local
	}
	writeRemoteTree(srv, remoteSrc, tree)
	return remoteSrc, local, local
}

func normalise(tree map[string][]byte) map[string]string {
	out := map[string]string{}
	for k, v := range tree {
		out[k] = string(v)
	}
	return out
}

func countVerb(srv *ftptest.Server, verb string) int {
	n := 0
	for _, c := range srv.Commands() {
		if strings.HasPrefix(c, verb+" ") {
			n++
		}
	}
	return n
}

func fileCount(tree map[string][]byte) int {
	n := 0
	for name := range tree {
		if !strings.HasSuffix(name, "/") {
			n++
		}
	}
	return n
}

func TestMirrorDownAndUp(t *testing.T) {
	tests := []struct {
		name   string
		dir    MirrorDirection
		server []ftptest.ServerOption
	}{
		{"down", MirrorDown, nil},
		{"up", MirrorUp, nil},
		{"down with LIST", MirrorDown, []ftptest.ServerOption{ftptest.WithoutMLSD()}},
		{"up with hashes", MirrorUp, []ftptest.ServerOption{ftptest.WithHash()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.server...)
			tree := mirrorTree(t)
			src, dst, local := mirrorSides(t, srv, tt.dir, tree, "/pub/tree", "/backup/tree")
			p := newTestPool(t, srv, 4)
			ctx := context.Background()
			sum, err := Mirror(ctx, p, src, dst, MirrorOptions{Direction: tt.dir})
			require.NoError(t, err)
			assert.Equal(t, fileCount(tree), sum.Files)
			assert.Equal(t, 0, sum.Failed)
			if tt.dir == MirrorUp {
				checkRemoteTree(t, srv, dst, tree)
			} else {
				checkLocalTree(t, local, tree)
			}

			before := countVerb(srv, "RETR") + countVerb(srv, "STOR") + countVerb(srv, "APPE")
			sum, err = Mirror(ctx, p, src, dst, MirrorOptions{Direction: tt.dir})
			require.NoError(t, err)
			assert.Equal(t, 0, sum.Files, "second run: %+v", sum.Plan)
			assert.Equal(t, fileCount(tree), sum.Skipped)
			assert.Empty(t, sum.Plan)
			after := countVerb(srv, "RETR") + countVerb(srv, "STOR") + countVerb(srv, "APPE")
			assert.Equal(t, before, after, "nothing transferred the second time")
		})
	}
}

func TestMirrorDetectsChanges(t *testing.T) {
	srv := newServer(t)
	tree := mirrorTree(t)
	local := t.TempDir()
	writeLocalTree(t, local, tree)
	p := newTestPool(t, srv, 2)
	ctx := context.Background()
	_, err := Mirror(ctx, p, local, "/b", MirrorOptions{Direction: MirrorUp})
	require.NoError(t, err)

	// Same size, newer: copied. Other size: copied.
	future := time.Now().Add(time.Hour)
	require.NoError(t, os.WriteFile(filepath.Join(local, "a.txt"), []byte("ALPHA\n"), 0o644))
	require.NoError(t, os.Chtimes(filepath.Join(local, "a.txt"), future, future))
	require.NoError(t, os.WriteFile(filepath.Join(local, "empty"), []byte("now full"), 0o644))
	sum, err := Mirror(ctx, p, local, "/b", MirrorOptions{Direction: MirrorUp})
	require.NoError(t, err)
	assert.Equal(t, 2, sum.Files)
	reasons := map[string]string{}
	for _, a := range sum.Plan {
		reasons[a.Path] = a.Reason
	}
	assert.Equal(t, map[string]string{"a.txt": "newer", "empty": "size"}, reasons)
	got, err := srv.ReadFile("/b/a.txt")
	require.NoError(t, err)
	assert.Equal(t, "ALPHA\n", string(got))
}

func TestMirrorChecksum(t *testing.T) {
	srv := newServer(t, ftptest.WithHash())
	srv.WriteFile("/r/f", []byte("remote"))
	local := t.TempDir()
	// Same size, local newer, other contents: only a checksum tells.
	require.NoError(t, os.WriteFile(filepath.Join(local, "f"), []byte("locaL!"), 0o644))
	p := newTestPool(t, srv, 1)
	sum, err := Mirror(context.Background(), p, "/r", local, MirrorOptions{DryRun: true})
	require.NoError(t, err)
	assert.Empty(t, sum.Plan, "by time the local copy looks up to date")
	sum, err = Mirror(context.Background(), p, "/r", local, MirrorOptions{Checksum: true})
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Files)
	got, err := os.ReadFile(filepath.Join(local, "f"))
	require.NoError(t, err)
	assert.Equal(t, "remote", string(got))
}

func TestMirrorDeleteExtras(t *testing.T) {
	extras := map[string][]byte{
		"extra.txt":          []byte("x"),
		"dir one/x":          []byte("x"),
		"gone/dir/f":         []byte("x"),
		"dir one/keep.log":   []byte("excluded, kept"),
		"dir one/nested/y ü": []byte("x"),
	}
	for _, dir := range []MirrorDirection{MirrorDown, MirrorUp} {
		t.Run(dir.String(), func(t *testing.T) {
			srv := newServer(t)
			tree := mirrorTree(t)
			local := t.TempDir()
			src, dst := "/src", local
			if dir == MirrorUp {
				writeLocalTree(t, local, tree)
				writeRemoteTree(srv, "/dst", tree)
				writeRemoteTree(srv, "/dst", extras)
				src, dst = local, "/dst"
			} else {
				writeRemoteTree(srv, "/src", tree)
				writeLocalTree(t, local, tree)
				writeLocalTree(t, local, extras)
			}
			p := newTestPool(t, srv, 3)
			opts := MirrorOptions{Direction: dir, Delete: true, Exclude: []string{"*.log"}}
			dry := opts
			dry.DryRun = true
			plan, err := Mirror(context.Background(), p, src, dst, dry)
			require.NoError(t, err)
			var deletes []string
			for _, a := range plan.Plan {
				if a.Op == OpDelete {
					deletes = append(deletes, a.Path)
				}
			}
			assert.Equal(t, []string{"dir one/nested/y ü", "dir one/x", "extra.txt", "gone"}, deletes)

			sum, err := Mirror(context.Background(), p, src, dst, opts)
			require.NoError(t, err)
			assert.Equal(t, 4, sum.Deleted)
			want := mirrorTree(t)
			for k, v := range tree {
				want[k] = v
			}
			want["dir one/keep.log"] = []byte("excluded, kept")
			if dir == MirrorUp {
				checkRemoteTree(t, srv, "/dst", want)
				for _, gone := range []string{"/dst/extra.txt", "/dst/dir one/x", "/dst/gone", "/dst/dir one/nested/y ü"} {
					_, err := srv.Stat(gone)
					require.ErrorIs(t, err, fs.ErrNotExist, gone)
				}
			} else {
				checkLocalTree(t, local, want)
			}
		})
	}
}

func TestMirrorDryRunAndExclude(t *testing.T) {
	srv := newServer(t)
	tree := mirrorTree(t)
	writeRemoteTree(srv, "/src", tree)
	local := filepath.Join(t.TempDir(), "out")
	p := newTestPool(t, srv, 2)
	ctx := context.Background()
	opts := MirrorOptions{Exclude: []string{"*.bin", "ünïcødé"}, DryRun: true}
	sum, err := Mirror(ctx, p, "/src", local, opts)
	require.NoError(t, err)
	var copies []string
	for _, a := range sum.Plan {
		if a.Op == OpCopy {
			copies = append(copies, a.Path)
		}
	}
	assert.Equal(t, []string{"a.txt", "dir one/nested/deep/c.txt", "dir one/nested/empty file", "empty"}, copies)
	assert.NoDirExists(t, local, "a dry run changes nothing")
	assert.Zero(t, countVerb(srv, "RETR"))

	opts.DryRun = false
	sum, err = Mirror(ctx, p, "/src", local, opts)
	require.NoError(t, err)
	assert.Equal(t, 4, sum.Files)
	assert.NoFileExists(t, filepath.Join(local, "dir one", "b.bin"))
	assert.NoDirExists(t, filepath.Join(local, "ünïcødé"))

	_, err = Mirror(ctx, p, "/src", local, MirrorOptions{Exclude: []string{"[x"}})
	require.Error(t, err)
}

func TestMirrorInterruptedThenFinished(t *testing.T) {
	for _, dir := range []MirrorDirection{MirrorDown, MirrorUp} {
		t.Run(dir.String(), func(t *testing.T) {
			srv := newServer(t)
			tree := map[string][]byte{}
			// More files than the batches of 3 connections hold (Mirror up
			// renames up to 16 a connection in one flight), so that the
			// cancellation finds some not begun.
			for i := range 90 {
				tree[path.Join(fmt.Sprintf("d%d", i%3), fmt.Sprintf("f%02d.bin", i))] = randomBytes(t, 20_000+i)
			}
			src, dst, local := mirrorSides(t, srv, dir, tree, "/src", "/dst")
			p := newTestPool(t, srv, 3)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var mu sync.Mutex
			done := map[string]bool{}
			_, err := Mirror(ctx, p, src, dst, MirrorOptions{Direction: dir, Parallel: 3, OnAction: func(a MirrorAction, err error) {
				mu.Lock()
				defer mu.Unlock()
				if err == nil && a.Op == OpCopy {
					done[a.Path] = true
					if len(done) == 5 {
						cancel()
					}
				}
			}})
			require.ErrorIs(t, err, context.Canceled)
			mu.Lock()
			first := len(done)
			mu.Unlock()
			require.GreaterOrEqual(t, first, 5)
			require.Less(t, first, len(tree))

			sum, err := Mirror(context.Background(), p, src, dst, MirrorOptions{Direction: dir, Parallel: 3})
			require.NoError(t, err)
			for _, a := range sum.Plan {
				assert.False(t, done[a.Path], "%s was complete and is sent again", a.Path)
			}
			assert.LessOrEqual(t, sum.Files+first, len(tree))
			if dir == MirrorUp {
				checkRemoteTree(t, srv, "/dst", tree)
			} else {
				checkLocalTree(t, local, tree)
			}
		})
	}
}

func TestMirrorServerCappedAt2Parallel8(t *testing.T) {
	srv := newServer(t, ftptest.WithMaxConnections(2))
	tree := map[string][]byte{}
	for i := range 24 {
		tree["dir/"+string(rune('a'+i))+" file"] = randomBytes(t, 5000+i)
	}
	local := t.TempDir()
	writeLocalTree(t, local, tree)
	p := newTestPool(t, srv, 8)
	sum, err := Mirror(context.Background(), p, local, "/up", MirrorOptions{Direction: MirrorUp, Parallel: 8})
	require.NoError(t, err)
	assert.Equal(t, len(tree), sum.Files)
	checkRemoteTree(t, srv, "/up", tree)
	assert.LessOrEqual(t, p.Stats().Limit, 2)
}

// TestMirrorAsksOnlyWhatListingsLack checks the commands Mirror sends per
// copied file: the listings already gave sizes (and, from MLSD, times), so
// a download sends no SIZE and asks MDTM only when the time came from LIST;
// an upload asks SIZE once, after the data, to check it.
func TestMirrorAsksOnlyWhatListingsLack(t *testing.T) {
	tests := []struct {
		name   string
		dir    MirrorDirection
		server []ftptest.ServerOption
		want   map[string]int // commands per copied file
	}{
		{"down MLSD", MirrorDown, nil, map[string]int{"RETR": 1, "SIZE": 0, "MDTM": 0, "MLST": 0}},
		{"down LIST", MirrorDown, []ftptest.ServerOption{ftptest.WithoutMLSD()}, map[string]int{"RETR": 1, "SIZE": 0, "MDTM": 1}},
		{"up", MirrorUp, nil, map[string]int{"STOR": 1, "SIZE": 1, "MFMT": 1, "RNFR": 1, "RNTO": 1, "REST": 0, "APPE": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.server...)
			tree := map[string][]byte{}
			for i := range 12 {
				tree[path.Join("d"+string(rune('a'+i%2)), "f"+string(rune('a'+i)))] = randomBytes(t, 1000+i)
			}
			src, dst, local := mirrorSides(t, srv, tt.dir, tree, "/src", "/dst")
			p := newTestPool(t, srv, 3)
			sum, err := Mirror(context.Background(), p, src, dst, MirrorOptions{Direction: tt.dir})
			require.NoError(t, err)
			require.Equal(t, len(tree), sum.Files)
			for verb, per := range tt.want {
				if verb == "MDTM" && per > 0 {
					// Plus one for each Conn (3) that finds the zone of
					// LIST times (findZone).
					assert.GreaterOrEqual(t, countVerb(srv, verb), per*len(tree)+1, verb)
					assert.LessOrEqual(t, countVerb(srv, verb), per*len(tree)+3, verb)
					continue
				}
				assert.Equal(t, per*len(tree), countVerb(srv, verb), verb)
			}
			for name := range tree {
				var remote string
				var localFile string
				if tt.dir == MirrorUp {
					remote, localFile = path.Join("/dst", name), filepath.Join(local, name)
				} else {
					remote, localFile = path.Join("/src", name), filepath.Join(local, name)
				}
				rfi, err := srv.Stat(remote)
				require.NoError(t, err)
				lfi, err := os.Stat(localFile)
				require.NoError(t, err)
				assert.Equal(t, lfi.ModTime().Unix(), rfi.ModTime().Unix(), "%s: times kept to the second", name)
			}
		})
	}
}

// TestMirrorResumesParts checks that a part left by an interrupted
// transfer is resumed from its size, on either side.
func TestMirrorResumesParts(t *testing.T) {
	for _, dir := range []MirrorDirection{MirrorDown, MirrorUp} {
		t.Run(dir.String(), func(t *testing.T) {
			srv := newServer(t)
			data := randomBytes(t, 100_000)
			local := filepath.Join(t.TempDir(), "l")
			require.NoError(t, os.MkdirAll(local, 0o755))
			src, dst := "/src", local
			// What an interrupted transfer leaves: the part and the record
			// of the file it came from.
			if dir == MirrorUp {
				require.NoError(t, os.WriteFile(filepath.Join(local, "big"), data, 0o644))
				lowerMinResumable(t, 1)
				plantRemotePart(t, srv, "/dst/big", filepath.Join(local, "big"), data, 30_000, true)
				src, dst = local, "/dst"
			} else {
				mod := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
				srv.WriteFile("/src/big", data)
				require.NoError(t, srv.SetModTime("/src/big", mod))
				require.NoError(t, os.WriteFile(filepath.Join(local, ".big.part"), data[:30_000], 0o644))
				r := partRecord{Version: recordVersion, Source: dialTest(t, srv).serverName() + " /src/big", Size: int64(len(data)), ModTime: mod}
				require.NoError(t, os.WriteFile(filepath.Join(local, ".big.part.meta"), r.encode(), 0o644))
			}
			p := newTestPool(t, srv, 2)
			sum, err := Mirror(context.Background(), p, src, dst, MirrorOptions{Direction: dir})
			require.NoError(t, err)
			assert.Equal(t, 1, sum.Files)
			assert.Equal(t, 1, countVerb(srv, "REST"))
			assert.Contains(t, srv.Commands(), "REST 30000")
			var got []byte
			if dir == MirrorUp {
				got, err = srv.ReadFile("/dst/big")
				assert.NoFileExists(t, filepath.Join(local, ".big.part"))
			} else {
				got, err = os.ReadFile(filepath.Join(local, "big"))
				_, perr := srv.Stat("/dst/.big.part")
				assert.ErrorIs(t, perr, fs.ErrNotExist)
			}
			require.NoError(t, err)
			assert.Equal(t, data, got)
		})
	}
}

// TestTreeDepthBounded checks that Walk and Mirror stop going down an
// endlessly deep tree at maxWalkDepth, with an error that says so.
func TestTreeDepthBounded(t *testing.T) {
	old := maxWalkDepth
	maxWalkDepth = 8
	t.Cleanup(func() { maxWalkDepth = old })
	srv := newServer(t)
	deep := "/top" + strings.Repeat("/d", 20)
	srv.WriteFile(deep+"/f", []byte("x"))

	c := dialTest(t, srv)
	ctx := context.Background()
	var dirs int
	var tooDeep error
	err := c.Walk(ctx, "/top", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			tooDeep = err
			return fs.SkipDir
		}
		if d.IsDir() {
			dirs++
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 9, dirs, "root and 8 levels below it")
	require.ErrorIs(t, tooDeep, fs.ErrInvalid)
	assert.Contains(t, tooDeep.Error(), "more than 8 directories deep")
	assert.Equal(t, 8, countVerb(srv, "MLSD"), "the directory too deep is not listed")

	p := newTestPool(t, srv, 1)
	_, err = Mirror(ctx, p, "/top", t.TempDir(), MirrorOptions{})
	require.ErrorIs(t, err, fs.ErrInvalid)
	assert.Contains(t, err.Error(), "more than 8 directories deep")
}

// TestMirrorListedSizes checks downloads whose LIST size cannot be
// trusted: a rounded one ("1.3K") is checked against SIZE rather than
// failed, and a file listed without a size (an EPLF line without its s
// fact) gets its size from the server, so that the download is still
// checked. Either way SIZE is asked once.
func TestMirrorListedSizes(t *testing.T) {
	tests := []struct {
		name, line string
		size       int
	}{
		{"rounded", "-rw-r--r-- 1 u g 1.3K Jan  1  2020 f", 1300},
		{"none", "+i8388621.48594,m825718503,r,\tf", 700},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := randomBytes(t, tt.size)
			srv := newServer(t, ftptest.WithoutMLSD(), ftptest.WithListLines("/h", tt.line))
			srv.WriteFile("/h/f", data)
			local := filepath.Join(t.TempDir(), "l")
			sum, err := Mirror(context.Background(), newTestPool(t, srv, 1), "/h", local, MirrorOptions{})
			require.NoError(t, err)
			assert.Equal(t, 1, sum.Files)
			got, err := os.ReadFile(filepath.Join(local, "f"))
			require.NoError(t, err)
			assert.Equal(t, data, got)
			assert.Equal(t, 1, countVerb(srv, "SIZE"))
		})
	}
}

// TestMirrorProgressNamesFiles checks that OnProgress tells the files of a
// parallel run apart: each file's last call reports its whole size.
func TestMirrorProgressNamesFiles(t *testing.T) {
	for _, dir := range []MirrorDirection{MirrorDown, MirrorUp} {
		t.Run(map[MirrorDirection]string{MirrorDown: "down", MirrorUp: "up"}[dir], func(t *testing.T) {
			srv := newServer(t)
			tree := mirrorTree(t)
			src, dst, _ := mirrorSides(t, srv, dir, tree, "/pub/tree", "/backup/tree")
			p := newTestPool(t, srv, 4)
			var mu sync.Mutex
			last := map[string]int64{}
			_, err := Mirror(context.Background(), p, src, dst, MirrorOptions{
				Direction: dir,
				Parallel:  4,
				OnProgress: func(path string, done, total int64) {
					mu.Lock()
					defer mu.Unlock()
					last[path] = done
				},
			})
			require.NoError(t, err)
			want := map[string]int64{}
			for name, data := range tree {
				if !strings.HasSuffix(name, "/") && len(data) > 0 {
					want[name] = int64(len(data))
				}
			}
			for name, size := range want {
				assert.Equal(t, size, last[name], name)
			}
		})
	}
}
