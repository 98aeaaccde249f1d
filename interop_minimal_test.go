//go:build interop

// Probing instead of FEAT (issue 17) against the four real servers, with
// their FEAT reply ignored. Run with:
//
//	FTP_INTEROP=required go test -tags interop -run TestInteropMinimal -count=1 -v .

package ftp

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// minimalEnv reads servers.env (see interop_test.go's interopEnv, in the
// external test package).
func minimalEnv(t *testing.T) map[string]string {
	run := os.Getenv("INTEROP_RUN")
	if run == "" {
		run = "/tmp/pasvport-interop"
	}
	data, err := os.ReadFile(filepath.Join(run, "servers.env"))
	if err != nil {
		if os.Getenv("FTP_INTEROP") == "required" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(k, "#") {
			env[k] = strings.Trim(v, `"`)
		}
	}
	return env
}

// ignoringFEAT makes a Conn act as if FEAT had failed: every command is
// probed when first needed.
func ignoringFEAT() Option { return func(c *config) { c.ignoreFEAT = true } }

func TestInteropMinimal(t *testing.T) {
	env := minimalEnv(t)
	for _, name := range []string{"VSFTPD", "PROFTPD", "PUREFTPD", "PYFTPDLIB"} {
		t.Run(strings.ToLower(name), func(t *testing.T) {
			addr := env[name+"_PLAIN_ADDR"]
			require.NotEmpty(t, addr)
			url := fmt.Sprintf("ftp://%s:%s@%s", env["FTP_USER"], env["FTP_PASS"], addr)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var trace bytes.Buffer
			c, err := DialURL(ctx, url, ignoringFEAT(), WithDebug(&trace))
			require.NoError(t, err)
			defer c.Quit(ctx)
			assert.Empty(t, c.Features())

			dir := fmt.Sprintf("/probe-%d", time.Now().UnixNano())
			require.NoError(t, c.MakeDir(ctx, dir))
			defer c.RemoveAll(context.Background(), dir)

			localDir := t.TempDir()
			local := filepath.Join(localDir, "f.bin")
			data := bytes.Repeat([]byte("probe\n"), 20_000)
			require.NoError(t, os.WriteFile(local, data, 0o644))
			require.NoError(t, c.Upload(ctx, local, dir+"/f.bin"))
			e, err := c.Stat(ctx, dir+"/f.bin")
			require.NoError(t, err)
			assert.Equal(t, EntryFile, e.Type)
			assert.Equal(t, int64(len(data)), e.Size)
			e, err = c.Stat(ctx, dir)
			require.NoError(t, err)
			assert.Equal(t, EntryDir, e.Type)

			back := filepath.Join(localDir, "back.bin")
			require.NoError(t, c.Download(ctx, dir+"/f.bin", back))
			got, err := os.ReadFile(back)
			require.NoError(t, err)
			assert.Equal(t, data, got)

			names, err := c.NameList(ctx, dir)
			require.NoError(t, err)
			require.Len(t, names, 1)
			assert.Equal(t, "f.bin", path.Base(names[0]))

			p, err := NewPool(url, 2, ignoringFEAT())
			require.NoError(t, err)
			defer p.Close()
			tree := filepath.Join(localDir, "tree")
			require.NoError(t, os.MkdirAll(filepath.Join(tree, "sub"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(tree, "a.txt"), []byte("a"), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(tree, "sub", "b.txt"), data, 0o644))
			for run := range 2 {
				sum, err := Mirror(ctx, p, tree, dir+"/tree", MirrorOptions{Direction: MirrorUp})
				require.NoError(t, err)
				assert.Equal(t, 2*(1-run), sum.Files, "up, run %d: %+v", run+1, sum.Plan)
				t.Logf("up, run %d: unchecked %q", run+1, sum.Unchecked)
			}
			down := filepath.Join(localDir, "down")
			for run := range 2 {
				sum, err := Mirror(ctx, p, dir+"/tree", down, MirrorOptions{Direction: MirrorDown})
				require.NoError(t, err)
				assert.Equal(t, 2*(1-run), sum.Files, "down, run %d: %+v", run+1, sum.Plan)
			}
			got, err = os.ReadFile(filepath.Join(down, "sub", "b.txt"))
			require.NoError(t, err)
			assert.Equal(t, data, got)
			for _, l := range strings.Split(trace.String(), "\n") {
				if strings.HasPrefix(l, "# ") && (strings.Contains(l, "not implemented") || strings.Contains(l, "warning")) {
					t.Log(l)
				}
			}
		})
	}
}
