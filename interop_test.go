//go:build interop

// The interop suite: one conformance scenario against real servers
// (vsftpd, proftpd, pure-ftpd, pyftpdlib) in every data mode, started by
// interop/servers.sh. Run it with:
//
//	bash interop/servers.sh install && bash interop/servers.sh start
//	go test -tags interop -run TestInterop -count=1 -v .
//
// Without servers it skips, unless FTP_INTEROP=required (as in CI).

package ftp_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pasvport/ftp"
)

// interopEnv reads the servers.env file that interop/servers.sh writes.
func interopEnv(t *testing.T) map[string]string {
	run := os.Getenv("INTEROP_RUN")
	if run == "" {
		run = "/tmp/pasvport-interop"
	}
	f, err := os.Open(filepath.Join(run, "servers.env"))
	if err != nil {
		interopMissing(t, fmt.Sprintf("no servers.env (%v): run interop/servers.sh start", err))
		return nil
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok && !strings.HasPrefix(k, "#") {
			env[k] = strings.Trim(v, `"`)
		}
	}
	require.NoError(t, sc.Err())
	return env
}

// interopMissing fails where the servers are required, else skips.
func interopMissing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("FTP_INTEROP") == "required" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// interopMode is one way of connecting: which instance of a server
// (plain, ipv6, nat, tls, ftps) and which options.
type interopMode struct {
	name     string
	instance string
	opts     func(env map[string]string) []ftp.Option
	servers  []string // nil: all four
}

func tlsConfig(env map[string]string) *tls.Config {
	pool := x509.NewCertPool()
	if pem, err := os.ReadFile(env["FTP_TLS_CA"]); err == nil {
		pool.AppendCertsFromPEM(pem)
	}
	return &tls.Config{RootCAs: pool, ServerName: env["FTP_TLS_SERVER_NAME"]}
}

func opts(o ...ftp.Option) func(map[string]string) []ftp.Option {
	return func(map[string]string) []ftp.Option { return o }
}

var interopModes = []interopMode{
	{name: "EPSV", instance: "PLAIN", opts: opts()},
	{name: "PASV", instance: "PLAIN", opts: opts(ftp.WithoutEPSV())},
	{name: "PORT", instance: "PLAIN", opts: opts(ftp.WithActive())},
	{name: "EPSV-IPv6", instance: "IPV6", opts: opts()},
	{name: "EPRT-IPv6", instance: "IPV6", opts: opts(ftp.WithActive())},
	{name: "PASV-NAT", instance: "NAT", opts: opts(ftp.WithoutEPSV())},
	{name: "TLS-EPSV", instance: "TLS", opts: func(env map[string]string) []ftp.Option {
		return []ftp.Option{ftp.WithExplicitTLS(tlsConfig(env))}
	}},
	{name: "TLS1.2-EPSV", instance: "TLS", opts: func(env map[string]string) []ftp.Option {
		cfg := tlsConfig(env)
		cfg.MaxVersion = tls.VersionTLS12
		return []ftp.Option{ftp.WithExplicitTLS(cfg)}
	}},
	{name: "TLS-PORT", instance: "TLS", opts: func(env map[string]string) []ftp.Option {
		return []ftp.Option{ftp.WithExplicitTLS(tlsConfig(env)), ftp.WithActive()}
	}},
	{name: "FTPS-implicit", instance: "FTPS", servers: []string{"vsftpd", "proftpd"},
		opts: func(env map[string]string) []ftp.Option {
			return []ftp.Option{ftp.WithImplicitTLS(tlsConfig(env))}
		}},
}

var interopServers = []string{"vsftpd", "proftpd", "pureftpd", "pyftpdlib"}

func TestInterop(t *testing.T) {
	env := interopEnv(t)
	results := map[string]map[string]string{}
	for _, server := range interopServers {
		results[server] = map[string]string{}
		for _, mode := range interopModes {
			if mode.servers != nil && !contains(mode.servers, server) {
				results[server][mode.name] = "n/a"
				continue
			}
			key := strings.ToUpper(server) + "_" + mode.instance + "_ADDR"
			addr := env[key]
			ran := false
			ok := t.Run(server+"/"+mode.name, func(t *testing.T) {
				ran = true
				if addr == "" {
					interopMissing(t, key+" not in servers.env: the server did not start")
				}
				o := append([]ftp.Option{ftp.WithTimeout(15 * time.Second)}, mode.opts(env)...)
				if server == "vsftpd" {
					o = append(o, ftp.WithOverloadedMDTM()) // vsftpd sets times with MDTM, not MFMT
				}
				conformance(t, addr, env, mode.name, o)
				if mode.instance == "NAT" {
					natTrustedFails(t, addr, env, o)
				}
			})
			switch {
			case !ran:
				results[server][mode.name] = "not run"
			case ok && t.Skipped():
				results[server][mode.name] = "skip"
			case ok:
				results[server][mode.name] = "pass"
			default:
				results[server][mode.name] = "FAIL"
			}
		}
	}
	printMatrix(t, results)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func printMatrix(t *testing.T, results map[string]map[string]string) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n| server |")
	for _, m := range interopModes {
		fmt.Fprintf(&b, " %s |", m.name)
	}
	fmt.Fprintf(&b, "\n|---|")
	for range interopModes {
		fmt.Fprintf(&b, "---|")
	}
	for _, s := range interopServers {
		fmt.Fprintf(&b, "\n| %s |", s)
		for _, m := range interopModes {
			fmt.Fprintf(&b, " %s |", results[s][m.name])
		}
	}
	t.Log(b.String())
	fmt.Println(b.String())
}

func randomData(t *testing.T, n int) []byte {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

func download(t *testing.T, ctx context.Context, c *ftp.Conn, p string, offset int64) [32]byte {
	t.Helper()
	r, err := c.RetrFrom(ctx, p, offset)
	require.NoError(t, err, "RETR %s", p)
	h := sha256.New()
	_, err = io.Copy(h, r)
	require.NoError(t, err, "RETR %s", p)
	require.NoError(t, r.Close())
	return [32]byte(h.Sum(nil))
}

// conformance is the scenario every server passes in every mode.
func conformance(t *testing.T, addr string, env map[string]string, mode string, opts []ftp.Option) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := ftp.Dial(ctx, addr, opts...)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Login(ctx, env["FTP_USER"], env["FTP_PASS"]))
	assert.NotEmpty(t, c.Features(), "FEAT")

	base := fmt.Sprintf("it-%s-%d", strings.ToLower(mode), time.Now().UnixNano())
	dir := base + "/a/b/c"
	require.NoError(t, c.MakeDirAll(ctx, dir))
	require.NoError(t, c.MakeDirAll(ctx, dir), "MakeDirAll again")

	files := map[string][]byte{
		"zero.bin":   {},
		"one.bin":    randomData(t, 1),
		"64k.bin":    randomData(t, 64<<10),
		"16m.bin":    randomData(t, 16<<20),
		"space name": []byte("a file name with a space"),
	}
	for name, data := range files {
		require.NoError(t, c.Stor(ctx, path.Join(dir, name), bytes.NewReader(data)), "STOR %s", name)
	}

	names, err := c.NameList(ctx, dir)
	require.NoError(t, err)
	for i := range names {
		names[i] = path.Base(names[i])
	}
	sort.Strings(names)
	assert.Equal(t, []string{"16m.bin", "64k.bin", "one.bin", "space name", "zero.bin"}, names)

	entries, err := c.List(ctx, dir)
	require.NoError(t, err)
	sizes := map[string]int64{}
	for _, e := range entries {
		require.NotEqual(t, ftp.EntryOther, e.Type, "unparsed line %q", e.Raw)
		sizes[e.Name] = e.Size
	}
	for name, data := range files {
		assert.Equal(t, int64(len(data)), sizes[name], "List size of %s", name)
		size, err := c.FileSize(ctx, path.Join(dir, name))
		require.NoError(t, err)
		assert.Equal(t, int64(len(data)), size, "SIZE %s", name)
		assert.Equal(t, sha256.Sum256(data), download(t, ctx, c, path.Join(dir, name), 0), "RETR %s", name)
	}

	home, err := c.CurrentDir(ctx)
	require.NoError(t, err)
	require.NoError(t, c.ChangeDir(ctx, base))
	require.NoError(t, fstest.TestFS(c.FS(ctx), "a/b/c/64k.bin", "a/b/c/space name", "a/b/c/zero.bin"), "fstest.TestFS")
	require.NoError(t, c.ChangeDir(ctx, home))

	e, err := c.Stat(ctx, path.Join(dir, "64k.bin"))
	require.NoError(t, err)
	assert.Equal(t, ftp.EntryFile, e.Type)
	assert.Equal(t, int64(64<<10), e.Size)
	e, err = c.Stat(ctx, base+"/a")
	require.NoError(t, err)
	assert.Equal(t, ftp.EntryDir, e.Type)

	mt, err := c.ModTime(ctx, path.Join(dir, "one.bin"))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), mt, time.Hour)
	when := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	if err := c.SetModTime(ctx, path.Join(dir, "one.bin"), when); err != nil {
		var ferr *ftp.Error
		require.ErrorAs(t, err, &ferr, "SetModTime")
		t.Logf("SetModTime not supported here: %v", err)
	} else {
		mt, err = c.ModTime(ctx, path.Join(dir, "one.bin"))
		require.NoError(t, err)
		assert.True(t, when.Equal(mt), "ModTime after SetModTime: %v", mt)
	}

	big := files["16m.bin"]
	off := int64(len(big)/2 + 12345)
	assert.Equal(t, sha256.Sum256(big[off:]), download(t, ctx, c, path.Join(dir, "16m.bin"), off), "RetrFrom")

	require.NoError(t, c.Stor(ctx, path.Join(dir, "resume.bin"), bytes.NewReader(big[:off])))
	require.NoError(t, c.StorFrom(ctx, path.Join(dir, "resume.bin"), bytes.NewReader(big[off:]), off))
	assert.Equal(t, sha256.Sum256(big), download(t, ctx, c, path.Join(dir, "resume.bin"), 0), "StorFrom")

	// Refusals are errors at once, and leave the Conn in step for the next
	// transfer (pyftpdlib answers a closed unused data connection with 226).
	start := time.Now()
	_, err = c.Retr(ctx, path.Join(dir, "missing.bin"))
	assert.ErrorIs(t, err, fs.ErrNotExist, "Retr of a missing file")
	assert.Error(t, c.Stor(ctx, path.Join(dir, "missing", "x.bin"), bytes.NewReader(files["one.bin"])), "Stor into a missing folder")
	_, err = c.Retr(ctx, path.Join(dir, "missing.bin"))
	assert.ErrorIs(t, err, fs.ErrNotExist, "Retr of a missing file")
	assert.Less(t, time.Since(start), 5*time.Second, "refusals without waiting for a timeout")
	assert.Equal(t, sha256.Sum256(files["one.bin"]), download(t, ctx, c, path.Join(dir, "one.bin"), 0), "RETR after refusals")

	require.NoError(t, c.Append(ctx, path.Join(dir, "64k.bin"), bytes.NewReader(files["one.bin"])))
	grown := append(append([]byte{}, files["64k.bin"]...), files["one.bin"]...)
	assert.Equal(t, sha256.Sum256(grown), download(t, ctx, c, path.Join(dir, "64k.bin"), 0), "Append")

	require.NoError(t, c.Rename(ctx, path.Join(dir, "one.bin"), path.Join(base, "renamed.bin")))
	_, err = c.FileSize(ctx, path.Join(dir, "one.bin"))
	assert.ErrorIs(t, err, fs.ErrNotExist)

	r, err := c.Retr(ctx, path.Join(dir, "16m.bin"))
	require.NoError(t, err)
	_, err = io.ReadFull(r, make([]byte, 100<<10))
	require.NoError(t, err)
	require.NoError(t, r.Close(), "Close before EOF")
	require.NoError(t, c.NoOp(ctx), "a command after the abort")
	size, err := c.FileSize(ctx, path.Join(dir, "16m.bin"))
	require.NoError(t, err)
	assert.Equal(t, int64(len(big)), size)

	require.NoError(t, c.Delete(ctx, path.Join(base, "renamed.bin")))
	require.NoError(t, c.RemoveAll(ctx, base))
	_, err = c.Stat(ctx, base)
	assert.True(t, errors.Is(err, fs.ErrNotExist), "gone after RemoveAll: %v", err)
	require.NoError(t, c.Quit(ctx))
}

// natTrustedFails checks that trusting the advertised 127.0.0.2 fails fast
// and says what to do.
func natTrustedFails(t *testing.T, addr string, env map[string]string, opts []ftp.Option) {
	ctx := context.Background()
	c, err := ftp.Dial(ctx, addr, append(opts, ftp.WithTrustedPASVAddress())...)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Login(ctx, env["FTP_USER"], env["FTP_PASS"]))
	start := time.Now()
	_, err = c.NameList(ctx, "")
	require.Error(t, err)
	assert.Less(t, time.Since(start), 5*time.Second)
	var dce *ftp.DataConnError
	require.ErrorAs(t, err, &dce)
	assert.Contains(t, dce.Addr, env["NAT_ADVERTISED_ADDR"])
	assert.Contains(t, err.Error(), "WithTrustedPASVAddress")
	require.NoError(t, c.NoOp(ctx), "usable after the failed data connection")
}

// TestInteropMirror mirrors a 1,000-file tree up to each server and back
// down through a Pool of 4 connections: byte-identical, and a second run
// copies nothing.
func TestInteropMirror(t *testing.T) {
	env := interopEnv(t)
	local := t.TempDir()
	want := map[string][32]byte{}
	for i := range 1000 {
		rel := fmt.Sprintf("d%02d/sub %d/f%04d.bin", i%10, i%3, i)
		data := randomData(t, 1+i*7%4096)
		if i%97 == 0 {
			data = nil // empty files too
		}
		p := filepath.Join(local, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, data, 0o644))
		want[rel] = sha256.Sum256(data)
	}
	for _, server := range interopServers {
		t.Run(server, func(t *testing.T) {
			addr := env[strings.ToUpper(server)+"_PLAIN_ADDR"]
			if addr == "" {
				interopMissing(t, server+" did not start")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			url := fmt.Sprintf("ftp://%s:%s@%s/", env["FTP_USER"], env["FTP_PASS"], addr)
			var o []ftp.Option
			if server == "vsftpd" {
				o = append(o, ftp.WithOverloadedMDTM())
			}
			pool, err := ftp.NewPool(url, 4, o...)
			require.NoError(t, err)
			defer pool.Close()
			remote := fmt.Sprintf("mirror-%d", time.Now().UnixNano())

			up, err := ftp.Mirror(ctx, pool, local, remote, ftp.MirrorOptions{Direction: ftp.MirrorUp})
			require.NoError(t, err)
			assert.Equal(t, 1000, up.Files)
			again, err := ftp.Mirror(ctx, pool, local, remote, ftp.MirrorOptions{Direction: ftp.MirrorUp})
			require.NoError(t, err)
			assert.Zero(t, again.Files, "a second run copies nothing")

			back := t.TempDir()
			down, err := ftp.Mirror(ctx, pool, remote, back, ftp.MirrorOptions{Direction: ftp.MirrorDown})
			require.NoError(t, err)
			assert.Equal(t, 1000, down.Files)
			got := map[string][32]byte{}
			require.NoError(t, filepath.WalkDir(back, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(p)
				rel, _ := filepath.Rel(back, p)
				got[filepath.ToSlash(rel)] = sha256.Sum256(b)
				return err
			}))
			assert.Equal(t, want, got, "byte-identical after up and down")
			require.NoError(t, pool.RemoveAll(ctx, remote))
		})
	}
}
