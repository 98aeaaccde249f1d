package ftp

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"
)

// EntryType says what kind of file a directory entry names.
type EntryType int

// The kinds of directory entries. EntryOther covers devices, pipes and
// lines of a listing that no parser understood (see [Entry.Raw]).
const (
	EntryFile EntryType = iota
	EntryDir
	EntryLink
	EntryOther
)

// String returns "file", "dir", "link" or "other".
func (t EntryType) String() string {
	switch t {
	case EntryFile:
		return "file"
	case EntryDir:
		return "dir"
	case EntryLink:
		return "link"
	case EntryOther:
		return "other"
	}
	return fmt.Sprintf("EntryType(%d)", int(t))
}

// Entry is one file of a directory listing (MLSD, MLST or a parsed LIST line).
//
// A LIST line that no parser understands is not dropped: it comes back as an
// Entry of type EntryOther with an empty Name and the line in Raw, so a caller
// can tell a strange listing from an empty directory.
type Entry struct {
	Name    string
	Type    EntryType
	Size    int64             // bytes; -1 when the listing gives none
	ModTime time.Time         // zero when the listing gives none
	Target  string            // symlink target, when the server says
	Facts   map[string]string // raw MLSD/MLST facts, lower-case keys
	Raw     string            // the line the entry was parsed from, as the server sent it
	// Mode is the file's mode as the server gave it: from the permission
	// string of a LIST line ("-r--r--r--" is 0444, "drwsr-x---" is
	// fs.ModeDir|fs.ModeSetuid|0750, "crw-------" a character device) or
	// an MLSD or MLST UNIX.mode fact (with the type bits of Type). It is
	// zero when the server does not say (MLSD without UNIX.mode, DOS and
	// other listings): Type still says what the entry is.
	Mode fs.FileMode
}

// lsMode returns the file mode of an ls permission string: the type
// letter ("-", "d", "l", "b", "c", "p", "s", …) and the nine permission
// letters, with setuid and setgid ("s", "S"; Solaris' mandatory locking
// "l", "L" is setgid without group execute) and sticky ("t", "T"). A
// StingRay string without the type letter ("rw-rw-rw-") is a file's. It
// returns 0 for anything else.
func lsMode(s string) fs.FileMode {
	if len(s) == 9 {
		s = "-" + s
	}
	if len(s) < 10 {
		return 0
	}
	m, ok := lsType(s[0])
	if !ok {
		return 0
	}
	for i := range 9 {
		c := s[1+i]
		bit := fs.FileMode(1) << (8 - i) // r, w, x of user, group, other
		switch {
		case c == '-':
		case c == "rwx"[i%3]:
			m |= bit
		case i%3 == 2 && strings.IndexByte(lsSpecials[i/3], c) >= 0:
			m |= lsSpecialBits[i/3]
			if c >= 'a' && c <= 'z' && c != 'l' {
				m |= bit // lower case: also executable
			}
		default:
			return 0
		}
	}
	return m
}

// lsType returns the type bits of the mode of the type letter of an ls
// permission string: regular file ("-", or "f" on some servers),
// directory, symbolic link, block and character device, FIFO, socket, and
// the Solaris door and HP-UX network special files, which Go has no bit
// for. A switch, not a map: it runs for every line of a listing, where a
// map lookup cost a tenth of the parse.
func lsType(c byte) (fs.FileMode, bool) {
	switch c {
	case '-', 'f':
		return 0, true
	case 'd':
		return fs.ModeDir, true
	case 'l':
		return fs.ModeSymlink, true
	case 'b':
		return fs.ModeDevice, true
	case 'c':
		return fs.ModeDevice | fs.ModeCharDevice, true
	case 'p':
		return fs.ModeNamedPipe, true
	case 's':
		return fs.ModeSocket, true
	case 'D', 'n':
		return fs.ModeIrregular, true
	}
	return 0, false
}

// lsSpecials are the letters allowed in the execute position of the
// user, group and other permissions besides "x", and lsSpecialBits the
// bit each sets.
var (
	lsSpecials    = [3]string{"sS", "sSlL", "tT"}
	lsSpecialBits = [3]fs.FileMode{fs.ModeSetuid, fs.ModeSetgid, fs.ModeSticky}
)

// octalMode returns the file mode of an octal UNIX.mode fact ("0644",
// "755", "4755") for an entry of type t, or 0 when s is not one.
func octalMode(s string, t EntryType) fs.FileMode {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || s == "" || n > 0o7777 {
		return 0
	}
	m := fs.FileMode(n).Perm()
	for i, bit := range []fs.FileMode{fs.ModeSticky, fs.ModeSetgid, fs.ModeSetuid} {
		if n&(0o1000<<i) != 0 {
			m |= bit
		}
	}
	switch t {
	case EntryDir:
		m |= fs.ModeDir
	case EntryLink:
		m |= fs.ModeSymlink
	case EntryOther:
		m |= fs.ModeIrregular
	}
	return m
}
