package ftp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestChecksumOfNameWithIAC: HASH and the X commands of a name holding
// byte 0xFF send the Telnet IAC doubled once, as every other command does,
// from RemoteChecksum and from the check at the end of a Download.
func TestChecksumOfNameWithIAC(t *testing.T) {
	const name = "a\xffb.txt"
	data := []byte("hello, IAC")
	tests := []struct {
		verb, algo string
		hidden     []string
	}{
		{"HASH", "SHA-256", nil},
		{"XSHA256", "SHA-256", []string{"HASH"}},
		{"XSHA1", "SHA-1", []string{"HASH", "XSHA256"}},
		{"XMD5", "MD5", []string{"HASH", "XSHA256", "XSHA1"}},
		{"XCRC", "CRC32", []string{"HASH", "XSHA256", "XSHA1", "XMD5"}},
	}
	for _, tt := range tests {
		t.Run(tt.verb, func(t *testing.T) {
			srv := newServer(t, ftptest.WithHash(), ftptest.WithoutFeatures(tt.hidden...))
			srv.WriteFile(name, data)
			c := dialTest(t, srv)
			ctx := context.Background()
			local := filepath.Join(t.TempDir(), "f")

			algo, sum, err := c.RemoteChecksum(ctx, name)
			require.NoError(t, err)
			assert.Equal(t, tt.algo, algo)
			require.NoError(t, c.Download(ctx, name, local))
			want, err := localChecksum(local, algo)
			require.NoError(t, err)
			assert.True(t, sameSum(want, sum), "sum %s, want %s", sum, want)

			var sent []string
			for _, line := range srv.Commands() {
				if strings.HasPrefix(line, tt.verb+" ") {
					sent = append(sent, line)
				}
			}
			line := tt.verb + " a\xff\xffb.txt"
			assert.Equal(t, []string{line, line}, sent, "RemoteChecksum, then Download's check")
		})
	}
}

// TestSyncAtomicUnderChangeDir: Download and Upload of relative names on
// a Conn that another goroutine keeps moving between two directories
// (holding different files of the same name) are each one operation: every
// download is one whole file of one directory, every upload lands whole in
// one directory, and no temporary file is left behind.
func TestSyncAtomicUnderChangeDir(t *testing.T) {
	ctx := context.Background()
	dirs := []string{"/d1", "/d2"}
	remote := map[string][]byte{"/d1": randomBytes(t, 100_000), "/d2": randomBytes(t, 150_000)}
	srv := newServer(t, ftptest.WithHash())
	for _, d := range dirs {
		srv.WriteFile(d+"/f.bin", remote[d])
	}
	c := dialTest(t, srv)
	require.NoError(t, c.ChangeDir(ctx, dirs[0]))

	done := make(chan struct{})
	type moves struct {
		busy int // ErrBusy: a Download left a Response open
		err  error
	}
	moved := make(chan moves, 1)
	go func() {
		var m moves
	loop:
		for i := 0; m.err == nil && i < 1_000_000; i++ {
			select {
			case <-done:
				break loop
			default:
			}
			if m.err = c.ChangeDir(ctx, dirs[i%2]); errors.Is(m.err, ErrBusy) {
				m.busy, m.err = m.busy+1, nil
			}
		}
		moved <- m
	}()

	const n = 20
	tmp := t.TempDir()
	for i := range n {
		local := filepath.Join(tmp, fmt.Sprintf("down%d", i))
		if assert.NoError(t, c.Download(ctx, "f.bin", local), "download %d", i) {
			got, err := os.ReadFile(local)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(got, remote["/d1"]) || bytes.Equal(got, remote["/d2"]),
				"download %d: %d bytes, none of the two files", i, len(got))
		}
		up := filepath.Join(tmp, fmt.Sprintf("up%d", i))
		require.NoError(t, os.WriteFile(up, randomBytes(t, 50_000+i), 0o644))
		assert.NoError(t, c.Upload(ctx, up, fmt.Sprintf("u%d.bin", i)), "upload %d", i)
	}
	close(done)
	m := <-moved
	require.NoError(t, m.err)
	assert.Zero(t, m.busy, "ChangeDir waits for a Download or Upload, never fails with ErrBusy")

	for i := range n {
		want, err := os.ReadFile(filepath.Join(tmp, fmt.Sprintf("up%d", i)))
		require.NoError(t, err)
		var found []string
		for _, d := range dirs {
			name := fmt.Sprintf("%s/u%d.bin", d, i)
			if got, err := srv.ReadFile(name); err == nil {
				assert.True(t, bytes.Equal(want, got), "%s: %d bytes, want %d", name, len(got), len(want))
				found = append(found, name)
			}
			_, err := srv.Stat(PartName(name))
			assert.Error(t, err, "%s left behind", PartName(name))
		}
		assert.Len(t, found, 1, "upload %d", i)
	}
}

// TestURLErrors: DialURL and NewPool say the same of a bad URL, once
// prefixed, and never show its password.
func TestURLErrors(t *testing.T) {
	const pw = "Hunter2"
	for _, u := range []string{
		"ftp://bob:" + pw + "%zz@127.0.0.1/", // a bad escape in the password
		"ftp://bob:" + pw + "@ho st/",
		"ftp://bob:" + pw + "@127.0.0.1:port/",
		"http://bob:" + pw + "@127.0.0.1/",
		"sftp://bob:" + pw + "@127.0.0.1/",
		"::",
	} {
		_, derr := DialURL(context.Background(), u)
		_, perr := NewPool(u, 1)
		require.Error(t, derr, u)
		require.Error(t, perr, u)
		assert.Equal(t, derr.Error(), perr.Error(), u)
		assert.NotContains(t, derr.Error(), pw, u)
		assert.Equal(t, 1, strings.Count(derr.Error(), "ftp: "), "%s: %v", u, derr)
	}
}
