package ftp

import (
	"testing"
	"time"
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
