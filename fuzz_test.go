package ftp

import (
	"bufio"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Fuzz targets for every parser of control-connection input. Each asserts
// that hostile input never panics and that what parses obeys the rules.

func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"220 Service ready\r\n",
		"123-First line\r\nSecond line\r\n  234 A line beginning with numbers\r\n123 The last line\r\n",
		"211-Features:\r\n MLST type*;size*;\r\n UTF8\r\n211 End\r\n",
		"250-a\n250\n",
		"150 Opening BINARY mode data connection for f (1048576 bytes).\r\n",
		"421 Timeout.\r\n",
		"229 Entering Extended Passive Mode (|||6446|)\r\n",
		"abc\r\n", "\r\n", "22", "200-\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := readReply(bufio.NewReader(strings.NewReader(in)))
		if err != nil {
			return
		}
		if r.Code < 100 || r.Code > 599 || len(r.Lines) == 0 {
			t.Fatalf("bad reply %+v from %q", r, in)
		}
		if len(r.Lines) > 1 && !endsMultiline(r.Lines[len(r.Lines)-1], r.Lines[0][:3]) {
			t.Fatalf("multi-line reply ended early: %q", r.Lines)
		}
		_ = r.Message()
		_ = parseFeatures(r)
	})
}

func FuzzParsePASV(f *testing.F) {
	for _, s := range []string{
		"Entering Passive Mode (127,0,0,1,4,51)", "Entering passive mode. 10,0,0,5,195,80",
		"=127,0,0,1,0,21", "(256,0,0,1,4,51)", "(1,2,3,4,5)", "9999,1,1,1,1,1,1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		ip, port, err := parsePASV(msg)
		if err != nil {
			return
		}
		if ip.To4() == nil || port < 1 || port > 65535 {
			t.Fatalf("parsePASV(%q) = %v, %d", msg, ip, port)
		}
	})
}

func FuzzParseEPSV(f *testing.F) {
	for _, s := range []string{
		"Entering Extended Passive Mode (|||6446|)", "(!!!1!)", "(|||65536|)", "(|||)", "(", ")(",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		port, err := parseEPSV(msg)
		if err == nil && (port < 1 || port > 65535) {
			t.Fatalf("parseEPSV(%q) = %d", msg, port)
		}
	})
}

func FuzzQuotedPath(f *testing.F) {
	for _, s := range []string{`"/home" is cwd`, `"/a ""b"" c" created`, `"`, `""""`, `x"y`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		p, ok := quotedPath(msg)
		if ok && len(p) > len(msg) {
			t.Fatalf("quotedPath(%q) = %q", msg, p)
		}
	})
}

func FuzzParseFeatures(f *testing.F) {
	for _, s := range []string{
		"211-Features:\r\n MLST type*;size*;modify*;\r\n UTF8\r\n EPSV\r\n REST STREAM\r\n211 End\r\n",
		"211-Extensions supported:\n mdtm\n  size  \n211 END\n",
		"211 No features\r\n", "211-\r\n\r\n \r\n211 \r\n", "211-x\r\n AUTH TLS\r\n AUTH SSL\r\n211 x\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := readReply(bufio.NewReader(strings.NewReader(in)))
		if err != nil {
			return
		}
		feats := parseFeatures(r)
		if len(feats) > len(r.Lines) {
			t.Fatalf("%d features from %d lines", len(feats), len(r.Lines))
		}
		for name, params := range feats {
			if name == "" || name != strings.ToUpper(name) || strings.Contains(name, " ") {
				t.Fatalf("feature name %q from %q", name, in)
			}
			if params != strings.TrimSpace(params) {
				t.Fatalf("feature %s parameters %q not trimmed", name, params)
			}
		}
	})
}

// FuzzBytesInParens: the size a 150 reply announces is found as the
// pattern `\((\d{1,19}) bytes\)` would find it (the first match whose
// number fits an int64).
func FuzzBytesInParens(f *testing.F) {
	for _, s := range []string{
		"150 Opening BINARY mode data connection for f (1048576 bytes).",
		"150 Opening BINARY mode data connection for /x (y) (4096 bytes).",
		"150 Opening data connection for ((12 bytes)",
		"150 (x bytes) then (7 bytes)",
		"150 (99999999999999999999 bytes) (3 bytes)",
		"150 ( bytes)", "150 (12 bytes", "150 12 bytes)", "",
	} {
		f.Add(s)
	}
	re := regexp.MustCompile(`\((\d{1,19}) bytes\)`)
	f.Fuzz(func(t *testing.T, line string) {
		n, ok := bytesInParens(line)
		want, wantOK := int64(0), false
		for _, m := range re.FindAllStringSubmatch(line, -1) {
			if v, err := strconv.ParseInt(m[1], 10, 64); err == nil {
				want, wantOK = v, true
				break
			}
		}
		if n != want || ok != wantOK {
			t.Fatalf("%q: got %d %v, the pattern finds %d %v", line, n, ok, want, wantOK)
		}
	})
}
