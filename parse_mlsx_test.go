package ftp

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMLSxLine(t *testing.T) {
	tests := []struct {
		line   string
		name   string
		typ    EntryType
		size   int64
		target string
		time   time.Time
		facts  map[string]string
	}{
		// RFC 3659 §7.7.4: the name keeps its leading spaces.
		{"Type=file;Perm=r;Unique=keVO1+IH4;  leading space", " leading space", EntryFile, -1, "", time.Time{},
			map[string]string{"type": "file", "perm": "r", "unique": "keVO1+IH4"}},
		// No facts: the line starts with the separating space.
		{" no facts", "no facts", EntryOther, -1, "", time.Time{}, nil},
		// ';' and '=' in the name.
		{"type=file; a;b=c d", "a;b=c d", EntryFile, -1, "", time.Time{}, map[string]string{"type": "file"}},
		{"type=dir;sizd=4096; d", "d", EntryDir, 4096, "", time.Time{}, map[string]string{"type": "dir", "sizd": "4096"}},
		{"type=file;sizd=4096; f", "f", EntryFile, -1, "", time.Time{}, map[string]string{"type": "file", "sizd": "4096"}},
		{"type=pdir; ..", "..", EntryDir, -1, "", time.Time{}, map[string]string{"type": "pdir"}},
		{"type=OS.unix=symlink;UNIX.mode=0777; l", "l", EntryLink, -1, "", time.Time{},
			map[string]string{"type": "OS.unix=symlink", "unix.mode": "0777"}},
		{"Type=OS.Unix=SLINK:/a:b; l", "l", EntryLink, -1, "/a:b", time.Time{}, map[string]string{"type": "OS.Unix=SLINK:/a:b"}},
		{"type=OS.unix=chr-13/29; tty", "tty", EntryOther, -1, "", time.Time{}, map[string]string{"type": "OS.unix=chr-13/29"}},
		{"type=file;size=9223372036854775807;modify=20201019151930.5; big", "big", EntryFile, 1<<63 - 1, "",
			time.Date(2020, 10, 19, 15, 19, 30, 5e8, time.UTC), nil},
		// Bad size and time values leave the fields unset, not the entry.
		{"type=file;size=-1;modify=2020; bad", "bad", EntryFile, -1, "", time.Time{}, nil},
		{"type=file;size=99999999999999999999;modify=20201301000000; bad", "bad", EntryFile, -1, "", time.Time{}, nil},
		{"type=file;modify=20200230000000; bad", "bad", EntryFile, -1, "", time.Time{}, nil},
		{"type=file;modify=20200101000000.; bad", "bad", EntryFile, -1, "", time.Time{}, nil},
		{"type=file;modify=20200101000000.1234567890; bad", "bad", EntryFile, -1, "", time.Time{}, nil},
		{"type=file;modify=20200101000000.123456789; ns", "ns", EntryFile, -1, "", time.Date(2020, 1, 1, 0, 0, 0, 123456789, time.UTC), nil},
	}
	for _, tt := range tests {
		e, err := parseMLSxLine(tt.line)
		require.NoError(t, err, tt.line)
		assert.Equal(t, tt.name, e.Name, tt.line)
		assert.Equal(t, tt.typ, e.Type, tt.line)
		assert.Equal(t, tt.size, e.Size, tt.line)
		assert.Equal(t, tt.target, e.Target, tt.line)
		assert.Equal(t, tt.time, e.ModTime, tt.line)
		assert.Equal(t, tt.line, e.Raw, tt.line)
		if tt.facts != nil {
			assert.Equal(t, tt.facts, e.Facts, tt.line)
		}
	}
}

func TestParseMLSxLineErrors(t *testing.T) {
	for _, line := range []string{
		"",
		"type=file;size=1;",
		"type=file; ",
		"type=file;size; x",
		"type=file;=x; x",
		"noequals x",
	} {
		e, err := parseMLSxLine(line)
		assert.Error(t, err, "%q", line)
		assert.Nil(t, e, "%q", line)
	}
}

func TestMLSxIsSelfOrParent(t *testing.T) {
	for line, want := range map[string]bool{
		"type=cdir; /x":  true,
		"Type=CDir; .":   true,
		"type=pdir; ..":  true,
		"type=dir; x":    false,
		"type=file; x":   false,
		" no facts":      false,
		"unique=1; cdir": false,
	} {
		e, err := parseMLSxLine(line)
		require.NoError(t, err, line)
		assert.Equal(t, want, mlsxIsSelfOrParent(e), line)
	}
}

func TestParseMLSxHostile(t *testing.T) {
	long := "type=file;size=1; " + strings.Repeat("n", 1<<20)
	e, err := parseMLSxLine(long)
	require.NoError(t, err)
	assert.Len(t, e.Name, 1<<20)

	manyFacts := strings.Repeat("a=b;", 1<<16) + " x"
	e, err = parseMLSxLine(manyFacts)
	require.NoError(t, err)
	assert.Equal(t, "x", e.Name)

	e, err = parseMLSxLine("type=file;\x00=\xff; \xff\x00")
	require.NoError(t, err)
	assert.Equal(t, "\xff\x00", e.Name)
	assert.Equal(t, "\xff", e.Facts["\x00"])
}

var mlsxBenchLine = "modify=20150813175250;perm=adfr;size=951;type=file;unique=119FBB87UE;UNIX.group=0;UNIX.mode=0644;UNIX.owner=0; welcome.msg"

func BenchmarkParseMLSxLine(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseMLSxLine(mlsxBenchLine); err != nil {
			b.Fatal(err)
		}
	}
}

// TestParseMLSxFactsSized: the Facts map is made for the number of facts,
// so that eight facts with the usual ';' after the last fit the map's
// eight-slot group as they do without it (one more slot made it a table:
// two more allocations per entry and twice the memory).
func TestParseMLSxFactsSized(t *testing.T) {
	const eight = "type=file;size=1;modify=20200101000000;perm=r;UNIX.mode=0644;UNIX.uid=1;UNIX.gid=1;unique=1"
	allocs := func(line string) float64 {
		return testing.AllocsPerRun(50, func() {
			e, err := parseMLSxLine(line)
			if err != nil || len(e.Facts) != 8 {
				t.Fatalf("%q: %v, %d facts", line, err, len(e.Facts))
			}
		})
	}
	assert.Equal(t, allocs(eight+" x"), allocs(eight+"; x"))
}
