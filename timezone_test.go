package ftp

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recentTime returns a time of the last hours, to the second, whose wall
// clock in loc is not midnight (a LIST line shows it with a time of day).
func recentTime(loc *time.Location) time.Time {
	t := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	if w := t.In(loc); w.Hour() == 0 && w.Minute() == 0 {
		t = t.Add(7 * time.Minute)
	}
	return t
}

// TestListZoneDetected checks that the offset of a server whose LIST shows
// its local time while MDTM answers in UTC is found with one MDTM a Conn,
// on LIST-only servers with MDTM only, unless WithLocation gives it, and
// that every LIST time of the session then is the file's real time (to
// the minute LIST shows).
func TestListZoneDetected(t *testing.T) {
	east8 := time.FixedZone("CST", 8*3600)
	nepal := time.FixedZone("NPT", 5*3600+45*60)
	marquesas := time.FixedZone("MART", -(9*3600 + 30*60))
	tests := []struct {
		name    string
		listLoc *time.Location // the zone LIST prints; nil: UTC
		server  []ftptest.ServerOption
		client  []Option
		mdtm    int           // MDTM commands sent
		skew    time.Duration // what the listed times are off by
		trace   string
	}{
		{"UTC+8", east8, nil, nil, 1, 0, "LIST times are in UTC+08:00"},
		{"UTC+5:45", nepal, nil, nil, 1, 0, "LIST times are in UTC+05:45"},
		{"UTC-9:30", marquesas, nil, nil, 1, 0, "LIST times are in UTC-09:30"},
		{"UTC", nil, nil, nil, 1, 0, "LIST times are in UTC+00:00"},
		{"WithLocation", east8, nil, []Option{WithLocation(east8)}, 0, 0, ""},
		{"WithLocation wrong", east8, nil, []Option{WithLocation(time.UTC)}, 0, 8 * time.Hour, ""},
		{"MLSD", east8, []ftptest.ServerOption{ftptest.WithListLocation(east8)}, nil, 0, 0, ""},
		{"no MDTM", east8, []ftptest.ServerOption{ftptest.WithoutFeatures("MDTM")}, nil, 0, 8 * time.Hour, ""},
		{"MDTM not implemented", east8, []ftptest.ServerOption{ftptest.WithCommandsNotImplemented("MDTM")}, nil, 1, 8 * time.Hour, "LIST times taken as UTC: MDTM"},
		{"MDTM absurd", east8, []ftptest.ServerOption{ftptest.WithRawReply("MDTM", "213 19990101000000\r\n")}, nil, 1, 8 * time.Hour, "no time zone is that far"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.server
			if tt.name != "MLSD" {
				opts = append(opts, ftptest.WithoutMLSD())
			}
			if tt.listLoc != nil {
				opts = append(opts, ftptest.WithListLocation(tt.listLoc))
			}
			srv := newServer(t, opts...)
			loc := tt.listLoc
			if loc == nil {
				loc = time.UTC
			}
			mod := map[string]time.Time{}
			for i, name := range []string{"/a/one", "/a/two", "/b/three"} {
				srv.WriteFile(name, []byte(name))
				mod[name] = recentTime(loc).Add(-time.Duration(i) * time.Minute)
				require.NoError(t, srv.SetModTime(name, mod[name]))
			}
			var trace strings.Builder
			c := dialTest(t, srv, append([]Option{WithDebug(&trace)}, tt.client...)...)
			ctx := context.Background()
			for _, dir := range []string{"/a", "/b", "/a"} {
				entries, err := c.List(ctx, dir)
				require.NoError(t, err)
				require.NotEmpty(t, entries)
				for _, e := range entries {
					want := mod[path.Join(dir, e.Name)]
					if tt.name != "MLSD" {
						want = want.Truncate(time.Minute)
					}
					assert.True(t, want.Add(tt.skew).Equal(e.ModTime), "%s/%s: listed %v, want %v", dir, e.Name, e.ModTime, want.Add(tt.skew))
				}
			}
			assert.Equal(t, tt.mdtm, countVerb(srv, "MDTM"), "MDTM sent")
			if tt.trace != "" {
				assert.Contains(t, trace.String(), tt.trace)
			}
		})
	}
}

// TestListZoneNeedsTimeOfDay checks that a listing whose files show only a
// date (older than six months) costs no MDTM, and that the offset is found
// at the first listing with a time of day.
func TestListZoneNeedsTimeOfDay(t *testing.T) {
	east8 := time.FixedZone("CST", 8*3600)
	srv := newServer(t, ftptest.WithoutMLSD(), ftptest.WithListLocation(east8))
	old := time.Now().AddDate(-2, 0, 0)
	srv.WriteFile("/old/f", []byte("x"))
	require.NoError(t, srv.SetModTime("/old/f", old))
	recent := recentTime(east8)
	srv.WriteFile("/new/f", []byte("x"))
	require.NoError(t, srv.SetModTime("/new/f", recent))

	c := dialTest(t, srv)
	ctx := context.Background()
	entries, err := c.List(ctx, "/old")
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Zero(t, countVerb(srv, "MDTM"), "a date alone tells no offset")

	entries, err = c.List(ctx, "/new")
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, 1, countVerb(srv, "MDTM"))
	assert.True(t, recent.Truncate(time.Minute).Equal(entries[0].ModTime), "listed %v, want %v", entries[0].ModTime, recent)

	entries, err = c.List(ctx, "/old")
	require.NoError(t, err)
	y, m, d := old.In(east8).Date()
	assert.True(t, time.Date(y, m, d, 0, 0, 0, 0, east8).Equal(entries[0].ModTime), "the date is the server's: %v", entries[0].ModTime)
	assert.Equal(t, 1, countVerb(srv, "MDTM"), "one MDTM a Conn")
}

// TestMirrorServerZone checks that Mirror against a LIST-only server whose
// LIST shows UTC+8 while MDTM answers in UTC copies nothing on its second
// run, without any option set.
func TestMirrorServerZone(t *testing.T) {
	east8 := time.FixedZone("CST", 8*3600)
	for _, dir := range []MirrorDirection{MirrorDown, MirrorUp} {
		t.Run(dir.String(), func(t *testing.T) {
			srv := newServer(t, ftptest.WithoutMLSD(), ftptest.WithListLocation(east8))
			tree := mirrorTree(t)
			src, dst, _ := mirrorSides(t, srv, dir, tree, "/pub", "/backup")
			p := newTestPool(t, srv, 2)
			ctx := context.Background()
			sum, err := Mirror(ctx, p, src, dst, MirrorOptions{Direction: dir})
			require.NoError(t, err)
			require.Equal(t, fileCount(tree), sum.Files)

			before := countVerb(srv, "RETR") + countVerb(srv, "STOR")
			sum, err = Mirror(ctx, p, src, dst, MirrorOptions{Direction: dir})
			require.NoError(t, err)
			assert.Equal(t, 0, sum.Files, "second run: %+v", sum.Plan)
			assert.Empty(t, sum.Plan)
			assert.Equal(t, before, countVerb(srv, "RETR")+countVerb(srv, "STOR"), "nothing transferred the second time")
		})
	}
}

// TestMirrorDateOnlyTimes checks that Mirror compares a LIST time that
// shows only a date (a file older than six months) to the day: a second
// run up to a LIST-only server copies nothing, in UTC as in UTC+8.
func TestMirrorDateOnlyTimes(t *testing.T) {
	for _, loc := range []*time.Location{time.UTC, time.FixedZone("CST", 8*3600)} {
		t.Run(loc.String(), func(t *testing.T) {
			srv := newServer(t, ftptest.WithoutMLSD(), ftptest.WithListLocation(loc))
			tree := mirrorTree(t)
			local := filepath.Join(t.TempDir(), "l")
			writeLocalTree(t, local, tree)
			old := time.Date(2020, 1, 6, 15, 4, 5, 0, time.UTC)
			for name := range tree {
				if !strings.HasSuffix(name, "/") {
					require.NoError(t, os.Chtimes(filepath.Join(local, filepath.FromSlash(name)), old, old))
				}
			}
			p := newTestPool(t, srv, 2)
			ctx := context.Background()
			sum, err := Mirror(ctx, p, local, "/backup", MirrorOptions{Direction: MirrorUp})
			require.NoError(t, err)
			require.Equal(t, fileCount(tree), sum.Files)

			sum, err = Mirror(ctx, p, local, "/backup", MirrorOptions{Direction: MirrorUp})
			require.NoError(t, err)
			assert.Equal(t, 0, sum.Files, "second run: %+v", sum.Plan)

			// A day newer is newer.
			newer := old.AddDate(0, 0, 2)
			require.NoError(t, os.Chtimes(filepath.Join(local, "a.txt"), newer, newer))
			sum, err = Mirror(ctx, p, local, "/backup", MirrorOptions{Direction: MirrorUp})
			require.NoError(t, err)
			assert.Equal(t, []MirrorAction{{Op: OpCopy, Path: "a.txt", Size: int64(len(tree["a.txt"])), Reason: "newer"}}, sum.Plan)
		})
	}
}

// TestListZoneFromInside checks that a directory listed from inside (a
// name with a space: CWD, LIST, CWD back) finds the offset too.
func TestListZoneFromInside(t *testing.T) {
	east8 := time.FixedZone("CST", 8*3600)
	srv := newServer(t, ftptest.WithoutMLSD(), ftptest.WithListLocation(east8))
	recent := recentTime(east8)
	srv.WriteFile("/my dir/f", []byte("x"))
	require.NoError(t, srv.SetModTime("/my dir/f", recent))
	c := dialTest(t, srv)
	entries, err := c.List(context.Background(), "/my dir")
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.True(t, recent.Truncate(time.Minute).Equal(entries[0].ModTime), "listed %v, want %v", entries[0].ModTime, recent)
	assert.Contains(t, srv.Commands(), "MDTM /my dir/f")
}
