//go:build interop

// The listing side of issue 16 on the four real servers: List checks the
// path (missing, a file, a directory the login may not read), shows dot
// files, lists names LIST cannot take as its argument, and the removals
// say precisely what is there. Run it with:
//
//	FTP_INTEROP=required go test -tags interop -run TestInteropListing -count=1 -v .

package ftp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pasvport/ftp"
)

// listingCase is one call on the tree that TestInteropListing builds, and
// what it must give.
type listingCase struct {
	name    string
	do      func(ctx context.Context, c *ftp.Conn, base string) error
	wantErr error   // nil: no error
	anyErr  bool    // an error, whichever
	notErr  []error // errors it must not wrap
}

func listIs(dir string, want ...string) func(context.Context, *ftp.Conn, string) error {
	return func(ctx context.Context, c *ftp.Conn, base string) error {
		entries, err := c.List(ctx, base+"/"+dir)
		if err != nil {
			return err
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Name)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("List %s: got %q, want %q", dir, got, want)
		}
		return nil
	}
}

func listOf(dir string) func(context.Context, *ftp.Conn, string) error {
	return func(ctx context.Context, c *ftp.Conn, base string) error {
		entries, err := c.List(ctx, base+"/"+dir)
		if err == nil {
			return fmt.Errorf("List %s succeeded with %d entries", dir, len(entries))
		}
		return err
	}
}

var listingCases = []listingCase{
	{name: "List of a directory shows dot files", do: listIs("site", ".htaccess", ".page.html.part", "page.html", "sub")},
	{name: "List of an empty directory", do: listIs("empty")},
	{name: "List of a name with a space and brackets", do: listIs("my dir [1]", "in space")},
	{name: "List of a missing path", do: listOf("missing"), wantErr: fs.ErrNotExist, notErr: []error{ftp.ErrNotDir}},
	{name: "List of a path under a missing one", do: listOf("missing/deeper"), wantErr: fs.ErrNotExist},
	{name: "List of a file", do: listOf("site/page.html"), wantErr: ftp.ErrNotDir, notErr: []error{fs.ErrNotExist}},
	{name: "List of an unreadable directory", do: listOf("locked"), anyErr: true, notErr: []error{fs.ErrNotExist, ftp.ErrNotDir}},
	{name: "List of -x from its parent", do: func(ctx context.Context, c *ftp.Conn, base string) error {
		if err := c.ChangeDir(ctx, base); err != nil {
			return err
		}
		defer c.ChangeDir(ctx, "/")
		entries, err := c.List(ctx, "-x")
		if err == nil && (len(entries) != 1 || entries[0].Name != "inside") {
			err = fmt.Errorf("List -x: got %d entries", len(entries))
		}
		return err
	}},
	{name: "Delete of a directory", do: func(ctx context.Context, c *ftp.Conn, base string) error { return c.Delete(ctx, base+"/empty") },
		wantErr: ftp.ErrIsDir, notErr: []error{fs.ErrNotExist}},
	{name: "Delete of a missing file", do: func(ctx context.Context, c *ftp.Conn, base string) error { return c.Delete(ctx, base+"/missing") },
		wantErr: fs.ErrNotExist},
	{name: "Delete in a read-only directory", do: func(ctx context.Context, c *ftp.Conn, base string) error { return c.Delete(ctx, base+"/ro/keep") },
		anyErr: true, notErr: []error{fs.ErrNotExist, ftp.ErrIsDir}},
	{name: "RemoveDir of a full directory", do: func(ctx context.Context, c *ftp.Conn, base string) error { return c.RemoveDir(ctx, base+"/site") },
		wantErr: ftp.ErrDirNotEmpty, notErr: []error{fs.ErrNotExist}},
	{name: "RemoveDir of a file", do: func(ctx context.Context, c *ftp.Conn, base string) error {
		return c.RemoveDir(ctx, base+"/site/page.html")
	},
		wantErr: ftp.ErrNotDir, notErr: []error{fs.ErrNotExist}},
	{name: "RemoveDir of a missing directory", do: func(ctx context.Context, c *ftp.Conn, base string) error { return c.RemoveDir(ctx, base+"/missing") },
		wantErr: fs.ErrNotExist},
	{name: "RemoveAll of what may not be read", do: func(ctx context.Context, c *ftp.Conn, base string) error { return c.RemoveAll(ctx, base+"/locked") },
		anyErr: true, notErr: []error{fs.ErrNotExist}},
	{name: "RemoveAll of a missing path", do: func(ctx context.Context, c *ftp.Conn, base string) error { return c.RemoveAll(ctx, base+"/missing") }},
	{name: "RemoveAll of a folder with dot files", do: func(ctx context.Context, c *ftp.Conn, base string) error {
		if err := c.RemoveAll(ctx, base+"/site"); err != nil {
			return err
		}
		_, err := c.List(ctx, base+"/site")
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("after RemoveAll, List says %v", err)
		}
		return nil
	}},
}

func TestInteropListing(t *testing.T) {
	env := interopEnv(t)
	modes := []struct {
		name string
		opts []ftp.Option
	}{
		{"as offered", nil}, // MLSD where the server has it (not vsftpd)
		{"LIST", []ftp.Option{ftp.WithoutMLSD()}},
	}
	for _, server := range interopServers {
		for _, mode := range modes {
			t.Run(server+"/"+mode.name, func(t *testing.T) {
				interopListing(t, env, server, mode.opts)
			})
		}
	}
}

// interopListing runs listingCases on one server.
func interopListing(t *testing.T, env map[string]string, server string, opts []ftp.Option) {
	{
		{
			key := strings.ToUpper(server) + "_PLAIN"
			addr, data := env[key+"_ADDR"], env[key+"_DATA"]
			if addr == "" || data == "" {
				interopMissing(t, key+"_ADDR or _DATA not in servers.env: the server did not start")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			url := fmt.Sprintf("ftp://%s:%s@%s/", env["FTP_USER"], env["FTP_PASS"], addr)
			var trace bytes.Buffer
			c, err := ftp.DialURL(ctx, url, append([]ftp.Option{ftp.WithTimeout(15 * time.Second), ftp.WithDebug(&trace)}, opts...)...)
			require.NoError(t, err)
			defer c.Quit(ctx)
			base := fmt.Sprintf("/listing-%d", time.Now().UnixNano())
			buildListingTree(t, ctx, c, base, filepath.Join(data, base))
			defer func() {
				restore(filepath.Join(data, base))
				assert.NoError(t, c.RemoveAll(context.WithoutCancel(ctx), base), "clean up")
			}()
			for _, tt := range listingCases {
				t.Run(tt.name, func(t *testing.T) {
					trace.Reset()
					err := tt.do(ctx, c, base)
					t.Logf("%s: %v", tt.name, err)
					switch {
					case tt.wantErr != nil:
						assert.ErrorIs(t, err, tt.wantErr)
					case tt.anyErr:
						assert.Error(t, err)
					default:
						assert.NoError(t, err)
					}
					for _, not := range tt.notErr {
						assert.NotErrorIs(t, err, not)
					}
					if t.Failed() {
						t.Log(trace.String())
					}
					_, err = os.Stat(filepath.Join(data, base, "locked", "secret"))
					assert.NoError(t, err, "what may not be read stays")
					_, err = os.Stat(filepath.Join(data, base, "ro", "keep"))
					assert.NoError(t, err, "what may not be deleted stays")
				})
			}
		}
	}
}

// buildListingTree makes the tree of TestInteropListing at base over c,
// then, in the server's data folder (local), takes the login's
// permissions away from locked (mode 000) and ro (mode 555).
func buildListingTree(t *testing.T, ctx context.Context, c *ftp.Conn, base, local string) {
	t.Helper()
	for _, f := range []string{"site/page.html", "site/.htaccess", "site/.page.html.part", "site/sub/.hidden",
		"my dir [1]/in space", "-x/inside", "locked/secret", "ro/keep"} {
		dir, _ := splitLast(base + "/" + f)
		require.NoError(t, c.MakeDirAll(ctx, dir))
		require.NoError(t, c.Stor(ctx, base+"/"+f, strings.NewReader(f)))
	}
	require.NoError(t, c.MakeDirAll(ctx, base+"/empty"))
	require.NoError(t, os.Chmod(filepath.Join(local, "locked"), 0o000))
	require.NoError(t, os.Chmod(filepath.Join(local, "ro"), 0o555))
}

// restore gives the permissions back, so that the tree can be removed.
func restore(local string) {
	os.Chmod(filepath.Join(local, "locked"), 0o755)
	os.Chmod(filepath.Join(local, "ro"), 0o755)
}

func splitLast(p string) (string, string) {
	i := strings.LastIndexByte(p, '/')
	return p[:i], p[i+1:]
}
