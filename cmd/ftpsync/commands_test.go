package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLsShowsWhatTheServerSaid: ls sorts by name, shows "-" for a size
// the server did not give, times to the precision it gave (seconds from
// MLSD, minutes or a date from LIST) and escapes control characters in
// names (issue 21, items 5 and 6).
func TestLsShowsWhatTheServerSaid(t *testing.T) {
	srv := newServer(t, ftptest.WithoutMLSD(), ftptest.WithListLines("/pub",
		"-rw-r--r--   1 ftp ftp        7 Jan  6  2020 zeta",
		"-rw-r--r--   1 ftp ftp        5 Mar  2 15:13 alpha",
		"03-02-20  03:13PM       <DIR>          mid",
		"-rw-r--r--   1 ftp ftp        3 Mar  2 15:13 \x1b[31mred\x1b[0m",
	), ftptest.WithListLocation(time.UTC))
	r := ftpsync(t, nil, "ls", "--timezone", "UTC", at(srv, "pub"))
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 4, r.stdout)
	assert.Regexp(t, `^file +3  \d{4}-03-02 15:13 +\\x1b\[31mred\\x1b\[0m$`, lines[0])
	assert.Regexp(t, `^file +5  \d{4}-03-02 15:13 +alpha$`, lines[1])
	assert.Regexp(t, `^dir +-  2020-03-02 15:13 +mid$`, lines[2])
	assert.Regexp(t, `^file +7  2020-01-06 +zeta$`, lines[3])
	assert.NotContains(t, r.stdout, "\x1b")

	mlsd := newServer(t)
	mlsd.WriteFile("/d/b", []byte("bb"))
	mlsd.WriteFile("/d/a", []byte("a"))
	mlsd.MkdirAll("/d/c")
	r = ftpsync(t, nil, "ls", at(mlsd, "d"))
	require.Equal(t, exitOK, r.code, r.stderr)
	lines = strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 3, r.stdout)
	assert.Regexp(t, `^file +1  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  a$`, lines[0])
	assert.Regexp(t, `^file +2  .* b$`, lines[1])
	assert.Regexp(t, `^dir +\d+  .* c$`, lines[2])
}

// TestLsOfAFileLooksTheSame: ls of a file shows one entry, alike on a
// LIST-only server (vsftpd) and on one with MLST.
func TestLsOfAFileLooksTheSame(t *testing.T) {
	var shown []string
	for _, opts := range [][]ftptest.ServerOption{vsftpd, nil} {
		srv := newServer(t, opts...)
		srv.WriteFile("/pub/file.txt", []byte("a file"))
		r := ftpsync(t, nil, "ls", at(srv, "pub/file.txt"))
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.Regexp(t, `^file +6  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  file.txt\n$`, r.stdout)
		shown = append(shown, r.stdout[:strings.Index(r.stdout, "  ")+14]) // type, size and date
	}
	assert.Equal(t, shown[0], shown[1])
}

// TestGetExplains: get into a missing local directory names it (not
// ".NAME.part"), exit 4; get of a remote directory says to use mirror,
// with put's exit code for a local directory (issue 21, item 5).
func TestGetExplains(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("/d/f", []byte("x"))
	dir := t.TempDir()
	missing := filepath.Join(dir, "no such dir")
	r := ftpsync(t, nil, "get", at(srv, "d/f"), filepath.Join(missing, "f"))
	assert.Equal(t, exitNotFound, r.code)
	assert.Contains(t, r.stderr, "the local directory "+missing+" does not exist")
	assert.NotContains(t, r.stderr, ".part")

	r = ftpsync(t, nil, "get", at(srv, "d/f"), missing+"/")
	assert.Equal(t, exitNotFound, r.code)
	assert.Contains(t, r.stderr, "the local directory "+missing+"/ does not exist")

	r = ftpsync(t, nil, "get", at(srv, "d"), dir)
	assert.Equal(t, exitUsage, r.code, r.stderr)
	assert.Contains(t, r.stderr, "d is a directory: use mirror")
	put := ftpsync(t, nil, "put", dir, at(srv, "x"))
	assert.Equal(t, put.code, r.code)
}

// TestMirrorPlainProgress: off a terminal, mirror prints what it will
// copy and a line per file; with --json, stdout is the final object alone
// and stderr has no progress (issue 21, item 2).
func TestMirrorPlainProgress(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("/src/a", []byte("aa"))
	srv.WriteFile("/src/b/c", []byte("ccc"))
	dir := t.TempDir()
	r := ftpsync(t, nil, "mirror", at(srv, "src"), dir)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "copying 2 files (5 bytes)\n")
	assert.Contains(t, r.stdout, "copy a (2 bytes, missing)\n")
	assert.Contains(t, r.stdout, "copy b/c (3 bytes, missing)\n")
	assert.NotContains(t, r.stderr, "\r")

	srv.WriteFile("/src/d", []byte("d"))
	r = ftpsync(t, nil, "mirror", "--json", at(srv, "src"), dir)
	require.Equal(t, exitOK, r.code, r.stderr)
	var js jsonSummary
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &js), r.stdout)
	assert.Equal(t, 1, js.Files)
	assert.Empty(t, strings.ReplaceAll(r.stderr, "ftpsync: warning: a password in the URL is visible to other users (ps, shell history): use FTP_PASSWORD, ~/.netrc, or leave it out to be asked\n", ""))
}

// TestMirrorStopsAtLocalWriteError: a local write error stops the run
// after the first file (the others would fail the same way), and failures
// with the same cause print once with a count (issue 21, item 5). Names
// too long for the local file system fail as root too.
func TestMirrorStopsAtLocalWriteError(t *testing.T) {
	srv := newServer(t)
	long := strings.Repeat("n", 250)
	for i := range 100 {
		srv.WriteFile("/src/"+long+string(rune('A'+i%26))+strings.Repeat("x", i/26), []byte("data"))
	}
	dir := t.TempDir()
	r := ftpsync(t, nil, "mirror", "--parallel", "2", at(srv, "src"), dir)
	assert.Equal(t, exitFailed, r.code, r.stderr)
	assert.Equal(t, 1, strings.Count(r.stdout, "file name too long"), r.stdout)
	assert.LessOrEqual(t, strings.Count(r.stdout, "FAILED copy"), 2, r.stdout)
	assert.Contains(t, r.stderr, "stopped at a local write error (the next files would fail the same way)")
	stors := 0
	for _, c := range srv.Commands() {
		if strings.HasPrefix(c, "RETR") {
			stors++
		}
	}
	assert.Less(t, stors, 10, "the run went on after the first local write error")
}

// TestMirrorSameCauseOnce: a hundred failures of one cause print one line
// and a count (issue 21, item 5): here unreadable local files of a
// mirror --reverse, which does not stop the run.
func TestMirrorSameCauseOnce(t *testing.T) {
	if os.Geteuid() == 0 {
		// Root reads any file: check the counting alone.
		var stdout strings.Builder
		out := &mirrorOutput{e: &env{stdout: &stdout}, o: &options{}, same: map[string]int{}}
		for i := range 100 {
			err := &os.PathError{Op: "open", Path: fmt.Sprintf("f%d", i), Err: syscall.EACCES}
			assert.Equal(t, i > 0, out.repeated(fmt.Errorf("copy: %w", err)), i)
		}
		assert.False(t, out.repeated(errors.New("550 refused")))
		assert.False(t, out.repeated(errors.New("550 refused")), "a server's error is printed each time")
		out.sameCauses()
		assert.Equal(t, "FAILED 99 more files the same way (open: permission denied)\n", stdout.String())
		return
	}
	srv := newServer(t)
	dir := t.TempDir()
	for i := range 100 {
		name := filepath.Join(dir, "f"+strings.Repeat("x", i))
		require.NoError(t, os.WriteFile(name, []byte("x"), 0o000))
	}
	r := ftpsync(t, nil, "mirror", "--reverse", dir, at(srv, "dst"))
	assert.Equal(t, exitFailed, r.code)
	assert.Equal(t, 1, strings.Count(r.stdout, "permission denied:"), r.stdout)
	assert.Contains(t, r.stdout, "FAILED 99 more files the same way")
}

// TestMirrorChecksumUnsupported: --checksum on a server with no checksum
// command says so, once; with one, nothing is said (issue 21, item 9).
func TestMirrorChecksumUnsupported(t *testing.T) {
	for _, hash := range []bool{false, true} {
		var opts []ftptest.ServerOption
		if hash {
			opts = append(opts, ftptest.WithHash())
		}
		srv := newServer(t, opts...)
		srv.WriteFile("/src/a", []byte("a"))
		srv.WriteFile("/src/b", []byte("b"))
		dir := t.TempDir()
		writeTree(t, dir, map[string][]byte{"a": []byte("A"), "b": []byte("B")})
		r := ftpsync(t, nil, "mirror", "--checksum", at(srv, "src"), dir)
		require.Equal(t, exitOK, r.code, r.stderr)
		n := strings.Count(r.stderr, "--checksum: the server offers no checksum command")
		if hash {
			assert.Zero(t, n)
		} else {
			assert.Equal(t, 1, n, r.stderr)
		}
	}
}

// TestMirrorOnlyNewer: --only-newer never overwrites a newer destination
// file, nor one of another size; an older one is copied over (item 9).
func TestMirrorOnlyNewer(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("/src/older-here", []byte("new remote"))
	srv.WriteFile("/src/newer-here", []byte("old remote"))
	dir := t.TempDir()
	writeTree(t, dir, map[string][]byte{"older-here": []byte("old"), "newer-here": []byte("my local edit")})
	past := time.Now().Add(-48 * time.Hour)
	future := time.Now().Add(48 * time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(dir, "older-here"), past, past))
	require.NoError(t, os.Chtimes(filepath.Join(dir, "newer-here"), future, future))
	js, r := mirrorJSON(t, nil, "mirror", "--only-newer", at(srv, "src"), dir)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, 1, js.Files)
	assert.Equal(t, map[string]string{"older-here": "new remote", "newer-here": "my local edit"}, localFiles(t, dir))
}

// TestMirrorDryRunSummary: a dry run ends with what it would do (item 9).
func TestMirrorDryRunSummary(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("/src/a", []byte("aa"))
	srv.WriteFile("/src/d/b", []byte("bbb"))
	dir := t.TempDir()
	writeTree(t, dir, map[string][]byte{"extra": []byte("x")})
	r := ftpsync(t, nil, "mirror", "--dry-run", "--delete", at(srv, "src"), dir)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "dry run: would copy 2 files (5 bytes), create 1 directories, delete 1, keep 0; 0 up to date; nothing changed\n")
	assert.NotContains(t, r.stdout, "0 files (0 bytes) copied")
}

// TestMirrorInterrupted: an interrupted mirror says once what it did and
// kept, and how to go on, exit 130; no failure per file (issue 21, item 4).
func TestMirrorInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	srv := newServer(t, ftptest.WithLogf(func(format string, args ...any) {
		if line := fmt.Sprintf(format, args...); strings.Contains(line, "RETR") && strings.Contains(line, "z-big") {
			once.Do(cancel)
		}
	}))
	for _, name := range []string{"a", "b", "c"} {
		srv.WriteFile("/src/"+name, []byte(name))
	}
	srv.WriteFile("/src/z-big", random(t, 64<<20)) // large enough that the cancellation comes while it downloads
	var out, errOut strings.Builder
	code := run(ctx, []string{"mirror", "--parallel", "1", at(srv, "src"), t.TempDir()}, &out, &errOut, func(string) string { return "" })
	assert.Equal(t, exitInterrupted, code)
	assert.Regexp(t, `\nftpsync: interrupted: 3 files done, \d+\.\d MiB kept in parts; run the same command to resume\n$`, errOut.String())
	assert.Equal(t, 1, strings.Count(errOut.String(), "interrupted"), errOut.String())
	assert.NotContains(t, out.String()+errOut.String(), "FAILED")
	assert.NotContains(t, out.String()+errOut.String(), "context canceled")
}

// TestVerboseParallelTagged: with --parallel > 1 and --verbose, each
// connection's trace lines begin with its number (issue 21, item 2).
func TestVerboseParallelTagged(t *testing.T) {
	srv := newServer(t)
	for i := range 8 {
		srv.WriteFile(fmt.Sprintf("/src/f%d", i), random(t, 1<<20))
	}
	r := ftpsync(t, nil, "mirror", "--verbose", "--parallel", "2", at(srv, "src"), t.TempDir())
	require.Equal(t, exitOK, r.code, r.stderr)
	tags := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if strings.HasPrefix(l, "ftpsync: warning:") {
			continue
		}
		tag, _, ok := strings.Cut(l, " ")
		require.True(t, ok && (tag == "[1]" || tag == "[2]"), "an untagged trace line: %q", l)
		tags[tag]++
	}
	assert.Len(t, tags, 2, r.stderr)

	r = ftpsync(t, nil, "ls", "--verbose", at(srv, "src"))
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.NotContains(t, r.stderr, "[1]", "one connection: no tags")
}

// TestServerTextEscaped: what a server says reaches the terminal with its
// control characters escaped: a reply in an error, a name in mirror's
// lines (issue 21, item 5).
func TestServerTextEscaped(t *testing.T) {
	srv := newServer(t, ftptest.WithRawReply("RETR", "550 \x1b]0;owned\x07\x1b[2Jgone\r\n"))
	srv.WriteFile("/src/\x1b[31mred", []byte("x"))
	r := ftpsync(t, nil, "get", at(srv, "src/%1B%5B31mred"), t.TempDir())
	assert.NotEqual(t, exitOK, r.code)
	assert.Contains(t, r.stderr, `550 \x1b]0;owned\x07\x1b[2Jgone`)
	assert.NotContains(t, r.stdout+r.stderr, "\x1b")

	r = ftpsync(t, nil, "mirror", at(srv, "src"), t.TempDir())
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stdout, `FAILED copy \x1b[31mred: `)
	assert.NotContains(t, r.stdout+r.stderr, "\x1b")
}
