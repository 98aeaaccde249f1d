package ftp

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pasvport/ftp/ftptest"
)

// SetMinResumableForTest sets the size from which an upload leaves a
// record and can be resumed, for a test (the interop tests too), and
// returns the function that puts the old value back.
func SetMinResumableForTest(n int64) (restore func()) {
	old := minResumable
	minResumable = n
	return func() { minResumable = old }
}

// lowerMinResumable makes uploads of the test's small files resumable.
func lowerMinResumable(t *testing.T, n int64) {
	t.Cleanup(SetMinResumableForTest(n))
}

// TestUploadRenameKeepsTarget checks that a failed rename of a complete
// part never costs the old remote file (issue 16, finding 3): the target
// is deleted only when the server's reply says it exists, and every error
// names what was kept.
func TestUploadRenameKeepsTarget(t *testing.T) {
	data := []byte("the new contents, complete")
	old := []byte("the old contents")
	tests := []struct {
		name    string
		server  []ftptest.ServerOption
		ok      bool
		target  []byte // the remote file afterwards; nil: none
		partTo  bool   // the complete part is still there
		say     []string
		deleted bool // a DELE of the target was sent
	}{
		{"RNFR 550", []ftptest.ServerOption{ftptest.WithRawReply("RNFR", "550 RNFR command failed.\r\n")},
			false, old, true, []string{"550 RNFR command failed", "/up/f was left as it was", "the complete upload is in /up/.f.part"}, false},
		{"RNTO 553", []ftptest.ServerOption{ftptest.WithRawReply("RNTO", "553 Rename failed.\r\n")},
			false, old, true, []string{"553 Rename failed", "/up/f was left as it was", "/up/.f.part"}, false},
		{"RNTO permission denied", []ftptest.ServerOption{ftptest.WithRawReply("RNTO", "550 /up/f: Permission denied\r\n")},
			false, old, true, []string{"Permission denied", "/up/f was left as it was"}, false},
		{"RNTO 451 pure-ftpd", []ftptest.ServerOption{ftptest.WithRawReply("RNTO", "451 Rename/move failure: Permission denied\r\n")},
			false, old, true, []string{"451 Rename/move failure", "/up/f was left as it was"}, false},
		{"RNTO says the target exists, once", []ftptest.ServerOption{ftptest.WithRawReplyTimes("RNTO", "550 Cannot create a file when that file already exists.\r\n", 1)},
			true, data, false, nil, true},
		{"RNTO says the target exists, always", []ftptest.ServerOption{ftptest.WithRawReply("RNTO", "553 File exists.\r\n")},
			false, nil, true, []string{"the old /up/f was deleted to make room", "the complete upload is in /up/.f.part"}, true},
		{"RNTO says no such file", []ftptest.ServerOption{ftptest.WithRawReply("RNTO", "550 File does not exist.\r\n")},
			false, old, true, []string{"/up/f was left as it was"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.server...)
			srv.WriteFile("/up/f", old)
			local := filepath.Join(t.TempDir(), "f")
			require.NoError(t, os.WriteFile(local, data, 0o644))
			c := dialTest(t, srv)
			err := c.Upload(context.Background(), local, "/up/f")
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				for _, s := range tt.say {
					assert.Contains(t, err.Error(), s)
				}
				assert.Equal(t, 1, strings.Count(err.Error(), "ftp: "), err.Error())
			}
			got, rerr := srv.ReadFile("/up/f")
			if tt.target == nil {
				assert.ErrorIs(t, rerr, os.ErrNotExist)
			} else {
				require.NoError(t, rerr)
				assert.Equal(t, string(tt.target), string(got))
			}
			part, perr := srv.ReadFile("/up/.f.part")
			if tt.partTo {
				require.NoError(t, perr)
				assert.Equal(t, string(data), string(part), "the part holds the whole upload")
			} else {
				assert.ErrorIs(t, perr, os.ErrNotExist)
			}
			assert.Equal(t, tt.deleted, slices.Contains(srv.Commands(), "DELE /up/f"))
		})
	}
}

// interruptDownload runs a Download of remote that stops after its first
// piece of data, as a dropped connection would stop it: the Conn is closed
// under it while the progress report waits. It returns the size of the
// part left behind, which is more than nothing and less than all.
func interruptDownload(t *testing.T, srv *ftptest.Server, remote, local string, opts ...Option) int64 {
	t.Helper()
	c := dialTest(t, srv, opts...)
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	errc := make(chan error, 1)
	go func() {
		errc <- c.Download(context.Background(), remote, local, WithProgress(func(done, total int64) {
			once.Do(func() { close(started); <-release })
		}))
	}()
	select {
	case <-started:
	case err := <-errc:
		t.Fatalf("the download ended before its first progress report: %v", err)
	}
	c.Close()
	close(release)
	require.Error(t, <-errc)
	fi, err := os.Stat(PartName(local))
	require.NoError(t, err)
	require.Positive(t, fi.Size())
	return fi.Size()
}

// countCommands counts the commands the server received that start with
// prefix.
func countCommands(srv *ftptest.Server, prefix string) int {
	n := 0
	for _, c := range srv.Commands() {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

// restAfter returns the REST commands the server received after the
// first n commands.
func restAfter(srv *ftptest.Server, n int) []string {
	var out []string
	for _, c := range srv.Commands()[n:] {
		if strings.HasPrefix(c, "REST ") {
			out = append(out, c)
		}
	}
	return out
}

// TestDownloadResumesOnlySameFile checks that a local part is appended to
// only when its record shows it came from the same remote file, unchanged
// (issue 16, finding 7): after the remote file changed (same size or
// larger), or with a part that has no record or another's, the download
// starts over and the result is the remote file, not old bytes plus new.
// An interrupted download of an unchanged file still resumes.
func TestDownloadResumesOnlySameFile(t *testing.T) {
	data := randomBytes(t, 400_000)
	mod := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	tests := []struct {
		name   string
		server []ftptest.ServerOption
		change func(t *testing.T, srv *ftptest.Server, local string) []byte // nil: unchanged
		resume bool
	}{
		{"unchanged: resumed", nil, nil, true},
		{"unchanged, LIST only (MDTM): resumed", []ftptest.ServerOption{ftptest.WithoutMLSD()}, nil, true},
		{"rewritten, same size", nil, func(t *testing.T, srv *ftptest.Server, _ string) []byte {
			v2 := randomBytes(t, len(data))
			srv.WriteFile("/d/f.bin", v2)
			require.NoError(t, srv.SetModTime("/d/f.bin", mod.Add(time.Hour)))
			return v2
		}, false},
		{"grown", nil, func(t *testing.T, srv *ftptest.Server, _ string) []byte {
			v2 := randomBytes(t, len(data)+50_000)
			srv.WriteFile("/d/f.bin", v2)
			require.NoError(t, srv.SetModTime("/d/f.bin", mod.Add(time.Second)))
			return v2
		}, false},
		{"same size, time one second later", nil, func(t *testing.T, srv *ftptest.Server, _ string) []byte {
			v2 := slices.Clone(data)
			copy(v2, "changed")
			srv.WriteFile("/d/f.bin", v2)
			require.NoError(t, srv.SetModTime("/d/f.bin", mod.Add(time.Second)))
			return v2
		}, false},
		{"no time to check: no MLST, no MDTM", []ftptest.ServerOption{ftptest.WithoutMLSD(), ftptest.WithoutFeatures("MDTM")}, nil, false},
		{"part without a record, from an older version", nil, func(t *testing.T, _ *ftptest.Server, local string) []byte {
			require.NoError(t, os.Remove(PartName(local)+".meta"))
			require.NoError(t, os.WriteFile(PartName(local), bytes.Repeat([]byte("old"), 30_000), 0o644))
			return data
		}, false},
		{"record of another file", nil, func(t *testing.T, _ *ftptest.Server, local string) []byte {
			r := partRecord{Version: recordVersion, Source: "ftp://elsewhere:21 /d/f.bin", Size: int64(len(data)), ModTime: mod}
			require.NoError(t, os.WriteFile(PartName(local)+".meta", r.encode(), 0o644))
			require.NoError(t, os.WriteFile(PartName(local), bytes.Repeat([]byte("x"), 1000), 0o644))
			return data
		}, false},
		{"record that is not one", nil, func(t *testing.T, _ *ftptest.Server, local string) []byte {
			require.NoError(t, os.WriteFile(PartName(local)+".meta", []byte("{garbage"), 0o644))
			return data
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.server...)
			srv.WriteFile("/d/f.bin", data)
			require.NoError(t, srv.SetModTime("/d/f.bin", mod))
			local := filepath.Join(t.TempDir(), "f.bin")
			cut := interruptDownload(t, srv, "/d/f.bin", local)
			require.Less(t, cut, int64(len(data)))
			want := data
			if tt.change != nil {
				want = tt.change(t, srv, local)
			}
			n := len(srv.Commands())
			c := dialTest(t, srv)
			require.NoError(t, c.Download(context.Background(), "/d/f.bin", local))
			got, err := os.ReadFile(local)
			require.NoError(t, err)
			require.True(t, bytes.Equal(want, got), "the download is the remote file as it is now (%d bytes, got %d)", len(want), len(got))
			if tt.resume {
				assert.Equal(t, []string{"REST " + strconv.FormatInt(cut, 10)}, restAfter(srv, n))
			} else {
				assert.Empty(t, restAfter(srv, n), "a part that may be stale is not appended to")
			}
			assert.NoFileExists(t, PartName(local))
			assert.NoFileExists(t, PartName(local)+".meta")
		})
	}
}

// plantRemotePart leaves on the server what an interrupted Upload of the
// local file leaves: the first n bytes of data as the part, and, when
// rec is true, the record of the local file as it is now.
func plantRemotePart(t *testing.T, srv *ftptest.Server, remote, local string, data []byte, n int, rec bool) {
	t.Helper()
	srv.WriteFile(PartName(remote), data[:n])
	if rec {
		fi, err := os.Stat(local)
		require.NoError(t, err)
		abs, err := filepath.Abs(local)
		require.NoError(t, err)
		r := partRecord{Version: recordVersion, Source: abs, Size: fi.Size(), ModTime: fi.ModTime()}
		srv.WriteFile(PartName(remote)+".meta", r.encode())
	}
}

// TestUploadResumesOnlySameFile checks that a remote part is appended to
// only when its record shows it came from the local file as it is now
// (issue 16, finding 7): after the local file changed (same size or
// larger), or with a part that has no record, the upload starts over; a
// part interrupted at any point of an unchanged file is resumed.
func TestUploadResumesOnlySameFile(t *testing.T) {
	lowerMinResumable(t, 64<<10)
	v1 := randomBytes(t, 300_000)
	t1 := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
	v2same := randomBytes(t, len(v1))
	v2grown := append(randomBytes(t, 100), v1...)
	tests := []struct {
		name   string
		server []ftptest.ServerOption
		plant  int    // bytes of v1 planted as the part, with a record of v1; 0: none
		bare   bool   // the planted part has no record
		src    []byte // the local file at the second attempt: nil for v1 unchanged
		rest   string // the resuming command; "": the part is sent afresh
	}{
		{"unchanged, part at 100000", nil, 100_000, false, nil, "REST 100000"},
		{"unchanged, part at 100000, APPE", []ftptest.ServerOption{ftptest.WithoutFeatures("REST")}, 100_000, false, nil, "APPE /up/.f.part"},
		{"changed, same size", nil, 100_000, false, v2same, ""},
		{"changed, grown", nil, 100_000, false, v2grown, ""},
		{"part without a record", nil, 100_000, true, nil, ""},
		{"part under minResumable", nil, 1000, false, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.server...)
			srv.MkdirAll("/up")
			local := filepath.Join(t.TempDir(), "f")
			require.NoError(t, os.WriteFile(local, v1, 0o644))
			require.NoError(t, os.Chtimes(local, t1, t1))
			plantRemotePart(t, srv, "/up/f", local, v1, tt.plant, !tt.bare)
			if tt.bare {
				srv.WriteFile("/up/.f.part", bytes.Repeat([]byte("?"), tt.plant)) // a part of something else
			}
			want := v1
			if tt.src != nil {
				want = tt.src
				require.NoError(t, os.WriteFile(local, want, 0o644))
				require.NoError(t, os.Chtimes(local, t1.Add(time.Minute), t1.Add(time.Minute)))
			}
			c := dialTest(t, srv)
			require.NoError(t, c.Upload(context.Background(), local, "/up/f"))
			got, err := srv.ReadFile("/up/f")
			require.NoError(t, err)
			require.True(t, bytes.Equal(want, got), "the upload is the local file as it is now (%d bytes, got %d)", len(want), len(got))
			cmds := srv.Commands()
			if tt.rest != "" {
				assert.Contains(t, cmds, tt.rest)
				assert.NotContains(t, cmds, "STOR /up/.f.part.meta", "a resumed part keeps its record")
			} else {
				assert.Empty(t, restAfter(srv, 0))
				assert.Contains(t, cmds, "STOR /up/.f.part", "sent afresh")
				assert.NotContains(t, cmds, "APPE /up/.f.part")
			}
			for _, p := range []string{"/up/.f.part", "/up/.f.part.meta"} {
				_, err := srv.Stat(p)
				assert.ErrorIs(t, err, os.ErrNotExist, p)
			}
		})
	}
}

// TestUploadInterruptedAtRenameResumes checks an upload interrupted after
// its last byte (the rename refused once): run again with the local file
// unchanged, it sends nothing and renames; with the local file changed
// (same size, new time), it sends the file afresh instead of renaming the
// old part (issue 16, finding 7).
func TestUploadInterruptedAtRenameResumes(t *testing.T) {
	lowerMinResumable(t, 64<<10)
	v1 := randomBytes(t, 200_000)
	v2 := randomBytes(t, len(v1))
	for _, changed := range []bool{false, true} {
		t.Run(fmt.Sprintf("changed=%v", changed), func(t *testing.T) {
			srv := newServer(t, ftptest.WithRawReplyTimes("RNTO", "451 Rename/move failure: try later\r\n", 1))
			local := filepath.Join(t.TempDir(), "f")
			require.NoError(t, os.WriteFile(local, v1, 0o644))
			t1 := time.Now().Add(-time.Hour).Truncate(time.Second)
			require.NoError(t, os.Chtimes(local, t1, t1))
			c := dialTest(t, srv)
			require.Error(t, c.Upload(context.Background(), local, "f"))
			_, err := srv.Stat(".f.part.meta")
			require.NoError(t, err, "the record stays with the part")
			want := v1
			if changed {
				want = v2
				require.NoError(t, os.WriteFile(local, v2, 0o644))
				require.NoError(t, os.Chtimes(local, t1.Add(time.Second), t1.Add(time.Second)))
			}
			n := countCommands(srv, "STOR ")
			require.NoError(t, c.Upload(context.Background(), local, "f"))
			got, err := srv.ReadFile("f")
			require.NoError(t, err)
			require.True(t, bytes.Equal(want, got), "the remote file is the local one as it is now")
			if changed {
				assert.Equal(t, n+2, countCommands(srv, "STOR "), "the record and the part, afresh")
			} else {
				assert.Equal(t, n, countCommands(srv, "STOR "), "nothing sent again")
			}
		})
	}
}

// TestUploadSourceChangedWhileSent checks that a local file that changes
// during its upload is not reported as uploaded: the part is not renamed.
func TestUploadSourceChangedWhileSent(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("f", []byte("old"))
	data := randomBytes(t, 300_000)
	local := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(local, data, 0o644))
	t1 := time.Now().Add(-time.Hour).Truncate(time.Second)
	require.NoError(t, os.Chtimes(local, t1, t1))
	c := dialTest(t, srv)
	var once sync.Once
	err := c.Upload(context.Background(), local, "f", WithProgress(func(done, total int64) {
		once.Do(func() {
			// Rewritten in place with its time moved on, as an editor or
			// a log writer would.
			f, err := os.OpenFile(local, os.O_WRONLY, 0)
			if err == nil {
				f.WriteAt([]byte("CHANGED"), 200_000)
				f.Close()
			}
			os.Chtimes(local, t1.Add(time.Second), t1.Add(time.Second))
		})
	}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "changed while it was being sent")
	got, rerr := srv.ReadFile("f")
	require.NoError(t, rerr)
	assert.Equal(t, "old", string(got), "the old remote file is kept")
}

// TestLocalPartNeverFollowsSymlinks checks that Download refuses a part or
// a record that is a symbolic link or not a regular file, writes nothing
// through it, and reports failure (issue 16, finding 8); a link at the
// destination's own name is replaced, not written through.
func TestLocalPartNeverFollowsSymlinks(t *testing.T) {
	data := []byte("remote data")
	victimData := []byte("root-only contents")
	tests := []struct {
		name  string
		plant func(t *testing.T, local, victim string)
		ok    bool
		say   string
	}{
		{"part is a link to a file", func(t *testing.T, local, victim string) {
			symlink(t, victim, PartName(local))
		}, false, "is a symbolic link"},
		{"part is a dangling link", func(t *testing.T, local, victim string) {
			symlink(t, victim+".new", PartName(local))
		}, false, "is a symbolic link"},
		{"record is a link", func(t *testing.T, local, victim string) {
			symlink(t, victim, PartName(local)+".meta")
		}, false, "is a symbolic link"},
		{"part is a directory", func(t *testing.T, local, _ string) {
			require.NoError(t, os.Mkdir(PartName(local), 0o755))
		}, false, "is a directory"},
		{"destination is a link", func(t *testing.T, local, victim string) {
			symlink(t, victim, local)
		}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			srv.WriteFile("f", data)
			victim := filepath.Join(t.TempDir(), "victim")
			require.NoError(t, os.WriteFile(victim, victimData, 0o600))
			local := filepath.Join(t.TempDir(), "f")
			tt.plant(t, local, victim)
			c := dialTest(t, srv)
			err := c.Download(context.Background(), "f", local)
			got, verr := os.ReadFile(victim)
			require.NoError(t, verr)
			assert.Equal(t, string(victimData), string(got), "nothing is written through a link")
			assert.NoFileExists(t, victim+".new")
			if !tt.ok {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.say)
				assert.Contains(t, err.Error(), "refusing")
				_, lerr := os.Lstat(local)
				assert.ErrorIs(t, lerr, os.ErrNotExist, "no success reported, no file made")
				return
			}
			require.NoError(t, err)
			fi, err := os.Lstat(local)
			require.NoError(t, err)
			assert.True(t, fi.Mode().IsRegular(), "the link was replaced by the file")
			got, err = os.ReadFile(local)
			require.NoError(t, err)
			assert.Equal(t, data, got)
		})
	}
}

func symlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
}

// TestTransferInLocalRoot checks Mirror's hook: with withLocalRoot, a
// Download writes and an Upload reads only below the root, through no
// symbolic link on the way.
func TestTransferInLocalRoot(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("f", []byte("remote"))
	base := t.TempDir()
	outside := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(base, "a", "b"), 0o755))
	symlink(t, outside, filepath.Join(base, "a", "out"))
	symlink(t, filepath.Join(base, "a", "b"), filepath.Join(base, "a", "in"))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o600))
	symlink(t, filepath.Join(outside, "secret"), filepath.Join(base, "a", "b", "secret-link"))
	root, err := os.OpenRoot(base)
	require.NoError(t, err)
	defer root.Close()
	c := dialTest(t, srv)
	ctx := context.Background()

	require.NoError(t, c.Download(ctx, "f", "a/b/f", withLocalRoot(root)))
	got, err := os.ReadFile(filepath.Join(base, "a", "b", "f"))
	require.NoError(t, err)
	assert.Equal(t, "remote", string(got))

	for _, name := range []string{"a/out/f", "a/in/f", "../f", "a/b/../../../f"} {
		err := c.Download(ctx, "f", name, withLocalRoot(root))
		require.Error(t, err, name)
	}
	entries, err := os.ReadDir(outside)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "nothing written outside the root")
	err = c.Download(ctx, "f", "a/in/f", withLocalRoot(root))
	assert.Contains(t, err.Error(), "a/in is a symbolic link, not a directory")

	require.NoError(t, c.Upload(ctx, "a/b/f", "up", withLocalRoot(root)))
	got, err = srv.ReadFile("up")
	require.NoError(t, err)
	assert.Equal(t, "remote", string(got))
	err = c.Upload(ctx, "a/b/secret-link", "leak", withLocalRoot(root))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is a symbolic link")
	_, err = srv.Stat("leak")
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing sent through a link")
}

// TestIsPartName checks that Mirror's filter covers parts and records.
func TestIsPartName(t *testing.T) {
	for name, want := range map[string]bool{
		".a.part": true, ".a.part.meta": true, "..a.part": true, ".a b.part.meta": true,
		"a.part": false, "a.part.meta": false, ".a.meta": false, "..part": false, "..part.meta": false, ".a.part.x": false,
	} {
		assert.Equal(t, want, isPartName(name), name)
	}
}

// The killed-process test: a child process (this test binary, run again)
// downloads or uploads and reports its first progress, then waits to be
// killed; no cleanup of any kind runs.
const childMarker = "resume-child: data moving"

// TestResumeChildProcess is the child; it does nothing unless started by
// KilledTransferForTest.
func TestResumeChildProcess(t *testing.T) {
	mode := os.Getenv("FTP_RESUME_CHILD")
	if mode == "" {
		t.Skip("only run as a child process")
	}
	if n, err := strconv.ParseInt(os.Getenv("FTP_RESUME_MIN"), 10, 64); err == nil {
		minResumable = n
	}
	at, _ := strconv.ParseInt(os.Getenv("FTP_RESUME_AT"), 10, 64)
	ctx := context.Background()
	url, remote, local := os.Getenv("FTP_RESUME_URL"), os.Getenv("FTP_RESUME_REMOTE"), os.Getenv("FTP_RESUME_LOCAL")
	c, err := DialURL(ctx, url)
	require.NoError(t, err)
	// An upload's data may still sit in socket buffers when it is
	// reported sent: a second connection watches the part on the server
	// until it holds minResumable bytes, so that the kill leaves a part
	// worth resuming.
	var watch *Conn
	if mode == "upload" {
		watch, err = DialURL(ctx, url)
		require.NoError(t, err)
	}
	progress := WithProgress(func(done, total int64) {
		if done < at {
			return
		}
		for i := 0; watch != nil && i < 100_000; i++ { // each a round trip
			if n, err := watch.FileSize(ctx, PartName(remote)); err == nil && n >= minResumable {
				break
			}
		}
		fmt.Println(childMarker)
		io.Copy(io.Discard, os.Stdin) // until killed
	})
	if mode == "upload" {
		err = c.Upload(ctx, local, remote, progress)
	} else {
		err = c.Download(ctx, remote, local, progress)
	}
	t.Fatalf("the child was to be killed, and ended: %v", err)
}

// KilledTransferForTest runs a Download ("download") or an Upload
// ("upload") between url and the local file in a child process, and kills
// it (SIGKILL: no deferred call, no cleanup) at its first progress report
// of at least at bytes: a download's are on disk by then, an upload's part
// on the server holds min bytes or more. min is the child's minResumable.
func KilledTransferForTest(t *testing.T, mode, url, remote, local string, min, at int64) {
	t.Helper()
	killChildAt(t, "TestResumeChildProcess", childMarker, "FTP_RESUME_CHILD="+mode, "FTP_RESUME_URL="+url,
		"FTP_RESUME_REMOTE="+remote, "FTP_RESUME_LOCAL="+local,
		"FTP_RESUME_MIN="+strconv.FormatInt(min, 10), "FTP_RESUME_AT="+strconv.FormatInt(at, 10))
}

// killChildAt runs the test named test of this binary in a child process
// with env added, waits until it prints marker (it has moved the data the
// caller wants moved), and kills it (SIGKILL): the end of a transfer that
// no deferred cleanup of its own can soften.
func killChildAt(t *testing.T, test, marker string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(out)
	var seen []string
	for len(seen) < 1000 && sc.Scan() && sc.Text() != marker {
		seen = append(seen, sc.Text())
	}
	if sc.Err() != nil || sc.Text() != marker {
		cmd.Process.Kill()
		werr := cmd.Wait()
		t.Fatalf("the child never moved data: %v\n%s\n%s", werr, strings.Join(seen, "\n"), stderr.String())
	}
	require.NoError(t, cmd.Process.Kill())
	require.Error(t, cmd.Wait(), "killed")
}

// TestDownloadResumesAfterKill checks that a download whose process was
// killed mid-transfer resumes from its part when run again against the
// same unchanged file, byte-identical, and starts over once the remote
// file changed.
func TestDownloadResumesAfterKill(t *testing.T) {
	data := randomBytes(t, 2<<20)
	mod := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, changed := range []bool{false, true} {
		t.Run(fmt.Sprintf("changed=%v", changed), func(t *testing.T) {
			srv := newServer(t)
			srv.WriteFile("/d/big", data)
			require.NoError(t, srv.SetModTime("/d/big", mod))
			local := filepath.Join(t.TempDir(), "big")
			KilledTransferForTest(t, "download", srv.URL(), "/d/big", local, minResumable, 16<<10)
			fi, err := os.Stat(PartName(local))
			require.NoError(t, err)
			require.Positive(t, fi.Size())
			require.Less(t, fi.Size(), int64(len(data)))
			require.FileExists(t, PartName(local)+".meta")
			want := data
			if changed {
				want = slices.Clone(data)
				copy(want, "a new first line\n")
				srv.WriteFile("/d/big", want)
				require.NoError(t, srv.SetModTime("/d/big", mod.Add(time.Minute)))
			}
			n := len(srv.Commands())
			c := dialTest(t, srv)
			require.NoError(t, c.Download(context.Background(), "/d/big", local))
			got, err := os.ReadFile(local)
			require.NoError(t, err)
			require.True(t, bytes.Equal(want, got), "byte-identical")
			if changed {
				assert.Empty(t, restAfter(srv, n))
			} else {
				assert.Equal(t, []string{"REST " + strconv.FormatInt(fi.Size(), 10)}, restAfter(srv, n))
			}
			assert.NoFileExists(t, PartName(local))
			assert.NoFileExists(t, PartName(local)+".meta")
		})
	}
}
