package ftp

import (
	"fmt"
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
}
