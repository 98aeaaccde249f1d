package ftp

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// overlap is a net.Conn wrapper shared by the control connections of a
// Pool: a command line that starts with prefix waits until want such
// commands wait at once (the overlap then happened), or, if they never
// do, for a bound, so that a client that sends them one at a time is
// slow and caught, not stuck.
type overlap struct {
	prefix string
	want   int

	mu      sync.Mutex
	waiting int
	done    chan struct{}  // closed when want waited at once
	dials   map[string]int // connections dialled, by address
	alone   int            // commands that waited for the bound: no overlap came
}

func newOverlap(prefix string, want int) *overlap {
	return &overlap{prefix: prefix, want: want, done: make(chan struct{}), dials: map[string]int{}}
}

func (o *overlap) reached() bool {
	select {
	case <-o.done:
		return true
	default:
		return false
	}
}

func (o *overlap) wait() {
	o.mu.Lock()
	o.waiting++
	if o.waiting == o.want && !o.reached() {
		close(o.done)
	}
	o.mu.Unlock()
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	alone := 0
	select {
	case <-o.done:
	case <-t.C:
		alone = 1
	}
	o.mu.Lock()
	o.waiting--
	o.alone += alone
	o.mu.Unlock()
}

// waitedAlone is how many commands waited for the bound.
func (o *overlap) waitedAlone() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.alone
}

func (o *overlap) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	o.mu.Lock()
	o.dials[addr]++
	o.mu.Unlock()
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &overlapConn{Conn: nc, o: o}, nil
}

type overlapConn struct {
	net.Conn
	o *overlap
}

// Write holds back a write that holds a command line starting with the
// prefix, first or after others sent with it.
func (c *overlapConn) Write(b []byte) (int, error) {
	if s := string(b); strings.HasPrefix(s, c.o.prefix) || strings.Contains(s, "\n"+c.o.prefix) {
		c.o.wait()
	}
	return c.Conn.Write(b)
}

// subfolderTree is n subfolders of one file each.
func subfolderTree(t *testing.T, n int) map[string][]byte {
	tree := map[string][]byte{}
	for i := range n {
		tree[fmt.Sprintf("d%d/f%d", i, i)] = randomBytes(t, 100+i)
	}
	return tree
}

// TestMirrorRerunOverNetwork checks what a Mirror with nothing to copy
// costs, where every round trip counts: the Pool's connections are all
// dialled at the start (their logins overlap the first listing, instead of
// following it), the subfolders are listed in parallel, and an upload's
// destination root that listed is not made again (no MKD, nor the PWD and
// CWD that check it).
func TestMirrorRerunOverNetwork(t *testing.T) {
	for _, dir := range []MirrorDirection{MirrorDown, MirrorUp} {
		t.Run(dir.String(), func(t *testing.T) {
			srv := newServer(t, ftptest.WithoutMLSD())
			tree := subfolderTree(t, 4)
			src, dst, _ := mirrorSides(t, srv, dir, tree, "/src", "/dst")
			ctx := context.Background()
			_, err := Mirror(ctx, newTestPool(t, srv, 4), src, dst, MirrorOptions{Direction: dir})
			require.NoError(t, err)

			// The subfolders of the remote side: /src down, /dst up.
			remote := map[MirrorDirection]string{MirrorDown: "/src", MirrorUp: "/dst"}[dir]
			o := newOverlap("LIST -a "+remote+"/d", 2)
			p := newTestPool(t, srv, 4, WithDialFunc(o.dial))
			before := len(srv.Commands())
			sum, err := Mirror(ctx, p, src, dst, MirrorOptions{Direction: dir})
			require.NoError(t, err)
			assert.Zero(t, sum.Files)
			assert.Equal(t, fileCount(tree), sum.Skipped)
			// Those not needed by the end may have been given up.
			assert.Equal(t, 4, o.dials[srv.Addr()], "every connection dialled")
			assert.True(t, o.reached(), "subfolders listed in parallel")
			for _, c := range srv.Commands()[before:] {
				assert.NotContains(t, []string{"MKD", "PWD", "CWD"}, verb(c), c)
			}
		})
	}
}

// TestMirrorDownAsksTimesInFlights checks that a Mirror down from a server
// without MLSD asks the times to the second (MDTM) of the files to copy
// many to a flight, before the downloads, instead of one round trip per
// file in each download; the files get those times.
func TestMirrorDownAsksTimesInFlights(t *testing.T) {
	srv := newServer(t, ftptest.WithoutMLSD())
	tree := map[string][]byte{}
	for i := range 5 {
		name := fmt.Sprintf("f%d", i)
		tree[name] = randomBytes(t, 100+i)
		srv.WriteFile("/src/"+name, tree[name])
		srv.SetModTime("/src/"+name, time.Date(2021, 3, 4, 5, 6, 7+i, 0, time.UTC))
	}
	w := &wire{}
	p := newTestPool(t, srv, 1, WithDialFunc(w.dial))
	local := t.TempDir()
	sum, err := Mirror(context.Background(), p, "/src", local, MirrorOptions{})
	require.NoError(t, err)
	assert.Equal(t, 5, sum.Files)
	checkLocalTree(t, local, tree)
	for i := range 5 {
		fi, err := os.Stat(filepath.Join(local, fmt.Sprintf("f%d", i)))
		require.NoError(t, err)
		assert.True(t, fi.ModTime().Equal(time.Date(2021, 3, 4, 5, 6, 7+i, 0, time.UTC)), "%v", fi.ModTime())
	}
	assert.Equal(t, 5, countVerb(srv, "MDTM"), "once a file")
	last, first := -1, w.index("< 213 ")
	for i := range 5 {
		last = max(last, w.index(fmt.Sprintf("> MDTM /src/f%d", i)))
	}
	require.True(t, first >= 0 && last >= 0, "%q", w.events)
	assert.Less(t, last, first, "every MDTM sent before the first reply came")
}

// slowDials holds back the control connections dialled, but the last of
// want, until their context ends (or a bound passes): the login that
// comes first is that one's.
type slowDials struct {
	ctrl string // the control address
	want int

	mu   sync.Mutex
	n    int
	fast wire // what the connection let through wrote and read
}

func (s *slowDials) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	if addr != s.ctrl {
		return d.DialContext(ctx, network, addr)
	}
	s.mu.Lock()
	s.n++
	fast := s.n == s.want
	s.mu.Unlock()
	if !fast {
		t := time.NewTimer(10 * time.Second)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	nc, err := d.DialContext(ctx, network, addr)
	if err == nil && fast {
		return &wireConn{Conn: nc, w: &s.fast}, nil
	}
	return nc, err
}

// TestMirrorListsOnFirstLogin checks that the first listing of a Mirror
// goes over whichever of the Pool's connections logs in first, not over
// one it waits for, and that Mirror does not wait for the logins it did
// not need.
func TestMirrorListsOnFirstLogin(t *testing.T) {
	srv := newServer(t)
	tree := map[string][]byte{"a": []byte("a")}
	writeRemoteTree(srv, "/src", tree)
	local := t.TempDir()
	writeLocalTree(t, local, tree)
	s := &slowDials{ctrl: srv.Addr(), want: 4}
	p := newTestPool(t, srv, 4, WithDialFunc(s.dial))
	sum, err := Mirror(context.Background(), p, "/src", local, MirrorOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Skipped)
	assert.GreaterOrEqual(t, s.fast.index("> MLSD /src"), 0, "listed over the first login")
	assert.Equal(t, 1, p.Stats().Open, "the held-back logins given up")
}

// TestMirrorListsKnownFoldersAtOnce checks that a Mirror run again lists
// the remote folders that the local tree has (down: the destination's,
// up: the source's) in its first wave of listings, with the root, over
// the Pool's connections at once, instead of a level at a time, and that
// each is listed once: the root and three folders nested in one another
// (each level of one folder) wait for one another's listing command.
func TestMirrorListsKnownFoldersAtOnce(t *testing.T) {
	tree := map[string][]byte{"top": []byte("t"), "a/b/c/f": []byte("f"), "a/b/g": []byte("g")}
	for _, dir := range []MirrorDirection{MirrorDown, MirrorUp} {
		t.Run(dir.String(), func(t *testing.T) {
			srv := newServer(t, ftptest.WithoutMLSD())
			src, dst, _ := mirrorSides(t, srv, dir, tree, "/src", "/dst")
			ctx := context.Background()
			_, err := Mirror(ctx, newTestPool(t, srv, 4), src, dst, MirrorOptions{Direction: dir})
			require.NoError(t, err)

			remote := map[MirrorDirection]string{MirrorDown: "/src", MirrorUp: "/dst"}[dir]
			o := newOverlap("LIST -a "+remote, 4)
			p := newTestPool(t, srv, 4, WithDialFunc(o.dial))
			before := len(srv.Commands())
			sum, err := Mirror(ctx, p, src, dst, MirrorOptions{Direction: dir, Delete: true})
			require.NoError(t, err)
			assert.Equal(t, fileCount(tree), sum.Skipped)
			assert.Empty(t, sum.Plan)
			assert.True(t, o.reached(), "root and folders listed at once")
			assert.Zero(t, o.waitedAlone(), "no listing waited alone for the others")
			var listed []string
			for _, c := range srv.Commands()[before:] {
				if verb(c) == "LIST" {
					listed = append(listed, c)
				}
			}
			assert.ElementsMatch(t, []string{"LIST -a " + remote, "LIST -a " + remote + "/a", "LIST -a " + remote + "/a/b", "LIST -a " + remote + "/a/b/c"}, listed, "each folder listed once")
		})
	}
}
