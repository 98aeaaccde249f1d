package ftp

import (
	"bytes"
	"context"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// gbk returns s in GBK bytes: names as a Chinese Windows or Linux
// server keeps them on disk.
func gbk(t *testing.T, s string) string {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().String(s)
	require.NoError(t, err)
	return b
}

// TestEncodingGBKRoundTrip runs a session against a server whose names
// are GBK bytes (issue 18, problem 1): listed in UTF-8, fetched by the
// decoded name, a Chinese name uploaded, renamed and deleted as GBK bytes,
// io/fs over it, and OPTS UTF8 ON never sent.
func TestEncodingGBKRoundTrip(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	srv.WriteFile("/"+gbk(t, "中文目录")+"/"+gbk(t, "报告.txt"), []byte("report"))
	srv.WriteFile("/"+gbk(t, "中文目录")+"/plain.txt", []byte("plain"))
	c := dialTest(t, srv, WithEncoding(simplifiedchinese.GBK))

	entries, err := c.List(ctx, "/中文目录")
	require.NoError(t, err)
	got := map[string]string{}
	for _, e := range entries {
		raw, err := c.NameBytes(e.Name)
		require.NoError(t, err)
		got[e.Name] = string(raw)
	}
	assert.Equal(t, map[string]string{"报告.txt": gbk(t, "报告.txt"), "plain.txt": "plain.txt"}, got)
	assert.Equal(t, []byte("report"), retrAll(t, c, "/中文目录/报告.txt"))

	require.NoError(t, c.Stor(ctx, "/中文目录/新文件.txt", strings.NewReader("new")))
	data, err := srv.ReadFile("/" + gbk(t, "中文目录") + "/" + gbk(t, "新文件.txt"))
	require.NoError(t, err, "the upload is stored under its GBK name")
	assert.Equal(t, []byte("new"), data)
	require.NoError(t, c.Rename(ctx, "/中文目录/新文件.txt", "/中文目录/改名.txt"))
	_, err = srv.ReadFile("/" + gbk(t, "中文目录") + "/" + gbk(t, "改名.txt"))
	require.NoError(t, err)
	require.NoError(t, c.Delete(ctx, "/中文目录/改名.txt"))
	_, err = srv.ReadFile("/" + gbk(t, "中文目录") + "/" + gbk(t, "改名.txt"))
	require.ErrorIs(t, err, fs.ErrNotExist)

	require.NoError(t, fstest.TestFS(c.FS(ctx), "中文目录/报告.txt", "中文目录/plain.txt"))
	assert.NotContains(t, srv.Commands(), "OPTS UTF8 ON")

	_, err = c.FileSize(ctx, "/中文目录/😀.txt")
	require.ErrorContains(t, err, "cannot be written in the server's encoding")
	require.NoError(t, c.NoOp(ctx), "an unencodable name sends nothing: the session goes on")
}

// TestEncodingKeepsUndecodableNames lists names whose bytes are not GBK,
// one of them valid UTF-8 (a wrong guess): each stays fetchable and
// deletable by the Name List gives, alone and joined to a path.
func TestEncodingKeepsUndecodableNames(t *testing.T) {
	ctx := context.Background()
	bad := []string{"bad\xff\x80.bin", "ütf8.txt", "ütf8.txt\xff"}
	srv := newServer(t)
	for i, name := range bad {
		srv.WriteFile("/d/"+name, []byte{byte('0' + i)})
	}
	c := dialTest(t, srv, WithEncoding(simplifiedchinese.GBK))
	entries, err := c.List(ctx, "/d")
	require.NoError(t, err)
	require.Len(t, entries, len(bad))
	for _, e := range entries {
		raw, err := c.NameBytes(e.Name)
		require.NoError(t, err)
		want, err := srv.ReadFile("/d/" + string(raw))
		require.NoError(t, err, "NameBytes %q is the name on the server", raw)
		assert.Equal(t, want, retrAll(t, c, "/d/"+e.Name), "fetch %q", e.Name)
		require.NoError(t, c.Delete(ctx, "d/"+e.Name))
		_, err = srv.ReadFile("/d/" + string(raw))
		require.ErrorIs(t, err, fs.ErrNotExist, "deleted %q", raw)
	}
	entries, err = c.List(ctx, "/d")
	require.NoError(t, err)
	assert.Empty(t, entries)
}

// TestNameCodecRoundTrip: every byte string decodes to a Name that
// encodes back to exactly those bytes.
func TestNameCodecRoundTrip(t *testing.T) {
	n := &nameCodec{enc: simplifiedchinese.GBK}
	for _, raw := range []string{"abc", gbk(t, "中文"), "\xff", "a\xff\xff", "ü", "ü\xff", "\xd6", "\xe4\xb8\xad.", gbk(t, "中") + "\x80"} {
		got, err := n.encode(n.decode(raw))
		require.NoError(t, err)
		assert.True(t, bytes.Equal([]byte(raw), []byte(got)), "%q -> %q -> %q", raw, n.decode(raw), got)
	}
}
