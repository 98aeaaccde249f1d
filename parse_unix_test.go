package ftp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseListUnixColumns(t *testing.T) {
	p := newListParser(sampleNow, time.UTC)
	for line, want := range map[string]bool{
		"-rw-r--r-- 1 owner group 3 Jan  2  2020 x": true,
		"-rw-r--r-- owner group 3 Jan  2  2020 x":   true,  // no link count
		"-rw-r--r-- 1 owner 3 Jan  2  2020 x":       true,  // no group
		"-rw-r--r-- owner 3 Jan  2  2020 x":         true,  // owner only
		"-rw-r--r-- 3 Jan  2  2020 x":               false, // nothing before the size
		"-rw-r--r-- 1 0  9  Nov 5 2018 x":           false, // size or group missing?
		"-rw-r--r-- 1 0 9 Jan  2  2020 x":           true,
		"-rw-r--r-- 1 u g 3 Jan  2  2020":           false, // no name
		"-rw-r--r-- 1 u g 3 Jan  2  2020 ":          false,
		"-rw-r--r-- 1 u g 3 2001-04-27 x":           false, // ISO date without time
		"-rw-r--r-- 1 u g 3 Jan  2  209 x":          false,
		"?rw-r--r-- 1 u g 3 Jan  2  2020 x":         false,
		"-rw-r--r--x 1 u g 3 Jan  2  2020 x":        false,
		"-rw-r--r-- 1 u g 3,4 Jan  2  2020 x":       false, // device numbers on a file
		"crw-r--r-- 1 u g 3,4 Jan  2  2020 x":       true,
	} {
		var l listLine
		l.split(line)
		e, ok := parseListUnix(p, &l)
		if ok != want {
			t.Errorf("%q: ok = %v, want %v (%+v)", line, ok, want, e)
		}
	}
}

var unixBenchLine = "-rw-r--r--   1 ftpuser  ftpusers 12414535 Mar 17 11:07 test 1999 abc.pdf"

func BenchmarkParseUnixLine(b *testing.B) {
	p := newListParser(sampleNow, time.UTC)
	var l listLine
	b.ReportAllocs()
	for b.Loop() {
		l.split(unixBenchLine)
		if _, ok := parseListUnix(p, &l); !ok {
			b.Fatal("not parsed")
		}
	}
}

// BenchmarkListParserFeed measures a whole Unix line through the detector.
func BenchmarkListParserFeed(b *testing.B) {
	p := newListParser(sampleNow, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		if len(p.feed(nil, unixBenchLine)) != 1 {
			b.Fatal("not parsed")
		}
	}
}

// localeNow is when testdata/ls-locales was captured (GNU coreutils 9.1
// ls on Debian 12, in a folder holding new.txt, changed 2026-11-26 15:13,
// and "old file.txt", changed 2024-01-06 12:00).
var localeNow = time.Date(2026, 12, 6, 18, 50, 0, 0, time.UTC)

// localeFull lists the captures every line of which must parse with its
// name and time; the others may leave a line as EntryOther, never with a
// wrong name.
var localeFull = []string{
	"da_DK.UTF-8", "de_AT.UTF-8", "de_DE.UTF-8", "el_GR.UTF-8", "es_ES.UTF-8",
	"fr_FR.UTF-8", "ja_JP.EUC-JP", "ja_JP.SHIFT_JIS", "ja_JP.UTF-8",
	"ko_KR.EUC-KR", "ko_KR.EUC-KR-nocatalog", "ko_KR.UTF-8", "ko_KR.UTF-8-nocatalog",
	"nb_NO.UTF-8", "nl_NL.UTF-8", "pl_PL.UTF-8", "pt_BR.UTF-8", "pt_PT.UTF-8",
	"ro_RO.UTF-8", "ru_RU.UTF-8", "tr_TR.UTF-8", "uk_UA.UTF-8",
	"zh_CN.GB18030", "zh_CN.GBK", "zh_CN.GBK-nocatalog", "zh_CN.UTF-8",
	"zh_CN.UTF-8-nocatalog", "zh_TW.BIG5", "zh_TW.UTF-8",
}

// Real "ls -l" output under each locale: every line gives the right name
// and time, or is kept as EntryOther; never a name that holds the date.
func TestListLocaleCaptures(t *testing.T) {
	files, err := filepath.Glob("testdata/ls-locales/*.txt")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 30)
	wantTime := map[string]time.Time{
		"new.txt":      time.Date(2026, 11, 26, 15, 13, 0, 0, time.UTC),
		"old file.txt": time.Date(2024, 1, 6, 0, 0, 0, 0, time.UTC),
	}
	var full []string
	for _, file := range files {
		locale := strings.TrimSuffix(filepath.Base(file), ".txt")
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		p := newListParser(localeNow, time.UTC)
		var got []*Entry
		for line := range strings.Lines(string(data)) {
			got = p.feed(got, line)
		}
		got = p.flush(got)
		require.Len(t, got, 2, locale)
		parsed := 0
		for _, e := range got {
			if e.Type == EntryOther {
				assert.Empty(t, e.Name, "%s: %q", locale, e.Raw)
				continue
			}
			want, ok := wantTime[e.Name]
			if assert.True(t, ok, "%s: name %q from %q", locale, e.Name, e.Raw) {
				assert.Equal(t, want, e.ModTime, "%s: %q", locale, e.Raw)
				parsed++
			}
		}
		if parsed == 2 {
			full = append(full, locale)
		}
	}
	assert.Subset(t, full, localeFull)
	t.Logf("fully parsed: %d/%d %v", len(full), len(files), full)
}

// The date forms of Chinese, Japanese and Korean servers, in UTF-8 and in
// their legacy encodings, give the name and the time; a date the parser
// does not know gives EntryOther, never a name that holds the date.
func TestListLocalisedDates(t *testing.T) {
	const prefix = "-rwxr-xr-x 2 user group 4096 "
	recent := func(m, d, h, mi int) time.Time { return time.Date(2026, time.Month(m), d, h, mi, 0, 0, time.UTC) }
	day := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		date string
		want time.Time // zero: not parsed
	}{
		{"3月  2 15:13", recent(3, 2, 15, 13)},
		{"1月 6日 12:00", recent(1, 6, 12, 0)},
		{"11月26日 15:13", recent(11, 26, 15, 13)},
		{"2024年1月6日", day(2024, 1, 6)},
		{"2024年 1月 6日", day(2024, 1, 6)},
		{"12月 25  2023", day(2023, 12, 25)},
		{"1月 6日 2005年", day(2005, 1, 6)},
		{"1월  6 12:00", recent(1, 6, 12, 0)},
		{"11월 26일  15:13", recent(11, 26, 15, 13)},
		{"2024년  1월  6일", day(2024, 1, 6)},
		{"2024-01-06 12:00", time.Date(2024, 1, 6, 12, 0, 0, 0, time.UTC)},
		{"3\xd4\xc2  2 15:13", recent(3, 2, 15, 13)},             // GBK 月
		{"1\xd4\xc2 6\xc8\xd5 12:00", recent(1, 6, 12, 0)},       // GBK 月 日
		{"2024\xc4\xea1\xd4\xc26\xc8\xd5", day(2024, 1, 6)},      // GBK 年月日
		{"3\xa4\xeb  2 15:13", recent(3, 2, 15, 13)},             // Big5 月
		{"2024\xa6\x7e 1\xa4\xeb 6\xa4\xe9", day(2024, 1, 6)},    // Big5 年月日, 年 ends in '~'
		{"3\x8c\x8e  2 15:13", recent(3, 2, 15, 13)},             // Shift_JIS 月
		{"3\xb7\xee  2 15:13", recent(3, 2, 15, 13)},             // EUC-JP 月
		{"1\xbf\xf9  6 12:00", recent(1, 6, 12, 0)},              // EUC-KR 월
		{"11\xbf\xf9 26\xc0\xcf  15:13", recent(11, 26, 15, 13)}, // EUC-KR 월 일
		{"2024\xb3\xe2  1\xbf\xf9  6\xc0\xcf", day(2024, 1, 6)},  // EUC-KR 년 월 일
		{"Jam  4 00:03", time.Time{}},                            // no such month
		{"13月  2 15:13", time.Time{}},                            // no such month
		{"3月 32 15:13", time.Time{}},                             // no such day
		{"3月日 2 15:13", time.Time{}},                             // unit without a number
		{"6日 3月 15:13", time.Time{}},                             // day before month
		{"3\xd4\xc2 x 15:13", time.Time{}},                       // no day
		{"3\xff\xfe  2 15:13", time.Time{}},                      // unknown unit bytes
		{"26.\u00a0lis 15.13", time.Time{}},                      // Czech: time with a dot
		{"24年1月6日", time.Time{}},                                 // two-digit year
	} {
		t.Run(tc.date, func(t *testing.T) {
			line := prefix + tc.date + " zxbox"
			got := feedAll(localeNow, line)
			require.Len(t, got, 1)
			e := got[0]
			assert.Equal(t, line, e.Raw)
			if tc.want.IsZero() {
				assert.Equal(t, EntryOther, e.Type, "name %q", e.Name)
				assert.Empty(t, e.Name)
				return
			}
			assert.Equal(t, "zxbox", e.Name)
			assert.Equal(t, EntryFile, e.Type)
			assert.Equal(t, int64(4096), e.Size)
			assert.Equal(t, tc.want, e.ModTime)
		})
	}
}

// The listing corners: an OS/400 member under its file without the owner
// column, MVS members without statistics after the header, and MLSD lines
// with no facts or an empty fact value each give the name.
func TestListCorners(t *testing.T) {
	got := feedAll(localeNow,
		"QSYS            77824 02/23/00 15:09:55 *FILE      QSYS.FILE/",
		"                                        *MEM       QSYS.FILE/MBR1.MBR",
		"QSYS                                    *MEM       QSYS.FILE/MBR2.MBR")
	require.Len(t, got, 3)
	assert.Equal(t, []string{"QSYS.FILE", "QSYS.FILE/MBR1.MBR", "QSYS.FILE/MBR2.MBR"}, entryNames(got))
	assert.Equal(t, []EntryType{EntryDir, EntryFile, EntryFile}, []EntryType{got[0].Type, got[1].Type, got[2].Type})

	got = feedAll(localeNow,
		"Name     VV.MM   Created       Changed      Size  Init   Mod   Id",
		"NOSTATS1  ",
		"SAVE03    01.03 2002/09/12 2002/10/11 09:37    11    11     0 KIL001",
		"NOSTATS2")
	assert.Equal(t, []string{"NOSTATS1", "SAVE03", "NOSTATS2"}, entryNames(got))

	for line, name := range map[string]string{
		"Type=; /empty/fact": "/empty/fact",
		" no facts":          "no facts",
		"  two spaces":       " two spaces",
		"type=file;size=; x": "x",
	} {
		e, err := parseMLSxLine(line)
		require.NoError(t, err, line)
		assert.Equal(t, name, e.Name, line)
		assert.Equal(t, int64(-1), e.Size, line)
	}
}

func entryNames(entries []*Entry) []string {
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
	}
	return names
}
