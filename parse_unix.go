package ftp

import (
	"strings"
	"time"
	"unicode/utf8"
)

// parseListUnix parses the "ls -l" line that most servers send, Unix or
// not (vsftpd, ProFTPD, Pure-FTPd, IIS in Unix mode, FileZilla Server,
// embedded servers), in all the variants seen in the wild:
//
//	drwxr-xr-x   2 owner group  4096 Mar  2 15:13 name        the classic
//	-rw-r--r--+  1 owner group  1234 2023-01-02 15:04 name    ACL mark, ls --time-style=long-iso
//	crw-------   1 root  sys  109,767 Jul  2  2004 device     major,minor instead of a size
//	-rw-r--r--   1 1        3518644 May 25 12:12 std          no group column
//	-rw-r--r--   1 ftp group with spaces 83853 Jan 22  2001 x Cygwin group names
//	-------r--   326  1391972  1392298 Nov 22  1995 name      NetPresenz, MacOS Peter (fork sizes)
//	drwxrwxr-x   folder   2 May 10  1996 name                 NetPresenz and hostedftp folders
//	-C--E-----FTP B BCC3I1  7670  1294495 Jan 13 07:42 name   Sterling Connect:Enterprise
//	rw-rw-rw-   0  464195454  464195454 Jul  1  2016 name     StingRay FTP Server: no type letter
//	drwxr-x---+1464 chrism chrism 41472 Feb 25 13:17 name     link count run into the mode
//	-r-xr-xr-x longowner longgroup123456 Feb 12 17:20 name    group run into the size
//	drwxr-xr-x 3 slopri devlab 512 name                       no date at all
//
// The columns between the mode and the size vary (link count, owner and
// group may be missing, group names may hold spaces), so the parser looks
// for the leftmost field that is a size followed by a date it knows (see
// unixDate). The name is the rest of the line; for a symbolic link it is
// split at the first " -> " into Name and Target.
func parseListUnix(p *listParser, l *listLine) (*Entry, bool) {
	mode := l.field(0)
	typ, devices, ok := unixModeType(mode)
	if !ok {
		return nil, false
	}
	tail, ok := p.scanUnixTail(l, 1, devices)
	if !ok {
		if tail, ok = p.scanUnixGluedSize(l); !ok {
			if tail, ok = unixDateless(l); !ok {
				return nil, false
			}
		}
	}
	cols := tail.sizeCol - 1 // fields between the mode and the size
	switch {
	case isEnterpriseMode(mode):
		// "B BCC3I1 7670": owner and group columns of its own.
	case cols == 0:
		return nil, false
	case cols == 1 && l.field(1) == "folder":
		// NetPresenz folder: the number is an item count, not bytes.
		tail.size = -1
	case cols == 2 && l.field(2) == "folder":
		// "123 folder 0": a mangled NetPresenz folder line (Commons Net
		// bad sample), not an owner named "folder".
		return nil, false
	case cols == 2 && isListDigits(l.field(1)) && !tail.device && !lsAligned(l, tail.sizeCol):
		// "links owner size" without a group, or NetPresenz's
		// "resource data total". The same three columns also fit "links
		// owner group" with the size missing; ls right-aligns the size and
		// follows it with exactly one space, so demand that.
		return nil, false
	}
	name, target := tail.name, ""
	if typ == EntryLink {
		if n, t, found := strings.Cut(name, " -> "); found {
			name, target = n, t
		}
	}
	if name == "" {
		return nil, false
	}
	return &Entry{Name: name, Type: typ, Size: tail.size, ModTime: tail.time, Target: target, Mode: lsMode(mode)}, true
}

// parseListNetWare parses the listing of Novell NetWare servers, which
// print the type, the trustee rights in brackets, the owner, then the ls
// size and date:
//
//	d [RWCEAFMS] rwinston          512 Nov 24  2005 Favorites
//	- [R----F--] supervisor     12345 Apr 13 23:52 file.txt
func parseListNetWare(p *listParser, l *listLine) (*Entry, bool) {
	var typ EntryType
	switch l.field(0) {
	case "d":
		typ = EntryDir
	case "-":
		typ = EntryFile
	default:
		return nil, false
	}
	rights := l.field(1)
	if len(rights) < 3 || rights[0] != '[' || rights[len(rights)-1] != ']' {
		return nil, false
	}
	tail, ok := p.scanUnixTail(l, 2, false)
	// NetWare aligns its name column: the spaces after the date are
	// padding, not part of the name ("Jan 16 18:53    name").
	name := strings.TrimLeft(tail.name, " \t")
	if !ok || name == "" {
		return nil, false
	}
	return &Entry{Name: name, Type: typ, Size: tail.size, ModTime: tail.time}, true
}

// unixModeType checks the mode field of an ls line ("drwxr-xr-x", with an
// optional ACL "+", macOS "@" or SELinux "." after it, or Connect:Enterprise's
// "-C--E-----FTP") and returns the entry type it gives, and whether the size
// column may hold "major, minor" instead (block and character devices).
func unixModeType(mode string) (typ EntryType, devices, ok bool) {
	if isEnterpriseMode(mode) {
		return EntryFile, false, true
	}
	if len(mode) == 9 {
		// StingRay FTP Server leaves out the type letter: "rw-rw-rw-".
		if !isUnixPermissions(mode) {
			return 0, false, false
		}
		return EntryFile, false, true
	}
	if len(mode) < 10 || !isUnixPermissions(mode[1:10]) || !isUnixModeSuffix(mode[10:]) {
		return 0, false, false
	}
	switch mode[0] {
	case '-', 'f':
		return EntryFile, false, true
	case 'd':
		return EntryDir, false, true
	case 'l':
		return EntryLink, false, true
	case 'b', 'c':
		return EntryOther, true, true
	case 'p', 's', 'D', 'n':
		// FIFO, socket, Solaris door, HP-UX network special file.
		return EntryOther, false, true
	}
	return 0, false, false
}

// isUnixPermissions reports whether s is the nine permission letters of a
// mode, "rwxr-x---".
func isUnixPermissions(s string) bool {
	if len(s) != 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '-', 'r', 'w', 'x', 's', 'S', 't', 'T', 'l', 'L':
		default:
			return false
		}
	}
	return true
}

// isUnixModeSuffix reports whether s may follow the ten letters of a mode
// in its field: nothing, an ACL "+", a macOS "@" or an SELinux "."; a link
// count too wide for its column runs into the mode, after the mark or not
// ("drwxr-x---+1464", Commons Net testNoSpacesBeforeFileSize).
func isUnixModeSuffix(s string) bool {
	if s == "" {
		return true
	}
	if c := s[0]; c == '+' || c == '@' || c == '.' {
		s = s[1:]
		if s == "" {
			return true
		}
	}
	return isListDigits(s)
}

// isEnterpriseMode reports whether mode is the mode field of Sterling
// Connect:Enterprise ("-C--E-----FTP"): ten flag letters or dashes, then
// the protocol name.
func isEnterpriseMode(mode string) bool {
	if len(mode) != 13 || !strings.HasSuffix(mode, "FTP") {
		return false
	}
	for i := range 10 {
		if c := mode[i]; c != '-' && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// lsAligned reports whether the size in field col is followed by exactly
// one space, as ls prints it.
func lsAligned(l *listLine, col int) bool {
	end := l.f[col].end
	return end+1 < len(l.s) && l.s[end] == ' ' && !isListSpace(l.s[end+1])
}

// unixTail is what follows the owner and group of an ls line.
type unixTail struct {
	sizeCol int   // index of the size field
	size    int64 // -1 for devices
	device  bool
	time    time.Time
	name    string
}

// scanUnixTail finds, from field from on, the leftmost field that is a size
// followed by a date, and returns them with the name after the date.
// devices allows "major, minor" and "major,minor" in place of the size.
func (p *listParser) scanUnixTail(l *listLine, from int, devices bool) (unixTail, bool) {
	for i := from; i < l.n; i++ {
		size, dateCol, device, ok := unixSize(l, i, devices)
		if !ok {
			continue
		}
		t, name, ok := p.unixDate(l, dateCol)
		if !ok {
			continue
		}
		return unixTail{sizeCol: i, size: size, device: device, time: t, name: name}, true
	}
	return unixTail{}, false
}

// scanUnixGluedSize is scanUnixTail for the column-aligned listings in
// which a long group name runs into the size, "longgroup123456 Feb 12
// 17:20" (FileZilla's 46-unix-concatsize): a field from the third on that
// ends in digits after a letter, followed by a date. The digits are the
// size.
func (p *listParser) scanUnixGluedSize(l *listLine) (unixTail, bool) {
	for i := 2; i < l.n; i++ {
		f := l.field(i)
		j := len(f)
		for j > 0 && f[j-1] >= '0' && f[j-1] <= '9' {
			j--
		}
		if j == 0 || j == len(f) || !isListLetter(f[j-1]) {
			continue
		}
		size, ok := parseListUint(f[j:])
		if !ok {
			continue
		}
		t, name, ok := p.unixDate(l, i+1)
		if !ok {
			continue
		}
		return unixTail{sizeCol: i, size: size, time: t, name: name}, true
	}
	return unixTail{}, false
}

// unixDateless reads an ls line without a date, as FileZilla's
// 71-unix-dateless: "drwxr-xr-x 3 slopri devlab 512 name", exactly links,
// owner, group and size before the name. A name that starts like a date
// ("2001-04-27 x", "Dec 02  209 pub") means a date this parser does not
// know, not a missing one.
func unixDateless(l *listLine) (unixTail, bool) {
	if l.n < 6 || !isListDigits(l.field(1)) {
		return unixTail{}, false
	}
	size, ok := parseListUint(l.field(4))
	if !ok {
		return unixTail{}, false
	}
	first := l.field(5)
	if _, _, _, ok := splitListDate(first); ok || isListDigits(first) || digitsThenNonASCII(first) {
		// "2001-04-27 x", "3月  2 15:13 x", "2024年1月6日 x": a date
		// this parser does not know.
		return unixTail{}, false
	}
	if _, ok := parseListMonth(first); ok || looksLikeListDate(l, 6) {
		// "Dec 02  209 pub", "Jam  4 00:03 zziplib": a word where the
		// month goes, then a day and a time or year.
		return unixTail{}, false
	}
	return unixTail{sizeCol: 4, size: size, name: l.afterOneSpace(4)}, true
}

// looksLikeListDate reports whether fields k and k+1 are a day of one or
// two digits and a time or a year, the tail of an ls date.
func looksLikeListDate(l *listLine, k int) bool {
	day := l.field(k)
	if !isListDigits(strings.TrimSuffix(day, ".")) || len(day) > 3 {
		return false
	}
	f := l.field(k + 1)
	_, _, _, clock := parseListClock(f)
	return clock || len(f) >= 3 && len(f) <= 4 && isListDigits(f)
}

// digitsThenNonASCII reports whether s starts with digits followed by a
// byte outside ASCII, as a CJK date does in any encoding ("3月"), or by a
// dot, as Czech and Finnish dates do ("26.\u00a0lis", "26.11.").
func digitsThenNonASCII(s string) bool {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i > 0 && i < len(s) && (s[i] >= utf8.RuneSelf || s[i] == '.')
}

// isListLetter reports whether c is an ASCII letter.
func isListLetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// unixSize parses the size in field i and returns the index of the field
// after it.
func unixSize(l *listLine, i int, devices bool) (size int64, next int, device, ok bool) {
	f := l.field(i)
	if devices {
		if major, ok := strings.CutSuffix(f, ","); ok {
			if isListDigits(major) && isListDigits(l.field(i+1)) {
				return -1, i + 2, true, true
			}
		}
		if major, minor, found := strings.Cut(f, ","); found && isListDigits(major) && isListDigits(minor) {
			return -1, i + 1, true, true
		}
	}
	if f == "" || f[0] < '0' || f[0] > '9' {
		return 0, 0, false, false
	}
	if f == "18446744073709551615" {
		// (uint64)-1: a server's "unknown" printed unsigned (seen in a
		// NetPresenz-like listing, jlaffaye/ftp's VIDEO_TS.VOB).
		return -1, i + 1, false, true
	}
	size, ok = parseListHumanSize(f)
	return size, i + 1, false, ok
}

// unixDate parses the date of an ls line starting at field j and returns it
// with the name that follows. It knows
//
//	Mar 17 11:07 / Jan 22  2001    the classic; the year stands for the time
//	Oct 08, 2002 09:47             VShell
//	29 Jul 02:27 / 01 oct 2004     day before month (European locales)
//	3 29 03:26                     numeric month and day
//	2005-03-02 18:06[:05[.123] +0100]   --time-style=long-iso and full-iso
//	1999/10/12 17:12 / 2004.07.15  other numeric dates, time optional
//	2005년 1월 6일 / 1月 6日 12:00   Korean, Chinese and Japanese locales
//	26. Juli, 20:10 / 30. Jan., 12:40  German, with commas
//	09-26 2000 / 09-26 13:45       numeric month-day, then the year or time
//	24-04-2003 17:12 / 01-jun-99   numeric day-month-year, and with a month name
//
// After the classic forms, whose time or year ls pads to five columns, the
// name starts after exactly one space, so a name's own leading spaces are
// kept; after the others all spaces are skipped.
func (p *listParser) unixDate(l *listLine, j int) (time.Time, string, bool) {
	f := l.field(j)
	if f == "" || len(f) > 2 && isListDigits(f) {
		// Every form below that starts with digits has a separator or
		// a unit in its first field, or is a day of one or two digits:
		// this is the owner, group or size column, not a date.
		return time.Time{}, "", false
	}
	if m, ok := parseListMonth(f); ok {
		return p.unixMonthFirst(l, j, m)
	}
	if f[0] < '0' || f[0] > '9' {
		// Every other form starts with a digit: a name that is not a
		// month is the owner or group column.
		return time.Time{}, "", false
	}
	if day, dot := strings.CutSuffix(f, "."); isListDigits(day) && len(day) <= 2 {
		d, _ := parseListInt(day)
		if m, ok := parseListMonth(l.field(j + 1)); ok {
			t, name, ok := p.unixTimeOrYear(l, j+2, m, d) // "29 Jul", "3. Okt"
			if dot && len(l.field(j+2)) == 4 {
				// German ls pads the year to the width of the time:
				// " 6. Jan 2024  name".
				name = strings.TrimPrefix(name, " ")
			}
			return t, name, ok
		}
		if dot {
			return time.Time{}, "", false
		}
		day := l.field(j + 1)
		if isListDigits(day) && len(day) <= 2 {
			d2, _ := parseListInt(day)
			h, mi, _, ok := parseListClock(l.field(j + 2))
			if !ok || len(l.field(j+2)) > 5 {
				return time.Time{}, "", false
			}
			t, ok := p.yearless(d, d2, h, mi)
			return t, l.afterOneSpace(j + 2), ok
		}
		return time.Time{}, "", false
	}
	if len(f) == 10 && (f[4] == '-' || f[4] == '/' || f[4] == '.') && f[7] == f[4] {
		return p.unixNumericDate(l, j)
	}
	if y, m, d, ok := parseListDayMonYear(f); ok {
		// "01-jun-99" (FileZilla's 47_unix_shortdatemonth).
		return p.unixDateThenTime(l, j, y, m, d)
	}
	if a, b, c, ok := splitListDate(f); ok && len(c) == 4 {
		// "24-04-2003 17:12": day first when the first number cannot
		// be a month or the separator is a dot, else month first.
		y, _ := parseListInt(c)
		m, _ := parseListInt(a)
		d, _ := parseListInt(b)
		if m > 12 || f[len(a)] == '.' {
			m, d = d, m
		}
		return p.unixDateThenTime(l, j, y, m, d)
	}
	if len(f) == 5 && f[2] == '-' && isListDigits(f[:2]) && isListDigits(f[3:]) {
		// "09-26 2000", "09-26 13:45": month and day, then the year or
		// the time as in the classic form.
		m, _ := parseListInt(f[:2])
		d, _ := parseListInt(f[3:])
		return p.unixTimeOrYear(l, j+1, m, d)
	}
	return p.unixCJKDate(l, j)
}

// unixDateThenTime finishes a date y-m-d in field j, which an optional
// time may follow; the name is the rest after them.
func (p *listParser) unixDateThenTime(l *listLine, j, y, m, d int) (time.Time, string, bool) {
	last, h, mi, s := j, 0, 0, 0
	if hh, mm, ss, ok := parseListClock(l.field(j + 1)); ok {
		last, h, mi, s = j+1, hh, mm, ss
	}
	t, ok := p.date(y, m, d, h, mi, s)
	return t, l.rest(last + 1), ok
}

// unixMonthFirst parses "Mon DD HH:MM", "Mon DD YYYY" and VShell's
// "Mon DD, YYYY HH:MM" whose month m is field j.
func (p *listParser) unixMonthFirst(l *listLine, j, m int) (time.Time, string, bool) {
	day, comma := strings.CutSuffix(l.field(j+1), ",")
	if !isListDigits(day) || len(day) > 2 {
		return time.Time{}, "", false
	}
	d, _ := parseListInt(day)
	if !comma {
		return p.unixTimeOrYear(l, j+2, m, d)
	}
	y, ok := parseListYear(l.field(j + 2))
	if !ok {
		return time.Time{}, "", false
	}
	last, h, mi := j+2, 0, 0
	if hh, mm, _, ok := parseListClock(l.field(j + 3)); ok {
		last, h, mi = j+3, hh, mm
	}
	t, ok := p.date(y, m, d, h, mi, 0)
	return t, l.afterOneSpace(last), ok
}

// unixTimeOrYear parses field k of a classic date, which is either the time
// ("11:07", " 5:12") of a date within the last six months, or a year.
func (p *listParser) unixTimeOrYear(l *listLine, k, m, d int) (time.Time, string, bool) {
	f := l.field(k)
	if y, ok := parseListYear(f); ok {
		t, ok := p.date(y, m, d, 0, 0, 0)
		return t, l.afterOneSpace(k), ok
	}
	h, mi, _, ok := parseListClock(f)
	if !ok || len(f) > 5 {
		return time.Time{}, "", false
	}
	t, ok := p.yearless(m, d, h, mi)
	return t, l.afterOneSpace(k), ok
}

// unixNumericDate parses "YYYY-MM-DD HH:MM[:SS[.frac]] [±hhmm]" (GNU ls
// long-iso and full-iso; the time is required, as Commons Net does), and
// "YYYY/MM/DD" and "YYYY.MM.DD" with an optional time.
func (p *listParser) unixNumericDate(l *listLine, j int) (time.Time, string, bool) {
	f := l.field(j)
	y, ok1 := parseListYear(f[:4])
	m, ok2 := parseListInt(f[5:7])
	d, ok3 := parseListInt(f[8:])
	if !ok1 || !ok2 || !ok3 || !isListDigits(f[5:7]) || !isListDigits(f[8:]) {
		return time.Time{}, "", false
	}
	last, h, mi, s := j, 0, 0, 0
	if hh, mm, ss, ok := parseListClock(l.field(j + 1)); ok {
		last, h, mi, s = j+1, hh, mm, ss
	} else if f[4] == '-' {
		// Polish ls prints old dates as "2024-01-06 " (padded to the
		// width of the time): two spaces, then the name. With one
		// space the date is too ambiguous to take.
		end := l.f[j].end
		if end+2 >= len(l.s) || l.s[end+1] != ' ' {
			return time.Time{}, "", false
		}
		t, ok := p.date(y, m, d, 0, 0, 0)
		return t, l.s[end+2:], ok
	}
	t, ok := p.date(y, m, d, h, mi, s)
	if !ok {
		return time.Time{}, "", false
	}
	if last == j+1 {
		if zone, ok := parseListZone(l.field(j + 2)); ok {
			t = time.Date(y, time.Month(m), d, h, mi, s, 0, zone)
			last = j + 2
		}
	}
	return t, l.rest(last + 1), true
}

// parseListZone parses a numeric zone such as "+0100" or "-0530".
func parseListZone(s string) (*time.Location, bool) {
	if len(s) != 5 || (s[0] != '+' && s[0] != '-') || !isListDigits(s[1:]) {
		return nil, false
	}
	h, _ := parseListInt(s[1:3])
	m, _ := parseListInt(s[3:])
	if h > 14 || m > 59 {
		return nil, false
	}
	off := h*3600 + m*60
	if s[0] == '-' {
		off = -off
	}
	return time.FixedZone("", off), true
}

// unixCJKDate parses the dates of Chinese, Japanese and Korean locales,
// as GNU ls prints them with and without its translated formats (real
// captures in testdata/ls-locales):
//
//	11月26日 15:13 / 2024年 1月 6日    zh_CN (coreutils 9.1 translation)
//	11월 26일  15:13 / 2024년  1월  6일  ko_KR
//	11月 26 15:13 / 1月  6  2024      ja_JP, zh_TW, and zh_CN and ko_KR without the translation
//	1月 6日 12:00 / 1月 6日 2005年 / 2024年1月6日   other servers
//
// The units are matched as bytes, in UTF-8 and in the legacy encodings of
// these locales (see cjkUnit), so a GBK or Shift_JIS listing parses as
// well. The name starts after exactly one space.
func (p *listParser) unixCJKDate(l *listLine, j int) (time.Time, string, bool) {
	var ymd [3]int // year, month, day; 0 when not given
	k := j
	for ; k < l.n && k < j+3; k++ {
		if !cjkPieces(l.field(k), &ymd) {
			break
		}
	}
	y, m, d := ymd[0], ymd[1], ymd[2]
	if k == j || m == 0 {
		return time.Time{}, "", false
	}
	if d == 0 {
		// "11月 26 15:13": the day is a bare number.
		day := l.field(k)
		if !isListDigits(day) || len(day) > 2 || y != 0 {
			return time.Time{}, "", false
		}
		d, _ = parseListInt(day)
		k++
	}
	if y != 0 {
		t, ok := p.date(y, m, d, 0, 0, 0)
		return t, l.afterOneSpace(k - 1), ok
	}
	if y, ok := cjkYear(l.field(k)); ok {
		t, ok := p.date(y, m, d, 0, 0, 0)
		return t, l.afterOneSpace(k), ok
	}
	f := l.field(k)
	h, mi, _, ok := parseListClock(f)
	if !ok || len(f) > 5 {
		return time.Time{}, "", false
	}
	t, ok := p.yearless(m, d, h, mi)
	return t, l.afterOneSpace(k), ok
}

// cjkYear parses the year that follows a CJK month and day: "2005" or
// "2005年".
func cjkYear(f string) (int, bool) {
	if y, ok := parseListYear(f); ok {
		return y, true
	}
	var ymd [3]int
	if !cjkPieces(f, &ymd) || ymd[0] == 0 || ymd[1] != 0 || ymd[2] != 0 {
		return 0, false
	}
	return ymd[0], true
}

// cjkPieces parses a field made of numbers each followed by a CJK unit,
// "2024年1月6日", "11月26日" or "6일", into ymd (year, month, day), in
// that order and each once, after the units ymd already holds. It reports
// false for anything else.
func cjkPieces(f string, ymd *[3]int) bool {
	if f == "" || f[0] < '0' || f[0] > '9' || f[len(f)-1] < utf8.RuneSelf && !strings.HasSuffix(f, "\xa6\x7e") {
		return false // every piece starts with a digit and ends in a unit (Big5 年 ends in '~')
	}
	for f != "" {
		i := 0
		for i < len(f) && i < 4 && f[i] >= '0' && f[i] <= '9' {
			i++
		}
		if i == 0 {
			return false
		}
		unit, n := cjkUnit(f[i:])
		if n == 0 || ymd[2] != 0 || unit < 2 && ymd[1] != 0 || unit == 0 && ymd[0] != 0 {
			return false // no unit, or not after the units already read
		}
		v, _ := parseListInt(f[:i])
		if unit == 0 && i != 4 || unit > 0 && (i > 2 || v == 0) {
			return false
		}
		ymd[unit] = v
		f = f[i+n:]
	}
	return true
}

// cjkUnit reports which date unit s starts with, 0 for the year, 1 for the
// month and 2 for the day, and its length in bytes (0 for none): 年 月 日
// and Korean 년 월 일 in UTF-8, and the same characters in GBK/GB18030,
// Big5, Shift_JIS, EUC-JP and EUC-KR (each checked with iconv; all fifteen
// legacy pairs differ, so one table serves every encoding).
func cjkUnit(s string) (unit, n int) {
	if len(s) >= 3 {
		switch s[:3] {
		case "年", "년":
			return 0, 3
		case "月", "월":
			return 1, 3
		case "日", "일":
			return 2, 3
		}
	}
	if len(s) >= 2 {
		switch s[:2] {
		case "\xc4\xea", "\xa6\x7e", "\x94\x4e", "\xc7\xaf", "\xb3\xe2": // 年 년: GBK, Big5, Shift_JIS, EUC-JP, EUC-KR
			return 0, 2
		case "\xd4\xc2", "\xa4\xeb", "\x8c\x8e", "\xb7\xee", "\xbf\xf9": // 月 월
			return 1, 2
		case "\xc8\xd5", "\xa4\xe9", "\x93\xfa", "\xc6\xfc", "\xc0\xcf": // 日 일
			return 2, 2
		}
	}
	return 0, 0
}

// isListDigits reports whether s is a non-empty string of ASCII digits.
func isListDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
