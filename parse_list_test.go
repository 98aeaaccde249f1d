package ftp

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The sample cases are checked against a fixed clock and zone: times without
// a zone are read in sampleLoc, and year-less dates are placed by sampleNow.
var (
	sampleLoc = time.FixedZone("UTC+2", 2*3600)
	sampleNow = time.Date(2026, time.June, 15, 12, 0, 0, 0, sampleLoc)
)

// listingCase is one case of testdata/listings-sample.json.
type listingCase struct {
	Source string `json:"source"`
	Format string `json:"format"`
	Line   string `json:"line"`
	Expect struct {
		Name   *string `json:"name"`
		Type   *string `json:"type"`
		Size   *int64  `json:"size"`
		Target *string `json:"target"`
		Time   *string `json:"time"`
		Note   string  `json:"note"`
		Reject bool    `json:"reject"`
		Omit   bool    `json:"omit"`
	} `json:"expect"`
}

func loadListingSample(tb testing.TB) []listingCase {
	tb.Helper()
	return loadListingCases(tb, "testdata/listings-sample.json")
}

// loadListingMore returns the cases of testdata/listings-more.json, more
// real lines in the same schema.
func loadListingMore(tb testing.TB) []listingCase {
	tb.Helper()
	return loadListingCases(tb, "testdata/listings-more.json")
}

func loadListingCases(tb testing.TB, file string) []listingCase {
	tb.Helper()
	data, err := os.ReadFile(file)
	require.NoError(tb, err)
	var sample struct {
		Cases []listingCase `json:"cases"`
	}
	require.NoError(tb, json.Unmarshal(data, &sample))
	return sample.Cases
}

// listingSampleSkips and listingMoreSkips list the cases of
// listings-sample.json and listings-more.json deliberately not passed, by
// index, with the reason.
var (
	listingSampleSkips = map[int]string{}
	listingMoreSkips   = map[int]string{}
)

func TestListingSample(t *testing.T) {
	cases := loadListingSample(t)
	require.Len(t, cases, 83)
	runListingCases(t, "sample", cases, listingSampleSkips)
}

func TestListingMore(t *testing.T) {
	cases := loadListingMore(t)
	require.GreaterOrEqual(t, len(cases), 90)
	runListingCases(t, "more", cases, listingMoreSkips)
}

func runListingCases(t *testing.T, set string, cases []listingCase, skips map[int]string) {
	pass, skipped := 0, 0
	for i, c := range cases {
		_, skip := skips[i]
		ok := t.Run(fmt.Sprintf("%03d-%s", i, c.Format), func(t *testing.T) {
			if reason, skip := skips[i]; skip {
				t.Skip(reason)
			}
			t.Logf("line %q (%s; %s)", c.Line, c.Expect.Note, c.Source)
			switch c.Format {
			case "mlsd":
				checkMLSxSample(t, c, c.Line)
			case "mlst":
				// The entry line of an MLST reply: the caller removes
				// its one leading space, as Conn.mlst does.
				line, ok := strings.CutPrefix(c.Line, " ")
				require.True(t, ok, "an MLST entry line starts with a space")
				checkMLSxSample(t, c, line)
			default:
				checkListSample(t, c)
			}
		})
		switch {
		case skip:
			skipped++
		case ok:
			pass++
		}
	}
	t.Logf("listing %s: %d/%d pass, %d skipped", set, pass, len(cases), skipped)
}

func checkMLSxSample(t *testing.T, c listingCase, line string) {
	e, err := parseMLSxLine(line)
	if c.Expect.Reject {
		assert.Error(t, err)
		return
	}
	require.NoError(t, err)
	assert.Equal(t, c.Expect.Omit, mlsxIsSelfOrParent(e), "cdir/pdir flag")
	assert.Equal(t, line, e.Raw)
	checkSampleEntry(t, c, e)
}

func checkListSample(t *testing.T, c listingCase) {
	p := newListParser(sampleNow, sampleLoc)
	var got []*Entry
	for _, line := range strings.Split(c.Line, "\r\n") {
		got = p.feed(got, line)
	}
	got = p.flush(got)
	switch {
	case c.Expect.Reject:
		// Not an entry: skipped, or kept as an unparsed line.
		for _, e := range got {
			assert.Equal(t, EntryOther, e.Type)
			assert.Empty(t, e.Name)
			assert.Equal(t, c.Line, e.Raw)
		}
	case c.Expect.Omit:
		assert.Empty(t, got, "the . and .. entries are left out")
		p := newListParser(sampleNow, sampleLoc)
		p.line.split(c.Line)
		e, ok := p.parseLine(c.Line)
		require.True(t, ok)
		require.NotNil(t, e)
		checkSampleEntry(t, c, e)
	default:
		require.Len(t, got, 1)
		assert.Equal(t, c.Line, got[0].Raw)
		checkSampleEntry(t, c, got[0])
	}
}

func checkSampleEntry(t *testing.T, c listingCase, e *Entry) {
	x := c.Expect
	require.NotNil(t, x.Name)
	assert.Equal(t, *x.Name, e.Name, "name")
	assert.Equal(t, *x.Type, e.Type.String(), "type")
	size := int64(-1)
	if x.Size != nil {
		size = *x.Size
	}
	assert.Equal(t, size, e.Size, "size")
	target := ""
	if x.Target != nil {
		target = *x.Target
	}
	assert.Equal(t, target, e.Target, "target")
	if x.Time == nil {
		assert.True(t, e.ModTime.IsZero(), "time: want none, got %v", e.ModTime)
		return
	}
	want := sampleTime(t, *x.Time)
	assert.True(t, want.Equal(e.ModTime), "time: want %v, got %v", want, e.ModTime)
}

// sampleTime parses the time of a sample case. "--MM-DDThh:mm" has no year:
// it is the last such date not more than a day after sampleNow.
func sampleTime(t *testing.T, s string) time.Time {
	if md, ok := strings.CutPrefix(s, "--"); ok {
		v, err := time.ParseInLocation("01-02T15:04", md, sampleLoc)
		require.NoError(t, err)
		y := sampleNow.Year()
		if v.AddDate(y, 0, 0).After(sampleNow.Add(24 * time.Hour)) {
			y--
		}
		return v.AddDate(y, 0, 0)
	}
	if strings.HasSuffix(s, "Z") {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if v, err := time.ParseInLocation(layout, s, sampleLoc); err == nil {
			return v
		}
	}
	t.Fatalf("bad time %q in the sample", s)
	return time.Time{}
}

func TestListYearInference(t *testing.T) {
	now := time.Date(2026, time.June, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		line string
		want time.Time
	}{
		{"Mar 17 11:07", time.Date(2026, 3, 17, 11, 7, 0, 0, time.UTC)},
		{"Jun 15 23:59", time.Date(2026, 6, 15, 23, 59, 0, 0, time.UTC)},
		{"Jun 16 11:00", time.Date(2026, 6, 16, 11, 0, 0, 0, time.UTC)},  // within a day: clock skew
		{"Jun 17 10:00", time.Date(2025, 6, 17, 10, 0, 0, 0, time.UTC)},  // later: last year
		{"Oct  5 21:22", time.Date(2025, 10, 5, 21, 22, 0, 0, time.UTC)}, // ls shows the time only for the last six months
		{"Dec 31 23:59", time.Date(2025, 12, 31, 23, 59, 0, 0, time.UTC)},
		{"Feb 29 12:00", time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)}, // the last leap year
		{"Jan  1 00:00", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		p := newListParser(now, time.UTC)
		got := p.feed(nil, "-rw-r--r-- 1 u g 1 "+tt.line+" f")
		require.Len(t, got, 1, tt.line)
		assert.Equal(t, tt.want, got[0].ModTime, tt.line)
	}

	// Just after New Year, December is last year's.
	p := newListParser(time.Date(2027, 1, 1, 0, 30, 0, 0, time.UTC), time.UTC)
	got := p.feed(nil, "-rw-r--r-- 1 u g 1 Dec 31 23:00 f")
	require.Len(t, got, 1)
	assert.Equal(t, time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC), got[0].ModTime)

	// now is read in the listing's zone.
	tokyo := time.FixedZone("JST", 9*3600)
	p = newListParser(time.Date(2026, 12, 31, 20, 0, 0, 0, time.UTC), tokyo) // 1 Jan 2027 in Tokyo
	got = p.feed(nil, "-rw-r--r-- 1 u g 1 Jan  1 04:00 f")
	require.Len(t, got, 1)
	assert.Equal(t, time.Date(2027, 1, 1, 4, 0, 0, 0, tokyo), got[0].ModTime)
}

// feedAll runs lines through one parser and returns every entry.
func feedAll(now time.Time, lines ...string) []*Entry {
	p := newListParser(now, time.UTC)
	var out []*Entry
	for _, l := range lines {
		out = p.feed(out, l)
	}
	return p.flush(out)
}

func TestListSkips(t *testing.T) {
	got := feedAll(sampleNow,
		"total 1234",
		"total 1.2M",
		"",
		"   \t",
		"drwxr-xr-x   2 u g 4096 Mar  2 15:13 .",
		"drwxr-xr-x   2 u g 4096 Mar  2 15:13 ..",
		"drwxr-xr-x   2 u g 4096 Mar  2 15:13 ...",
		"Directory USER1:[TEMP]",
		"Total of 3 files, 12/24 blocks.",
		"Grand total of 1 directory, 3 files, 12/24 blocks.",
		"Volume Unit    Referred Ext Used Recfm Lrecl BlkSz Dsorg Dsname",
		"Name     VV.MM   Created       Changed      Size  Init   Mod   Id",
	)
	require.Len(t, got, 1)
	assert.Equal(t, "...", got[0].Name)
}

func TestListUnknownLinesKept(t *testing.T) {
	lines := []string{
		"this is not a listing",
		"-rw-r--r--   1 14       staff      119:26 Aug 22  2000 zxJDBC-1.2.3.zip",
		"220 ProFTPD ready",
		"\x00\x00\x00",
	}
	got := feedAll(sampleNow, lines...)
	require.Len(t, got, len(lines))
	for i, e := range got {
		assert.Equal(t, EntryOther, e.Type)
		assert.Empty(t, e.Name)
		assert.Equal(t, int64(-1), e.Size)
		assert.Equal(t, lines[i], e.Raw)
	}
}

func TestListUnix(t *testing.T) {
	tests := []struct {
		line   string
		name   string
		typ    EntryType
		size   int64
		target string
		time   time.Time
	}{
		// -> in a name is only a link separator for links.
		{"-rw-r--r--   1 u g 12 Jan  2  2020 a -> b", "a -> b", EntryFile, 12, "", time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"lrwxrwxrwx   1 u g 12 Jan  2  2020 a -> b -> c", "a", EntryLink, 12, "b -> c", time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"lrwxrwxrwx   1 u g 12 Jan  2  2020 dangling", "dangling", EntryLink, 12, "", time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)},
		// ACL, macOS extended attributes and SELinux marks.
		{"drwxr-xr-x+  3 u g 4096 Jan  2  2020 acl", "acl", EntryDir, 4096, "", time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"-rw-r--r--@  1 u staff 6148 Jan  2  2020 .DS_Store", ".DS_Store", EntryFile, 6148, "", time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"-rw-r--r--.  1 u g 1 Jan  2  2020 selinux", "selinux", EntryFile, 1, "", time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)},
		// Sizes past 4 GiB and up to the largest int64.
		{"-rw-r--r-- 1 u g 5000000000 Jan  2  2020 big", "big", EntryFile, 5000000000, "", time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"-rw-r--r-- 1 u g 9223372036854775807 Jan  2  2020 max", "max", EntryFile, 1<<63 - 1, "", time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)},
		// full-iso with a zone, and long-iso.
		{"-rw-r--r-- 1 u g 7 2023-01-02 15:04:05.123456789 +0100 full iso", "full iso", EntryFile, 7, "", time.Date(2023, 1, 2, 14, 4, 5, 0, time.UTC)},
		{"-rw-r--r-- 1 u g 7 2023-01-02 15:04 long iso", "long iso", EntryFile, 7, "", time.Date(2023, 1, 2, 15, 4, 0, 0, time.UTC)},
		// Device with a space after the comma; named pipe.
		{"brw-rw----   1 root disk   8,   0 Jan  2  2020 sda", "sda", EntryOther, -1, "", time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"prw-r--r--   1 u g 0 Jan  2  2020 fifo", "fifo", EntryOther, 0, "", time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)},
		// NetPresenz and hostedftp folders: the number counts items.
		{"drwxrwxr-x               folder        2 May 10  1996 network", "network", EntryDir, -1, "", time.Date(1996, 5, 10, 0, 0, 0, 0, time.UTC)},
		// German month, day first with dot.
		{"-rw-r--r-- 1 u g 3 3. Okt 2019 datei", "datei", EntryFile, 3, "", time.Date(2019, 10, 3, 0, 0, 0, 0, time.UTC)},
		{"-rw-r--r-- 1 u g 3 Okt  3  2019 datei", "datei", EntryFile, 3, "", time.Date(2019, 10, 3, 0, 0, 0, 0, time.UTC)},
		// Japanese.
		{"-rw-r--r-- 1 u g 3 1月 6日 2005年 ファイル", "ファイル", EntryFile, 3, "", time.Date(2005, 1, 6, 0, 0, 0, 0, time.UTC)},
		// Invalid UTF-8 and NUL in a name are kept as bytes.
		{"-rw-r--r-- 1 u g 3 Jan  2  2020 \xff\xfe\x00name", "\xff\xfe\x00name", EntryFile, 3, "", time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got := feedAll(sampleNow, tt.line)
		require.Len(t, got, 1, tt.line)
		e := got[0]
		assert.Equal(t, tt.name, e.Name, tt.line)
		assert.Equal(t, tt.typ, e.Type, tt.line)
		assert.Equal(t, tt.size, e.Size, tt.line)
		assert.Equal(t, tt.target, e.Target, tt.line)
		assert.True(t, tt.time.Equal(e.ModTime), "%s: time %v", tt.line, e.ModTime)
	}
}

func TestListHostile(t *testing.T) {
	long := "-rw-r--r-- 1 u g 3 Jan  2  2020 " + strings.Repeat("x", 1<<20)
	manyFields := "-rw-r--r-- 1 u g" + strings.Repeat(" g", 1<<18) + " 3 Jan  2  2020 x"
	tests := []string{
		"-rw-r--r-- 1 u g 99999999999999999999 Jan  2  2020 overflow",
		"-rw-r--r-- 1 u g 9223372036854775808 Jan  2  2020 overflow",
		"-rw-r--r-- 1 u g 99999999999999P Jan  2  2020 overflow",
		"05-26-95  10:57AM  99999999999999999999 overflow",
		"05-26-95  10:57AM  9,999,999,999,999,999,999 overflow",
		"-rw-r--r-- 1 u g 3 Feb 30  2020 no such day",
		"-rw-r--r-- 1 u g 3 Jan  2 25:00 no such hour",
		"+m99999999999999999999,s99999999999999999999,\tx",
		"1-JUN.LIS;1  99999999999999999999/9  2-JUN-1998 07:32:04",
		"ABC  TRACE  V  9223372036854775807  9223372036854775807  1 2005-10-04 15:28:42",
		manyFields,
		"\x00",
		"\xff\xfe",
		strings.Repeat(" ", 1<<20) + "x",
	}
	for _, line := range tests {
		got := feedAll(sampleNow, line)
		for _, e := range got {
			assert.Equal(t, line, e.Raw)
			assert.GreaterOrEqual(t, e.Size, int64(-1))
			if e.Type != EntryOther {
				assert.NotEmpty(t, e.Name)
			}
		}
	}
	got := feedAll(sampleNow, long)
	require.Len(t, got, 1)
	assert.Len(t, got[0].Name, 1<<20)

	// Sizes that overflow are not entries.
	for _, line := range tests[:5] {
		got := feedAll(sampleNow, line)
		require.Len(t, got, 1, line)
		assert.Equal(t, EntryOther, got[0].Type, line)
		assert.Empty(t, got[0].Name, line)
	}

	// z/VM sizes that overflow are unknown, not wrapped.
	got = feedAll(sampleNow, tests[9])
	require.Len(t, got, 1)
	assert.Equal(t, int64(-1), got[0].Size)
}

func TestListFormatRemembered(t *testing.T) {
	p := newListParser(sampleNow, time.UTC)
	p.feed(nil, "05-26-95  10:57AM               143712 a")
	assert.Equal(t, "dos", p.lastName)
	got := p.feed(nil, "05-26-95  10:57AM               143712 b")
	require.Len(t, got, 1)
	assert.Equal(t, "b", got[0].Name)
	// A listing may mix formats; every line is still tried against all.
	got = p.feed(nil, "-rw-r--r-- 1 u g 3 Jan  2  2020 c")
	require.Len(t, got, 1)
	assert.Equal(t, "c", got[0].Name)
	assert.Equal(t, "unix", p.lastName)
}

func TestListVMS(t *testing.T) {
	now := sampleNow
	// Two versions of a file: the newest is listed first and kept.
	got := feedAll(now,
		"Directory DISK$USER:[ME]",
		"",
		"LOGIN.COM;3           1/3     2-JUN-1998 07:32:04  [ME]  (RWED,RWED,RE,)",
		"LOGIN.COM;2           1/3     1-JUN-1998 07:32:04  [ME]  (RWED,RWED,RE,)",
		"MAIL.DIR;1            3/3     1-JUN-1998 07:32:04  [ME]  (RWE,RWE,RE,E)",
		"A_VERY_LONG_FILE_NAME_THAT_WRAPS.TXT;12",
		"                      4/6    24-FEB-2003 13:17:24  [ME]  (RWE,RWE,RE,)",
		"",
		"Total of 3 files, 5/9 blocks.",
	)
	require.Len(t, got, 3)
	assert.Equal(t, "LOGIN.COM", got[0].Name)
	assert.Equal(t, time.Date(1998, 6, 2, 7, 32, 4, 0, time.UTC), got[0].ModTime)
	assert.Equal(t, "MAIL", got[1].Name)
	assert.Equal(t, EntryDir, got[1].Type)
	assert.Equal(t, "A_VERY_LONG_FILE_NAME_THAT_WRAPS.TXT", got[2].Name)
	assert.Equal(t, int64(2048), got[2].Size)
	assert.Equal(t, "A_VERY_LONG_FILE_NAME_THAT_WRAPS.TXT;12\r\n                      4/6    24-FEB-2003 13:17:24  [ME]  (RWE,RWE,RE,)", got[2].Raw)

	// An older version wrapped over two lines is skipped as a whole.
	got = feedAll(now,
		"LONG_NAME_OF_A_FILE.TXT;2   1/3   2-JUN-1998 07:32:04",
		"LONG_NAME_OF_A_FILE.TXT;1",
		"                            1/3   1-JUN-1998 07:32:04",
	)
	require.Len(t, got, 1)
	assert.Equal(t, "LONG_NAME_OF_A_FILE.TXT", got[0].Name)

	// A name alone whose next line is not its rest: both lines are kept.
	got = feedAll(now, "ODD.TXT;1", "-rw-r--r-- 1 u g 3 Jan  2  2020 c")
	require.Len(t, got, 2)
	assert.Equal(t, EntryOther, got[0].Type)
	assert.Equal(t, "ODD.TXT;1", got[0].Raw)
	assert.Equal(t, "c", got[1].Name)

	// A name alone at the end of the listing.
	got = feedAll(now, "LAST.TXT;1")
	require.Len(t, got, 1)
	assert.Equal(t, EntryOther, got[0].Type)
	assert.Equal(t, "LAST.TXT;1", got[0].Raw)
}

func TestListOtherFormats(t *testing.T) {
	tests := []struct {
		line string
		name string
		typ  EntryType
		size int64
		time time.Time
	}{
		{"12-05-96  12:00AM         <DIR>          midnight", "midnight", EntryDir, -1, time.Date(1996, 12, 5, 0, 0, 0, 0, time.UTC)},
		{"12-05-2016  03:04 PM       12 four digit year", "four digit year", EntryFile, 12, time.Date(2016, 12, 5, 15, 4, 0, 0, time.UTC)},
		{"01/02/2020  10:00 AM    <SYMLINKD>     my docs [C:\\docs]", "my docs", EntryLink, -1, time.Date(2020, 1, 2, 10, 0, 0, 0, time.UTC)},
		{"+/,m825718503,\tdir", "dir", EntryDir, -1, time.Unix(825718503, 0)},
		{"0040755 0 0 512 825718503 a dir", "a dir", EntryDir, 512, time.Unix(825718503, 0)},
		{"QSYS                                    *MEM       MYFILE.FILE/MEMBER.MBR", "MYFILE.FILE/MEMBER.MBR", EntryFile, -1, time.Time{}},
		{"Migrated                                                  OLD.DATA", "OLD.DATA", EntryFile, -1, time.Time{}},
		{"Pseudo Directory                                          SUB", "SUB", EntryDir, -1, time.Time{}},
		{"SMS001 3390   **NONE**    1   15  VB   23440  27998  PS  NEVER.USED", "NEVER.USED", EntryFile, -1, time.Time{}},
		{"type=dir;modify=20200101000000; in list", "in list", EntryDir, -1, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got := feedAll(sampleNow, tt.line)
		require.Len(t, got, 1, tt.line)
		e := got[0]
		assert.Equal(t, tt.name, e.Name, tt.line)
		assert.Equal(t, tt.typ, e.Type, tt.line)
		assert.Equal(t, tt.size, e.Size, tt.line)
		assert.True(t, tt.time.Equal(e.ModTime), "%s: time %v", tt.line, e.ModTime)
	}

	// PDS members without statistics are names alone, after the header.
	got := feedAll(sampleNow,
		"Name     VV.MM   Created       Changed      Size  Init   Mod   Id",
		"SAVE03    01.03 2002/09/12 2002/10/11 09:37    11    11     0 KIL001",
		"NOSTATS",
	)
	require.Len(t, got, 2)
	assert.Equal(t, "NOSTATS", got[1].Name)
	// Elsewhere a word alone is not an entry.
	got = feedAll(sampleNow, "NOSTATS")
	require.Len(t, got, 1)
	assert.Equal(t, EntryOther, got[0].Type)

	// The cdir and pdir of MLSD lines in a LIST reply are skipped.
	assert.Empty(t, feedAll(sampleNow, "type=cdir; /x", "type=pdir; /"))
}

func TestListHumanSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"33.5k", 34304, true},
		{"2KB", 2048, true},
		{"1.25M", 1310720, true},
		{"1G", 1 << 30, true},
		{"1.5", 0, false},
		{"k", 0, false},
		{".5k", 0, false},
		{"1.k", 0, false},
		{"8192P", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseListHumanSize(tt.in)
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestListGroupedSize(t *testing.T) {
	for in, want := range map[string]int64{"1,234,567": 1234567, "12,345": 12345, "1": 1, "999": 999} {
		got, ok := parseListGroupedSize(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{",123", "1,23", "1234,567", "1,234,", "1,,234", "a,123"} {
		_, ok := parseListGroupedSize(in)
		assert.False(t, ok, in)
	}
}

func TestListDOSLinkTarget(t *testing.T) {
	got := feedAll(sampleNow, `01/02/2020  10:00 AM    <JUNCTION>     Application Data [C:\Users\me\AppData\Roaming]`)
	require.Len(t, got, 1)
	assert.Equal(t, EntryLink, got[0].Type)
	assert.Equal(t, "Application Data", got[0].Name)
	assert.Equal(t, `C:\Users\me\AppData\Roaming`, got[0].Target)
}

// TestListLooseFormsStayNarrow checks that the looser forms read for
// listings-more.json (dateless ls lines, sizes run into the group, 24:00,
// 1900-based OS/2 years, bare VMS owners, nine-field MVS lines) do not
// swallow lines that are not entries.
func TestListLooseFormsStayNarrow(t *testing.T) {
	for _, line := range []string{
		"-rw-r--r-- 1 u g 3 Apr  4 24:01 half past midnight",
		"-rw-r--r-- 1 u g 3 Apr  4 24:00:01 past midnight",
		"drwxr-xr-x 3 u g 512 2001-04-27 dateless-but-dated",
		"drwxr-xr-x 3 u g 512 Dec 02  209 bad year",
		"drwxr-xr-x 3 u g 512 1234 numbers",
		"-r-xr-xr-x owner group:123456 Feb 12 17:20 not a glued size",
		"36611      A    04-23-203  10:57  not 1900-based",
		"X.TXT;1  1/3  2-JUN-1998 07:32:04  OWNER OTHER (RWED,,,)",
		"X.TXT;1  2-JUN-1998 07:32:04  (RWED,,,)",
		"VOL001 3390 2004/06/23 1 1 FB 128 6144 XX NOT.A.DSORG",
		"rw-rw-rwz          0  464195454  464195454 Jul  1  2016 bad mode",
		"USER JOB0190X OUTPUT 3 Spool Files",
	} {
		got := feedAll(sampleNow, line)
		require.Len(t, got, 1, line)
		assert.Equal(t, EntryOther, got[0].Type, line)
		assert.Empty(t, got[0].Name, line)
	}
}

// TestListDaysIn checks the month lengths against the time package for
// every month of five centuries (leap years of 1900, 2000, 2100 included).
func TestListDaysIn(t *testing.T) {
	for y := 1800; y <= 2300; y++ {
		for m := 1; m <= 12; m++ {
			want := time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
			require.Equal(t, want, listDaysIn(y, m), "%d-%02d", y, m)
		}
	}
}

// TestListMonths: parseListMonth knows every name of the listMonths table
// in any case, with the trailing "." and "," that localised dates add,
// and the switch it tries first for three ASCII letters agrees with the
// table on every such string.
func TestListMonths(t *testing.T) {
	for name, want := range listMonths {
		for _, s := range []string{name, strings.ToUpper(name), name + ".", name + ".,", name + ","} {
			got, ok := parseListMonth(s)
			assert.True(t, ok, "%q", s)
			assert.Equal(t, want, got, "%q", s)
		}
	}
	english := 0
	for a := byte('a'); a <= 'z'; a++ {
		for b := byte('a'); b <= 'z'; b++ {
			for c := byte('a'); c <= 'z'; c++ {
				if m := englishMonth([3]byte{a, b, c}); m > 0 {
					english++
					assert.Equal(t, listMonths[string([]byte{a, b, c})], m, "%c%c%c", a, b, c)
				}
			}
		}
	}
	assert.Equal(t, 12, english)
	for _, s := range []string{"", "ja", "123", "1an", "janu4ry", "Jän1", "x.y", "ftpuser", "ROOT", "maintainer", "j@nuary"} {
		_, ok := parseListMonth(s)
		assert.False(t, ok, "%q", s)
	}
}
