package ftp

import (
	"strings"
	"time"
)

// This file parses the formats of less common servers, each recognised by
// the exact shape of its line.

// parseListEPLF parses the Easily Parsed LIST Format of D. J. Bernstein's
// publicfile and anonftpd (cr.yp.to/ftp/list/eplf.html): '+', facts
// separated by ',', a TAB, and the name.
//
//	+i8388621.48594,m825718503,r,s280,	djb.html
//
// The facts used: '/' (a directory: CWD works), 'r' (a file: RETR works),
// "s" size, "m" modification time in Unix seconds.
func parseListEPLF(p *listParser, l *listLine) (*Entry, bool) {
	if len(l.s) < 2 || l.s[0] != '+' {
		return nil, false
	}
	facts, name, found := strings.Cut(l.s[1:], "\t")
	if !found || name == "" {
		return nil, false
	}
	e := &Entry{Type: EntryOther, Size: -1, Name: name}
	retr := false
	for facts != "" {
		var f string
		f, facts, _ = strings.Cut(facts, ",")
		if f == "" {
			continue
		}
		switch f[0] {
		case '/':
			e.Type = EntryDir
		case 'r':
			retr = true
		case 's':
			if n, ok := parseListUint(f[1:]); ok {
				e.Size = n
			}
		case 'm':
			if n, ok := parseListUint(f[1:]); ok {
				e.ModTime = time.Unix(n, 0).UTC()
			}
		}
	}
	if retr && e.Type == EntryOther {
		e.Type = EntryFile
	}
	return e, true
}

// parseListUnixNumeric parses the all-numeric listing some Unix servers
// send: octal mode, uid, gid, size, Unix time, name.
//
//	0100644   500  101   12345    123456789       20-unix-numerical file
func parseListUnixNumeric(p *listParser, l *listLine) (*Entry, bool) {
	mode := l.field(0)
	if len(mode) < 5 || len(mode) > 7 || strings.Trim(mode, "01234567") != "" {
		return nil, false
	}
	if !isListDigits(l.field(1)) || !isListDigits(l.field(2)) {
		return nil, false
	}
	size, ok1 := parseListUint(l.field(3))
	secs, ok2 := parseListUint(l.field(4))
	name := l.rest(5)
	if !ok1 || !ok2 || name == "" {
		return nil, false
	}
	var m int64
	for i := 0; i < len(mode); i++ {
		m = m<<3 | int64(mode[i]-'0')
	}
	e := &Entry{Type: EntryOther, Size: size, Name: name, ModTime: time.Unix(secs, 0).UTC()}
	switch m >> 12 & 0o17 {
	case 0o10:
		e.Type = EntryFile
	case 0o04:
		e.Type = EntryDir
	case 0o12:
		e.Type = EntryLink
	}
	return e, true
}

// parseListVShell parses the listing of old VanDyke VShell servers: size
// first, no permissions, then an ls date and the name, with a '/' after the
// name of a directory.
//
//	206876  Apr 04, 2000 21:06 21-vshell-old file
//	0  Dec 12, 2002 02:13 22-vshell-old dir/
func parseListVShell(p *listParser, l *listLine) (*Entry, bool) {
	size, ok := parseListUint(l.field(0))
	if !ok {
		return nil, false
	}
	if _, ok := parseListMonth(l.field(1)); !ok {
		return nil, false
	}
	t, name, ok := p.unixDate(l, 1)
	e := &Entry{Type: EntryFile, Size: size, Name: name, ModTime: t}
	if dir, found := strings.CutSuffix(name, "/"); found {
		// "0  Dec 12, 2002 02:13 name/": a directory.
		e.Type, e.Name = EntryDir, dir
	}
	if !ok || e.Name == "" {
		return nil, false
	}
	return e, true
}

// parseListNonStop parses the listing of HP NonStop (Tandem Guardian)
// servers: name, file code, size, date, time, owner "group,user" and the
// security string in quotes.
//
//	57-HP_NonStop 101 528 6-Apr-07 14:21:18 255, 0 "oooo"
func parseListNonStop(p *listParser, l *listLine) (*Entry, bool) {
	if l.n < 7 || l.n > 8 || l.more {
		return nil, false
	}
	sec := l.field(l.n - 1)
	if len(sec) < 2 || sec[0] != '"' || sec[len(sec)-1] != '"' {
		return nil, false
	}
	if !isListDigits(l.field(1)) {
		return nil, false
	}
	size, ok := parseListUint(l.field(2))
	if !ok {
		return nil, false
	}
	y, m, d, ok := parseListDayMonYear(l.field(3))
	if !ok {
		return nil, false
	}
	h, mi, s, ok := parseListClock(l.field(4))
	if !ok {
		return nil, false
	}
	e := &Entry{Type: EntryFile, Size: size, Name: l.field(0)}
	if e.ModTime, ok = p.date(y, m, d, h, mi, s); !ok {
		return nil, false
	}
	return e, true
}

// parseListDayMonYear parses "6-Apr-07" and "2-JUN-1998".
func parseListDayMonYear(s string) (y, m, d int, ok bool) {
	day, rest, ok1 := strings.Cut(s, "-")
	mon, year, ok2 := strings.Cut(rest, "-")
	if !ok1 || !ok2 || len(day) > 2 || !isListDigits(day) || !isListDigits(year) {
		return 0, 0, 0, false
	}
	d, _ = parseListInt(day)
	if m, ok = parseListMonth(mon); !ok {
		return 0, 0, 0, false
	}
	switch len(year) {
	case 2:
		y, _ = parseListInt(year)
		y = listTwoDigitYear(y)
	case 4:
		y, _ = parseListInt(year)
	default:
		return 0, 0, 0, false
	}
	return y, m, d, true
}

// parseListOS9 parses the listing of Microware OS-9 servers: owner
// "group.user", date yy/mm/dd, time hhmm, attributes ('d' first for a
// directory), starting sector, size and name. Like FileZilla, it keeps the
// date only.
//
//	20.20 07/03/29 1026 d-ewrewr 2650 85920 51-OS-9 dir
func parseListOS9(p *listParser, l *listLine) (*Entry, bool) {
	g, u, found := strings.Cut(l.field(0), ".")
	if !found || !isListDigits(g) || !isListDigits(u) {
		return nil, false
	}
	a, b, c, ok := splitListDate(l.field(1))
	if !ok || len(a) != 2 || len(b) != 2 || len(c) != 2 || !isListDigits(l.field(2)) {
		return nil, false
	}
	attrs := l.field(3)
	if len(attrs) != 8 || strings.Trim(attrs, "dsewr-") != "" {
		return nil, false
	}
	if _, ok := parseListHex(l.field(4)); !ok {
		return nil, false
	}
	size, ok := parseListUint(l.field(5))
	name := l.rest(6)
	if !ok || name == "" {
		return nil, false
	}
	y, _ := parseListInt(a)
	m, _ := parseListInt(b)
	d, _ := parseListInt(c)
	e := &Entry{Type: EntryFile, Size: size, Name: name}
	if attrs[0] == 'd' {
		e.Type = EntryDir
	}
	if e.ModTime, ok = p.date(listTwoDigitYear(y), m, d, 0, 0, 0); !ok {
		return nil, false
	}
	return e, true
}

// parseListWfFTP parses the listing of Nortel (Bay Networks) routers'
// wfFtp: name first, size, date mm/dd/yy, weekday, time.
//
//	48-nortel-wfftp-file       1014196  06/03/04  Thur.   10:20:03
func parseListWfFTP(p *listParser, l *listLine) (*Entry, bool) {
	if !l.count(5) || !strings.HasSuffix(l.field(3), ".") {
		return nil, false
	}
	size, ok := parseListUint(l.field(1))
	if !ok {
		return nil, false
	}
	a, b, c, ok := splitListDate(l.field(2))
	if !ok || len(c) != 2 {
		return nil, false
	}
	h, mi, s, ok := parseListClock(l.field(4))
	if !ok {
		return nil, false
	}
	m, _ := parseListInt(a)
	d, _ := parseListInt(b)
	y, _ := parseListInt(c)
	e := &Entry{Type: EntryFile, Size: size, Name: l.field(0)}
	if e.ModTime, ok = p.date(listTwoDigitYear(y), m, d, h, mi, s); !ok {
		return nil, false
	}
	return e, true
}

// parseListVxWorks parses the listing of Wind River VxWorks servers (found
// in Nortel switches among others): size, date Mon-DD-YYYY, time, name,
// and "<DIR>" after the name of a directory.
//
//	2048    Feb-28-1998  05:23:30   49-nortel-vxworks dir <DIR>
func parseListVxWorks(p *listParser, l *listLine) (*Entry, bool) {
	size, ok := parseListUint(l.field(0))
	if !ok {
		return nil, false
	}
	mon, rest, ok1 := strings.Cut(l.field(1), "-")
	day, year, ok2 := strings.Cut(rest, "-")
	if !ok1 || !ok2 || !isListDigits(day) || len(day) > 2 {
		return nil, false
	}
	m, ok1 := parseListMonth(mon)
	y, ok2 := parseListYear(year)
	h, mi, s, ok3 := parseListClock(l.field(2))
	if !ok1 || !ok2 || !ok3 {
		return nil, false
	}
	d, _ := parseListInt(day)
	e := &Entry{Type: EntryFile, Size: size, Name: l.rest(3)}
	if name, ok := strings.CutSuffix(e.Name, "<DIR>"); ok {
		e.Type = EntryDir
		e.Name = strings.TrimRight(name, " \t")
	}
	if e.ModTime, ok = p.date(y, m, d, h, mi, s); !ok || e.Name == "" {
		return nil, false
	}
	return e, true
}

// parseListMLSx accepts MLSD lines in a LIST reply, which a few servers
// send. Only lines with a type fact are taken, so that a name holding '='
// is not mistaken for facts. The cdir and pdir entries are skipped.
func parseListMLSx(p *listParser, l *listLine) (*Entry, bool) {
	if !strings.Contains(l.field(0), "=") {
		return nil, false
	}
	e, err := parseMLSxLine(l.s)
	if err != nil {
		return nil, false
	}
	if _, ok := e.Facts["type"]; !ok {
		return nil, false
	}
	if mlsxIsSelfOrParent(e) {
		return nil, true
	}
	return e, true
}
