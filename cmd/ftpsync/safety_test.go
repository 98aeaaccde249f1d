package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mainArgsEnv makes the test binary run main with these arguments, one a
// line (see TestMain).
const mainArgsEnv = "FTPSYNC_TEST_MAIN_ARGS"

// vsftpd makes ftptest answer as vsftpd does: LIST only, an empty listing
// for a path that does not exist, dot files hidden from LIST, and removal
// errors that do not say why.
var vsftpd = []ftptest.ServerOption{ftptest.WithoutMLSD(), ftptest.WithEmptyListingForMissing(),
	ftptest.WithHiddenDotfiles(), ftptest.WithVagueRemoveErrors()}

// localFiles reads the regular files below root, by slash path.
func localFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	got := map[string]string{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		got[filepath.ToSlash(rel)] = string(b)
		return err
	}))
	return got
}

// TestExitCodes runs every command where the help's exit-code table says
// what it must return, on a server that answers as vsftpd (and, where
// servers differ, as one with MLSD), and checks that nothing is deleted
// that should not be.
func TestExitCodes(t *testing.T) {
	local := map[string]string{"keep.txt": "the only copy", "dir/data": "more"}
	tests := []struct {
		name   string
		server []ftptest.ServerOption
		args   func(srv *ftptest.Server, dir string) []string
		code   int
		stderr string
		check  func(t *testing.T, srv *ftptest.Server, dir string, code int)
	}{
		{"mirror --delete of a mistyped folder", vsftpd, func(srv *ftptest.Server, dir string) []string {
			return []string{"mirror", "--delete", at(srv, "pub/mistyped"), dir}
		}, exitNotFound, "does not exist", nil},
		{"mirror --delete of a mistyped folder, MLSD", nil, func(srv *ftptest.Server, dir string) []string {
			return []string{"mirror", "--delete", at(srv, "pub/mistyped"), dir}
		}, exitNotFound, "", nil},
		{"mirror --delete of a file", vsftpd, func(srv *ftptest.Server, dir string) []string {
			return []string{"mirror", "--delete", at(srv, "pub/file.txt"), dir}
		}, exitFailed, "not a directory", nil},
		{"mirror --delete of an empty folder", vsftpd, func(srv *ftptest.Server, dir string) []string {
			return []string{"mirror", "--delete", at(srv, "pub/empty"), dir}
		}, exitFailed, "--allow-empty-source", nil},
		{"mirror --delete --allow-empty-source", vsftpd, func(srv *ftptest.Server, dir string) []string {
			return []string{"mirror", "--delete", "--allow-empty-source", at(srv, "pub/empty"), dir}
		}, exitOK, "", func(t *testing.T, _ *ftptest.Server, dir string, _ int) {
			assert.Empty(t, localFiles(t, dir))
		}},
		{"mirror --delete --max-delete below what is due", nil, func(srv *ftptest.Server, dir string) []string {
			return []string{"mirror", "--delete", "--max-delete", "2", at(srv, "pub"), dir}
		}, exitFailed, "more than MaxDelete (2)", func(t *testing.T, _ *ftptest.Server, dir string, _ int) {
			assert.Contains(t, localFiles(t, dir), "pub-file.txt")
		}},
		{"mirror --reverse --delete of a mistyped local folder", vsftpd, func(srv *ftptest.Server, dir string) []string {
			return []string{"mirror", "--reverse", "--delete", filepath.Join(dir, "mistyped"), at(srv, "pub")}
		}, exitNotFound, "", func(t *testing.T, srv *ftptest.Server, _ string, _ int) {
			_, err := srv.ReadFile("/pub/file.txt")
			assert.NoError(t, err)
		}},
		{"ls of a missing folder", vsftpd, func(srv *ftptest.Server, _ string) []string {
			return []string{"ls", at(srv, "pub/mistyped")}
		}, exitNotFound, "", nil},
		{"ls of a missing folder, MLSD", nil, func(srv *ftptest.Server, _ string) []string {
			return []string{"ls", at(srv, "pub/mistyped")}
		}, exitNotFound, "", nil},
		{"ls of a file", vsftpd, func(srv *ftptest.Server, _ string) []string {
			return []string{"ls", at(srv, "pub/file.txt")}
		}, exitOK, "", nil},
		{"ls of an empty folder", vsftpd, func(srv *ftptest.Server, _ string) []string {
			return []string{"ls", at(srv, "pub/empty")}
		}, exitOK, "", nil},
		{"rm of a folder", vsftpd, func(srv *ftptest.Server, _ string) []string {
			return []string{"rm", at(srv, "pub/empty")}
		}, exitFailed, "is a directory", nil},
		{"rm of a folder, servers that say why", nil, func(srv *ftptest.Server, _ string) []string {
			return []string{"rm", at(srv, "pub/empty")}
		}, exitFailed, "is a directory", nil},
		{"rm of a missing file", vsftpd, func(srv *ftptest.Server, _ string) []string {
			return []string{"rm", at(srv, "pub/mistyped")}
		}, exitNotFound, "", nil},
		{"rm -r of a missing folder", vsftpd, func(srv *ftptest.Server, _ string) []string {
			return []string{"rm", "-r", at(srv, "pub/mistyped")}
		}, exitNotFound, "", nil},
		{"rm -r of a folder holding a dot file", vsftpd, func(srv *ftptest.Server, _ string) []string {
			return []string{"rm", "-r", at(srv, "pub/dots")}
		}, -1, "", func(t *testing.T, srv *ftptest.Server, _ string, code int) {
			// Success only if it is gone: vsftpd's LIST hides the dot
			// file, and its RMD says only "failed".
			_, err := srv.Stat("/pub/dots")
			if err == nil {
				assert.Equal(t, exitFailed, code, "rm -r of a folder still there")
			} else {
				assert.Equal(t, exitOK, code, "rm -r of a folder gone")
			}
		}},
		{"mkdir in a missing folder", vsftpd, func(srv *ftptest.Server, _ string) []string {
			return []string{"mkdir", at(srv, "pub/mistyped/new")}
		}, exitNotFound, "does not exist", nil},
		{"mkdir of a folder that exists", vsftpd, func(srv *ftptest.Server, _ string) []string {
			return []string{"mkdir", at(srv, "pub/empty")}
		}, exitFailed, "", nil},
		{"put into a missing folder", vsftpd, func(srv *ftptest.Server, dir string) []string {
			return []string{"put", filepath.Join(dir, "keep.txt"), at(srv, "pub/mistyped/keep.txt")}
		}, exitNotFound, "does not exist", nil},
		{"get of a missing file", vsftpd, func(srv *ftptest.Server, dir string) []string {
			return []string{"get", at(srv, "pub/mistyped"), filepath.Join(dir, "x")}
		}, exitNotFound, "", nil},
		{"mirror --delete --max-delete 0", nil, func(srv *ftptest.Server, dir string) []string {
			return []string{"mirror", "--delete", "--max-delete", "0", at(srv, "pub"), dir}
		}, exitFailed, "MaxDelete allows none", nil},
		{"--max-delete below 0", nil, func(srv *ftptest.Server, dir string) []string {
			return []string{"mirror", "--max-delete", "-1", at(srv, "pub"), dir}
		}, exitUsage, "", nil},
		{"--deadline below 0", nil, func(srv *ftptest.Server, _ string) []string {
			return []string{"ls", "--deadline", "-1s", at(srv, "pub")}
		}, exitUsage, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.server...)
			srv.WriteFile("/pub/file.txt", []byte("a file"))
			srv.WriteFile("/pub/pub-file.txt", []byte("x"))
			srv.MkdirAll("/pub/empty")
			srv.WriteFile("/pub/dots/.hidden", []byte("h"))
			srv.WriteFile("/pub/dots/seen", []byte("s"))
			dir := filepath.Join(t.TempDir(), "local")
			for name, data := range local {
				writeTree(t, dir, map[string][]byte{name: []byte(data)})
			}
			if !strings.HasPrefix(tt.name, "mirror --delete --allow") {
				defer func() {
					got := localFiles(t, dir)
					for name, data := range local {
						assert.Equal(t, data, got[name], "%s is kept", name)
					}
				}()
			}
			r := ftpsync(t, nil, tt.args(srv, dir)...)
			if tt.code >= 0 {
				assert.Equal(t, tt.code, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
			} else {
				assert.NotContains(t, []int{exitNotFound, exitUsage, exitConnect}, r.code, r.stderr)
			}
			assert.Contains(t, r.stderr, tt.stderr)
			if tt.check != nil {
				tt.check(t, srv, dir, r.code)
			}
		})
	}
}

// TestMirrorKeepsExcluded: with --delete, an excluded file inside a folder
// the source lacks is kept (the folder too), and said so.
func TestMirrorKeepsExcluded(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("/src/a", []byte("a"))
	dir := t.TempDir()
	writeTree(t, dir, map[string][]byte{"a": []byte("a"), "gone/keep.log": []byte("log"), "gone/x": []byte("x")})
	js, r := mirrorJSON(t, nil, "mirror", "--delete", "--exclude", "*.log", at(srv, "src"), dir)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, map[string]string{"a": "a", "gone/keep.log": "log"}, localFiles(t, dir))
	assert.Equal(t, 1, js.Deleted)
	var kept []string
	for _, a := range js.Plan {
		if a.Op == "keep" {
			kept = append(kept, a.Path+" ("+a.Reason+")")
		}
	}
	assert.Equal(t, []string{"gone/keep.log (excluded)"}, kept)
	assert.Contains(t, r.stdout, `"kept": 1`)

	r = ftpsync(t, nil, "mirror", "--delete", "--dry-run", "--exclude", "*.log", at(srv, "src"), dir)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "would keep gone/keep.log (excluded)")
}

// hangingServer accepts connections and never says a word; it reports
// each connection it accepts on the channel.
func hangingServer(t *testing.T) (addr string, accepted <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ch := make(chan struct{}, 16)
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			ch <- struct{}{}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String(), ch
}

// TestDeadline: --deadline ends the whole run, here a session whose server
// never greets, well before --timeout would.
func TestDeadline(t *testing.T) {
	addr, _ := hangingServer(t)
	start := time.Now()
	r := ftpsync(t, nil, "ls", "--deadline", "300ms", "--timeout", "20s", "ftp://u:pw-9Zq@"+addr+"/")
	assert.Equal(t, exitFailed, r.code, r.stderr)
	assert.Contains(t, r.stderr, "--deadline 300ms reached; run again to resume")
	assert.Less(t, time.Since(start), 10*time.Second)
}

// TestInterrupted: a run whose context ends says how to go on.
func TestInterrupted(t *testing.T) {
	addr, accepted := hangingServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-accepted
		cancel()
	}()
	var out, errOut strings.Builder
	code := run(ctx, []string{"ls", "ftp://u:pw-9Zq@" + addr + "/"}, &out, &errOut, func(string) string { return "" })
	assert.Equal(t, exitInterrupted, code)
	assert.True(t, strings.HasSuffix(errOut.String(), "\nftpsync: interrupted\n"), errOut.String())
}

// TestSignals: SIGTERM, as SIGINT, ends the command with exit 130 and,
// once, what it kept and how to go on; the test binary runs as the
// command, here a get whose RETR the server holds.
func TestSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			retr := make(chan struct{}, 1)
			srv := newServer(t, ftptest.WithDelay("RETR", time.Minute), ftptest.WithLogf(func(format string, args ...any) {
				if strings.Contains(fmt.Sprintf(format, args...), "RETR") {
					select {
					case retr <- struct{}{}:
					default:
					}
				}
			}))
			srv.WriteFile("f", []byte("data"))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), mainArgsEnv+"=get\n--timeout\n25s\n"+at(srv, "f")+"\n"+t.TempDir())
			var stderr strings.Builder
			cmd.Stderr = &stderr
			cmd.Stdout = io.Discard
			require.NoError(t, cmd.Start())
			select {
			case <-retr: // the command waits for the file: its handler is set
			case <-ctx.Done():
				t.Fatal("the command never asked for the file")
			}
			require.NoError(t, cmd.Process.Signal(sig))
			err := cmd.Wait()
			var ee *exec.ExitError
			require.True(t, errors.As(err, &ee), "exit: %v", err)
			assert.Equal(t, exitInterrupted, ee.ExitCode(), fmt.Sprintf("%v; stderr: %s", ee, stderr.String()))
			assert.True(t, strings.HasSuffix(stderr.String(),
				"\nftpsync: interrupted: 0 files done, 0.0 MiB kept in parts; run the same command to resume\n"), stderr.String())
			assert.Equal(t, 1, strings.Count(stderr.String(), "ftpsync:")-strings.Count(stderr.String(), "warning:"), stderr.String())
		})
	}
}
