package ftp

import (
	"context"
	"io/fs"
	"testing"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWalkWorkingDir walks "" as List("") lists: the working directory,
// on every kind of server, vsftpd's (no MLST, no SIZE of a directory,
// vague refusals) included.
func TestWalkWorkingDir(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []ftptest.ServerOption
	}{
		{"MLST", nil},
		{"without MLST", []ftptest.ServerOption{ftptest.WithoutMLSD()}},
		{"vsftpd", []ftptest.ServerOption{ftptest.WithVsftpdQuirks()}},
		{"minimal", []ftptest.ServerOption{ftptest.WithVsftpdQuirks(), ftptest.WithCommandsNotImplemented("SIZE", "MDTM")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.opts...)
			seedTree(srv)
			c := dialTest(t, srv)
			ctx := context.Background()
			require.NoError(t, c.ChangeDir(ctx, "/pub"))

			var seen []string
			var root fs.DirEntry
			err := c.Walk(ctx, "", func(p string, d fs.DirEntry, err error) error {
				require.NoError(t, err, p)
				if p == "" {
					root = d
				}
				seen = append(seen, p)
				return nil
			})
			require.NoError(t, err)
			assert.Equal(t, []string{"", "a.txt", "b dir", "b dir/c.txt", "b dir/deeper", "b dir/deeper/d.bin", "empty"}, seen)
			require.NotNil(t, root)
			assert.True(t, root.IsDir())

			dir, err := c.CurrentDir(ctx)
			require.NoError(t, err)
			assert.Equal(t, "/pub", dir, "the walk leaves the working directory alone")
		})
	}
}
