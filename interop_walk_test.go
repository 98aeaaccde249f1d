//go:build interop

package ftp_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pasvport/ftp"
)

// TestInteropWalkWorkingDir walks "" on every lab server: the working
// directory, with paths relative to it, as List("") lists it.
func TestInteropWalkWorkingDir(t *testing.T) {
	env := interopEnv(t)
	for _, server := range interopServers {
		t.Run(server, func(t *testing.T) {
			key := strings.ToUpper(server)
			addr, data := env[key+"_PLAIN_ADDR"], env[key+"_PLAIN_DATA"]
			if addr == "" || data == "" {
				interopMissing(t, key+"_PLAIN_ADDR or _DATA not in servers.env: the server did not start")
			}
			name := fmt.Sprintf("mirror-walk-%d-%d", os.Getpid(), time.Now().UnixNano())
			diskTree(t, filepath.Join(data, name), map[string]string{"a.txt": "a", "sub/b.txt": "bb", "empty/": ""})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c, err := ftp.Dial(ctx, addr, ftp.WithTimeout(15*time.Second))
			require.NoError(t, err)
			defer c.Close()
			require.NoError(t, c.Login(ctx, env["FTP_USER"], env["FTP_PASS"]))
			require.NoError(t, c.ChangeDir(ctx, name))

			got := map[string]bool{}
			err = c.Walk(ctx, "", func(p string, d fs.DirEntry, err error) error {
				require.NoError(t, err, p)
				got[p] = d.IsDir()
				return nil
			})
			require.NoError(t, err)
			assert.Equal(t, map[string]bool{"": true, "a.txt": false, "sub": true, "sub/b.txt": false, "empty": true}, got)
		})
	}
}
