package ftp

import "strings"

// This file parses the listings of IBM's mainframe and midrange systems:
// OS/400 (IBM i), MVS (z/OS) datasets and partitioned dataset members, and
// z/VM (CMS minidisks).

// parseListOS400 parses the listing of IBM i (OS/400, AS/400) servers in
// their native (not Unix-like) listing format:
//
//	PEP             36864 04/03/24 14:06:34 *DIR       dir1/
//	MYUSER              3 06/12/21 12:00:00 *STMF      file with space.txt
//	QSYS                                    *MEM       MYFILE.FILE/MEMBER.MBR
//
// The date order follows the job's date format; year first is tried first
// (the IBM default *YMD as Commons Net reads it), then day first, then
// month first; with dots as separators (a European job date format,
// "18.09.06") day first is tried first. A name ending in '/' is a
// directory; the '/' is dropped.
func parseListOS400(p *listParser, l *listLine) (*Entry, bool) {
	if l.field(1) == "*MEM" && l.n >= 3 {
		return &Entry{Type: EntryFile, Size: -1, Name: l.rest(2)}, true
	}
	if l.field(0) == "*MEM" && l.n >= 2 && strings.Contains(l.field(1), "/") {
		// A member listed under its file, without the owner column:
		// "                 *MEM       QSYS.FILE/MBR1.MBR".
		return &Entry{Type: EntryFile, Size: -1, Name: l.rest(1)}, true
	}
	size, ok := parseListUint(l.field(1))
	if !ok {
		return nil, false
	}
	y, m, d, ok := parseOS400Date(l.field(2))
	if !ok {
		return nil, false
	}
	h, mi, s, ok := parseListClock(l.field(3))
	if !ok || len(l.field(3)) != 8 {
		return nil, false
	}
	kind := l.field(4)
	if len(kind) < 2 || kind[0] != '*' {
		return nil, false
	}
	e := &Entry{Type: EntryFile, Size: size, Name: l.rest(5)}
	switch kind {
	case "*DIR", "*LIB", "*FLR":
		e.Type = EntryDir
	}
	if name, ok := strings.CutSuffix(e.Name, "/"); ok {
		e.Name, e.Type = name, EntryDir
	}
	if strings.HasPrefix(e.Name, "/") {
		// LIST of an IFS path answers with the whole path (Commons Net
		// NET-573); the name is its last element.
		e.Name = e.Name[strings.LastIndexByte(e.Name, '/')+1:]
	}
	if e.ModTime, ok = p.date(y, m, d, h, mi, s); !ok || e.Name == "" {
		return nil, false
	}
	return e, true
}

// parseOS400Date parses the date of an OS/400 listing: "yy/mm/dd",
// "dd/mm/yy" or "mm/dd/yy" (the first that is a date), or the same with a
// four-digit year.
func parseOS400Date(s string) (y, m, d int, ok bool) {
	a, b, c, ok := splitListDate(s)
	if !ok || len(b) > 2 {
		return 0, 0, 0, false
	}
	na, _ := parseListInt(a)
	nb, _ := parseListInt(b)
	nc, _ := parseListInt(c)
	switch {
	case len(a) == 4 && len(c) <= 2:
		return na, nb, nc, validListDate(na, nb, nc)
	case len(c) == 4 && len(a) <= 2:
		if validListDate(nc, nb, na) {
			return nc, nb, na, true
		}
		return nc, na, nb, validListDate(nc, na, nb)
	case len(a) == 2 && len(c) == 2:
		orders := [3][3]int{{na, nb, nc}, {nc, nb, na}, {nc, na, nb}}
		if strings.Contains(s, ".") {
			orders[0], orders[1] = orders[1], orders[0]
		}
		for _, try := range orders {
			y := listTwoDigitYear(try[0])
			if validListDate(y, try[1], try[2]) {
				return y, try[1], try[2], true
			}
		}
	}
	return 0, 0, 0, false
}

// parseListMVSDataset parses the dataset listing of IBM z/OS (MVS):
//
//	Volume Unit    Referred Ext Used Recfm Lrecl BlkSz Dsorg Dsname
//	SAVE01 3390   2004/06/23  1    1  FB     128  6144  PO    INCOMING.RPTBM024.D061704
//	ARCIVE Not Direct Access Device                           NAME
//	Migrated                                                  NAME
//	Pseudo Directory                                          NAME
//	V43525 Tape                                               NAME     a tape dataset
//	TSO004 3390   VSAM NAME                                            a VSAM cluster
//	TSO005 3390   2005/06/06 213000 U 0 27998 PO NAME                  Ext and Used run together
//	ANSYBH 3390   2022/02/18  1+++++  VBS  32767 27966  PS  NAME       Used overflowed
//
// A partitioned dataset (PO) is a directory of members; the others are
// files. The listing gives no byte size. The date is the last reference.
func parseListMVSDataset(p *listParser, l *listLine) (*Entry, bool) {
	switch {
	case l.field(0) == "Volume" && l.field(1) == "Unit":
		return nil, true // the header
	case l.count(2) && l.field(0) == "Migrated":
		return &Entry{Type: EntryFile, Size: -1, Name: l.field(1)}, true
	case l.count(3) && l.field(0) == "Pseudo" && l.field(1) == "Directory":
		return &Entry{Type: EntryDir, Size: -1, Name: l.field(2)}, true
	case l.count(3) && l.field(1) == "Tape" && isMVSVolume(l.field(0)):
		return &Entry{Type: EntryFile, Size: -1, Name: l.field(2)}, true
	case l.count(4) && l.field(2) == "VSAM" && isMVSVolume(l.field(0)) && isListDigits(l.field(1)):
		return &Entry{Type: EntryFile, Size: -1, Name: l.field(3)}, true
	case l.count(6) && l.field(1) == "Not" && l.field(2) == "Direct" && l.field(3) == "Access" && l.field(4) == "Device":
		return &Entry{Type: EntryFile, Size: -1, Name: l.field(5)}, true
	case !l.count(10) && !l.count(9):
		return nil, false
	}
	// Nine fields when Ext and Used run together; the name and the
	// organisation are the last two either way.
	e := &Entry{Type: EntryFile, Size: -1, Name: l.field(l.n - 1)}
	switch l.field(l.n - 2) {
	case "PO", "PO-E":
		e.Type = EntryDir
	case "PS", "DA", "IS", "VS", "VSAM", "?":
	default:
		return nil, false
	}
	if ref := l.field(2); ref != "**NONE**" {
		y, m, d, ok := splitListYMD(ref)
		if !ok {
			return nil, false
		}
		if e.ModTime, ok = p.date(y, m, d, 0, 0, 0); !ok {
			return nil, false
		}
	}
	return e, true
}

// isMVSVolume reports whether s can be a volume serial: one to six
// upper-case letters, digits or national characters.
func isMVSVolume(s string) bool {
	return len(s) <= 6 && isMVSMemberName(s)
}

// parseListMVSJES parses the job listing of the z/OS JES interface
// (SITE FILETYPE=JES), level 1 and level 2, whose entries are jobs
// retrieved by their job id:
//
//	IBMUSER1  JOB01906  OUTPUT    3 Spool Files
//	JOBNAME  JOBID    OWNER    STATUS CLASS
//	IBMUSER2 JOB01906 IBMUSER  OUTPUT A        RC=0000 3 spool files
func parseListMVSJES(p *listParser, l *listLine) (*Entry, bool) {
	if l.field(0) == "JOBNAME" && l.field(1) == "JOBID" {
		return nil, true // the level 2 header
	}
	if l.n < 5 || l.more || !isMVSJobID(l.field(1)) {
		return nil, false
	}
	if !strings.EqualFold(l.field(l.n-2), "spool") || !strings.EqualFold(l.field(l.n-1), "files") || !isListDigits(l.field(l.n-3)) {
		return nil, false
	}
	return &Entry{Type: EntryFile, Size: -1, Name: l.field(1)}, true
}

// isMVSJobID reports whether s is a JES job id: JOB, TSU or STC and five
// digits, or their one-letter form and seven digits.
func isMVSJobID(s string) bool {
	switch {
	case len(s) == 8 && (strings.HasPrefix(s, "JOB") || strings.HasPrefix(s, "TSU") || strings.HasPrefix(s, "STC")):
		return isListDigits(s[3:])
	case len(s) == 8 && (s[0] == 'J' || s[0] == 'T' || s[0] == 'S'):
		return isListDigits(s[1:])
	}
	return false
}

// parseListMVSMember parses the member listing of an MVS partitioned
// dataset with ISPF statistics (the size counts lines, not bytes, so Size
// stays -1); the time is the last change:
//
//	Name     VV.MM   Created       Changed      Size  Init   Mod   Id
//	SAVE03    01.03 2002/09/12 2002/10/11 09:37    11    11     0 KIL001
//
// Members without statistics are listed by name alone; such a line is read
// as a member only inside a listing already known to be one of members.
func parseListMVSMember(p *listParser, l *listLine) (*Entry, bool) {
	if l.field(0) == "Name" && l.field(1) == "VV.MM" {
		return nil, true // the header
	}
	if l.count(1) && isMVSMemberName(l.field(0)) && p.lastName == "mvs-pds" {
		return &Entry{Type: EntryFile, Size: -1, Name: l.field(0)}, true
	}
	if (!l.count(8) && !l.count(9)) || !isMVSVersion(l.field(1)) {
		return nil, false
	}
	if _, _, _, ok := splitListYMD(l.field(2)); !ok {
		return nil, false
	}
	y, m, d, ok := splitListYMD(l.field(3))
	if !ok {
		return nil, false
	}
	h, mi, s, ok := parseListClock(l.field(4))
	if !ok {
		return nil, false
	}
	for i := 5; i < 8; i++ {
		if !isListDigits(l.field(i)) {
			return nil, false
		}
	}
	e := &Entry{Type: EntryFile, Size: -1, Name: l.field(0)}
	if e.ModTime, ok = p.date(y, m, d, h, mi, s); !ok {
		return nil, false
	}
	return e, true
}

// parseListMVSLoadModule parses the member listing of an MVS load library,
// whose sizes are hexadecimal bytes:
//
//	Name      Size   TTR   Alias-of AC--------- Attributes--------- Amode Rmode
//	67-MVSPDSMEMBER2 00B308 000411  00 FO                31    ANY
func parseListMVSLoadModule(p *listParser, l *listLine) (*Entry, bool) {
	if l.field(0) == "Name" && l.field(1) == "Size" && l.field(2) == "TTR" {
		return nil, true // the header
	}
	if l.n < 4 || len(l.field(1)) != 6 || len(l.field(2)) != 6 {
		return nil, false
	}
	size, ok := parseListHex(l.field(1))
	if _, ok2 := parseListHex(l.field(2)); !ok || !ok2 {
		return nil, false
	}
	ac := l.field(3)
	if _, ok := parseListHex(ac); !ok || len(ac) != 2 {
		// "Alias-of" comes before the authorization code of an alias.
		if ac = l.field(4); len(ac) != 2 {
			return nil, false
		}
		if _, ok := parseListHex(ac); !ok {
			return nil, false
		}
	}
	return &Entry{Type: EntryFile, Size: size, Name: l.field(0)}, true
}

// parseListZVM parses the listing of IBM z/VM (CMS minidisk) servers:
// file name, file type, record format, logical record length, records,
// blocks, date and time, and an optional label. The name is NAME.TYPE; the
// size is an estimate, records times record length.
//
//	70-ZVMFILE  TRACE   V        65      107        2 2005-10-04 15:28:42 060191
func parseListZVM(p *listParser, l *listLine) (*Entry, bool) {
	if !l.count(8) && !l.count(9) {
		return nil, false
	}
	e := &Entry{Type: EntryFile, Size: -1, Name: l.field(0) + "." + l.field(1)}
	switch l.field(2) {
	case "F", "V":
	case "DIR":
		e.Type = EntryDir
	default:
		return nil, false
	}
	lrecl, ok1 := parseListUint(l.field(3))
	recs, ok2 := parseListUint(l.field(4))
	if !ok1 || !ok2 || !isListDigits(l.field(5)) {
		return nil, false
	}
	date := l.field(6)
	if len(date) != 10 || date[4] != '-' {
		return nil, false
	}
	y, m, d, ok := splitListYMD(date)
	if !ok {
		return nil, false
	}
	h, mi, s, ok := parseListClock(l.field(7))
	if !ok {
		return nil, false
	}
	if e.ModTime, ok = p.date(y, m, d, h, mi, s); !ok {
		return nil, false
	}
	if e.Type == EntryFile && (lrecl == 0 || recs <= (1<<63-1)/lrecl) {
		e.Size = lrecl * recs
	}
	return e, true
}

// splitListYMD parses a year-first numeric date, "2004/06/23" or
// "2005-10-04".
func splitListYMD(s string) (y, m, d int, ok bool) {
	a, b, c, ok := splitListDate(s)
	if !ok || len(a) != 4 || len(b) > 2 || len(c) > 2 {
		return 0, 0, 0, false
	}
	y, _ = parseListInt(a)
	m, _ = parseListInt(b)
	d, _ = parseListInt(c)
	return y, m, d, true
}

// isMVSVersion reports whether s is an ISPF version.modification, "01.03".
func isMVSVersion(s string) bool {
	return len(s) == 5 && s[2] == '.' && isListDigits(s[:2]) && isListDigits(s[3:])
}

// isMVSMemberName reports whether s can be the name of a PDS member: one to
// eight letters, digits or national characters (@ # $).
func isMVSMemberName(s string) bool {
	if s == "" || len(s) > 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '@' || c == '#' || c == '$') {
			return false
		}
	}
	return true
}

// parseListHex parses a non-empty hexadecimal number that fits an int64.
func parseListHex(s string) (int64, bool) {
	if s == "" || len(s) > 15 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		n = n<<4 | int64(c)
	}
	return n, true
}
