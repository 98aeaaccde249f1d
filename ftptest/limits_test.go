package ftptest_test

import (
	"testing"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMaxConnections(t *testing.T) {
	srv := ftptest.NewServer(ftptest.WithMaxConnections(2))
	defer srv.Close()
	a := login(t, srv)
	login(t, srv)
	third := dialRaw(t, srv.Addr())
	code, msg := third.read()
	assert.Equal(t, 421, code)
	assert.Contains(t, msg, "Too many connections")
	a.cmd("QUIT", 221)
}

func TestHash(t *testing.T) {
	srv := ftptest.NewServer(ftptest.WithHash(), ftptest.WithFiles(map[string][]byte{"d/f.txt": []byte("hello")}))
	defer srv.Close()
	c := login(t, srv)
	feat := c.cmd("FEAT", 211)
	assert.Contains(t, feat, "HASH SHA-256*;SHA-1;MD5;CRC32")
	tests := []struct{ line, want string }{
		{"HASH d/f.txt", "SHA-256 0-5 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 d/f.txt"},
		{"XSHA1 /d/f.txt", "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"},
		{"XMD5 /d/f.txt", "5d41402abc4b2a76b9719d911017c592"},
		{"XCRC /d/f.txt", "3610a686"},
	}
	for _, tt := range tests {
		got := c.cmd(tt.line, 213)
		assert.Contains(t, got, tt.want, tt.line)
	}
	c.cmd("OPTS HASH MD5", 200)
	got := c.cmd("HASH d/f.txt", 213)
	assert.Contains(t, got, "MD5 0-5 5d41402abc4b2a76b9719d911017c592")

	plain := ftptest.NewServer(ftptest.WithFiles(map[string][]byte{"f": nil}))
	defer plain.Close()
	p := login(t, plain)
	p.cmd("HASH f", 502)
	feat = p.cmd("FEAT", 211)
	require.NotContains(t, feat, "HASH")
}
