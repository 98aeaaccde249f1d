package bench

import (
	"os"
	"strconv"
	"testing"
)

// The parse-only listing benchmarks: each iteration lists ListDir once over
// loopback from an in-process server that sends a fixed body, so the time
// is the client's reading and parsing (plus one EPSV and one transfer
// command). The lines come from FTPBENCH_LIST and FTPBENCH_MLSD (files
// captured from vsftpd / pure-ftpd by ftpbench), or are synthesised in the
// same formats; FTPBENCH_ENTRIES (default 100000) sizes the synthetic ones.
//
//	go test -run XXX -bench . -benchmem
func listingLines(b *testing.B) (list, mlsd []string) {
	n := 100000
	if s := os.Getenv("FTPBENCH_ENTRIES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	list, mlsd = SynthLines(n)
	var err error
	if p := os.Getenv("FTPBENCH_LIST"); p != "" {
		if list, err = ReadLines(p); err != nil {
			b.Fatal(err)
		}
	}
	if p := os.Getenv("FTPBENCH_MLSD"); p != "" {
		if mlsd, err = ReadLines(p); err != nil {
			b.Fatal(err)
		}
	}
	return list, mlsd
}

func benchLines(b *testing.B, li ListImpl) {
	list, mlsd := listingLines(b)
	srv, err := NewLineServer(list, mlsd)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	want := len(list)
	if li.MLSD {
		want = len(mlsd)
	}
	// Listings leave out "." and ".." and "total" lines.
	BenchList(b, li, srv.Addr(), "u", "p", want*9/10)
}

func BenchmarkListOursMLSD(b *testing.B)     { benchLines(b, ListImpl{"ours", true}) }
func BenchmarkListJlaffayeMLSD(b *testing.B) { benchLines(b, ListImpl{"jlaffaye", true}) }
func BenchmarkListOursLIST(b *testing.B)     { benchLines(b, ListImpl{"ours", false}) }
func BenchmarkListJlaffayeLIST(b *testing.B) { benchLines(b, ListImpl{"jlaffaye", false}) }

// With WithEncodingDetection: on a listing whose names are ASCII, as
// English ones are, detection must cost nothing measurable.
func BenchmarkListOursLISTDetect(b *testing.B) { benchLines(b, ListImpl{"ours+detect", false}) }

// The same LIST lines served by ftptest (WithListLines), as the package's
// tests do; ftptest's own per-line allocations are included.
func benchFTPTest(b *testing.B, lib string) {
	list, _ := listingLines(b)
	srv := NewFTPTestListServer(list)
	defer srv.Close()
	BenchList(b, ListImpl{lib, false}, srv.Addr(), srv.User(), srv.Password(), len(list)*9/10)
}

func BenchmarkFTPTestListOurs(b *testing.B)     { benchFTPTest(b, "ours") }
func BenchmarkFTPTestListJlaffaye(b *testing.B) { benchFTPTest(b, "jlaffaye") }

// BenchmarkFactsMap is the floor under a parser that fills Entry.Facts.
func BenchmarkFactsMap(b *testing.B) {
	_, mlsd := listingLines(b)
	BenchFactsMap(b, mlsd)
}
