package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"
)

func gbk(t *testing.T, s string) string {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().String(s)
	require.NoError(t, err)
	return b
}

// lsEntry is what a script reads of ls --json.
type lsEntry struct {
	Name      string    `json:"name"`
	NameBytes []byte    `json:"name_bytes"`
	ModTime   time.Time `json:"modTime"`
}

// lsJSON runs ls --json and returns its entries by name_bytes|name.
func lsJSON(t *testing.T, args ...string) map[string]lsEntry {
	t.Helper()
	r := ftpsync(t, nil, append([]string{"ls", "--json"}, args...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	var entries []lsEntry
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &entries))
	out := map[string]lsEntry{}
	for _, e := range entries {
		out[string(e.NameBytes)+"|"+e.Name] = e
	}
	return out
}

// TestEncodingFlag runs ftpsync against a server whose names are GBK
// bytes (issue 18, problem 1): --encoding GBK lists, fetches and mirrors
// them by their Chinese names; ls --json keeps every name's bytes in
// name_bytes, with or without --encoding, and those bytes fetch the file.
func TestEncodingFlag(t *testing.T) {
	report := gbk(t, "报告.txt")
	const bad = "bad\xff.bin" // 0xFF is no GBK byte: the name does not decode
	srv := newServer(t)
	srv.WriteFile("/cn/"+report, []byte("report"))
	srv.WriteFile("/cn/plain.txt", []byte("plain"))
	srv.WriteFile("/odd/"+bad, []byte("odd"))

	got := lsJSON(t, "--encoding", "GBK", at(srv, "cn"))
	assert.Equal(t, []byte(report), got[report+"|报告.txt"].NameBytes, "decoded, with the server's bytes beside: %v", got)
	assert.Contains(t, got, "|plain.txt", "an ASCII name needs no bytes")
	got = lsJSON(t, "--encoding", "gbk", at(srv, "odd"))
	assert.Contains(t, got, bad+"|"+strings.ToValidUTF8(bad, "\ufffd"), "a name that does not decode keeps its bytes: %v", got)

	r := ftpsync(t, nil, "ls", "--encoding", "GB18030", at(srv, "cn"))
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "  报告.txt\n")
	r = ftpsync(t, nil, "ls", at(srv, "cn"))
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "  %B1%A8%B8%E6.txt\n", "no mojibake: the bytes, escaped")

	// get by the Chinese name, and by the server's bytes: the local file
	// has the decoded name either way.
	for _, remote := range []string{"cn/" + url.PathEscape("报告.txt"), "cn/" + url.PathEscape(report)} {
		dir := t.TempDir()
		r := ftpsync(t, nil, "get", "--encoding", "GBK", at(srv, remote), dir)
		require.Equal(t, exitOK, r.code, r.stderr)
		data, err := os.ReadFile(filepath.Join(dir, "报告.txt"))
		require.NoError(t, err, remote)
		assert.Equal(t, "report", string(data))
	}

	// mirror down and up: the local names are the Chinese ones, the
	// server's GBK, and a second run copies nothing.
	local := filepath.Join(t.TempDir(), "l")
	for run, want := range []int{2, 0} {
		sum, r := mirrorJSON(t, nil, "mirror", "--encoding", "GBK", at(srv, "cn"), local)
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.Equal(t, want, sum.Files, "run %d: %+v", run+1, sum.Plan)
	}
	assert.Equal(t, map[string]string{"报告.txt": "report", "plain.txt": "plain"}, localFiles(t, local))
	require.NoError(t, os.WriteFile(filepath.Join(local, "新文件.txt"), []byte("new"), 0o644))
	for run, want := range []int{1, 0} {
		sum, r := mirrorJSON(t, nil, "mirror", "--reverse", "--encoding", "GBK", local, at(srv, "cn"))
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.Equal(t, want, sum.Files, "run %d: %+v", run+1, sum.Plan)
	}
	data, err := srv.ReadFile("/cn/" + gbk(t, "新文件.txt"))
	require.NoError(t, err, "uploaded under its GBK name")
	assert.Equal(t, "new", string(data))
}

// TestLsJSONKeepsBytes lists a GBK name without --encoding: it is not
// UTF-8, which JSON cannot hold, so name_bytes gives it, and fed back in a
// URL those bytes fetch the file.
func TestLsJSONKeepsBytes(t *testing.T) {
	report := gbk(t, "报告.txt")
	srv := newServer(t)
	srv.WriteFile("/cn/"+report, []byte("report"))
	srv.WriteFile("/cn/plain.txt", []byte("plain"))
	// Without --encoding the name is not UTF-8: JSON cannot hold it, the
	// bytes are given, and fed back they fetch the file.
	got := lsJSON(t, at(srv, "cn"))
	var raw []byte
	for _, e := range got {
		if e.Name != "plain.txt" {
			raw = e.NameBytes
		}
	}
	require.Equal(t, []byte(report), raw, "%v", got)
	dir := t.TempDir()
	r := ftpsync(t, nil, "get", at(srv, "cn/"+url.PathEscape(string(raw))), dir)
	require.Equal(t, exitOK, r.code, r.stderr)
	data, err := os.ReadFile(filepath.Join(dir, "%B1%A8%B8%E6.txt"))
	require.NoError(t, err, "a name that is not UTF-8 is saved escaped")
	assert.Equal(t, "report", string(data))

}

// TestTimezoneFlag reads LIST times of a server without MLSD in the zone
// --timezone names (issue 18, problem 3).
func TestTimezoneFlag(t *testing.T) {
	srv := newServer(t, ftptest.WithoutMLSD(), ftptest.WithListLines("/tz",
		"-rw-r--r-- 1 u g 5 Mar  2  2020 a.txt"))
	got := lsJSON(t, "--timezone", "Asia/Shanghai", at(srv, "tz"))
	require.Contains(t, got, "|a.txt")
	assert.Equal(t, time.Date(2020, 3, 1, 16, 0, 0, 0, time.UTC), got["|a.txt"].ModTime.UTC(),
		"midnight in Shanghai is 16:00 UTC the day before")
}

func TestCharsetFlagErrors(t *testing.T) {
	srv := newServer(t)
	tests := [][]string{
		{"--encoding", "no-such-charset"},
		{"--encoding", ""},
		{"--timezone", "Mars/Olympus_Mons"},
		{"--timezone", ""},
	}
	for _, flags := range tests {
		t.Run(strings.Join(flags, " "), func(t *testing.T) {
			r := ftpsync(t, nil, append([]string{"ls"}, append(flags, at(srv, ""))...)...)
			assert.Equal(t, exitUsage, r.code)
			assert.Contains(t, r.stderr, flags[0])
		})
	}
	for _, name := range []string{"GBK", "GB18030", "Big5", "Shift_JIS", "EUC-KR", "ISO-8859-1", "windows-1252", "latin1", "utf-8"} {
		r := ftpsync(t, nil, "ls", "--encoding", name, at(srv, ""))
		assert.Equal(t, exitOK, r.code, "%s: %s", name, r.stderr)
	}
}

// TestLocalName checks the rule for local names: the decoded name when
// the bytes decode, else an escape that no other name gives.
func TestLocalName(t *testing.T) {
	tests := []struct {
		name, gbk bool
		in, want  string
	}{
		{in: "plain.txt", want: "plain.txt"},
		{in: "报告.txt", want: "报告.txt"},
		{in: "100%.txt", want: "100%.txt"},
		{in: "50%off", want: "50%off"},
		{in: "\xb1\xa8\xb8\xe6.txt", want: "%B1%A8%B8%E6.txt"},
		{gbk: true, in: "\xb1\xa8\xb8\xe6.txt", want: "报告.txt"},
		{gbk: true, in: "bad\xff.bin", want: "bad%FF.bin"},
		{in: "bad%FF.bin", want: "bad%25FF.bin"},
		{in: "bad%25FF.bin", want: "bad%2525FF.bin"},
		{in: "100%\xff", want: "100%25%FF"},
		{in: "ü\x80", want: "ü%80"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		var got string
		if tt.gbk {
			got = localName(tt.in, simplifiedchinese.GBK)
		} else {
			got = localName(tt.in, nil)
		}
		assert.Equal(t, tt.want, got, "%q", tt.in)
		if prev, ok := seen[got]; ok && !tt.gbk {
			t.Errorf("%q and %q both give %q", prev, tt.in, got)
		}
		seen[got] = tt.in
	}
}

// TestEncodingDetected runs ftpsync without --encoding against a server
// whose names are GBK bytes (issue 18): the first listing finds GBK
// (--verbose says so), and ls, get and put by Chinese names, and mirror
// down and up (a second run copying nothing) work as with --encoding GBK.
// Before detection, ls printed the bytes escaped and get of a Chinese
// name failed.
func TestEncodingDetected(t *testing.T) {
	names := []string{"报告.txt", "新建文件夹.txt", "上海照片.jpg", "数据备份.zip", "说明.txt"}
	srv := newServer(t)
	want := map[string]string{}
	for _, n := range names {
		srv.WriteFile("/cn/"+gbk(t, n), []byte(n))
		want[n] = n
	}

	r := ftpsync(t, nil, "ls", "--verbose", at(srv, "cn"))
	require.Equal(t, exitOK, r.code, r.stderr)
	for _, n := range names {
		assert.Contains(t, r.stdout, "  "+n+"\n")
	}
	assert.Contains(t, r.stderr, "# names: GBK: ")
	got := lsJSON(t, at(srv, "cn"))
	assert.Equal(t, []byte(gbk(t, "说明.txt")), got[gbk(t, "说明.txt")+"|说明.txt"].NameBytes, "%v", got)

	dir := t.TempDir()
	r = ftpsync(t, nil, "get", at(srv, "cn/"+url.PathEscape("说明.txt")), dir)
	require.Equal(t, exitOK, r.code, r.stderr)
	data, err := os.ReadFile(filepath.Join(dir, "说明.txt"))
	require.NoError(t, err)
	assert.Equal(t, "说明.txt", string(data))
	up := filepath.Join(t.TempDir(), "上传.txt")
	require.NoError(t, os.WriteFile(up, []byte("up"), 0o644))
	r = ftpsync(t, nil, "put", up, at(srv, "cn/"))
	require.Equal(t, exitOK, r.code, r.stderr)
	data, err = srv.ReadFile("/cn/" + gbk(t, "上传.txt"))
	require.NoError(t, err, "uploaded under its GBK name")
	assert.Equal(t, []byte("up"), data)
	want["上传.txt"] = "up"

	local := filepath.Join(t.TempDir(), "l")
	for run, n := range []int{len(want), 0} {
		sum, r := mirrorJSON(t, nil, "mirror", at(srv, "cn"), local)
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.Equal(t, n, sum.Files, "run %d: %+v", run+1, sum.Plan)
	}
	assert.Equal(t, want, localFiles(t, local))
	require.NoError(t, os.WriteFile(filepath.Join(local, "新文件.txt"), []byte("new"), 0o644))
	for run, n := range []int{1, 0} {
		sum, r := mirrorJSON(t, nil, "mirror", "--reverse", local, at(srv, "cn"))
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.Equal(t, n, sum.Files, "run %d: %+v", run+1, sum.Plan)
	}
	data, err = srv.ReadFile("/cn/" + gbk(t, "新文件.txt"))
	require.NoError(t, err, "uploaded under its GBK name")
	assert.Equal(t, []byte("new"), data)
}
