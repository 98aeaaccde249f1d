package ftp

import (
	"strings"
	"testing"
	"time"
)

// checkFuzzEntry checks the invariants every entry keeps, whatever the input.
func checkFuzzEntry(t *testing.T, e *Entry) {
	t.Helper()
	if e == nil {
		t.Fatal("nil entry")
	}
	if e.Raw == "" {
		t.Errorf("entry %+v has no Raw", e)
	}
	if e.Size < -1 {
		t.Errorf("entry %+v has size %d", e, e.Size)
	}
	if e.Name == "" && e.Type != EntryOther {
		t.Errorf("entry %+v of type %v has no name", e, e.Type)
	}
}

// addSampleSeeds seeds f with the lines of listings-sample.json and
// listings-more.json: the MLSD lines (and MLST entry lines without their
// leading space) when mlsx is set, the LIST lines otherwise.
func addSampleSeeds(f *testing.F, mlsx bool) {
	cases := append(loadListingSample(f), loadListingMore(f)...)
	for _, c := range cases {
		switch {
		case c.Format == "mlst":
			if mlsx {
				f.Add(strings.TrimPrefix(c.Line, " "))
			}
		case (c.Format == "mlsd") == mlsx:
			f.Add(c.Line)
		}
	}
}

func FuzzParseMLSx(f *testing.F) {
	addSampleSeeds(f, true)
	f.Fuzz(func(t *testing.T, line string) {
		e, err := parseMLSxLine(line)
		if err != nil {
			if e != nil {
				t.Fatal("entry with an error")
			}
			return
		}
		checkFuzzEntry(t, e)
		if e.Raw != line {
			t.Errorf("Raw %q, want %q", e.Raw, line)
		}
		if !strings.HasSuffix(line, " "+e.Name) && !strings.HasSuffix(line, "\t"+e.Name) {
			t.Errorf("name %q is not the end of the line %q", e.Name, line)
		}
		if i := strings.IndexAny(line, " \t"); line[i+1:] != e.Name {
			t.Errorf("name %q does not start after the first space or TAB of %q", e.Name, line)
		}
		for k := range e.Facts {
			if k != strings.ToLower(k) {
				t.Errorf("fact name %q not in lower case", k)
			}
		}
	})
}

// FuzzListParser feeds the lines of the input to one parser. Every entry
// keeps the invariants, and every line it returns is one that was fed.
func FuzzListParser(f *testing.F) {
	addSampleSeeds(f, false)
	f.Add("LONG.NAME;1\n   2/3  1-JAN-2000 12:00:00 [A,B] (RWED,,,)\nX.;1")
	f.Add("Name     VV.MM   Created       Changed      Size  Init   Mod   Id\nSAVE03    01.03 2002/09/12 2002/10/11 09:37    11    11     0 KIL001\nMEMBER")
	// Localised ls dates: CJK in UTF-8 and legacy encodings, European.
	f.Add("-rwxr-xr-x 2 user group 4096 3月  2 15:13 zxbox\n-rw-r--r-- 1 root root 0 2024年 1月 6日 old file.txt")
	f.Add("-rw-r--r-- 1 root root 0 11\xd4\xc226\xc8\xd5 15:13 new.txt\n-rw-r--r-- 1 root root 0 2024\xb3\xe2  1\xbf\xf9  6\xc0\xcf x")
	f.Add("-rw-r--r-- 1 root root 0 2024\xa6\x7e 1\xa4\xeb 6\xa4\xe9 x\n-rw-r--r-- 1 root root 0 11월 26일  15:13 new.txt")
	f.Add("-rw-r--r-- 1 root root 0  6. Jan 2024  old file.txt\n-rw-r--r-- 1 root root 0 2024-01-06  old\n-rwxr-xr-x 2 u g 4096 Jam  4 00:03 zziplib")
	f.Add("QSYS            77824 02/23/00 15:09:55 *FILE      QSYS.FILE/\n                                        *MEM       QSYS.FILE/MBR1.MBR")
	f.Fuzz(func(t *testing.T, listing string) {
		p := newListParser(time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC), time.UTC)
		lines := strings.Split(listing, "\n")
		var got []*Entry
		for _, l := range lines {
			got = p.feed(got, l)
		}
		got = p.flush(got)
		if len(got) > len(lines) {
			t.Fatalf("%d entries from %d lines", len(got), len(lines))
		}
		for _, e := range got {
			checkFuzzEntry(t, e)
			if !strings.Contains(listing, strings.ReplaceAll(e.Raw, "\r\n", "\n")) &&
				!strings.Contains(listing, e.Raw) {
				t.Errorf("Raw %q is not from the input", e.Raw)
			}
		}
	})
}
