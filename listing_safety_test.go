package ftp

// Tests of issue 16's listing side: a listing that "succeeds" for a path
// that is no directory (finding 1), hidden files (5), precise errors of
// removals (6) and the memory a listing may take (10). The ftptest
// options reproduce vsftpd, pyftpdlib and the rest (see
// interop_listing_test.go for the same cases on the real servers).

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pasvport/ftp/ftptest"
)

// listFlavours are the servers whose listings List must read right: with
// MLSD and MLST (ProFTPD, Pure-FTPd, pyftpdlib), LIST only (as with
// WithoutMLSD), vsftpd (no MLSD, an empty listing for a missing path, dot
// files hidden without -a, refusals that do not say why), and a server
// that takes "LIST -a dir" for a name (pyftpdlib).
var listFlavours = []struct {
	name string
	opts []ftptest.ServerOption
}{
	{"MLSD", nil},
	{"LIST", []ftptest.ServerOption{ftptest.WithoutMLSD()}},
	{"vsftpd", []ftptest.ServerOption{ftptest.WithVsftpdQuirks()}},
	{"literal -a", []ftptest.ServerOption{ftptest.WithoutMLSD(), ftptest.WithLiteralListArgs()}},
	{"literal -a, empty for missing", []ftptest.ServerOption{ftptest.WithoutMLSD(), ftptest.WithLiteralListArgs(), ftptest.WithEmptyListingForMissing()}},
}

// names returns the names of entries, sorted.
func names(entries []*Entry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name)
	}
	slices.Sort(out)
	return out
}

// Finding 1: List checks the path instead of taking an empty or odd
// listing for a directory, on every flavour of server.
func TestListChecksExistence(t *testing.T) {
	tests := []struct {
		path    string
		want    []string // the names, when List succeeds
		wantErr error    // the error List wraps
		notErr  []error  // errors it must not wrap
	}{
		{path: "/tree", want: []string{".htaccess", "a.txt", "empty", "locked", "sub", "with space"}},
		{path: "/tree/empty", want: nil},
		{path: "/tree/sub", want: []string{"sub"}}, // a directory that holds a file named like itself
		{path: "/tree/a.txt", wantErr: ErrNotDir, notErr: []error{fs.ErrNotExist}},
		{path: "/tree/missing", wantErr: fs.ErrNotExist, notErr: []error{ErrNotDir}},
		{path: "/tree/missing/deeper", wantErr: fs.ErrNotExist},
		{path: "/nowhere/at/all", wantErr: fs.ErrNotExist},
		{path: "/tree/locked", notErr: []error{fs.ErrNotExist, ErrNotDir}}, // may not be read: an error, never empty
		{path: "tree/missing", wantErr: fs.ErrNotExist},                    // relative
		{path: "/tree/with space/missing", wantErr: fs.ErrNotExist},
	}
	for _, fl := range listFlavours {
		t.Run(fl.name, func(t *testing.T) {
			srv := newServer(t, append([]ftptest.ServerOption{ftptest.WithUnreadableDirs("/tree/locked")}, fl.opts...)...)
			srv.WriteFile("/tree/a.txt", []byte("a"))
			srv.WriteFile("/tree/.htaccess", []byte("deny"))
			srv.WriteFile("/tree/sub/sub", []byte("same name"))
			srv.WriteFile("/tree/locked/secret", []byte("s"))
			srv.WriteFile("/tree/with space/x", []byte("x"))
			srv.MkdirAll("/tree/empty")
			c := dialTest(t, srv)
			for _, tt := range tests {
				t.Run(tt.path, func(t *testing.T) {
					entries, err := c.List(context.Background(), tt.path)
					if tt.want != nil || tt.wantErr == nil && tt.notErr == nil {
						require.NoError(t, err)
						assert.Equal(t, tt.want, names(entries))
						return
					}
					require.Error(t, err, "List must not succeed; it gave %v", names(entries))
					if tt.wantErr != nil {
						assert.ErrorIs(t, err, tt.wantErr)
					}
					for _, not := range tt.notErr {
						assert.NotErrorIs(t, err, not)
					}
				})
			}
			_, err := c.CurrentDir(context.Background())
			require.NoError(t, err, "the Conn is still usable")
		})
	}
}

// Finding 1: the listings that can mean "not a directory" (empty, only
// "total 0", a lone unparsed line) are checked; a real empty directory
// whose listing says "total 0" lists empty.
func TestListSuspiciousListings(t *testing.T) {
	tests := []struct {
		name    string
		lines   []string
		dir     bool // the path is an (empty) directory
		wantErr error
	}{
		{"total 0 of a missing path", []string{"total 0"}, false, fs.ErrNotExist},
		{"total 0 of an empty directory", []string{"total 0"}, true, nil},
		{"ls error text", []string{"ls: cannot access '/p': No such file or directory"}, false, fs.ErrNotExist},
		{"nothing", nil, false, fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, ftptest.WithoutMLSD(), ftptest.WithVagueErrors(), ftptest.WithListLines("/p", tt.lines...))
			srv.WriteFile("/other", []byte("so that / lists something"))
			if tt.dir {
				srv.MkdirAll("/p")
			}
			c := dialTest(t, srv)
			entries, err := c.List(context.Background(), "/p")
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr, "entries: %v", entries)
				return
			}
			require.NoError(t, err)
			assert.Empty(t, names(entries))
		})
	}
}

// Finding 1: a listing cut short and followed by 226 does not turn the
// fragment of its last line into a file: the line comes back whole in
// Raw, as an EntryOther without a name, for LIST and MLSD alike.
func TestListCutShortLastLine(t *testing.T) {
	lines := []string{
		"-rw-r--r-- 1 u g 1 Jan  1  2020 Apple",
		"-rw-r--r-- 1 u g 1 Jan  1  2020 Japan",
	}
	full := lines[0] + "\r\n" + lines[1] + "\r\n"
	cutAt := int64(len(full) - len("pan\r\n")) // "... 2020 Ja"
	for _, tt := range []struct {
		name string
		opts []ftptest.ServerOption
		cut  int64
	}{
		{"LIST", []ftptest.ServerOption{ftptest.WithoutMLSD(), ftptest.WithListLines("/d", lines...)}, cutAt},
		{"MLSD", nil, mlsdBytes(t, "/d", "Apple", "Japan") - int64(len("pan\r\n"))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, append(tt.opts, ftptest.WithTruncate(tt.cut, "226 Transfer complete.\r\n"))...)
			srv.WriteFile("/d/Apple", []byte("k"))
			srv.WriteFile("/d/Japan", []byte("j"))
			require.NoError(t, srv.SetModTime("/d/Apple", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)))
			require.NoError(t, srv.SetModTime("/d/Japan", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)))
			c := dialTest(t, srv)
			entries, err := c.List(context.Background(), "/d")
			require.NoError(t, err)
			require.Len(t, entries, 2)
			assert.Equal(t, "Apple", entries[0].Name)
			assert.Equal(t, EntryOther, entries[1].Type, "a fragment is no file")
			assert.Empty(t, entries[1].Name)
			assert.True(t, strings.HasSuffix(entries[1].Raw, " Ja"), "Raw %q", entries[1].Raw)
		})
	}
}

// mlsdBytes returns the bytes of ftptest's MLSD listing of dir holding
// the files names, made in that order with the time 2020-01-01: so that
// WithTruncate can cut it in the last name.
func mlsdBytes(t *testing.T, dir string, names ...string) int64 {
	srv := newServer(t)
	for _, n := range names {
		srv.WriteFile(dir+"/"+n, []byte(n[:1]))
		require.NoError(t, srv.SetModTime(dir+"/"+n, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)))
	}
	c := dialTest(t, srv)
	var n int64
	require.NoError(t, c.locked(context.Background(), func() error {
		_, err := c.fetchLines(context.Background(), "MLSD", dir, mlsdCost, func(line string, _ bool) { n += int64(len(line)) + 2 })
		return err
	}))
	return n
}

// Finding 5: on vsftpd, List asks with "LIST -a" and shows dot files,
// at no extra cost once the server has shown that it honours -a; a
// server that takes "-a dir" for a name gets plain LIST from its second
// listing on; WithListAll(ListAllOff) sends plain LIST.
func TestListShowsDotfiles(t *testing.T) {
	tests := []struct {
		name      string
		opts      []ftptest.ServerOption
		dial      []Option
		want      []string
		firstLIST int // LIST commands of the first listing
		wantArgs  string
	}{
		{"vsftpd", []ftptest.ServerOption{ftptest.WithVsftpdQuirks()}, nil,
			[]string{".htaccess", ".x.part", "page.html"}, 1, "LIST -a /site"},
		{"vsftpd, ListAllOff", []ftptest.ServerOption{ftptest.WithVsftpdQuirks()}, []Option{WithListAll(ListAllOff)},
			[]string{"page.html"}, 1, "LIST /site"},
		{"literal -a (pyftpdlib)", []ftptest.ServerOption{ftptest.WithoutMLSD(), ftptest.WithLiteralListArgs()}, nil,
			[]string{".htaccess", ".x.part", "page.html"}, 2, "LIST /site"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.opts...)
			srv.WriteFile("/site/page.html", []byte("p"))
			srv.WriteFile("/site/.htaccess", []byte("h"))
			srv.WriteFile("/site/.x.part", []byte("part"))
			c := dialTest(t, srv, tt.dial...)
			for i := range 3 {
				before := count(verbs(srv), "LIST")
				entries, err := c.List(context.Background(), "/site")
				require.NoError(t, err)
				assert.Equal(t, tt.want, names(entries))
				lists := count(verbs(srv), "LIST") - before
				if i == 0 {
					assert.Equal(t, tt.firstLIST, lists, "LIST commands of the first listing")
				} else {
					assert.Equal(t, 1, lists, "one LIST a listing once the server is known")
				}
			}
			cmds := srv.Commands()
			for cmds[len(cmds)-1] == "EPSV" { // sent ahead (pipelined)
				cmds = cmds[:len(cmds)-1]
			}
			assert.Equal(t, tt.wantArgs, cmds[len(cmds)-1])
		})
	}
}

// Finding 5: vsftpd reads an argument that starts with '-' as ls options;
// List and NameList send such a path as "./-x".
func TestListDashPath(t *testing.T) {
	srv := newServer(t, ftptest.WithVsftpdQuirks())
	srv.WriteFile("/-x/inside", []byte("i"))
	srv.WriteFile("/outside", []byte("o"))
	c := dialTest(t, srv)
	require.NoError(t, c.ChangeDir(context.Background(), "/"))
	entries, err := c.List(context.Background(), "-x")
	require.NoError(t, err)
	assert.Equal(t, []string{"inside"}, names(entries))
	got, err := c.NameList(context.Background(), "-x")
	require.NoError(t, err)
	assert.Equal(t, []string{"inside"}, got, "the names in -x, not in the working directory")
	assert.Contains(t, srv.Commands(), "LIST -a ./-x")
	assert.Contains(t, srv.Commands(), "NLST ./-x")
}

// Finding 1: a path that LIST cannot take as its argument (Pure-FTPd
// globs it and splits it at spaces) is listed from inside, and the working
// directory is restored even when the context ends during the listing.
func TestListDetour(t *testing.T) {
	srv := newServer(t, ftptest.WithoutMLSD(), ftptest.WithDelay("LIST", 300*time.Millisecond))
	srv.WriteFile("/my dir [1]/x", []byte("x"))
	c := dialTest(t, srv)
	ctx := context.Background()
	entries, err := c.List(ctx, "/my dir [1]")
	require.NoError(t, err)
	assert.Equal(t, []string{"x"}, names(entries))
	for _, cmd := range srv.Commands() {
		assert.NotContains(t, cmd, "LIST -a /my", "never as LIST's argument")
	}
	assert.Contains(t, srv.Commands(), "CWD /my dir [1]")

	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = c.List(short, "/my dir [1]")
	require.Error(t, err)
	if dir, err := c.CurrentDir(ctx); err == nil {
		assert.Equal(t, "/", dir, "back in the working directory")
	} else {
		assert.ErrorIs(t, err, ErrClosed, "or closed, never elsewhere")
	}
}

// Findings 5 and 6: RemoveAll of a folder holding dot files removes them
// on vsftpd; where it cannot see them (ListAllOff) it fails, and never
// reports success while the folder is still there.
func TestRemoveAllDotfiles(t *testing.T) {
	for _, tt := range []struct {
		name   string
		dial   []Option
		wantOK bool
	}{
		{"LIST -a", nil, true},
		{"ListAllOff", []Option{WithListAll(ListAllOff)}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, ftptest.WithVsftpdQuirks())
			srv.WriteFile("/site/.htaccess", []byte("h"))
			srv.WriteFile("/site/sub/.hidden", []byte("h"))
			srv.WriteFile("/site/page", []byte("p"))
			c := dialTest(t, srv, tt.dial...)
			err := c.RemoveAll(context.Background(), "/site")
			_, statErr := srv.Stat("/site")
			if tt.wantOK {
				require.NoError(t, err)
				assert.ErrorIs(t, statErr, fs.ErrNotExist)
				return
			}
			require.Error(t, err, "the folder is still there")
			assert.NoError(t, statErr)
			assert.NotErrorIs(t, err, fs.ErrNotExist)
			assert.Contains(t, err.Error(), "RMD /site/sub")
		})
	}
}

// Finding 6: removal errors say what is there: fs.ErrNotExist only for a
// missing path, also from a server whose refusals do not say why.
func TestPreciseRemoveErrors(t *testing.T) {
	type call struct {
		name    string
		do      func(c *Conn, ctx context.Context) error
		wantErr error
		notErr  []error
		kept    string // a path that must still exist
	}
	calls := []call{
		{"Delete of a directory", func(c *Conn, ctx context.Context) error { return c.Delete(ctx, "/d") },
			ErrIsDir, []error{fs.ErrNotExist}, "/d/f"},
		{"Delete of a missing file", func(c *Conn, ctx context.Context) error { return c.Delete(ctx, "/d/nope") },
			fs.ErrNotExist, []error{ErrIsDir}, ""},
		{"Delete of a file that may not be deleted", func(c *Conn, ctx context.Context) error { return c.Delete(ctx, "/locked/f") },
			nil, []error{fs.ErrNotExist, ErrIsDir}, ""},
		{"RemoveDir of a full directory", func(c *Conn, ctx context.Context) error { return c.RemoveDir(ctx, "/d") },
			ErrDirNotEmpty, []error{fs.ErrNotExist}, "/d/f"},
		{"RemoveDir of a file", func(c *Conn, ctx context.Context) error { return c.RemoveDir(ctx, "/d/f") },
			ErrNotDir, []error{fs.ErrNotExist}, "/d/f"},
		{"RemoveDir of a missing directory", func(c *Conn, ctx context.Context) error { return c.RemoveDir(ctx, "/nope") },
			fs.ErrNotExist, nil, ""},
		{"RemoveAll of a missing path", func(c *Conn, ctx context.Context) error { return c.RemoveAll(ctx, "/nope") },
			nil, nil, ""},
		{"RemoveAll of what may not be read", func(c *Conn, ctx context.Context) error { return c.RemoveAll(ctx, "/locked") },
			nil, []error{fs.ErrNotExist}, ""},
		{"Stat of a directory that may not be read", func(c *Conn, ctx context.Context) error {
			e, err := c.Stat(ctx, "/locked")
			if err == nil && e.Type != EntryDir {
				return fmt.Errorf("type %v", e.Type)
			}
			return err
		}, nil, nil, ""},
	}
	for _, fl := range []struct {
		name string
		opts []ftptest.ServerOption
	}{
		{"clear replies", nil},
		{"vsftpd", []ftptest.ServerOption{ftptest.WithVsftpdQuirks()}},
	} {
		t.Run(fl.name, func(t *testing.T) {
			for _, tt := range calls {
				t.Run(tt.name, func(t *testing.T) {
					srv := newServer(t, append([]ftptest.ServerOption{ftptest.WithUnreadableDirs("/locked")}, fl.opts...)...)
					srv.WriteFile("/d/f", []byte("f"))
					srv.WriteFile("/locked/f", []byte("f"))
					c := dialTest(t, srv)
					err := tt.do(c, context.Background())
					switch {
					case tt.wantErr != nil:
						require.ErrorIs(t, err, tt.wantErr)
					case tt.notErr != nil:
						require.Error(t, err)
					default:
						require.NoError(t, err)
					}
					for _, not := range tt.notErr {
						assert.NotErrorIs(t, err, not)
					}
					if tt.kept != "" {
						_, err := srv.Stat(tt.kept)
						assert.NoError(t, err, "kept")
					}
					_, err = srv.Stat("/locked/f")
					assert.NoError(t, err, "what may not be read stays")
				})
			}
		})
	}
}

// Finding 6: the reply texts of the four lab servers (README's
// compatibility notes) map to the errors they mean; a text that gives
// another reason than "missing" is not fs.ErrNotExist.
func TestReplyTexts(t *testing.T) {
	tests := []struct {
		cmd  string
		code int
		msg  string
		is   error // nil: none of the errors below
	}{
		{"DELE missing", 550, "missing: No such file or directory", fs.ErrNotExist},                  // ProFTPD
		{"DELE missing", 550, "Could not delete missing: No such file or directory", fs.ErrNotExist}, // Pure-FTPd
		{"DELE missing", 550, "No such file or directory.", fs.ErrNotExist},                          // pyftpdlib
		{"DELE d", 550, "d: Is a directory", ErrIsDir},                                               // ProFTPD
		{"DELE d", 550, "Is a directory.", ErrIsDir},                                                 // pyftpdlib
		{"DELE d", 550, "Could not delete d: Invalid argument", nil},                                 // Pure-FTPd: no reason Delete can use (it checks)
		{"RMD d", 550, "d: Directory not empty", ErrDirNotEmpty},                                     // ProFTPD
		{"RMD d", 550, "Can't remove directory: Directory not empty", ErrDirNotEmpty},                // Pure-FTPd
		{"RMD f", 550, "f: Not a directory", ErrNotDir},                                              // ProFTPD
		{"DELE ro/y", 550, "ro/y: Permission denied", fs.ErrPermission},                              // ProFTPD
		{"DELE ro/y", 550, "Could not delete ro/y: Permission denied", fs.ErrPermission},             // Pure-FTPd
		{"MLSD f", 550, "'f' is not a directory", ErrNotDir},                                         // ProFTPD
		{"LIST missing", 450, "missing: No such file or directory", fs.ErrNotExist},                  // ProFTPD
		{"MLSD missing", 501, "No such directory.", fs.ErrNotExist},                                  // pyftpdlib (and for a file too: List checks)
	}
	all := []error{fs.ErrNotExist, fs.ErrPermission, ErrIsDir, ErrNotDir, ErrDirNotEmpty}
	for _, tt := range tests {
		t.Run(tt.cmd+" "+tt.msg, func(t *testing.T) {
			err := error(&Error{Cmd: tt.cmd, Code: tt.code, Msg: tt.msg})
			for _, target := range all {
				assert.Equal(t, target == tt.is, errors.Is(err, target), "errors.Is(%v)", target)
			}
		})
	}
}

// heapAfter returns the live heap after a collection.
func heapAfter() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Finding 10: maxListing bounds the heap a listing takes, not only its
// bytes on the wire: a listing of tiny lines, whose entries cost many
// times their bytes, is refused before it takes more than the cap, and a
// listing within the cap takes no more heap than it was charged. The log
// gives the heap an entry takes and its ratio to the wire bytes.
func TestListingMemory(t *testing.T) {
	defer func(old int) { maxListing = old }(maxListing)
	maxListing = 8 << 20
	lines := func(n int, format string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = format
			if strings.Contains(format, "%") {
				out[i] = fmt.Sprintf(format, i%100000, i)
			}
		}
		return out
	}
	tooMany := lines(200_000, "x") // 600 KB on the wire, 20 MB of entries
	tiny := lines(40_000, "x")
	typical := lines(20_000, "-rw-r--r--    1 1000     1000         %5d Mar 17  2021 file-%06d.txt")
	srv := newServer(t, ftptest.WithoutMLSD(), ftptest.WithListLines("/toomany", tooMany...),
		ftptest.WithListLines("/tiny", tiny...), ftptest.WithListLines("/typical", typical...))
	for _, d := range []string{"/toomany", "/tiny", "/typical"} {
		srv.MkdirAll(d)
	}
	mlsdSrv := newServer(t)
	for i := range 20_000 {
		mlsdSrv.WriteFile(fmt.Sprintf("/mlsd/file-%06d.txt", i), nil)
	}
	c := dialTest(t, srv)
	ctx := context.Background()

	before := heapAfter()
	_, err := c.List(ctx, "/toomany")
	require.Error(t, err, "200,000 entries of 1 byte take 20 MB: over the cap of 8 MiB")
	assert.Contains(t, err.Error(), "listing longer than")
	assert.Less(t, int64(heapAfter())-int64(before), int64(maxListing), "nothing kept")

	maxListing = 64 << 20

	for _, tt := range []struct {
		name, path string
		conn       *Conn
		wire       int
		cost       func([]byte) int
		ratio      float64 // the most heap a wire byte may take
	}{
		{"LIST, tiny lines", "/tiny", c, wireBytes(tiny), listCost, 50},
		{"LIST, typical lines", "/typical", c, wireBytes(typical), listCost, 3},
		{"MLSD, five facts", "/mlsd", dialTest(t, mlsdSrv), 0, mlsdCost, 7}, // 336 bytes of it the Facts map
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := heapAfter()
			entries, err := tt.conn.List(ctx, tt.path)
			require.NoError(t, err)
			used := int64(heapAfter()) - int64(before)
			wire, charged := tt.wire, 0
			for _, e := range entries {
				if tt.wire == 0 {
					wire += len(e.Raw) + 2
				}
				charged += len(e.Raw) + 2 + tt.cost([]byte(e.Raw))
			}
			t.Logf("%d entries, %d wire bytes: %.0f heap bytes an entry, %.2f per wire byte; charged %d, used %d",
				len(entries), wire, float64(used)/float64(len(entries)), float64(used)/float64(wire), charged, used)
			assert.LessOrEqual(t, used, int64(charged), "the cap charges at least what the entries take")
			assert.LessOrEqual(t, float64(used)/float64(wire), tt.ratio)
			runtime.KeepAlive(entries)
		})
	}
}

// wireBytes is the size of lines sent with CRLF.
func wireBytes(lines []string) int {
	n := 0
	for _, l := range lines {
		n += len(l) + 2
	}
	return n
}
