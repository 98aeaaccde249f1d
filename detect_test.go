package ftp

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unsafe"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// encodeAll returns names in enc's bytes.
func encodeAll(t testing.TB, enc encoding.Encoding, names ...string) []string {
	t.Helper()
	out := make([]string, len(names))
	for i, n := range names {
		b, err := enc.NewEncoder().String(n)
		require.NoError(t, err)
		out[i] = b
	}
	return out
}

// localeLines returns the lines of a capture of testdata/ls-locales.
func localeLines(t testing.TB, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "ls-locales", name))
	require.NoError(t, err)
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// cjk are the encodings of the Chinese, Japanese and Korean locales.
var cjk = []encoding.Encoding{simplifiedchinese.GBK, traditionalchinese.Big5, japanese.ShiftJIS, japanese.EUCJP, korean.EUCKR}

// Everyday names of four languages (folders as Windows names them,
// documents, photos), as a server keeps them in its legacy encoding.
var (
	zhNames = []string{"报告.txt", "中文目录", "新建文件夹", "上海照片.jpg", "会议记录2024.docx", "数据备份", "项目计划书.pdf", "说明.txt"}
	twNames = []string{"報告.txt", "新增資料夾", "台北照片.jpg", "會議記錄2024.docx", "資料備份", "專案計畫書.pdf"}
	jaNames = []string{"報告書.txt", "新しいフォルダー", "写真.jpg", "会議メモ2024.docx", "データ", "計画書.pdf"}
	koNames = []string{"보고서.txt", "새 폴더", "사진.jpg", "회의록2024.docx", "데이터", "계획서.pdf"}
)

// TestDetectorDecides checks what detection decides from the names (and
// lines) of one listing, with the candidates cjk: the encoding the
// names are in, where the names tell; the encoding of the dates of a
// localised ls (real lines of testdata/ls-locales); not yet, where
// candidates read them alike well; bytes, for good, where a listing also
// holds UTF-8 names.
func TestDetectorDecides(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		lines []string
		want  string // the encoding's name, "UTF-8", "bytes" or "" (not decided)
		done  bool
	}{
		{"GBK names", encodeAll(t, simplifiedchinese.GBK, zhNames...), nil, "GBK", true},
		{"Big5 names", encodeAll(t, traditionalchinese.Big5, twNames...), nil, "Big5", true},
		{"Shift_JIS names", encodeAll(t, japanese.ShiftJIS, jaNames...), nil, "Shift JIS", true},
		{"EUC-KR names: read as GBK alike well", encodeAll(t, korean.EUCKR, koNames...), nil, "", false},
		{"EUC-KR names, EUC-KR ls dates", encodeAll(t, korean.EUCKR, koNames...), localeLines(t, "ko_KR.EUC-KR.txt"), "EUC-KR", true},
		{"ASCII names, GBK ls dates", []string{"new.txt", "old file.txt"}, localeLines(t, "zh_CN.GBK.txt"), "GBK", true},
		{"ASCII names, Big5 ls dates", []string{"new.txt", "old file.txt"}, localeLines(t, "zh_TW.BIG5.txt"), "Big5", true},
		{"ASCII names, Shift_JIS ls dates", []string{"new.txt", "old file.txt"}, localeLines(t, "ja_JP.SHIFT_JIS.txt"), "Shift JIS", true},
		{"UTF-8 names", zhNames, nil, "UTF-8", true},
		{"ASCII names, UTF-8 ls dates", []string{"new.txt", "old file.txt"}, localeLines(t, "zh_CN.UTF-8.txt"), "UTF-8", true},
		{"ASCII names only", []string{"a.txt", "b"}, []string{"-rw-r--r-- 1 u g 0 Jan  6  2024 a.txt"}, "", false},
		{"one GBK name: several read it alike well", encodeAll(t, simplifiedchinese.GBK, "报告.txt"), nil, "", false},
		{"one GBK name beside a UTF-8 one", append(encodeAll(t, simplifiedchinese.GBK, "报告.txt"), "ü.txt"), nil, "bytes", true},
		{"no candidate reads them", []string{"\xff\xfe\xfd.bin", "\x80"}, nil, "bytes", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := WithEncodingDetection(cjk...)
			var cfg config
			d(&cfg)
			v, _ := cfg.detect.observe(tt.names, tt.lines)
			assert.Equal(t, tt.done, v.done, v.how)
			switch got := v.how; {
			case tt.want == "":
				assert.True(t, strings.HasPrefix(got, "not decided yet"), got)
			case v.codec != nil:
				assert.Equal(t, tt.want, encodingName(v.codec.enc), got)
			default:
				assert.True(t, strings.HasPrefix(got, tt.want+":"), got)
			}
		})
	}
}

// TestCommonCJKNames checks that commonCJK knows the encodings of cjk
// by the names golang.org/x/text gives them: a common character is
// common in each.
func TestCommonCJKNames(t *testing.T) {
	for i, enc := range cjk {
		b, err := enc.NewEncoder().String([]string{"中", "中", "日", "日", "한"}[i])
		require.NoError(t, err)
		assert.True(t, commonCJK(encodingName(enc), b), "%s", encodingName(enc))
	}
	assert.False(t, commonCJK("Windows 1252", "\xe9"))
}

// TestDetectorWaitsForEvidence checks that an undecided detector looks at
// the next listings, and that a decision is never taken back.
func TestDetectorWaitsForEvidence(t *testing.T) {
	var cfg config
	WithEncodingDetection(cjk...)(&cfg)
	d := cfg.detect
	v, _ := d.observe(encodeAll(t, simplifiedchinese.GBK, "报告.txt"), nil)
	require.False(t, v.done, v.how)
	v, changed := d.observe(encodeAll(t, simplifiedchinese.GBK, zhNames...), nil)
	require.True(t, v.done, v.how)
	assert.True(t, changed)
	assert.Equal(t, simplifiedchinese.GBK, v.codec.enc)
	v, changed = d.observe([]string{"ütf8.txt"}, nil)
	assert.False(t, changed, "decided for good")
	assert.Equal(t, simplifiedchinese.GBK, v.codec.enc)

	// Unsure for detectNames names: bytes for good.
	WithEncodingDetection(cjk...)(&cfg)
	ko := encodeAll(t, korean.EUCKR, koNames...)
	for seen := 0; seen < detectNames; seen += len(ko) {
		v, _ = cfg.detect.observe(ko, nil)
	}
	assert.True(t, v.done)
	assert.Nil(t, v.codec)
	assert.Contains(t, v.how, "bytes: unsure after 10002 names: GBK, EUC-JP, EUC-KR read the names alike well")
}

// gbkServer serves a folder of Chinese names in GBK bytes, as vsftpd
// lists them from a Linux disk.
func gbkServer(t *testing.T, opts ...ftptest.ServerOption) *ftptest.Server {
	srv := newServer(t, opts...)
	for i, n := range zhNames {
		srv.WriteFile("/"+gbk(t, "文档")+"/"+gbk(t, n), []byte(fmt.Sprint(i)))
	}
	return srv
}

// TestEncodingDetectionGBK runs a session with detection against a
// server whose names are GBK bytes: the first listing decides GBK, then
// names are listed in UTF-8 (NameBytes gives their bytes), fetched, stored,
// renamed and deleted by their Chinese names, and io/fs works over it.
// Before detection existed, List gave the raw bytes and a Chinese name
// was sent in UTF-8.
func TestEncodingDetectionGBK(t *testing.T) {
	ctx := context.Background()
	srv := gbkServer(t, ftptest.WithoutMLSD())
	var trace bytes.Buffer
	c := dialTest(t, srv, WithEncodingDetection(cjk...), WithDebug(&trace))
	enc, how := c.Encoding()
	assert.Nil(t, enc)
	assert.Contains(t, how, "not decided yet")

	root, err := c.List(ctx, "/")
	require.NoError(t, err)
	require.Len(t, root, 1)
	assert.Equal(t, gbk(t, "文档"), root[0].Name, "a single name decides nothing: its bytes")

	entries, err := c.List(ctx, "/"+root[0].Name)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
		raw, err := c.NameBytes(e.Name)
		require.NoError(t, err)
		assert.Equal(t, gbk(t, e.Name), string(raw))
	}
	assert.ElementsMatch(t, zhNames, names)
	enc, how = c.Encoding()
	assert.Equal(t, simplifiedchinese.GBK, enc, how)
	assert.Contains(t, trace.String(), "# names: GBK: ")

	// The undecoded name given before the decision still works, and
	// still stands for its bytes.
	raw, err := c.NameBytes(root[0].Name)
	require.NoError(t, err)
	assert.Equal(t, gbk(t, "文档"), string(raw))
	assert.Equal(t, []byte("7"), retrAll(t, c, "/"+root[0].Name+"/说明.txt"))
	require.NoError(t, c.Stor(ctx, "/文档/新文件.txt", strings.NewReader("new")))
	got, err := srv.ReadFile("/" + gbk(t, "文档") + "/" + gbk(t, "新文件.txt"))
	require.NoError(t, err, "stored under its GBK name")
	assert.Equal(t, []byte("new"), got)
	require.NoError(t, c.Rename(ctx, "/文档/新文件.txt", "/文档/改名.txt"))
	require.NoError(t, c.Delete(ctx, "/文档/改名.txt"))
	_, err = srv.ReadFile("/" + gbk(t, "文档") + "/" + gbk(t, "改名.txt"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.NoError(t, fstest.TestFS(c.FS(ctx), "文档/报告.txt", "文档/说明.txt"))
}

// TestEncodingDetectionPool checks that the connections of a Pool share
// one decision: a connection that never listed sends a Chinese name in
// GBK once another has found GBK.
func TestEncodingDetectionPool(t *testing.T) {
	ctx := context.Background()
	srv := gbkServer(t)
	p, err := NewPool(srv.URL(), 2, WithEncodingDetection(cjk...))
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.Do(ctx, func(first *Conn) error {
		return p.Do(ctx, func(second *Conn) error {
			require.NotSame(t, first, second)
			_, err := first.List(ctx, "/"+gbk(t, "文档"))
			require.NoError(t, err)
			enc, how := second.Encoding()
			assert.Equal(t, simplifiedchinese.GBK, enc, how)
			return second.Stor(ctx, "/文档/池.txt", strings.NewReader("pool"))
		})
	}))
	got, err := srv.ReadFile("/" + gbk(t, "文档") + "/" + gbk(t, "池.txt"))
	require.NoError(t, err)
	assert.Equal(t, []byte("pool"), got)
}

// TestEncodingDetectionUnsure lists Korean names in EUC-KR with English
// dates, which GBK reads alike well: detection stays undecided, and every
// name, as its bytes, is fetched and deleted.
func TestEncodingDetectionUnsure(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t, ftptest.WithoutMLSD())
	raw := encodeAll(t, korean.EUCKR, koNames...)
	for i, n := range raw {
		srv.WriteFile("/k/"+n, []byte{byte('0' + i)})
	}
	c := dialTest(t, srv, WithEncodingDetection(cjk...))
	entries, err := c.List(ctx, "/k")
	require.NoError(t, err)
	require.Len(t, entries, len(raw))
	enc, how := c.Encoding()
	assert.Nil(t, enc)
	assert.Contains(t, how, "not decided yet: GBK, EUC-JP, EUC-KR read the names alike well")
	for _, e := range entries {
		assert.Contains(t, raw, e.Name, "the bytes as listed")
		want, err := srv.ReadFile("/k/" + e.Name)
		require.NoError(t, err)
		assert.Equal(t, want, retrAll(t, c, "/k/"+e.Name))
		require.NoError(t, c.Delete(ctx, "/k/"+e.Name))
	}
}

// TestEncodingDetectionUTF8 checks that a UTF-8 server is left as it is:
// OPTS UTF8 ON sent, names as listed and sent as they are.
func TestEncodingDetectionUTF8(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	srv.WriteFile("/u/报告.txt", []byte("r"))
	c := dialTest(t, srv, WithEncodingDetection(cjk...))
	entries, err := c.NameList(ctx, "/u")
	require.NoError(t, err)
	assert.Equal(t, []string{"报告.txt"}, entries)
	enc, how := c.Encoding()
	assert.Nil(t, enc)
	assert.Equal(t, "UTF-8: the names listed are valid UTF-8", how)
	assert.Contains(t, srv.Commands(), "OPTS UTF8 ON")
	require.NoError(t, c.Stor(ctx, "/u/新.txt", strings.NewReader("n")))
	_, err = srv.ReadFile("/u/新.txt")
	require.NoError(t, err)
}

// FuzzEncodingDetection feeds detection arbitrary names and lines: it
// never panics, and every name, decoded as the verdict says, encodes
// back to the server's bytes.
func FuzzEncodingDetection(f *testing.F) {
	for _, n := range append(encodeAll(f, simplifiedchinese.GBK, zhNames...), encodeAll(f, japanese.ShiftJIS, jaNames...)...) {
		f.Add(n, "")
	}
	for _, l := range localeLines(f, "ko_KR.EUC-KR.txt") {
		f.Add("x", l)
	}
	for _, file := range []string{"vsftpd.LIST", "proftpd.MLSD", "pureftpd.LIST"} {
		b, err := os.ReadFile(filepath.Join("testdata", "ls-locales-servers", file))
		require.NoError(f, err)
		for l := range strings.Lines(string(b)) {
			l = strings.TrimSuffix(l, "\n")
			f.Add(l[strings.LastIndexByte(l, ' ')+1:], l) // the name's last word, and the line
		}
	}
	f.Add("\xff\x80", "-rw-r--r-- 1 u g 0 11\xd4\xc226\xc8\xd5 15:13 x")
	f.Fuzz(func(t *testing.T, name, line string) {
		if strings.Contains(name, "/") {
			return // no listed name holds one (inDirectory)
		}
		var cfg config
		WithEncodingDetection(cjk...)(&cfg)
		v, _ := cfg.detect.observe([]string{name, name + "x"}, []string{line})
		if v.codec == nil {
			return
		}
		got, err := v.codec.encode(v.codec.decode(name))
		require.NoError(t, err)
		require.Equal(t, name, got)
	})
}

// TestServerCaptures parses the real listings of GBK names of
// testdata/ls-locales-servers: every server that sends the bytes gives the
// eight names, and detection finds GBK from them.
func TestServerCaptures(t *testing.T) {
	for _, file := range []string{"vsftpd.LIST", "proftpd.LIST", "proftpd.MLSD", "pureftpd.LIST", "pureftpd.MLSD"} {
		t.Run(file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "ls-locales-servers", file))
			require.NoError(t, err)
			lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
			var entries []*Entry
			if strings.HasSuffix(file, ".MLSD") {
				for _, l := range lines {
					e, err := parseMLSxLine(l)
					require.NoError(t, err, l)
					if !mlsxIsSelfOrParent(e) {
						entries = append(entries, e)
					}
				}
			} else {
				p := newListParser(time.Now(), nil)
				for _, l := range lines {
					entries = p.feed(entries, l)
				}
				entries = p.flush(entries)
			}
			c := &control{detect: newDetector(cjk)}
			c.decodeEntries(entries)
			var names []string
			for _, e := range entries {
				if e.Name != "." && e.Name != ".." {
					names = append(names, e.Name)
					raw, err := c.codec().encode(e.Name)
					require.NoError(t, err)
					assert.Equal(t, gbk(t, e.Name), raw)
					assert.Equal(t, 2024, e.ModTime.Year(), e.Raw)
				}
			}
			assert.ElementsMatch(t, zhNames, names)
			enc, _ := (&Conn{ctl: c}).Encoding()
			assert.Equal(t, simplifiedchinese.GBK, enc)
		})
	}
}

// BenchmarkDetectEnglishListing is what detection adds to a listing of
// English (ASCII) names, a thousand lines: its look at each name and at
// the first lines, per entry; "off" is the same without detection.
func BenchmarkDetectEnglishListing(b *testing.B) {
	p := newListParser(sampleNow, time.UTC)
	var entries []*Entry
	for i := range 1000 {
		entries = p.feed(entries, fmt.Sprintf("-rw-r--r--    1 ftp      ftp          %5d Mar 17 11:07 report-%04d.txt", i, i))
	}
	for _, on := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "on"}[on], func(b *testing.B) {
			c := &control{}
			if on {
				c.detect = newDetector(cjk) // ASCII names never decide: it stays undecided
			}
			b.ReportAllocs()
			for b.Loop() {
				c.decodeEntries(entries)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(entries)), "ns/entry")
		})
	}
}

// TestASCII checks ascii, eight bytes at a time, against a byte loop: a
// byte outside ASCII at each place of strings of each length up to 20.
func TestASCII(t *testing.T) {
	for n := range 21 {
		s := strings.Repeat("a", n)
		assert.True(t, ascii(s), "%q", s)
		for i := range n {
			for _, c := range []byte{0x80, 0xff} {
				b := []byte(s)
				b[i] = c
				assert.False(t, ascii(string(b)), "%q", b)
			}
		}
	}
}

// TestEntrySize keeps Entry out of the 128-byte size class: it was 96
// bytes before names in other encodings (issue 18), Mode takes it to 104
// (the 112 class), and a RawName []byte field on top took it to 128,
// which made every entry of an English listing 16 bytes bigger and its
// parse slower; Conn.NameBytes gives the bytes instead.
func TestEntrySize(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(Entry{}), uintptr(112))
}

// TestEncodingDetectionFromDates lists the real lines of ls under
// zh_CN.GBK (testdata/ls-locales), whose names are ASCII: the dates in GBK
// bytes are what tell GBK, and a Chinese name typed next goes in GBK.
func TestEncodingDetectionFromDates(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t, ftptest.WithoutMLSD(), ftptest.WithListLines("/zh", localeLines(t, "zh_CN.GBK.txt")...))
	srv.WriteFile("/zh/x", nil)
	c := dialTest(t, srv, WithEncodingDetection(cjk...))
	entries, err := c.List(ctx, "/zh")
	require.NoError(t, err)
	got := map[string]*Entry{}
	for _, e := range entries {
		got[e.Name] = e
	}
	require.Contains(t, got, "new.txt")
	require.Contains(t, got, "old file.txt")
	assert.Equal(t, time.Date(2024, 1, 6, 0, 0, 0, 0, time.UTC), got["old file.txt"].ModTime)
	enc, how := c.Encoding()
	assert.Equal(t, simplifiedchinese.GBK, enc, how)
	assert.Contains(t, how, "2 listed dates")
	require.NoError(t, c.Stor(ctx, "/zh/报告.txt", strings.NewReader("r")))
	_, err = srv.ReadFile("/zh/" + gbk(t, "报告.txt"))
	require.NoError(t, err, "stored under its GBK name")
}

// BenchmarkDetectGBKNames is what deciding costs, once a session (or
// each listing while undecided): 10,000 GBK names read by five
// candidates.
func BenchmarkDetectGBKNames(b *testing.B) {
	var names []string
	for i := range 10000 {
		names = append(names, encodeAll(b, simplifiedchinese.GBK, fmt.Sprintf("会议记录%d号文件.txt", i))[0])
	}
	b.ReportAllocs()
	for b.Loop() {
		if v, _ := newDetector(cjk).observe(names, nil); v.codec == nil {
			b.Fatal(v.how)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(names)), "ns/name")
}
