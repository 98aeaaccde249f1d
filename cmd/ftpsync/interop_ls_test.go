//go:build interop

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInteropLs: on the four lab servers, ls of a file shows the same
// line everywhere (not "not found", not another time), and ls of a folder
// lists it sorted by name (issue 21, item 6). Run with:
//
//	FTP_INTEROP=required go test -tags interop -run TestInteropLs -count=1 ./cmd/ftpsync
func TestInteropLs(t *testing.T) {
	env := serversEnv(t)
	mod := time.Date(2024, 3, 2, 15, 13, 27, 0, time.UTC)
	shown := map[string]string{}
	for _, server := range []string{"vsftpd", "proftpd", "pureftpd", "pyftpdlib"} {
		t.Run(server, func(t *testing.T) {
			key := strings.ToUpper(server)
			addr, data := env[key+"_PLAIN_ADDR"], env[key+"_PLAIN_DATA"]
			if addr == "" || data == "" {
				t.Fatalf("%s_PLAIN_ADDR or _DATA not in servers.env", key)
			}
			name := fmt.Sprintf("cli-ls-%d-%d", os.Getpid(), time.Now().UnixNano())
			disk := filepath.Join(data, name)
			onDisk(t, disk, map[string]string{"dir/file.txt": "a file", "dir/b": "bb", "dir/a.txt": "a", "dir/C/": ""})
			require.NoError(t, os.Chtimes(filepath.Join(disk, "dir", "file.txt"), mod, mod))
			url := "ftp://" + env["FTP_USER"] + ":" + env["FTP_PASS"] + "@" + addr + "/" + name + "/dir"

			r := ftpsync(t, nil, "ls", url+"/file.txt")
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Equal(t, "file            6  2024-03-02 15:13:27  file.txt\n", r.stdout)
			shown[server] = r.stdout

			r = ftpsync(t, nil, "ls", url)
			require.Equal(t, exitOK, r.code, r.stderr)
			// vsftpd lists with LIST (minutes, or a date alone); the others
			// with MLSD (seconds). No size is -1.
			line := `^(file|dir) +(\d+|-)  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  \S+$`
			if server == "vsftpd" {
				line = `^(file|dir) +(\d+|-)  \d{4}-\d\d-\d\d( \d\d:\d\d)? +\S+$`
			}
			var names []string
			for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
				assert.Regexp(t, line, l)
				f := strings.Fields(l)
				names = append(names, f[len(f)-1])
			}
			assert.Equal(t, []string{"C", "a.txt", "b", "file.txt"}, names, r.stdout)
		})
	}
	assert.Len(t, shown, 4)
}
