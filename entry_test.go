package ftp

import (
	"context"
	"io/fs"
	"testing"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLsMode: every letter of an ls permission string lands in the
// fs.FileMode it means, and anything else gives no mode at all.
func TestLsMode(t *testing.T) {
	tests := []struct {
		s    string
		want fs.FileMode
	}{
		{"-rw-r--r--", 0o644},
		{"-r--r--r--", 0o444},
		{"-rwxr-x---", 0o750},
		{"----------", 0},
		{"drwxr-xr-x", fs.ModeDir | 0o755},
		{"drwxrwxrwt", fs.ModeDir | fs.ModeSticky | 0o777},
		{"drwxrwxrwT", fs.ModeDir | fs.ModeSticky | 0o776},
		{"-rwsr-xr-x", fs.ModeSetuid | 0o755},
		{"-rwSr--r--", fs.ModeSetuid | 0o644},
		{"-rwxr-sr-x", fs.ModeSetgid | 0o755},
		{"-rw-r-Sr--", fs.ModeSetgid | 0o644},
		{"-rw-r-lr--", fs.ModeSetgid | 0o644}, // Solaris mandatory locking
		{"lrwxrwxrwx", fs.ModeSymlink | 0o777},
		{"brw-rw----", fs.ModeDevice | 0o660},
		{"crw-------", fs.ModeDevice | fs.ModeCharDevice | 0o600},
		{"prw-r--r--", fs.ModeNamedPipe | 0o644},
		{"srwxrwxrwx", fs.ModeSocket | 0o777},
		{"Drw-r--r--", fs.ModeIrregular | 0o644}, // Solaris door
		{"-rw-r--r--+", 0o644},                   // ACL mark
		{"drwxr-x---+1464", fs.ModeDir | 0o750},  // link count run in
		{"rw-rw-rw-", 0o666},                     // StingRay: no type letter
		{"-C--E-----FTP", 0},                     // Connect:Enterprise flags
		{"-rwsr-xr-x"[:5], 0},
		{"?rw-r--r--", 0},
		{"-rw-x--r--", 0}, // x where w belongs
		{"-rwtr--r--", 0}, // sticky in the user's place
		{"", 0},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, lsMode(tt.s), "%q", tt.s)
	}
}

// TestOctalMode: an MLSD UNIX.mode fact, with or without its leading 0
// and with the setuid, setgid and sticky digits, takes the type bits of
// the entry's type.
func TestOctalMode(t *testing.T) {
	tests := []struct {
		s    string
		typ  EntryType
		want fs.FileMode
	}{
		{"0644", EntryFile, 0o644},
		{"444", EntryFile, 0o444},
		{"0750", EntryDir, fs.ModeDir | 0o750},
		{"4755", EntryFile, fs.ModeSetuid | 0o755},
		{"2750", EntryFile, fs.ModeSetgid | 0o750},
		{"1777", EntryDir, fs.ModeDir | fs.ModeSticky | 0o777},
		{"0777", EntryLink, fs.ModeSymlink | 0o777},
		{"0600", EntryOther, fs.ModeIrregular | 0o600},
		{"", EntryFile, 0},
		{"0688", EntryFile, 0},
		{"17777", EntryFile, 0},
		{"-644", EntryFile, 0},
		{"rw-r--r--", EntryFile, 0},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, octalMode(tt.s, tt.typ), "%q %v", tt.s, tt.typ)
	}
}

// TestEntryModeFromListings: List fills Entry.Mode from a LIST line's
// permissions and from MLSD's UNIX.mode, and leaves it zero where the
// listing has none.
func TestEntryModeFromListings(t *testing.T) {
	ctx := context.Background()
	t.Run("LIST", func(t *testing.T) {
		srv := newServer(t, ftptest.WithoutMLSD(), ftptest.WithListLines("/d",
			"-r--r--r--   1 ftp ftp  5 Mar  2 15:13 ro",
			"drwsr-x---   2 ftp ftp  4096 Mar  2 15:13 sub",
			"01-02-23  03:04PM                 1234 dos.txt",
		))
		entries, err := dialTest(t, srv).List(ctx, "/d")
		require.NoError(t, err)
		modes := map[string]fs.FileMode{}
		for _, e := range entries {
			modes[e.Name] = e.Mode
		}
		assert.Equal(t, map[string]fs.FileMode{"ro": 0o444, "sub": fs.ModeDir | fs.ModeSetuid | 0o750, "dos.txt": 0}, modes)
	})
	t.Run("MLSD", func(t *testing.T) {
		e, err := parseMLSxLine("type=file;size=5;UNIX.mode=0444; ro")
		require.NoError(t, err)
		assert.Equal(t, fs.FileMode(0o444), e.Mode)
		e, err = parseMLSxLine("type=dir;perm=el; sub")
		require.NoError(t, err)
		assert.Zero(t, e.Mode, "no UNIX.mode: no mode")
	})
}

// TestFSModeIsTheListedMode: FS's FileInfo.Mode is the mode the server
// listed: a -r--r--r-- file is not made -rw-r--r--, and a setuid
// directory keeps its bits; Sys is the *Entry. (Before Entry.Mode, FS
// invented 0644 and 0755 for every LIST entry.)
func TestFSModeIsTheListedMode(t *testing.T) {
	srv := newServer(t, ftptest.WithoutMLSD(), ftptest.WithListLines("/",
		"-r--r--r--   1 ftp ftp  5 Mar  2 15:13 ro.txt",
		"drwsr-x--T   2 ftp ftp  4096 Mar  2 15:13 sub",
	))
	fsys := dialTest(t, srv).FS(context.Background())
	tests := []struct {
		name string
		want fs.FileMode
	}{
		{"ro.txt", 0o444},
		{"sub", fs.ModeDir | fs.ModeSetuid | fs.ModeSticky | 0o750},
	}
	for _, tt := range tests {
		info, err := fs.Stat(fsys, tt.name)
		require.NoError(t, err)
		assert.Equal(t, tt.want, info.Mode(), "%s: %v", tt.name, info.Mode())
		e, ok := info.Sys().(*Entry)
		require.True(t, ok, "Sys is %T", info.Sys())
		assert.Equal(t, tt.name, e.Name)
	}
}
