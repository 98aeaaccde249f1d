package ftp

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// minimalServer has no FEAT and lacks SIZE, MDTM, MFMT, MLSD, NLST and
// NOOP: only LIST and MLST tell what is there.
func minimalServer(t *testing.T, opts ...ftptest.ServerOption) *ftptest.Server {
	return newServer(t, append([]ftptest.ServerOption{ftptest.WithoutFEAT(),
		ftptest.WithCommandsNotImplemented("SIZE", "MDTM", "MFMT", "MLSD", "NLST", "NOOP")}, opts...)...)
}

// Behaviour 1: without FEAT, MLST is tried, and a 500/502 is remembered.
func TestProbeWithoutFEAT(t *testing.T) {
	tests := []struct {
		name      string
		server    []ftptest.ServerOption
		wantFacts bool // Stat came from MLST
		wantMLST  int  // MLST commands for two Stats
	}{
		{"no FEAT, MLST works", []ftptest.ServerOption{ftptest.WithoutFEAT()}, true, 2},
		{"no FEAT, no MLST", []ftptest.ServerOption{ftptest.WithoutFEAT(), ftptest.WithCommandsNotImplemented("MLST", "MLSD")}, false, 1},
		{"FEAT without MLST is trusted", []ftptest.ServerOption{ftptest.WithoutFeatures("MLST")}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, append(tt.server, ftptest.WithFiles(map[string][]byte{"/d/a.txt": []byte("hello")}))...)
			c := dialTest(t, srv)
			ctx := context.Background()
			for range 2 {
				e, err := c.Stat(ctx, "/d/a.txt")
				require.NoError(t, err)
				assert.Equal(t, EntryFile, e.Type)
				assert.Equal(t, int64(5), e.Size)
				assert.False(t, e.ModTime.IsZero())
				assert.Equal(t, tt.wantFacts, e.Facts["type"] == "file", "facts %v", e.Facts)
			}
			assert.Equal(t, tt.wantMLST, countVerb(srv, "MLST"))
		})
	}
}

// Behaviour 2: without SIZE and MDTM, Download and Upload work, and say
// which checks they could not make.
func TestTransfersWithoutSIZEAndMDTM(t *testing.T) {
	tests := []struct {
		name      string
		server    []ftptest.ServerOption
		warnings  []string // in the trace
		uploadChk bool     // the upload's size is checked (MLST)
	}{
		{"MLST left", []ftptest.ServerOption{ftptest.WithCommandsNotImplemented("SIZE", "MDTM")}, nil, true},
		{"no FEAT, MLST left", []ftptest.ServerOption{ftptest.WithoutFEAT(), ftptest.WithCommandsNotImplemented("SIZE", "MDTM", "MFMT")},
			[]string{"upload modification time not set"}, true},
		{"LIST only", []ftptest.ServerOption{ftptest.WithoutMLSD(), ftptest.WithCommandsNotImplemented("SIZE", "MDTM")},
			[]string{"upload size not checked"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := randomBytes(t, 100_000)
			srv := newServer(t, append(tt.server, ftptest.WithFiles(map[string][]byte{"/d/big.bin": data}))...)
			var trace bytes.Buffer
			c := dialTest(t, srv, WithDebug(&trace))
			ctx := context.Background()
			dir := t.TempDir()
			local := filepath.Join(dir, "big.bin")
			require.NoError(t, c.Download(ctx, "/d/big.bin", local))
			got, err := os.ReadFile(local)
			require.NoError(t, err)
			assert.Equal(t, data, got)

			var checks []string
			require.NoError(t, c.Upload(ctx, local, "/d/up.bin", withUnchecked(func(s string) { checks = append(checks, s) })))
			require.NoError(t, c.Upload(ctx, local, "/d/up2.bin", withUnchecked(func(s string) { checks = append(checks, s) })))
			up, err := srv.ReadFile("/d/up.bin")
			require.NoError(t, err)
			assert.Equal(t, data, up)
			for _, w := range tt.warnings {
				assert.Equal(t, 1, strings.Count(trace.String(), "warning: "+w), "warned once: %s", w)
				assert.Len(t, checks, 2, "reported for each upload")
			}
			if tt.warnings == nil {
				assert.NotContains(t, trace.String(), "warning:")
				assert.Empty(t, checks)
			}
			assert.LessOrEqual(t, countVerb(srv, "SIZE"), 1, "a 502 is remembered")
			assert.Equal(t, tt.uploadChk, countVerb(srv, "MLST") > 0)
		})
	}
}

// Behaviour 3: a SIZE that gives a number for a directory does not make
// it a file.
func TestSizeForDirectories(t *testing.T) {
	srv := newServer(t, ftptest.WithoutMLSD(), ftptest.WithSizeForDirectories(),
		ftptest.WithFiles(map[string][]byte{"/d/sub/a.txt": []byte("a"), "/d/b.txt": []byte("bb")}))
	c := dialTest(t, srv)
	ctx := context.Background()
	e, err := c.Stat(ctx, "/d/sub")
	require.NoError(t, err)
	assert.Equal(t, EntryDir, e.Type)
	e, err = c.Stat(ctx, "/d/b.txt")
	require.NoError(t, err)
	assert.Equal(t, EntryFile, e.Type)
	assert.Equal(t, int64(2), e.Size)

	var walked []string
	require.NoError(t, c.Walk(ctx, "/d", func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		walked = append(walked, p)
		return nil
	}))
	assert.Equal(t, []string{"/d", "/d/b.txt", "/d/sub", "/d/sub/a.txt"}, walked)
}

// Behaviour 4: "213 File status" for an empty file is a size unknown.
func TestSizeWithoutNumber(t *testing.T) {
	for _, tt := range []struct {
		name   string
		server []ftptest.ServerOption
	}{
		{"MLST", nil},
		{"LIST only", []ftptest.ServerOption{ftptest.WithoutMLSD()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, append(tt.server, ftptest.WithSizeWithoutNumber(),
				ftptest.WithFiles(map[string][]byte{"/d/empty": {}}))...)
			c := dialTest(t, srv)
			ctx := context.Background()
			local := filepath.Join(t.TempDir(), "empty")
			require.NoError(t, os.WriteFile(local, nil, 0o644))
			require.NoError(t, c.Upload(ctx, local, "/d/new"))
			got, err := srv.ReadFile("/d/new")
			require.NoError(t, err)
			assert.Empty(t, got)
			require.NoError(t, c.Download(ctx, "/d/empty", filepath.Join(t.TempDir(), "e")))
			_, err = c.FileSize(ctx, "/d/empty")
			require.ErrorIs(t, err, ErrMalformedReply, "FileSize has no size to give")
		})
	}
}

// Behaviour 6: a 451 to LIST of a missing folder is taken for what the
// check finds, not retried: Mirror up into a new folder works at once.
func TestListMissing451(t *testing.T) {
	for _, tt := range []struct {
		name   string
		server []ftptest.ServerOption
	}{
		{"MLSD", nil},
		{"LIST", []ftptest.ServerOption{ftptest.WithoutMLSD()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, append(tt.server, ftptest.WithListMissing451())...)
			c := dialTest(t, srv)
			ctx := context.Background()
			_, err := c.List(ctx, "/nope")
			require.ErrorIs(t, err, fs.ErrNotExist)
			assert.False(t, IsTransient(err), "a 4xx whose check proved the path missing is not transient")

			local := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(local, "a.txt"), []byte("a"), 0o644))
			p := newTestPool(t, srv, 2)
			sum, err := Mirror(ctx, p, local, "/new", MirrorOptions{Direction: MirrorUp})
			require.NoError(t, err)
			assert.Equal(t, 1, sum.Files)
			assert.LessOrEqual(t, countVerb(srv, "LIST")+countVerb(srv, "MLSD"), 8, "listings: %q", srv.Commands())
		})
	}
}

// Behaviour 10: NameList falls back to List's names where NLST is not
// implemented, and asks NLST once.
func TestNameListWithoutNLST(t *testing.T) {
	for _, tt := range []struct {
		name   string
		server []ftptest.ServerOption
	}{
		{"MLSD", nil},
		{"LIST", []ftptest.ServerOption{ftptest.WithoutMLSD()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, append(tt.server, ftptest.WithCommandsNotImplemented("NLST"),
				ftptest.WithFiles(map[string][]byte{"/d/a": nil, "/d/b/c": nil}))...)
			c := dialTest(t, srv)
			for range 2 {
				names, err := c.NameList(context.Background(), "/d")
				require.NoError(t, err)
				assert.ElementsMatch(t, []string{"a", "b"}, names)
			}
			assert.Equal(t, 1, countVerb(srv, "NLST"))
		})
	}
}

// Done when: everything works with a server that has no FEAT, SIZE,
// MDTM or NOOP, only LIST and MLST.
func TestMinimalServer(t *testing.T) {
	tree := mirrorTree(t)
	srv := minimalServer(t, ftptest.WithFiles(map[string][]byte{"/pub/f.txt": []byte("file")}))
	ctx := context.Background()
	c := dialTest(t, srv)

	e, err := c.Stat(ctx, "/pub/f.txt")
	require.NoError(t, err)
	assert.Equal(t, EntryFile, e.Type)
	assert.Equal(t, int64(4), e.Size)
	e, err = c.Stat(ctx, "/pub")
	require.NoError(t, err)
	assert.Equal(t, EntryDir, e.Type)

	local := filepath.Join(t.TempDir(), "f.txt")
	require.NoError(t, c.Download(ctx, "/pub/f.txt", local))
	require.NoError(t, c.Upload(ctx, local, "/pub/g.txt"))
	got, err := srv.ReadFile("/pub/g.txt")
	require.NoError(t, err)
	assert.Equal(t, []byte("file"), got)

	p := newTestPool(t, srv, 3)
	up := filepath.Join(t.TempDir(), "up")
	writeLocalTree(t, up, tree)
	for run := range 2 {
		sum, err := Mirror(ctx, p, up, "/tree", MirrorOptions{Direction: MirrorUp})
		require.NoError(t, err)
		if run == 0 {
			assert.Equal(t, fileCount(tree), sum.Files)
			assert.Equal(t, []string{"upload modification time not set: the server does not implement MFMT"}, sum.Unchecked)
		} else {
			assert.Equal(t, 0, sum.Files, "second run up: %+v", sum.Plan)
		}
	}
	checkRemoteTree(t, srv, "/tree", tree)

	down := filepath.Join(t.TempDir(), "down")
	for run := range 2 {
		sum, err := Mirror(ctx, p, "/tree", down, MirrorOptions{Direction: MirrorDown})
		require.NoError(t, err)
		if run == 1 {
			assert.Equal(t, 0, sum.Files, "second run down: %+v", sum.Plan)
		}
		assert.Empty(t, sum.Unchecked, "LIST gives the sizes")
	}
	checkLocalTree(t, down, tree)

	var walked int
	require.NoError(t, c.Walk(ctx, "/tree", func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		walked++
		return nil
	}))
	assert.Greater(t, walked, fileCount(tree))

	sub, err := fs.Sub(c.FS(ctx), "tree")
	require.NoError(t, err)
	require.NoError(t, fstest.TestFS(sub, "a.txt", "dir one/b.bin"))
	assert.LessOrEqual(t, countVerb(srv, "MLSD"), 4, "a 502 is remembered in each session (1 Conn, 3 in the Pool)")
}
