package ftp

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// storeBatch runs the store step for the files of data (named by their
// index: /up/f0, /up/f1 …) on c, and returns the stored uploads.
func storeBatch(t *testing.T, c *Conn, data [][]byte) []*upFile {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	var us []*upFile
	require.NoError(t, c.locked(ctx, func() error {
		for i, d := range data {
			local := filepath.Join(dir, fmt.Sprintf("f%d", i))
			require.NoError(t, os.WriteFile(local, d, 0o644))
			u, err := c.storePart(ctx, local, fmt.Sprintf("/up/f%d", i), transferConfig{})
			require.NoError(t, err)
			us = append(us, u)
		}
		return nil
	}))
	return us
}

// endBatch runs the end step of us on c.
func endBatch(t *testing.T, c *Conn, us []*upFile) {
	t.Helper()
	require.NoError(t, c.locked(context.Background(), func() error {
		c.endUploads(context.Background(), us)
		return nil
	}))
}

// smallFiles returns n random files of 4 KiB or so.
func smallFiles(t *testing.T, n int) [][]byte {
	data := make([][]byte, n)
	for i := range data {
		data[i] = randomBytes(t, 4<<10+i)
	}
	return data
}

// TestUploadBatchFlights checks the end of a batch of three uploads:
// SIZE and MFMT of each part and RNFR of the first in one write, RNTO of
// the first with RNFR and RNTO of the others in a second one, sent only
// once every SIZE reply has come.
func TestUploadBatchFlights(t *testing.T) {
	srv := newServer(t)
	srv.MkdirAll("/up")
	w := &wire{}
	c := dialTest(t, srv, WithDialFunc(w.dial))
	data := smallFiles(t, 3)
	us := storeBatch(t, c, data)
	endBatch(t, c, us)
	for i, u := range us {
		require.NoError(t, u.err, i)
		got, err := srv.ReadFile(u.remote)
		require.NoError(t, err)
		assert.Equal(t, data[i], got, i)
	}

	var sent []string
	firstSize, firstRename := -1, -1
	for i, e := range w.events {
		switch {
		case strings.HasPrefix(e, "> SIZE ") || strings.HasPrefix(e, "> MFMT ") || strings.HasPrefix(e, "> RN"):
			sent = append(sent, strings.TrimSpace(e[2:]))
		case strings.HasPrefix(e, "< 213 ") && firstSize < 0:
			firstSize = len(sent)
		case strings.HasPrefix(e, "< 250 ") && firstRename < 0 && i > 0:
			firstRename = len(sent)
		}
	}
	var want []string
	for i := range 3 {
		want = append(want, fmt.Sprintf("SIZE /up/.f%d.part", i), fmt.Sprintf("MFMT %s /up/.f%d.part", us[i].mod.UTC().Format("20060102150405"), i))
	}
	want = append(want, "RNFR /up/.f0.part", "RNTO /up/f0", "RNFR /up/.f1.part", "RNTO /up/f1", "RNFR /up/.f2.part", "RNTO /up/f2")
	assert.Equal(t, want, sent)
	assert.Equal(t, 7, firstSize, "flight 1 (6 commands and RNFR) out before the first SIZE reply")
	assert.Equal(t, 12, firstRename, "flight 2 (RNTO and two pairs) out before the first rename's reply")
}

// TestUploadBatchSizeMismatch checks a batch in which one part, first or
// in the middle, is not what was sent: only that file fails
// (ErrSizeMismatch), its target keeps its old contents and its part is
// never renamed onto it (the RNFR of the first part is taken back by
// renaming it onto itself), and the others are renamed.
func TestUploadBatchSizeMismatch(t *testing.T) {
	for _, bad := range []int{0, 1} {
		t.Run(fmt.Sprint("part ", bad), func(t *testing.T) {
			srv := newServer(t)
			old := []byte("the only copy of the old contents")
			c := dialTest(t, srv)
			data := smallFiles(t, 3)
			srv.WriteFile(fmt.Sprintf("/up/f%d", bad), old)
			us := storeBatch(t, c, data)
			srv.WriteFile(us[bad].part, []byte("not what was sent"))
			endBatch(t, c, us)
			for i, u := range us {
				got, err := srv.ReadFile(u.remote)
				require.NoError(t, err)
				if i == bad {
					require.ErrorIs(t, u.err, ErrSizeMismatch)
					assert.Equal(t, old, got, "the target is kept")
					continue
				}
				require.NoError(t, u.err, i)
				assert.Equal(t, data[i], got, i)
			}
			assert.NotContains(t, srv.Commands(), "RNTO "+us[bad].remote)
			if bad == 0 {
				assert.Contains(t, srv.Commands(), "RNTO "+us[bad].part, "the RNFR of flight 1 taken back")
			} else {
				assert.NotContains(t, srv.Commands(), "RNFR "+us[bad].part)
			}
			require.NoError(t, c.NoOp(context.Background()), "in step")
		})
	}
}

// TestUploadBatchRenameRefused checks a batch in which the server
// refuses one rename (its target is a directory): that file alone fails,
// saying that its complete part was kept, and the others are renamed.
func TestUploadBatchRenameRefused(t *testing.T) {
	srv := newServer(t)
	c := dialTest(t, srv)
	data := smallFiles(t, 3)
	srv.MkdirAll("/up/f1")
	us := storeBatch(t, c, data)
	endBatch(t, c, us)
	require.Error(t, us[1].err)
	assert.Contains(t, us[1].err.Error(), "the complete upload is in /up/.f1.part")
	fi, err := srv.Stat("/up/f1")
	require.NoError(t, err)
	assert.True(t, fi.IsDir(), "the target is kept")
	part, err := srv.ReadFile("/up/.f1.part")
	require.NoError(t, err)
	assert.Equal(t, data[1], part, "the part is kept")
	for _, i := range []int{0, 2} {
		require.NoError(t, us[i].err, i)
		got, err := srv.ReadFile(us[i].remote)
		require.NoError(t, err)
		assert.Equal(t, data[i], got, i)
	}
	require.NoError(t, c.NoOp(context.Background()), "in step")
}

// TestUploadSingleCommandsUnchanged checks that Upload, a batch of one,
// sends what it always did (TestUploadEndsInTwoFlights checks that SIZE,
// MFMT and RNFR go in one write, then RNTO).
func TestUploadSingleCommandsUnchanged(t *testing.T) {
	srv := newServer(t)
	srv.MkdirAll("/up")
	c := dialTest(t, srv)
	local := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(local, randomBytes(t, 5000), 0o644))
	require.NoError(t, c.NoOp(context.Background())) // takes the OPTS UTF8 ON deferred after login along
	before := len(srv.Commands())
	require.NoError(t, c.Upload(context.Background(), local, "/up/f"))
	require.NoError(t, c.Upload(context.Background(), local, "/up/f"))
	assert.Equal(t, []string{
		"EPSV", "STOR", "NOOP", "SIZE", "MFMT", "RNFR", "RNTO", // the first upload probes with NOOP
		"EPSV", "STOR", "EPSV", "SIZE", "MFMT", "RNFR", "RNTO", // the next EPSV sent ahead
	}, verbs(srv)[before:])
}

// mirrorUpFiles writes n small files f0 … into a new local folder and
// returns it with the files' contents by name.
func mirrorUpFiles(t *testing.T, n int) (string, map[string][]byte) {
	tree := map[string][]byte{}
	for i, d := range smallFiles(t, n) {
		tree[fmt.Sprintf("f%d", i)] = d
	}
	local := filepath.Join(t.TempDir(), "l")
	writeLocalTree(t, local, tree)
	return local, tree
}

// storsBeforeFirst counts the STOR of parts the server received before
// the first command verb.
func storsBeforeFirst(srv *ftptest.Server, verb string) int {
	n := 0
	for _, c := range srv.Commands() {
		if strings.HasPrefix(c, verb+" ") {
			break
		}
		if strings.HasPrefix(c, "STOR ") && strings.HasSuffix(c, ".part") {
			n++
		}
	}
	return n
}

// TestMirrorUpBatches checks that Mirror up stores the parts of several
// files on a connection before it ends them, with or without pipelining:
// 5 files on one connection, one batch; each file is reported once.
func TestMirrorUpBatches(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []Option
	}{
		{"pipelined", nil},
		{"WithoutPipelining", []Option{WithoutPipelining()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			local, tree := mirrorUpFiles(t, 5)
			p := newTestPool(t, srv, 1, tt.opts...)
			var mu sync.Mutex
			reported := map[string]int{}
			sum, err := Mirror(context.Background(), p, local, "/dst", MirrorOptions{
				Direction: MirrorUp,
				OnAction: func(a MirrorAction, err error) {
					mu.Lock()
					defer mu.Unlock()
					if a.Op == OpCopy && err == nil {
						reported[a.Path]++
					}
				},
			})
			require.NoError(t, err)
			assert.Equal(t, 5, sum.Files)
			checkRemoteTree(t, srv, "/dst", tree)
			assert.Equal(t, 5, storsBeforeFirst(srv, "SIZE"), "every part stored before the first is proven")
			assert.Equal(t, 5, countVerb(srv, "RNTO"))
			for name := range tree {
				assert.Equal(t, 1, reported[name], name)
			}
			if tt.opts != nil {
				// One command at a time: each part's SIZE, MFMT, RNFR and
				// RNTO in turn.
				var ends []string
				for _, v := range verbs(srv) {
					if v == "SIZE" || v == "MFMT" || v == "RNFR" || v == "RNTO" {
						ends = append(ends, v)
					}
				}
				assert.Equal(t, slices.Repeat([]string{"SIZE", "MFMT", "RNFR", "RNTO"}, 5), ends)
			}
		})
	}
}

// TestMirrorUpBatchBreaks checks a batch whose connection breaks as its
// renames begin (421 to the first RNTO, and the server hangs up): the
// files not renamed are uploaded again on a new connection, each is
// reported once, and all arrive whole.
func TestMirrorUpBatchBreaks(t *testing.T) {
	srv := newServer(t, ftptest.WithRawReplyTimes("RNTO", "421 Service not available, closing control connection.\r\n", 1))
	local, tree := mirrorUpFiles(t, 5)
	p := newTestPool(t, srv, 1)
	sum, reported, err := mirrorUpReported(p, local)
	require.NoError(t, err)
	assert.Equal(t, 5, sum.Files)
	checkRemoteTree(t, srv, "/dst", tree)
	assert.Equal(t, 5, storsBeforeFirst(srv, "RNTO"), "the connection broke with 5 parts stored")
	assert.Equal(t, 2, logins(srv), "a second connection for the files not renamed")
	for name := range tree {
		assert.Equal(t, []error{nil}, reported[name], name)
	}
}

// TestMirrorUpBatchCancelled checks a Mirror up cancelled while its batch
// is stored: it stops with the cancellation, renames nothing and leaves
// the parts stored; a second run copies every file.
func TestMirrorUpBatchCancelled(t *testing.T) {
	srv := newServer(t)
	local, tree := mirrorUpFiles(t, 5)
	p := newTestPool(t, srv, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Mirror(ctx, p, local, "/dst", MirrorOptions{
		Direction: MirrorUp,
		OnProgress: func(path string, done, total int64) {
			if path == "f2" && done == total {
				cancel()
			}
		},
	})
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, countVerb(srv, "RNTO"), "nothing renamed")
	for _, name := range []string{"f0", "f1"} {
		_, err := srv.Stat("/dst/" + name)
		assert.Error(t, err, name)
		part, err := srv.ReadFile("/dst/." + name + ".part")
		require.NoError(t, err, "the part is left")
		assert.Equal(t, tree[name], part)
	}

	sum, err := Mirror(context.Background(), p, local, "/dst", MirrorOptions{Direction: MirrorUp})
	require.NoError(t, err)
	assert.Equal(t, 5, sum.Files)
	checkRemoteTree(t, srv, "/dst", tree)
}

// TestMirrorUpFreshRecord checks the commands of a Mirror up of a file
// large enough to leave a record beside its part, where the listing
// showed no part: the record is written without a DELE or SIZE of the
// part first, and removed once the part is renamed.
func TestMirrorUpFreshRecord(t *testing.T) {
	lowerMinResumable(t, 1000)
	srv := newServer(t)
	local := filepath.Join(t.TempDir(), "l")
	tree := map[string][]byte{"big": randomBytes(t, 5000)}
	writeLocalTree(t, local, tree)
	p := newTestPool(t, srv, 1)
	sum, err := Mirror(context.Background(), p, local, "/dst", MirrorOptions{Direction: MirrorUp})
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Files)
	checkRemoteTree(t, srv, "/dst", tree)
	var ends []string
	for _, c := range srv.Commands() {
		if strings.HasPrefix(c, "MFMT ") {
			c = "MFMT " + c[strings.LastIndex(c, " ")+1:] // without the time
		}
		if strings.Contains(c, "/dst/.big.part") {
			ends = append(ends, c)
		}
	}
	assert.Equal(t, []string{
		"STOR /dst/.big.part.meta", "STOR /dst/.big.part",
		"SIZE /dst/.big.part", "MFMT /dst/.big.part", "RNFR /dst/.big.part",
		"DELE /dst/.big.part.meta",
	}, ends)
	_, serr := srv.Stat("/dst/.big.part.meta")
	assert.Error(t, serr, "the record is removed")
}

// halfFlightConn is a control connection that sends only the first three
// lines of the first write that starts with RNTO and holds more (the
// second flight of a batch), then shuts its sending side: the server
// answers those three and hangs up.
type halfFlightConn struct {
	net.Conn
	once sync.Once
}

func (c *halfFlightConn) Write(b []byte) (int, error) {
	lines := strings.SplitAfter(string(b), "\r\n")
	if !strings.HasPrefix(string(b), "RNTO ") || len(lines) <= 4 {
		return c.Conn.Write(b)
	}
	cut := false
	c.once.Do(func() { cut = true })
	if !cut {
		return c.Conn.Write(b)
	}
	if _, err := c.Conn.Write([]byte(strings.Join(lines[:3], ""))); err != nil {
		return 0, err
	}
	c.Conn.(*net.TCPConn).CloseWrite()
	return len(b), nil
}

// TestMirrorUpBatchBreaksMidRenames checks a batch whose connection
// breaks in the middle of its second flight: the renames whose replies
// came (f0, and f1's RNFR and RNTO) are reported done and not sent
// again; the others are uploaded again on a new connection; every file
// is reported once, and all arrive whole.
func TestMirrorUpBatchBreaksMidRenames(t *testing.T) {
	srv := newServer(t)
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil || addr != srv.Addr() {
			return nc, err
		}
		return &halfFlightConn{Conn: nc}, nil
	}
	local, tree := mirrorUpFiles(t, 5)
	p := newTestPool(t, srv, 1, WithDialFunc(dial))
	sum, reported, err := mirrorUpReported(p, local)
	require.NoError(t, err)
	assert.Equal(t, 5, sum.Files)
	checkRemoteTree(t, srv, "/dst", tree)
	for i := range 5 {
		name := fmt.Sprintf("f%d", i)
		assert.Equal(t, []error{nil}, reported[name], name)
		want := 2
		if i < 2 {
			want = 1 // renamed in the broken batch
		}
		assert.Equal(t, want, count(srv.Commands(), "STOR /dst/."+name+".part"), name)
	}
}

// TestBatchFiles checks the size of Mirror up's batches: 16 files at
// most, an even share of those left near the end of a run.
func TestBatchFiles(t *testing.T) {
	for _, tt := range []struct{ left, workers, want int }{
		{200, 4, 16}, {64, 4, 16}, {63, 4, 16}, {20, 4, 5}, {5, 4, 2}, {3, 4, 1}, {1, 4, 1}, {5, 1, 5}, {40, 1, 16},
	} {
		assert.Equal(t, tt.want, batchFiles(tt.left, tt.workers), "%d left, %d workers", tt.left, tt.workers)
	}
}

// mirrorUpReported mirrors local up to /dst through p and returns, with
// the summary and error, what OnAction reported for each file copied.
func mirrorUpReported(p *Pool, local string) (MirrorSummary, map[string][]error, error) {
	var mu sync.Mutex
	reported := map[string][]error{}
	sum, err := Mirror(context.Background(), p, local, "/dst", MirrorOptions{
		Direction: MirrorUp,
		OnAction: func(a MirrorAction, err error) {
			mu.Lock()
			defer mu.Unlock()
			if a.Op == OpCopy {
				reported[a.Path] = append(reported[a.Path], err)
			}
		},
	})
	return sum, reported, err
}
