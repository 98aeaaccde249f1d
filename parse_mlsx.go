package ftp

import (
	"errors"
	"strings"
	"time"
)

// Errors of parseMLSxLine.
var (
	errMLSxNoSpace = errors.New("ftp: MLSx entry has no space before its name")
	errMLSxNoName  = errors.New("ftp: MLSx entry has an empty name")
	errMLSxFact    = errors.New("ftp: MLSx entry has a malformed fact")
)

// parseMLSxLine parses one line of an MLSD listing, or the entry line of an
// MLST reply once the caller has removed its single leading space (RFC 3659
// §7.2):
//
//	entry = [facts] SP pathname
//	facts = 1*(factname "=" value ";")
//
// Exactly one space separates the facts from the name, and the name is all
// the rest of the line, leading spaces and ';' included; a line that starts
// with the space has no facts. Some servers put a TAB there instead
// (FileZilla's test 78): a fact value holds neither, so the first space or
// TAB ends the facts. Each fact is split at its first '=' (the
// value of "type=OS.unix=slink:/foobar" holds one); fact names are matched
// without regard to case and stored in Entry.Facts in lower case, values as
// sent. The ';' after the last fact is optional, as servers built on drafts
// before mlst-07 leave it out.
//
// Type: "file", "dir", "cdir", "pdir" and the symbolic links
// "OS.unix=slink:target" and "OS.unix=symlink" (ProFTPD) are known;
// anything else is EntryOther. Size comes from "size", or "sizd" for a
// directory, and is -1 without them; ModTime from "modify", in UTC; Mode
// from "UNIX.mode" (octal), with the type bits of Type.
//
// The entries for the listed directory itself and its parent (type cdir and
// pdir) are returned as directories like any other; callers listing a
// directory skip them with mlsxIsSelfOrParent. MLST of a directory may
// answer with a cdir entry, which is then the one wanted.
func parseMLSxLine(line string) (*Entry, error) {
	sp := strings.IndexByte(line, ' ')
	if tab := strings.IndexByte(line, '\t'); tab >= 0 && (sp < 0 || tab < sp) {
		sp = tab
	}
	if sp < 0 {
		return nil, errMLSxNoSpace
	}
	facts, name := line[:sp], line[sp+1:]
	if name == "" {
		return nil, errMLSxNoName
	}
	e := &Entry{Name: name, Type: EntryOther, Size: -1, Raw: line}
	if facts == "" {
		return e, nil
	}
	n := strings.Count(facts, ";") // facts end in ';', the last one may not
	if facts[len(facts)-1] != ';' {
		n++
	}
	e.Facts = make(map[string]string, n)
	var typ, size, sizd, modify string
	for facts != "" {
		end := strings.IndexByte(facts, ';')
		if end < 0 {
			end = len(facts)
		}
		f := facts[:end]
		facts = facts[min(end+1, len(facts)):]
		if f == "" {
			continue
		}
		eq := strings.IndexByte(f, '=')
		if eq <= 0 {
			return nil, errMLSxFact
		}
		k, v := mlsxFactName(f[:eq]), f[eq+1:]
		e.Facts[k] = v
		switch k {
		case "type":
			typ = v
		case "size":
			size = v
		case "sizd":
			sizd = v
		case "modify":
			modify = v
		}
	}
	e.Type, e.Target = mlsxType(typ)
	if size == "" && e.Type == EntryDir {
		size = sizd
	}
	if n, ok := parseListUint(size); ok {
		e.Size = n
	}
	if t, ok := parseMLSxTime(modify); ok {
		e.ModTime = t
	}
	if m, ok := e.Facts["unix.mode"]; ok {
		e.Mode = octalMode(m, e.Type)
	}
	return e, nil
}

// mlsxFactName returns k in lower case, without allocating for the names
// servers commonly send (RFC 3659's and the common OS-specific ones).
func mlsxFactName(k string) string {
	switch k {
	case "type", "size", "modify", "perm", "unique", "create", "lang",
		"media-type", "charset", "sizd", "unix.mode", "unix.owner",
		"unix.group", "unix.uid", "unix.gid", "unix.ownername",
		"unix.groupname", "win32.ea":
		return k
	case "Type":
		return "type"
	case "Size":
		return "size"
	case "Modify":
		return "modify"
	case "Perm":
		return "perm"
	case "Unique":
		return "unique"
	case "UNIX.mode":
		return "unix.mode"
	case "UNIX.owner":
		return "unix.owner"
	case "UNIX.group":
		return "unix.group"
	case "UNIX.uid":
		return "unix.uid"
	case "UNIX.gid":
		return "unix.gid"
	case "UNIX.ownername":
		return "unix.ownername"
	case "UNIX.groupname":
		return "unix.groupname"
	}
	return strings.ToLower(k)
}

// mlsxType returns the entry type of a type fact, and the target of a
// symbolic link when the fact names it.
func mlsxType(v string) (EntryType, string) {
	switch {
	case strings.EqualFold(v, "file"):
		return EntryFile, ""
	case strings.EqualFold(v, "dir"), strings.EqualFold(v, "cdir"), strings.EqualFold(v, "pdir"):
		return EntryDir, ""
	case len(v) > 8 && strings.EqualFold(v[:8], "OS.unix="):
		kind, target, _ := strings.Cut(v[8:], ":")
		if strings.EqualFold(kind, "slink") || strings.EqualFold(kind, "symlink") {
			return EntryLink, target
		}
	}
	return EntryOther, ""
}

// mlsxIsSelfOrParent reports whether e, from parseMLSxLine, is the entry of
// the listed directory itself or of its parent (type cdir or pdir), which
// a directory listing leaves out.
func mlsxIsSelfOrParent(e *Entry) bool {
	if e.Type != EntryDir {
		return false
	}
	t := e.Facts["type"]
	return strings.EqualFold(t, "cdir") || strings.EqualFold(t, "pdir")
}

// parseMLSxTime parses an RFC 3659 time-val, YYYYMMDDHHMMSS[.F+], in UTC.
// It is also the format of the MDTM reply.
func parseMLSxTime(s string) (time.Time, bool) {
	if len(s) < 14 || !isListDigits(s[:14]) {
		return time.Time{}, false
	}
	num := func(i, j int) int { n, _ := parseListInt(s[i:j]); return n }
	y, mo, d, h, mi, sec := num(0, 4), num(4, 6), num(6, 8), num(8, 10), num(10, 12), num(12, 14)
	if !validListDate(y, mo, d) || h > 23 || mi > 59 || sec > 60 {
		return time.Time{}, false
	}
	ns := 0
	if frac := s[14:]; frac != "" {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 || !isListDigits(frac[1:]) {
			return time.Time{}, false
		}
		ns, _ = parseListInt(frac[1:])
		for range 10 - len(frac) {
			ns *= 10
		}
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC), true
}
