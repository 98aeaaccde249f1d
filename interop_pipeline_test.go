//go:build interop

package ftp_test

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pasvport/ftp"
)

// TestInteropPipeline: 50 small files up and down on one connection, on
// every real server and in every passive data mode, byte for byte, with
// the next transfer's passive command sent ahead (pipeline.go). Downloads
// pipeline on every server; uploads only where the server answers
// commands after the transfer (vsftpd): ProFTPD and Pure-FTPd answer the
// probe during the upload, and pyftpdlib would run a passive command at
// once and drop the upload, which the probe prevents.
func TestInteropPipeline(t *testing.T) {
	env := interopEnv(t)
	const files = 50
	for _, server := range interopServers {
		for _, mode := range interopModes {
			if mode.name == "PORT" || mode.name == "EPRT-IPv6" || mode.name == "TLS-PORT" || mode.name == "TLS1.2-EPSV" ||
				mode.servers != nil && !contains(mode.servers, server) {
				continue // active modes do not pipeline; one TLS version is enough here
			}
			t.Run(server+"/"+mode.name, func(t *testing.T) {
				key := strings.ToUpper(server) + "_" + mode.instance + "_ADDR"
				addr := env[key]
				if addr == "" {
					interopMissing(t, key+" not in servers.env: the server did not start")
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				trace := &traceBuffer{}
				o := append([]ftp.Option{ftp.WithTimeout(15 * time.Second), ftp.WithDebug(trace)}, mode.opts(env)...)
				c, err := ftp.Dial(ctx, addr, o...)
				require.NoError(t, err)
				defer c.Close()
				require.NoError(t, c.Login(ctx, env["FTP_USER"], env["FTP_PASS"]))
				dir := fmt.Sprintf("pipeline-%s-%d", strings.ToLower(mode.name), time.Now().UnixNano())
				require.NoError(t, c.MakeDir(ctx, dir))
				defer c.RemoveAll(context.Background(), dir)

				data := make([][]byte, files)
				trace.sent()
				for i := range data {
					data[i] = randomData(t, 4<<10+i)
					require.NoError(t, c.Stor(ctx, path.Join(dir, fmt.Sprintf("f%02d", i)), bytes.NewReader(data[i])), "STOR %d", i)
				}
				up, upTrace := trace.sent()
				for i := range data {
					got := retrieve(t, ctx, c, path.Join(dir, fmt.Sprintf("f%02d", i)))
					require.Equal(t, data[i], got, "RETR %d", i)
				}
				down, downTrace := trace.sent()
				require.NoError(t, c.NoOp(ctx), "in step")

				passive := func(cmds []string) int { return len(withPrefix(cmds, "EPSV")) + len(withPrefix(cmds, "PASV")) }
				// Each transfer's end sends the next one's passive command
				// ahead, so the last one is left unused: one more passive
				// command than transfers. Uploads pipeline on vsftpd; the
				// others answer commands during an upload (found by the probe,
				// or by a refusal of the command sent ahead, after which the
				// upload still succeeds).
				// Each one refused during an upload is asked again.
				want := 2*files + 1 + strings.Count(upTrace, "# the server answered")
				assert.Equal(t, want, passive(up)+passive(down), "passive commands")
				assert.NotContains(t, upTrace+downTrace, "no pipelining from now on")
				pipelinedUp := !strings.Contains(upTrace, "uploads are not pipelined")
				if server == "vsftpd" {
					assert.True(t, pipelinedUp, "uploads pipelined on vsftpd")
				}
				t.Logf("%s: uploads pipelined: %v", mode.name, pipelinedUp)
			})
		}
	}
}
