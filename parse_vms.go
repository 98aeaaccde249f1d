package ftp

import "strings"

// parseListVMS parses the listing of OpenVMS servers (MultiNet, TCPware,
// UCX/TCP-IP Services):
//
//	1-JUN.LIS;1              9/9           2-JUN-1998 07:32:04  [GROUP,OWNER]    (RWED,RWED,RWED,RE)
//	38-vms-notime-file;1    2/8    7-JAN-2000    [IV2_XXX]   (RWED,RWED,RE,)
//	56-VMS-complex-size;1 2KB 23-SEP-2005 14:57:07.27
//	42-...;1   [SUMMARY]    1/3     2-AUG-2006 13:05  (RWE,RWE,RE,)         owner first
//	43-...;1       17-JUN-1994 17:25:37     6308/13     (RWED,RWED,R,)    date before the size
//
// The size is in 512-byte blocks ("used/allocated") or carries a unit. A
// name too long for its column is alone on its line and the rest follows
// on the next; listParser.feed joins the two.
//
// Names: a real file specification NAME.TYPE;VERSION comes back without its
// version, as Apache Commons Net's default VMS parser does, so that it can
// be passed to RETR as is (the server picks the highest version); older
// versions of a file listed again are skipped. A directory NAME.DIR;1 comes
// back as NAME. A name with no type (no '.') is not a VMS file
// specification, and is kept whole, version included, as FileZilla does.
//
// The "Directory DISK:[DIR]" header and the "Total of N files" trailer are
// skipped.
func parseListVMS(p *listParser, l *listLine) (*Entry, bool) {
	if isVMSHeader(l) {
		return nil, true
	}
	spec := l.field(0)
	base, ok := vmsStripVersion(spec)
	if !ok {
		return nil, false
	}
	i := 1
	if isListBracketed(l.field(i)) {
		i++ // owner before the size, as some servers print it
	}
	size, sizeFirst := parseVMSSize(l.field(i))
	if sizeFirst {
		i++
	}
	y, m, d, ok := parseListDayMonYear(l.field(i))
	if !ok {
		return nil, false
	}
	i++
	h, mi, s := 0, 0, 0
	if hh, mm, ss, ok := parseListClock(l.field(i)); ok {
		h, mi, s = hh, mm, ss
		i++
	}
	if !sizeFirst {
		// The date before the size (FileZilla's 43-vms-alternate-field-order).
		if size, ok = parseVMSSize(l.field(i)); !ok {
			return nil, false
		}
		i++
	}
	if !vmsTrailer(l, i) {
		return nil, false
	}
	e := &Entry{Type: EntryFile, Size: size}
	if e.ModTime, ok = p.date(y, m, d, h, mi, s); !ok {
		return nil, false
	}
	switch {
	case len(base) > 4 && strings.EqualFold(base[len(base)-4:], ".DIR"):
		e.Type = EntryDir
		e.Name = base[:len(base)-4]
	case strings.Contains(base, "."):
		e.Name = base
	default:
		e.Name = spec
		return e, true
	}
	if p.vmsSeen[e.Name] {
		return nil, true // an older version of a file already listed
	}
	if p.vmsSeen == nil {
		p.vmsSeen = make(map[string]bool)
	}
	p.vmsSeen[e.Name] = true
	return e, true
}

// vmsTrailer reports whether the fields of l from i on are the owner and
// protection of a VMS entry: bracketed fields, and at most one owner
// printed without its brackets ("PRONAS (RWED,RWED,RE,)", FileZilla's
// 39-vms-notime-file).
func vmsTrailer(l *listLine, i int) bool {
	bare := false
	for ; i < l.n; i++ {
		f := l.field(i)
		if isListBracketed(f) {
			continue
		}
		if bare || !isVMSOwnerName(f) {
			return false
		}
		bare = true
	}
	return !l.more
}

// isVMSOwnerName reports whether s can be a VMS user or group name:
// letters, digits, '_' and '$'.
func isVMSOwnerName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isListLetter(c) && (c < '0' || c > '9') && c != '_' && c != '$' {
			return false
		}
	}
	return true
}

// isVMSHeader reports whether l is a header or trailer line of a VMS
// listing: "Directory DISK:[DIR]", "Total of 3 files, 12/24 blocks." or
// "Grand total of 2 directories, 5 files, 30/60 blocks."
func isVMSHeader(l *listLine) bool {
	switch {
	case strings.EqualFold(l.field(0), "Directory"):
		return l.count(2) && strings.Contains(l.field(1), "[")
	case strings.EqualFold(l.field(0), "Total"):
		return strings.EqualFold(l.field(1), "of")
	case strings.EqualFold(l.field(0), "Grand"):
		return strings.EqualFold(l.field(1), "total") && strings.EqualFold(l.field(2), "of")
	}
	return false
}

// isVMSNameAlone reports whether name, the only field of its line, is a VMS
// file specification: the first half of an entry that continues on the
// next line.
func isVMSNameAlone(name string) bool {
	_, ok := vmsStripVersion(name)
	return ok
}

// vmsStripVersion splits NAME.TYPE;VERSION at the ';' and reports whether
// spec has a version.
func vmsStripVersion(spec string) (string, bool) {
	i := strings.LastIndexByte(spec, ';')
	if i < 1 || !isListDigits(spec[i+1:]) {
		return "", false
	}
	return spec[:i], true
}

// parseVMSSize parses a size in blocks of 512 bytes, "9" or "9/12" (used
// and allocated blocks), or a size with a unit, "2KB".
func parseVMSSize(s string) (int64, bool) {
	used, _, _ := strings.Cut(s, "/")
	if isListDigits(used) {
		n, ok := parseListUint(used)
		if !ok || n > (1<<63-1)/512 {
			return 0, false
		}
		return n * 512, true
	}
	if used == "" || used[0] < '0' || used[0] > '9' {
		return 0, false
	}
	return parseListHumanSize(used)
}

// isListBracketed reports whether s is, or is a piece of, a bracketed
// field such as "[GROUP,OWNER]" or "(RWED,RWED,RE,)", which may hold
// spaces and so be split over several fields.
func isListBracketed(s string) bool {
	if s == "" {
		return false
	}
	first, last := s[0], s[len(s)-1]
	return first == '[' || first == '(' || last == ']' || last == ')'
}
