package ftp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The killed-process test of segmented downloads: a child process (this
// test binary, run again) downloads in segments, checkpointing at every
// write, and at its first progress report of at least some bytes says so
// and waits to be killed; no cleanup of any kind runs.
const segmentChildMarker = "segment-child: data moving"

// TestSegmentChildProcess is the child; it does nothing unless started
// by KilledSegmentedForTest.
func TestSegmentChildProcess(t *testing.T) {
	url := os.Getenv("FTP_SEGMENT_URL")
	if url == "" {
		t.Skip("only run as a child process")
	}
	checkpointEvery = 0
	n, _ := strconv.Atoi(os.Getenv("FTP_SEGMENT_N"))
	at, _ := strconv.ParseInt(os.Getenv("FTP_SEGMENT_AT"), 10, 64)
	p, err := NewPool(url, n)
	require.NoError(t, err)
	local := os.Getenv("FTP_SEGMENT_LOCAL")
	progress := WithProgress(func(done, total int64) {
		if done < at {
			return
		}
		// A checkpoint has been made or is being made (by a segment
		// that is not waiting for this call): wait until the record
		// shows it, so that the kill leaves progress to resume.
		for i := 0; i < 1_000_000 && !recordShowsProgress(local); i++ {
		}
		fmt.Println(segmentChildMarker)
		io.Copy(io.Discard, os.Stdin) // until killed
	})
	err = p.Download(context.Background(), os.Getenv("FTP_SEGMENT_REMOTE"), local, WithSegments(n), progress)
	t.Fatalf("the child was to be killed, and ended: %v", err)
}

// recordShowsProgress reports whether the record of local's part says
// some bytes are written.
func recordShowsProgress(local string) bool {
	data, err := os.ReadFile(PartName(local) + recordSuffix)
	var r segmentRecord
	if err != nil || json.Unmarshal(data, &r) != nil {
		return false
	}
	return slices.ContainsFunc(r.Done, func(d int64) bool { return d > 0 })
}

// KilledSegmentedForTest runs Pool.Download of remote to local in n
// segments in a child process and kills it (SIGKILL) once at bytes or
// more of the file are written.
func KilledSegmentedForTest(t *testing.T, url, remote, local string, n int, at int64) {
	t.Helper()
	killChildAt(t, "TestSegmentChildProcess", segmentChildMarker, "FTP_SEGMENT_URL="+url, "FTP_SEGMENT_REMOTE="+remote,
		"FTP_SEGMENT_LOCAL="+local, "FTP_SEGMENT_N="+strconv.Itoa(n), "FTP_SEGMENT_AT="+strconv.FormatInt(at, 10))
}

// SegmentsLeftForTest reads the record of local's segmented part and
// returns where each unfinished segment resumes, sorted, and how many
// segments are finished.
func SegmentsLeftForTest(t *testing.T, local string) (resumeAt []int64, finished int) {
	t.Helper()
	data, err := os.ReadFile(PartName(local) + recordSuffix)
	require.NoError(t, err)
	var r segmentRecord
	require.NoError(t, json.Unmarshal(data, &r))
	require.True(t, r.valid(), "%s", data)
	for i, d := range r.Done {
		start, end := segmentBounds(r.Size, i, len(r.Done))
		if start+d == end {
			finished++
		} else {
			resumeAt = append(resumeAt, start+d)
		}
	}
	slices.Sort(resumeAt)
	return resumeAt, finished
}

func TestSegmentedDownloadResumesAfterKill(t *testing.T) {
	const size = 8 * minSegment
	srv, data := segmentServer(t, size)
	local := filepath.Join(t.TempDir(), "big")
	KilledSegmentedForTest(t, srv.URL(), "big", local, 4, size/2)
	left, _ := SegmentsLeftForTest(t, local)
	require.NotEmpty(t, left, "killed before the end")
	require.NotEqual(t, segmentStarts(size, 4), left, "the record kept the progress flushed before the kill")
	fi, err := os.Stat(PartName(local))
	require.NoError(t, err)
	require.Equal(t, int64(size), fi.Size())

	from := len(srv.Commands())
	p := newTestPool(t, srv, 4)
	require.NoError(t, p.Download(context.Background(), "big", local, WithSegments(4)))
	got, err := os.ReadFile(local)
	require.NoError(t, err)
	require.True(t, slices.Equal(data, got), "byte-identical")
	assert.Equal(t, left, fetches(srv, from), "each unfinished segment resumed where its record said, finished ones not fetched")
	assert.NoFileExists(t, PartName(local)+recordSuffix)
}
