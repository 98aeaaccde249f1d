package ftp

import (
	"context"
	"encoding/json"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// segmentData is n bytes that differ from offset to offset, so that a
// byte written at the wrong place shows.
func segmentData(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewChaCha8([32]byte{19, 4}))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// fetches returns the offsets of the RETRs the server received from
// index from on: that of each REST (which the client sends right before
// its RETR), and 0 for each RETR without one; sorted, as the sessions'
// commands interleave.
func fetches(srv *ftptest.Server, from int) []int64 {
	var offs []int64
	retrs := 0
	for _, c := range srv.Commands()[from:] {
		switch verb(c) {
		case "REST":
			n, _ := strconv.ParseInt(strings.TrimSpace(c[5:]), 10, 64)
			offs = append(offs, n)
		case "RETR":
			retrs++
		}
	}
	for len(offs) < retrs {
		offs = append(offs, 0)
	}
	slices.Sort(offs)
	return offs
}

// segmentStarts are the starts of n segments of a file of size bytes.
func segmentStarts(size int64, n int) []int64 {
	var out []int64
	for i := range n {
		s, _ := segmentBounds(size, i, n)
		out = append(out, s)
	}
	return out
}

var segModTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// segmentServer serves "big" of size bytes.
func segmentServer(t *testing.T, size int, opts ...ftptest.ServerOption) (*ftptest.Server, []byte) {
	t.Helper()
	data := segmentData(size)
	srv := newServer(t, opts...)
	srv.WriteFile("big", data)
	require.NoError(t, srv.SetModTime("big", segModTime))
	return srv, data
}

func TestSegmentBounds(t *testing.T) {
	for _, size := range []int64{0, 1, 7, minSegment - 1, 5*minSegment + 3} {
		for n := 1; n <= 9; n++ {
			var next int64
			lo, hi := size, int64(0)
			for i := range n {
				start, end := segmentBounds(size, i, n)
				require.Equal(t, next, start, "size %d, n %d, segment %d starts where the last ended", size, n, i)
				next = end
				lo, hi = min(lo, end-start), max(hi, end-start)
			}
			assert.Equal(t, size, next, "size %d, n %d: the segments cover the file", size, n)
			assert.LessOrEqual(t, hi-lo, int64(1), "size %d, n %d: sizes differ by a byte at most", size, n)
		}
	}
}

func TestPoolDownloadSegments(t *testing.T) {
	for _, tc := range []struct {
		name     string
		size     int
		n        int
		segments int // expected; 1: one stream
	}{
		{"empty", 0, 4, 1},
		{"one byte", 1, 4, 1},
		{"segment-1", minSegment - 1, 4, 1},
		{"segment", minSegment, 4, 1},
		{"two segments-1", 2*minSegment - 1, 4, 1},
		{"two segments", 2 * minSegment, 4, 2},
		{"many segments", 5*minSegment + 3, 4, 4},
		{"fewer than asked, by size", 3*minSegment + 1, 16, 3},
		{"fewer than asked, by the pool", 9 * minSegment, 16, 5},
		{"one asked", 4 * minSegment, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, data := segmentServer(t, tc.size, ftptest.WithHash())
			p := newTestPool(t, srv, 5)
			local := filepath.Join(t.TempDir(), "big")
			var mu sync.Mutex
			var last int64
			var calls int
			progress := func(done, total int64) {
				mu.Lock()
				defer mu.Unlock()
				assert.GreaterOrEqual(t, done, last, "progress goes forward")
				assert.Equal(t, int64(tc.size), total)
				last = done
				calls++
			}
			require.NoError(t, p.Download(context.Background(), "big", local, WithSegments(tc.n), WithProgress(progress)))
			got, err := os.ReadFile(local)
			require.NoError(t, err)
			require.True(t, slices.Equal(data, got), "byte-identical")
			fi, err := os.Stat(local)
			require.NoError(t, err)
			assert.True(t, fi.ModTime().Equal(segModTime), "the remote modification time")
			assert.NoFileExists(t, PartName(local))
			assert.NoFileExists(t, PartName(local)+recordSuffix)
			assert.Equal(t, segmentStarts(int64(tc.size), tc.segments), fetches(srv, 0), "one RETR per segment, from its start")
			if tc.size > 0 {
				assert.Equal(t, int64(tc.size), last, "progress reached the end")
			}
			if tc.segments > 1 {
				assert.Contains(t, verbs(srv), "HASH", "checked like any Download")
				// Each segment but the last ends with ABOR, unless the server
				// had sent all of the file, and its 226, before the segment's
				// end was read (loopback buffers hold a few MiB): nothing
				// is left to abort then.
				assert.LessOrEqual(t, count(verbs(srv), "ABOR"), tc.segments-1, "no segment ended with ABOR twice")
			}
		})
	}
}

// readSegmentRecord reads the record of local's part.
func readSegmentRecord(t *testing.T, local string) segmentRecord {
	t.Helper()
	data, err := os.ReadFile(PartName(local) + recordSuffix)
	require.NoError(t, err)
	var r segmentRecord
	require.NoError(t, json.Unmarshal(data, &r))
	require.True(t, r.valid(), "%s", data)
	return r
}

// cancelAt returns a context cancelled by the progress option returned
// once done reaches at.
func cancelAt(at int64) (context.Context, TransferOption, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	return ctx, WithProgress(func(done, _ int64) {
		if done >= at {
			cancel()
		}
	}), cancel
}

func TestPoolDownloadSegmentsResume(t *testing.T) {
	// The part an interrupted download leaves: segments 0 and 2 written,
	// 1 half written, 3 not begun; the record says so, and holds less
	// than segment 1's part holds (a checkpoint lags the writes).
	const size = 4*minSegment + 2
	srv, data := segmentServer(t, size)
	local := filepath.Join(t.TempDir(), "big")
	part := make([]byte, size)
	done := make([]int64, 4)
	for i, upto := range []int64{-1, minSegment / 2, -1, 0} {
		start, end := segmentBounds(size, i, 4)
		if upto < 0 {
			upto = end - start
		}
		copy(part[start:start+upto], data[start:])
		done[i] = upto
	}
	done[1] -= 1000
	rec := segmentRecord{partRecord{Version: segmentRecordVersion, Source: "ftp://" + srv.Addr() + " big", Size: size, ModTime: segModTime}, done}
	require.NoError(t, os.WriteFile(PartName(local)+recordSuffix, mustJSON(t, rec), 0o644))
	require.NoError(t, os.WriteFile(PartName(local), part, 0o644))

	p := newTestPool(t, srv, 4)
	require.NoError(t, p.Download(context.Background(), "big", local, WithSegments(4)))
	got, err := os.ReadFile(local)
	require.NoError(t, err)
	require.True(t, slices.Equal(data, got), "byte-identical")
	s1, _ := segmentBounds(size, 1, 4)
	s3, _ := segmentBounds(size, 3, 4)
	assert.Equal(t, []int64{s1 + minSegment/2 - 1000, s3}, fetches(srv, 0), "only the rest of the unfinished segments is fetched")
	assert.NoFileExists(t, PartName(local)+recordSuffix)
}

func TestSegmentedPartNotResumedAsOneStream(t *testing.T) {
	const size = 4 * minSegment
	srv, data := segmentServer(t, size)
	p := newTestPool(t, srv, 4)
	local := filepath.Join(t.TempDir(), "big")
	ctx, progress, cancel := cancelAt(size / 2)
	defer cancel()
	require.ErrorIs(t, p.Download(ctx, "big", local, WithSegments(4), progress), context.Canceled)
	fi, err := os.Stat(PartName(local))
	require.NoError(t, err)
	require.Equal(t, int64(size), fi.Size(), "the part has holes but the file's size")

	from := len(srv.Commands())
	require.NoError(t, p.Download(context.Background(), "big", local))
	got, err := os.ReadFile(local)
	require.NoError(t, err)
	require.True(t, slices.Equal(data, got), "byte-identical")
	assert.Equal(t, []int64{0}, fetches(srv, from), "one stream starts afresh: its size does not say what a segmented part holds")
}

func TestPoolDownloadSegmentsOneStream(t *testing.T) {
	const size = 4 * minSegment
	for _, tc := range []struct {
		name string
		opts []ftptest.ServerOption
		pool int
	}{
		{"REST refused", []ftptest.ServerOption{ftptest.WithRawReply("REST", "502 REST not implemented.\r\n")}, 4},
		{"no REST STREAM", []ftptest.ServerOption{ftptest.WithoutFeatures("REST")}, 4},
		{"no time to the second", []ftptest.ServerOption{ftptest.WithoutMLSD(), ftptest.WithRawReply("MDTM", "502 MDTM not implemented.\r\n")}, 4},
		{"a pool of one", nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, data := segmentServer(t, size, tc.opts...)
			p := newTestPool(t, srv, tc.pool)
			local := filepath.Join(t.TempDir(), "big")
			require.NoError(t, p.Download(context.Background(), "big", local, WithSegments(4)))
			got, err := os.ReadFile(local)
			require.NoError(t, err)
			require.True(t, slices.Equal(data, got), "byte-identical")
			cmds := verbs(srv)
			last := -1
			for i, v := range cmds {
				if v == "RETR" {
					last = i
				}
			}
			require.Greater(t, last, 0)
			assert.NotEqual(t, "REST", cmds[last-1], "the last RETR is one stream from the start")
			assert.NoFileExists(t, PartName(local))
			assert.NoFileExists(t, PartName(local)+recordSuffix)
		})
	}
}

func TestPoolDownloadSegmentsConnectionCap(t *testing.T) {
	const size = 6*minSegment + 5
	for _, limit := range []int{1, 2} {
		t.Run(strconv.Itoa(limit), func(t *testing.T) {
			srv, data := segmentServer(t, size, ftptest.WithMaxConnections(limit))
			p := newTestPool(t, srv, 4)
			local := filepath.Join(t.TempDir(), "big")
			require.NoError(t, p.Download(context.Background(), "big", local, WithSegments(4)))
			got, err := os.ReadFile(local)
			require.NoError(t, err)
			require.True(t, slices.Equal(data, got), "byte-identical")
			assert.Equal(t, segmentStarts(size, limit), fetches(srv, 0), "as many segments as the server takes connections")
			assert.Equal(t, limit, p.Stats().Limit, "the Pool learned the cap")
		})
	}
}

func TestPoolDownloadSegmentsRemoteChanged(t *testing.T) {
	const size = 4 * minSegment
	for _, tc := range []struct {
		name   string
		change func(srv *ftptest.Server, data []byte)
	}{
		{"grows", func(srv *ftptest.Server, data []byte) { srv.WriteFile("big", append(slices.Clone(data), 'x')) }},
		{"shrinks", func(srv *ftptest.Server, data []byte) { srv.WriteFile("big", data[:size-minSegment/2]) }},
		{"rewritten, same size", func(srv *ftptest.Server, data []byte) {
			d := slices.Clone(data)
			for i := range d {
				d[i] ^= 0xff
			}
			srv.WriteFile("big", d)
			srv.SetModTime("big", segModTime.Add(time.Hour))
		}},
		{"touched", func(srv *ftptest.Server, _ []byte) { srv.SetModTime("big", segModTime.Add(time.Second)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, data := segmentServer(t, size)
			p := newTestPool(t, srv, 4)
			local := filepath.Join(t.TempDir(), "big")
			var once sync.Once
			change := WithProgress(func(done, _ int64) {
				if done >= size/4 {
					once.Do(func() { tc.change(srv, data) })
				}
			})
			err := p.Download(context.Background(), "big", local, WithSegments(4), change)
			require.ErrorIs(t, err, ErrRemoteChanged)
			assert.NoFileExists(t, local)
			assert.NoFileExists(t, PartName(local), "a part of two versions is not kept")
			assert.NoFileExists(t, PartName(local)+recordSuffix)
		})
	}
}

func TestPoolDownloadSegmentsEndEarly(t *testing.T) {
	// Every RETR ends after half a segment, and the server calls it
	// complete: the data did not go on to the size the file had.
	const size = 4 * minSegment
	srv, _ := segmentServer(t, size, ftptest.WithTruncate(minSegment/2, "226 Transfer complete.\r\n"))
	p := newTestPool(t, srv, 4)
	local := filepath.Join(t.TempDir(), "big")
	err := p.Download(context.Background(), "big", local, WithSegments(4))
	require.ErrorIs(t, err, ErrRemoteChanged)
	assert.NoFileExists(t, local)
	assert.NoFileExists(t, PartName(local))
	assert.NoFileExists(t, PartName(local)+recordSuffix)
}

func TestPoolDownloadSegmentsCancel(t *testing.T) {
	// Four segments at once, cancelled: every goroutine and connection
	// ends (goleak, in TestMain), and the Pool stays usable.
	const size = 8 * minSegment
	srv, data := segmentServer(t, size)
	p := newTestPool(t, srv, 4)
	local := filepath.Join(t.TempDir(), "big")
	ctx, progress, cancel := cancelAt(size / 3)
	defer cancel()
	err := p.Download(ctx, "big", local, WithSegments(4), progress)
	require.ErrorIs(t, err, context.Canceled)
	rec := readSegmentRecord(t, local)
	var done int64
	for _, d := range rec.Done {
		done += d
	}
	assert.Greater(t, done, int64(0), "the record keeps what was written")
	assert.Less(t, done, int64(size))
	left, _ := SegmentsLeftForTest(t, local)
	from := len(srv.Commands())
	require.NoError(t, p.Download(context.Background(), "big", local, WithSegments(4)))
	assert.Equal(t, left, fetches(srv, from), "resumed where the record says")
	got, err := os.ReadFile(local)
	require.NoError(t, err)
	require.True(t, slices.Equal(data, got), "byte-identical")
	require.NoError(t, p.Close())
	assert.Equal(t, 0, p.Stats().Open)
}

func TestSegmentRecordInvalid(t *testing.T) {
	good := segmentRecord{partRecord: partRecord{Version: segmentRecordVersion, Size: 10}, Done: []int64{5, 5}}
	require.True(t, good.valid())
	for name, r := range map[string]segmentRecord{
		"one-stream version": {partRecord: partRecord{Version: recordVersion, Size: 10}, Done: []int64{5, 5}},
		"no segments":        {partRecord: good.partRecord},
		"too many segments":  {partRecord: good.partRecord, Done: make([]int64, maxSegments+1)},
		"past a segment":     {partRecord: good.partRecord, Done: []int64{6, 4}},
		"negative":           {partRecord: good.partRecord, Done: []int64{-1, 0}},
	} {
		assert.False(t, r.valid(), name)
	}
	assert.Nil(t, parseRecord(mustJSON(t, good)), "a one-stream Download does not read a segmented record")
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestPoolDownloadSegmentsMissing(t *testing.T) {
	srv := newServer(t)
	p := newTestPool(t, srv, 4)
	local := filepath.Join(t.TempDir(), "big")
	err := p.Download(context.Background(), "nothing", local, WithSegments(4))
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.NoFileExists(t, local)
	assert.NoFileExists(t, PartName(local))
	assert.NoFileExists(t, PartName(local)+recordSuffix)
}
