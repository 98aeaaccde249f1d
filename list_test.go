package ftp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"path"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pasvport/ftp/ftptest"
)

func seedTree(srv *ftptest.Server) {
	srv.WriteFile("/pub/a.txt", []byte("alpha"))
	srv.WriteFile("/pub/b dir/c.txt", []byte("charlie!"))
	srv.WriteFile("/pub/b dir/deeper/d.bin", bytes.Repeat([]byte{1}, 1000))
	srv.MkdirAll("/pub/empty")
	srv.SetModTime("/pub/a.txt", time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC))
}

func TestList(t *testing.T) {
	for _, tt := range []struct {
		name    string
		srvOpts []ftptest.ServerOption
		opts    []Option
		verb    string
	}{
		{"MLSD", nil, nil, "MLSD"},
		{"LIST when the client says so", nil, []Option{WithoutMLSD()}, "LIST"},
		{"LIST when the server lacks MLSD", []ftptest.ServerOption{ftptest.WithoutMLSD()}, nil, "LIST"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.srvOpts...)
			seedTree(srv)
			c := dialTest(t, srv, tt.opts...)
			entries, err := c.List(context.Background(), "/pub")
			require.NoError(t, err)
			byName := map[string]*Entry{}
			for _, e := range entries {
				byName[e.Name] = e
				assert.NotEmpty(t, e.Raw)
			}
			require.Len(t, byName, 3, "no . or .. entries: %v", entries)
			assert.Equal(t, EntryFile, byName["a.txt"].Type)
			assert.Equal(t, int64(5), byName["a.txt"].Size)
			assert.Equal(t, EntryDir, byName["b dir"].Type)
			assert.Equal(t, EntryDir, byName["empty"].Type)
			assert.Equal(t, 2020, byName["a.txt"].ModTime.Year())
			assert.Contains(t, verbs(srv), tt.verb)
		})
	}
}

func TestListOddLines(t *testing.T) {
	lines := []string{
		"total 3",
		"drwxr-xr-x   2 ftp ftp  4096 Jan  1  2020 .",
		"-rw-r--r--   1 ftp ftp  6000000000 Mar 17  2021 huge file.iso",
		"lrwxrwxrwx   1 ftp ftp        7 Mar 17  2021 latest -> huge file.iso",
		"this line is in no known format at all",
		"01-02-21  03:04PM       <DIR>          Windows Dir",
	}
	srv := newServer(t, ftptest.WithoutMLSD(), ftptest.WithListLines("/odd", lines...))
	var trace bytes.Buffer
	c := dialTest(t, srv, WithDebug(&trace))
	entries, err := c.List(context.Background(), "/odd")
	require.NoError(t, err)
	require.Len(t, entries, 4)
	assert.Equal(t, "huge file.iso", entries[0].Name)
	assert.Equal(t, int64(6000000000), entries[0].Size)
	assert.Equal(t, EntryLink, entries[1].Type)
	assert.Equal(t, "huge file.iso", entries[1].Target)
	assert.Equal(t, EntryOther, entries[2].Type, "never silently dropped")
	assert.Equal(t, "", entries[2].Name)
	assert.Equal(t, lines[4], entries[2].Raw)
	assert.Contains(t, trace.String(), "unparsed LIST line")
	assert.Equal(t, "Windows Dir", entries[3].Name)
	assert.Equal(t, EntryDir, entries[3].Type)
}

func TestListMLSDBrokenFallsBackToLIST(t *testing.T) {
	srv := newServer(t, ftptest.WithRawReply("MLSD", "500 Unknown command\r\n"))
	seedTree(srv)
	c := dialTest(t, srv)
	for range 2 {
		entries, err := c.List(context.Background(), "/pub")
		require.NoError(t, err)
		assert.Len(t, entries, 3)
	}
	assert.Equal(t, 1, count(verbs(srv), "MLSD"), "MLSD tried once")
	assert.Equal(t, 2, count(verbs(srv), "LIST"))
}

func TestStat(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []ftptest.ServerOption
	}{{"MLST", nil}, {"fallback", []ftptest.ServerOption{ftptest.WithoutMLSD()}}} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.opts...)
			seedTree(srv)
			c := dialTest(t, srv)
			ctx := context.Background()

			e, err := c.Stat(ctx, "/pub/a.txt")
			require.NoError(t, err)
			assert.Equal(t, "a.txt", e.Name)
			assert.Equal(t, EntryFile, e.Type)
			assert.Equal(t, int64(5), e.Size)
			assert.True(t, e.ModTime.Equal(time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)), "%v", e.ModTime)

			e, err = c.Stat(ctx, "/pub/b dir")
			require.NoError(t, err)
			assert.Equal(t, "b dir", e.Name)
			assert.Equal(t, EntryDir, e.Type)

			_, err = c.Stat(ctx, "/pub/missing")
			assert.ErrorIs(t, err, fs.ErrNotExist)
			dir, err := c.CurrentDir(ctx)
			require.NoError(t, err)
			assert.Equal(t, "/", dir, "the fallback leaves the working directory alone")
		})
	}
}

func TestWalk(t *testing.T) {
	srv := newServer(t)
	seedTree(srv)
	c := dialTest(t, srv)
	ctx := context.Background()

	var seen []string
	err := c.Walk(ctx, "/pub", func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		seen = append(seen, p)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"/pub", "/pub/a.txt", "/pub/b dir", "/pub/b dir/c.txt", "/pub/b dir/deeper",
		"/pub/b dir/deeper/d.bin", "/pub/empty",
	}, seen)

	seen = nil
	err = c.Walk(ctx, "/pub", func(p string, d fs.DirEntry, err error) error {
		seen = append(seen, p)
		if d.Name() == "b dir" {
			return fs.SkipDir
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"/pub", "/pub/a.txt", "/pub/b dir", "/pub/empty"}, seen, "SkipDir")

	seen = nil
	err = c.Walk(ctx, "/pub", func(p string, d fs.DirEntry, err error) error {
		seen = append(seen, p)
		if p == "/pub/b dir/c.txt" {
			return fs.SkipAll
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"/pub", "/pub/a.txt", "/pub/b dir", "/pub/b dir/c.txt"}, seen, "SkipAll")

	stop := errors.New("stop")
	err = c.Walk(ctx, "/missing", func(p string, d fs.DirEntry, err error) error {
		assert.ErrorIs(t, err, fs.ErrNotExist)
		assert.Nil(t, d)
		return stop
	})
	assert.ErrorIs(t, err, stop)
}

func TestWalkDeepTree(t *testing.T) {
	srv := newServer(t)
	deep := "/d"
	for i := range 200 {
		deep = path.Join(deep, string(rune('a'+i%26)))
	}
	srv.WriteFile(deep+"/leaf", []byte("x"))
	c := dialTest(t, srv)
	n := 0
	require.NoError(t, c.Walk(context.Background(), "/d", func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		n++
		return nil
	}))
	assert.Equal(t, 202, n)
}

func TestFS(t *testing.T) {
	for _, opts := range [][]ftptest.ServerOption{nil, {ftptest.WithoutMLSD()}} {
		testFS(t, newServer(t, opts...))
	}
}

func testFS(t *testing.T, srv *ftptest.Server) {
	seedTree(srv)
	c := dialTest(t, srv)
	ctx := context.Background()
	require.NoError(t, c.ChangeDir(ctx, "/pub"))
	fsys := c.FS(ctx)

	require.NoError(t, fstest.TestFS(fsys, "a.txt", "b dir/c.txt", "b dir/deeper/d.bin", "empty"))

	b, err := fs.ReadFile(fsys, "b dir/c.txt")
	require.NoError(t, err)
	assert.Equal(t, "charlie!", string(b))

	matches, err := fs.Glob(fsys, "*/*.txt")
	require.NoError(t, err)
	assert.Equal(t, []string{"b dir/c.txt"}, matches)

	var files []string
	require.NoError(t, fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	}))
	sort.Strings(files)
	assert.Equal(t, []string{"a.txt", "b dir/c.txt", "b dir/deeper/d.bin"}, files)

	_, err = fsys.Open("../etc/passwd")
	assert.ErrorIs(t, err, fs.ErrInvalid)
	_, err = fsys.Open("missing")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.True(t, strings.HasPrefix(err.Error(), "open missing"))
}

func TestRemoveAllWithList(t *testing.T) {
	for _, opt := range []Option{WithPassive(), WithoutMLSD()} {
		srv := newServer(t)
		seedTree(srv)
		c := dialTest(t, srv, opt)
		require.NoError(t, c.RemoveAll(context.Background(), "/pub"))
		_, err := srv.Stat("/pub")
		assert.ErrorIs(t, err, fs.ErrNotExist)
	}
}

// Every LIST format of the sample, served by ftptest and listed end to end:
// the client finds each entry the sample expects, in order, and keeps each
// line it cannot parse.
func TestListSampleOverTheWire(t *testing.T) {
	byFormat := map[string][]listingCase{}
	var formats []string
	for _, c := range loadListingSample(t) {
		if c.Format == "mlsd" || c.Format == "mlst" {
			continue
		}
		if _, ok := byFormat[c.Format]; !ok {
			formats = append(formats, c.Format)
		}
		byFormat[c.Format] = append(byFormat[c.Format], c)
	}
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			var lines, want []string
			for _, c := range byFormat[format] {
				lines = append(lines, strings.Split(c.Line, "\r\n")...)
				// In one VMS listing an older version of a file is not
				// listed again, so a name comes once.
				if !c.Expect.Reject && !c.Expect.Omit && c.Expect.Name != nil && !slices.Contains(want, *c.Expect.Name) {
					want = append(want, *c.Expect.Name)
				}
			}
			srv := newServer(t, ftptest.WithoutMLSD(), ftptest.WithListLines("/x", lines...))
			c := dialTest(t, srv)
			entries, err := c.List(context.Background(), "/x")
			require.NoError(t, err)
			var got []string
			for _, e := range entries {
				if e.Name != "" {
					got = append(got, e.Name)
				}
			}
			assert.Equal(t, want, got)
		})
	}
}

// A walk holds the entries of the directories on the current path, not of
// the tree: a 10,000-entry tree is visited entry by entry, each once.
func TestWalkLargeTree(t *testing.T) {
	srv := newServer(t)
	for d := range 100 {
		for f := range 99 {
			srv.WriteFile(fmt.Sprintf("/big/d%03d/f%02d", d, f), nil)
		}
	}
	c := dialTest(t, srv)
	seen := map[string]int{}
	listings := func() int { return count(verbs(srv), "MLSD") }
	require.NoError(t, c.Walk(context.Background(), "/big", func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		seen[p]++
		var dir int
		if _, err := fmt.Sscanf(p, "/big/d%03d/", &dir); err == nil {
			// Only the root and the directories up to this one are listed:
			// the walk holds the listings on its path, not the tree's.
			require.LessOrEqual(t, listings(), dir+2, "at %s", p)
		}
		return nil
	}))
	assert.Len(t, seen, 1+100+100*99, "every entry")
	for p, n := range seen {
		require.Equal(t, 1, n, "visited once: %s", p)
	}
	assert.Equal(t, 101, listings(), "each directory listed once")
}

// TestListReadsAhead: the data of a listing are read while its lines are
// parsed, so that the server finishes sending (and frees its side) even
// when the parser is slow. Here the parser is stuck on the first line
// until the server has written the whole 3 MB listing through a 16 KiB
// send buffer; without the read-ahead both would wait for each other.
func TestListReadsAhead(t *testing.T) {
	line := strings.Repeat("x", 99) + "\r\n"
	const lines = 30000
	written := make(chan struct{})
	srv := newRawServer(t, func(s *rawConn) {
		s.login()
		accept := s.epsv()
		s.cmd("NLST", "150 Here it comes\r\n")
		data := accept()
		if data == nil {
			return
		}
		data.(*net.TCPConn).SetWriteBuffer(16 << 10)
		_, err := io.WriteString(data, strings.Repeat(line, lines))
		assert.NoError(t, err)
		close(written)
		data.Close()
		s.send("226 Done\r\n")
		s.serve()
	})
	c := dialRaw(t, srv, 5*time.Second)
	ctx := context.Background()
	unlock, err := c.acquire(ctx)
	require.NoError(t, err)
	defer unlock()
	n, stuck := 0, true
	err = c.listLines(ctx, "NLST", "", func(string) {
		if n++; n == 1 {
			select {
			case <-written:
				stuck = false
			case <-time.After(scriptTime):
			}
		}
	})
	require.NoError(t, err)
	assert.False(t, stuck, "the server could not finish sending while the first line was parsed")
	assert.Equal(t, lines, n)
}
