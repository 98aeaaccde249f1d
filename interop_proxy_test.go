//go:build interop

// WithProxy and WithRateLimit on the four real servers (issue 21, items
// 10 and 11): a session through an in-process SOCKS5 and HTTP CONNECT
// proxy (with credentials), plain on every server, FTPS on vsftpd and
// PASV behind NAT, sends every connection through the proxy, to the
// server's own address; a rate-limited upload and
// download move every byte. Run it with:
//
//	FTP_INTEROP=required go test -tags interop -run 'TestInteropProxy|TestInteropRateLimit' -count=1 -v .

package ftp_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pasvport/ftp"
)

func TestInteropProxy(t *testing.T) {
	env := interopEnv(t)
	type scenario struct{ server, instance, kind string }
	var scenarios []scenario
	for _, server := range interopServers {
		for _, kind := range []string{"socks5", "http"} {
			scenarios = append(scenarios, scenario{server, "PLAIN", kind})
		}
	}
	scenarios = append(scenarios, scenario{"vsftpd", "TLS", "socks5"}, scenario{"vsftpd", "TLS", "http"},
		scenario{"vsftpd", "NAT", "socks5"}, scenario{"pureftpd", "NAT", "http"})
	data := randomData(t, 1<<20)
	for _, sc := range scenarios {
		t.Run(fmt.Sprintf("%s-%s/%s", sc.server, strings.ToLower(sc.instance), sc.kind), func(t *testing.T) {
			key := strings.ToUpper(sc.server) + "_" + sc.instance + "_ADDR"
			addr := env[key]
			if addr == "" {
				interopMissing(t, key+" not in servers.env")
			}
			px := ftp.NewTestProxy(t, sc.kind, "edges", "pr0xy-pass")
			var mu sync.Mutex
			var dialled []string
			record := func(ctx context.Context, network, a string) (net.Conn, error) {
				mu.Lock()
				dialled = append(dialled, a)
				mu.Unlock()
				var d net.Dialer
				return d.DialContext(ctx, network, a)
			}
			opts := []ftp.Option{ftp.WithProxy(px.URL("edges", "pr0xy-pass")), ftp.WithDialFunc(record)}
			switch sc.instance {
			case "TLS":
				opts = append(opts, ftp.WithExplicitTLS(tlsConfig(env)))
			case "NAT": // PASV names NAT_ADVERTISED_ADDR: ignored, as without a proxy
				opts = append(opts, ftp.WithoutEPSV())
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c := edgesLogin(t, ctx, addr, env, opts...)
			dir := fmt.Sprintf("edges-proxy-%d", time.Now().UnixNano())
			require.NoError(t, c.MakeDir(ctx, dir))
			defer c.RemoveAll(context.Background(), dir)
			p := path.Join(dir, "f.bin")
			require.NoError(t, c.Stor(ctx, p, bytes.NewReader(data)))
			assert.Equal(t, sha256.Sum256(data), download(t, ctx, c, p, 0))
			entries, err := c.List(ctx, dir)
			require.NoError(t, err)
			require.Len(t, entries, 1)
			assert.Equal(t, int64(len(data)), entries[0].Size)
			require.NoError(t, c.RemoveAll(ctx, dir))
			require.NoError(t, c.Quit(ctx))

			host, _, _ := net.SplitHostPort(addr)
			targets := px.Targets()
			assert.GreaterOrEqual(t, len(targets), 4, "control, STOR, RETR, MLSD or LIST")
			assert.Equal(t, addr, targets[0], "the control connection")
			for _, tg := range targets {
				h, _, _ := net.SplitHostPort(tg)
				assert.Equal(t, host, h, "every tunnel goes to the server")
			}
			mu.Lock()
			defer mu.Unlock()
			assert.Len(t, dialled, len(targets), "every connection is a tunnel")
			for _, a := range dialled {
				assert.Equal(t, px.Addr(), a, "the client dials only the proxy")
			}
		})
	}
}

func TestInteropRateLimit(t *testing.T) {
	env := interopEnv(t)
	data := randomData(t, 3<<20)
	local := filepath.Join(t.TempDir(), "up.bin")
	require.NoError(t, os.WriteFile(local, data, 0o600))
	for _, server := range interopServers {
		t.Run(server, func(t *testing.T) {
			addr := env[strings.ToUpper(server)+"_PLAIN_ADDR"]
			if addr == "" {
				interopMissing(t, server+" not in servers.env")
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c := edgesLogin(t, ctx, addr, env, ftp.WithRateLimit(16<<20))
			dir := fmt.Sprintf("edges-rate-%d", time.Now().UnixNano())
			require.NoError(t, c.MakeDir(ctx, dir))
			defer c.RemoveAll(context.Background(), dir)
			p := path.Join(dir, "f.bin")

			f, err := os.Open(local) // sendfile under the limit
			require.NoError(t, err)
			defer f.Close()
			require.NoError(t, c.Stor(ctx, p, f))
			size, err := c.FileSize(ctx, p)
			require.NoError(t, err)
			assert.Equal(t, int64(len(data)), size)

			back, err := os.Create(filepath.Join(t.TempDir(), "back.bin")) // splice under the limit
			require.NoError(t, err)
			defer back.Close()
			r, err := c.Retr(ctx, p)
			require.NoError(t, err)
			_, err = io.Copy(back, r)
			require.NoError(t, err)
			require.NoError(t, r.Close())
			got, err := os.ReadFile(back.Name())
			require.NoError(t, err)
			assert.True(t, bytes.Equal(data, got), "the download is the upload")
			assert.Equal(t, sha256.Sum256(data), download(t, ctx, c, p, 0), "read path")
		})
	}
}
