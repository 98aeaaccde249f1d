package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/pasvport/ftp"
	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The test binary runs as the ftpsync command itself when asked (see
	// TestSignals): its arguments come one a line.
	if args := os.Getenv(mainArgsEnv); args != "" {
		os.Args = append([]string{"ftpsync"}, strings.Split(args, "\n")...)
		main()
		return
	}
	goleak.VerifyTestMain(m)
}

// result is what one run of the command gave.
type result struct {
	code           int
	stdout, stderr string
}

// ftpsync runs the command with args and the environment vars.
func ftpsync(t *testing.T, vars map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string { return vars[k] }
	code := run(context.Background(), args, &out, &errOut, getenv)
	return result{code, out.String(), errOut.String()}
}

func newServer(t *testing.T, opts ...ftptest.ServerOption) *ftptest.Server {
	t.Helper()
	srv := ftptest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// at returns the URL of p on srv, with credentials.
func at(srv *ftptest.Server, p string) string {
	return strings.TrimSuffix(srv.URL(), "/") + "/" + p
}

func random(t *testing.T, n int) []byte {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

func TestUsageErrors(t *testing.T) {
	srv := newServer(t)
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no command", nil, exitUsage},
		{"unknown command", []string{"frobnicate"}, exitUsage},
		{"bad flag", []string{"ls", "--nope", at(srv, "")}, exitUsage},
		{"missing argument", []string{"get"}, exitUsage},
		{"too many arguments", []string{"ls", "a", "b"}, exitUsage},
		{"not a URL", []string{"ls", "http://example.com/"}, exitUsage},
		{"bad parallel", []string{"mirror", "--parallel", "0", at(srv, ""), "x"}, exitUsage},
		{"help", []string{"help"}, exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ftpsync(t, nil, tt.args...)
			assert.Equal(t, tt.code, r.code, "stderr: %s", r.stderr)
		})
	}
}

func TestLs(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("/pub/a b.txt", []byte("hello"))
	srv.MkdirAll("/pub/sub dir")
	r := ftpsync(t, nil, "ls", at(srv, "pub"))
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "a b.txt")
	assert.Contains(t, r.stdout, "sub dir")

	r = ftpsync(t, nil, "ls", "--json", at(srv, "pub"))
	require.Equal(t, exitOK, r.code, r.stderr)
	var entries []jsonEntry
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &entries))
	require.Len(t, entries, 2)
	assert.Equal(t, jsonEntry{Name: "a b.txt", Type: "file", Size: 5, ModTime: entries[0].ModTime}, entries[0])
	assert.Equal(t, "dir", entries[1].Type)

	r = ftpsync(t, nil, "ls", at(srv, "missing"))
	assert.Equal(t, exitNotFound, r.code)
}

func TestGetPut(t *testing.T) {
	data := random(t, 200_000)
	tests := []struct {
		name  string
		flags []string
		opts  []ftptest.ServerOption
	}{
		{"passive", nil, nil},
		{"active", []string{"--active"}, nil},
		{"explicit TLS", []string{"--explicit-tls", "--insecure"}, []ftptest.ServerOption{ftptest.WithExplicitTLS()}},
		{"verbose", []string{"--verbose", "--timeout", "20s"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, append(tt.opts, ftptest.WithCredentials("u", "Zq9-secret"))...)
			dir := t.TempDir()
			local := filepath.Join(dir, "ü data.bin")
			require.NoError(t, os.WriteFile(local, data, 0o644))
			srv.MkdirAll("/in")
			r := ftpsync(t, nil, append([]string{"put", local, at(srv, "in/")}, tt.flags...)...)
			require.Equal(t, exitOK, r.code, r.stderr)
			got, err := srv.ReadFile("/in/ü data.bin")
			require.NoError(t, err)
			require.Equal(t, data, got)
			assert.Contains(t, r.stdout, "put ")
			assert.NotContains(t, r.stdout+r.stderr, srv.Password())

			back := filepath.Join(dir, "back.bin")
			r = ftpsync(t, nil, append([]string{"get", at(srv, url.PathEscape("in/ü data.bin")), back}, tt.flags...)...)
			require.Equal(t, exitOK, r.code, r.stderr)
			got, err = os.ReadFile(back)
			require.NoError(t, err)
			require.Equal(t, data, got)
			assert.NotContains(t, r.stdout+r.stderr, srv.Password())
			if tt.name == "verbose" {
				assert.Contains(t, r.stderr, "RETR")
				assert.Contains(t, r.stderr, "PASS ")
			}
		})
	}
}

// interruptGet runs a download of remote that stops at its first progress
// report, as a dropped connection would stop it, and returns the size of
// the part it leaves (with its record, so that it can be resumed).
func interruptGet(t *testing.T, srv *ftptest.Server, remote, local string) int64 {
	t.Helper()
	ctx := context.Background()
	c, err := ftp.DialURL(ctx, srv.URL())
	require.NoError(t, err)
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	errc := make(chan error, 1)
	go func() {
		errc <- c.Download(ctx, remote, local, ftp.WithProgress(func(done, total int64) {
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
	fi, err := os.Stat(filepath.Join(filepath.Dir(local), ".f.bin.part"))
	require.NoError(t, err)
	return fi.Size()
}

// TestGetResumesPart: get resumes the part an interrupted get left, and
// starts afresh over a part that no record vouches for.
func TestGetResumesPart(t *testing.T) {
	data := random(t, 8<<20)
	tests := []struct {
		name        string
		interrupted bool // else a bare part
	}{{"interrupted", true}, {"bare part", false}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			srv.WriteFile("f.bin", data)
			dir := t.TempDir()
			cut := int64(50_000)
			if tt.interrupted {
				cut = interruptGet(t, srv, "f.bin", filepath.Join(dir, "f.bin"))
				require.Less(t, cut, int64(len(data)))
			} else {
				require.NoError(t, os.WriteFile(filepath.Join(dir, ".f.bin.part"), data[:cut], 0o644))
			}
			r := ftpsync(t, nil, "get", "--json", at(srv, "f.bin"), dir)
			require.Equal(t, exitOK, r.code, r.stderr)
			var js jsonTransfer
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &js))
			assert.Equal(t, int64(len(data)), js.Bytes)
			got, err := os.ReadFile(filepath.Join(dir, "f.bin"))
			require.NoError(t, err)
			require.Equal(t, data, got)
			if tt.interrupted {
				assert.Contains(t, srv.Commands(), fmt.Sprintf("REST %d", cut))
			} else {
				assert.NotContains(t, srv.Commands(), fmt.Sprintf("REST %d", cut))
			}
		})
	}
}

func TestCredentials(t *testing.T) {
	srv := newServer(t, ftptest.WithCredentials("alice", "s3cr:t@x"))
	srv.WriteFile("f", []byte("x"))
	u, err := url.Parse(srv.URL())
	require.NoError(t, err)
	host := u.Hostname()
	netrcDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(netrcDir, ".netrc"),
		[]byte("machine other login bob password nope\nmachine "+host+" login alice password s3cr:t@x\ndefault login x password y\n"), 0o600))
	wrongNetrc := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(wrongNetrc, ".netrc"), []byte("default login alice password wrong\n"), 0o600))
	tests := []struct {
		name string
		url  string
		vars map[string]string
		code int
	}{
		{"in the URL", srv.URL(), nil, exitOK},
		{"FTP_PASSWORD", "ftp://alice@" + u.Host + "/", map[string]string{"FTP_PASSWORD": "s3cr:t@x"}, exitOK},
		{"netrc", "ftp://" + u.Host + "/", map[string]string{"HOME": netrcDir}, exitOK},
		{"netrc for the user", "ftp://alice@" + u.Host + "/", map[string]string{"HOME": netrcDir}, exitOK},
		{"wrong password", "ftp://alice@" + u.Host + "/", map[string]string{"HOME": wrongNetrc}, exitConnect},
		{"none: anonymous refused", "ftp://" + u.Host + "/", nil, exitConnect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ftpsync(t, tt.vars, "ls", "--verbose", tt.url)
			assert.Equal(t, tt.code, r.code, "stderr: %s", r.stderr)
			all := r.stdout + r.stderr
			assert.NotContains(t, all, "s3cr")
			assert.NotContains(t, all, "wrong")
			assert.NotContains(t, all, url.QueryEscape("s3cr:t@x"))
		})
	}
	r := ftpsync(t, nil, "ls", "ftp://127.0.0.2:1/")
	assert.Equal(t, exitConnect, r.code)
}

// writeTree writes files (slash paths) under root.
func writeTree(t *testing.T, root string, files map[string][]byte) {
	for name, data := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, data, 0o644))
	}
}

func sampleTree(t *testing.T) map[string][]byte {
	return map[string][]byte{
		"a.txt":             []byte("a"),
		"empty":             {},
		"dir one/b.bin":     random(t, 40_000),
		"dir one/x/y/z.txt": []byte("deep"),
		"ünï/файл.txt":      []byte("привет"),
		"skip.log":          []byte("excluded"),
	}
}

func mirrorJSON(t *testing.T, vars map[string]string, args ...string) (jsonSummary, result) {
	t.Helper()
	r := ftpsync(t, vars, append(args, "--json")...)
	var js jsonSummary
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &js), "stdout: %s stderr: %s", r.stdout, r.stderr)
	return js, r
}

func TestMirror(t *testing.T) {
	for _, reverse := range []bool{false, true} {
		t.Run(fmt.Sprintf("reverse=%v", reverse), func(t *testing.T) {
			srv := newServer(t)
			tree := sampleTree(t)
			local := filepath.Join(t.TempDir(), "tree")
			args := []string{"mirror", at(srv, "tree"), local}
			if reverse {
				writeTree(t, local, tree)
				args = []string{"mirror", "--reverse", local, at(srv, "tree")}
			} else {
				for name, data := range tree {
					srv.WriteFile("/tree/"+name, data)
				}
			}
			excl := []string{"--exclude", "*.log", "--parallel", "3"}

			js, r := mirrorJSON(t, nil, append(append([]string{}, args...), append(excl, "--dry-run")...)...)
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.True(t, js.DryRun)
			assert.Zero(t, js.Files)
			copies := 0
			for _, a := range js.Plan {
				if a.Op == "copy" {
					copies++
				}
			}
			assert.Equal(t, len(tree)-1, copies)

			js, r = mirrorJSON(t, nil, append(append([]string{}, args...), excl...)...)
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Equal(t, len(tree)-1, js.Files)
			for name, data := range tree {
				var got []byte
				var err error
				if reverse {
					got, err = srv.ReadFile("/tree/" + name)
				} else {
					got, err = os.ReadFile(filepath.Join(local, filepath.FromSlash(name)))
				}
				if name == "skip.log" {
					if reverse {
						require.Error(t, err)
					} else {
						require.ErrorIs(t, err, os.ErrNotExist)
					}
					continue
				}
				require.NoError(t, err, name)
				require.Equal(t, string(data), string(got), name)
			}

			// Second run: nothing to do. Plain output.
			r = ftpsync(t, nil, append(append([]string{}, args...), excl...)...)
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Contains(t, r.stdout, "0 files (0 bytes) copied")

			// An extra at the destination goes with --delete.
			if reverse {
				srv.WriteFile("/tree/extra", []byte("x"))
			} else {
				writeTree(t, local, map[string][]byte{"extra": []byte("x")})
			}
			js, r = mirrorJSON(t, nil, append(append([]string{}, args...), append(excl, "--delete")...)...)
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Equal(t, 1, js.Deleted)
			assert.Zero(t, js.Files)
		})
	}
}

func TestMirrorParallel8OnServerCappedAt2(t *testing.T) {
	srv := newServer(t, ftptest.WithMaxConnections(2))
	files := map[string][]byte{}
	for i := range 20 {
		files[fmt.Sprintf("d/f%02d", i)] = random(t, 3000+i)
	}
	for name, data := range files {
		srv.WriteFile("/src/"+name, data)
	}
	local := t.TempDir()
	js, r := mirrorJSON(t, nil, "mirror", "--parallel", "8", at(srv, "src"), local)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, len(files), js.Files)
	for name, data := range files {
		got, err := os.ReadFile(filepath.Join(local, filepath.FromSlash(name)))
		require.NoError(t, err)
		require.Equal(t, data, got)
	}
}

func TestMirrorFailureExitCode(t *testing.T) {
	srv := newServer(t, ftptest.WithRawReply("STOR", "553 Not allowed.\r\n"))
	local := t.TempDir()
	writeTree(t, local, map[string][]byte{"a": []byte("a"), "b": []byte("b")})
	js, r := mirrorJSON(t, nil, "mirror", "--reverse", local, at(srv, "dst"))
	assert.Equal(t, exitFailed, r.code)
	assert.Equal(t, 2, js.Failed)
	assert.Contains(t, js.Error, "copy a")
	assert.Contains(t, js.Error, "copy b")
}

func TestRmMkdir(t *testing.T) {
	srv := newServer(t)
	r := ftpsync(t, nil, "mkdir", at(srv, "a/b/c"))
	assert.NotEqual(t, exitOK, r.code, "no parents without -p")
	r = ftpsync(t, nil, "mkdir", "-p", at(srv, "a/b/c"))
	require.Equal(t, exitOK, r.code, r.stderr)
	fi, err := srv.Stat("/a/b/c")
	require.NoError(t, err)
	assert.True(t, fi.IsDir())

	srv.WriteFile("/a/b/c/f", []byte("x"))
	srv.WriteFile("/a/g", []byte("x"))
	r = ftpsync(t, nil, "rm", at(srv, "a/g"))
	require.Equal(t, exitOK, r.code, r.stderr)
	_, err = srv.Stat("/a/g")
	require.ErrorIs(t, err, os.ErrNotExist)
	r = ftpsync(t, nil, "rm", at(srv, "a/missing"))
	assert.Equal(t, exitNotFound, r.code)
	r = ftpsync(t, nil, "rm", "-r", at(srv, "a"))
	require.Equal(t, exitOK, r.code, r.stderr)
	_, err = srv.Stat("/a")
	require.ErrorIs(t, err, os.ErrNotExist)
	r = ftpsync(t, nil, "rm", "-r", at(srv, "a"))
	assert.Equal(t, exitNotFound, r.code)
}

func TestAbsolutePath(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("/pub/f", []byte("x"))
	r := ftpsync(t, nil, "ls", at(srv, "%2Fpub"))
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, " f\n")
}

func TestDemo(t *testing.T) {
	r := ftpsync(t, nil, "demo")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "demo finished")
	// The trace in both modes, as the README says (issue 21, item 14).
	passive, active, ok := strings.Cut(r.stdout, "== active")
	require.True(t, ok, r.stdout)
	assert.Contains(t, passive, "    | > EPSV\n")
	assert.Regexp(t, `    \| > (PORT|EPRT) `, active)
	assert.Contains(t, active, "    | > RETR /pub/upload.bin\n")
}

func TestBar(t *testing.T) {
	s := bar("file.bin", 512<<10, 1<<20, 512<<10, 1e9)
	assert.Contains(t, s, " 50% 512.0 KiB/1.0 MiB 512.0 KiB/s ETA 0:01")
	assert.Contains(t, bar("x", 10, -1, 10, 1e9), "10 B")
	// After a resume, the rate is of this run's bytes: 1 MiB in 1 s, not
	// the 900 MiB of the part (issue 21, item 2).
	s = bar("big.iso", 901<<20, 1000<<20, 1<<20, 1e9)
	assert.Contains(t, s, " 90% 901.0 MiB/1000.0 MiB 1.0 MiB/s ETA 1:39")
	assert.Equal(t, "1.5 GiB", size(3<<29))
}

// TestVersion: version, --version and -version print the build's version
// and Go's, exit 0 (issue 21, item 15).
func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version", "-version"} {
		t.Run(arg, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), []string{arg}, &out, &errOut, func(string) string { return "" })
			assert.Equal(t, 0, code, errOut.String())
			assert.True(t, strings.HasPrefix(out.String(), "ftpsync "), out.String())
			assert.Contains(t, out.String(), runtime.Version())
		})
	}
}
