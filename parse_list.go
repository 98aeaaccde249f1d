package ftp

import (
	"math"
	"strings"
	"time"
)

// This file holds the LIST parser: a small state machine that takes the
// lines of a listing one at a time, finds the format of each line, and
// remembers the format that worked last so that it is tried first on the
// next line. Each format has its own parser (parse_unix.go, parse_dos.go,
// parse_vms.go, parse_ibm.go, parse_other.go); the helpers they share live
// at the end of this file.
//
// The rule the parser keeps: every line that is not blank ends up as an
// entry, as a deliberate skip (a "total 12" line, a VMS or MVS header, the
// "." and ".." entries, an older version of a VMS file) or as an Entry of
// type EntryOther with an empty Name and the line in Raw. A line is never
// lost without a trace.

// A listFormat is one listing format. Its parse function returns the entry
// of a line, or a nil entry with ok set for a line that belongs to the
// format but names no file (a header or a total line), or ok false when the
// line is not in the format.
type listFormat struct {
	name  string
	parse func(p *listParser, l *listLine) (e *Entry, ok bool)
}

// listFormats is the order in which the detector tries the formats when
// the format of the previous line does not fit: the common ones first, then
// those whose lines are most distinctive.
var listFormats = [...]listFormat{
	{"unix", parseListUnix},
	{"dos", parseListDOS},
	{"eplf", parseListEPLF},
	{"vms", parseListVMS},
	{"netware", parseListNetWare},
	{"os2", parseListOS2},
	{"os400", parseListOS400},
	{"mvs", parseListMVSDataset},
	{"mvs-pds", parseListMVSMember},
	{"mvs-load", parseListMVSLoadModule},
	{"mvs-jes", parseListMVSJES},
	{"zvm", parseListZVM},
	{"nonstop", parseListNonStop},
	{"os9", parseListOS9},
	{"wfftp", parseListWfFTP},
	{"vxworks", parseListVxWorks},
	{"vshell", parseListVShell},
	{"unix-numeric", parseListUnixNumeric},
	{"mlsx", parseListMLSx},
}

// listParser parses the lines of one LIST reply. It is not safe for
// concurrent use; make one per listing.
type listParser struct {
	loc *time.Location // the zone of times that carry none

	// For year inference (yearless): the latest time a date without a
	// year may stand for, a day after the listing was taken, and the
	// year of the listing.
	limit time.Time
	year  int

	last     int    // index in listFormats of the format of the last entry, or -1
	lastName string // and its name

	// held is a VMS file name alone on its line, waiting for the line with
	// the rest of its entry.
	held string

	line listLine // the line being parsed, kept here to save an allocation

	// vmsSeen holds the VMS names already returned without their version,
	// so that older versions of a file are not returned again.
	vmsSeen map[string]bool

	// sawSelf is set once the listing held the "." or ".." entry, which
	// only "ls -a" of a directory lists.
	sawSelf bool
}

// newListParser returns a parser for one listing. now is the current time
// (used to find the year of "Mon DD HH:MM" dates); loc is the zone of the
// server's local times, time.UTC when nil.
func newListParser(now time.Time, loc *time.Location) *listParser {
	if loc == nil {
		loc = time.UTC
	}
	now = now.In(loc)
	return &listParser{loc: loc, limit: now.Add(24 * time.Hour), year: now.Year(), last: -1}
}

// feed parses one line of the listing, without its line terminator, and
// appends to out the entries it completes: none for a skipped line or when the line
// may be the first half of a VMS entry, one usually, two when a held VMS
// line turns out to be alone.
func (p *listParser) feed(out []*Entry, line string) []*Entry {
	line = trimEOL(line)
	if p.held != "" {
		held := p.held
		p.held = ""
		joined := held + " " + line
		p.line.split(joined)
		if e, ok := parseListVMS(p, &p.line); ok {
			if e != nil {
				e.Raw = held + "\r\n" + line
			}
			return p.keep(out, e)
		}
		out = append(out, listUnknown(held))
	}
	l := &p.line
	l.split(line)
	if l.n == 0 {
		return out // blank
	}
	if l.n == 1 && isVMSNameAlone(l.field(0)) {
		p.held = line
		return out
	}
	e, ok := p.parseLine(line)
	if !ok {
		return append(out, listUnknown(line))
	}
	return p.keep(out, e)
}

// flush appends to out what is left at the end of the listing: a VMS name
// whose second line never came, as an EntryOther.
func (p *listParser) flush(out []*Entry) []*Entry {
	if p.held == "" {
		return out
	}
	held := p.held
	p.held = ""
	return append(out, listUnknown(held))
}

// keep appends e to out unless it is to be skipped: nil (a header or
// another line a parser skips on purpose) and the "." and ".." entries.
func (p *listParser) keep(out []*Entry, e *Entry) []*Entry {
	switch {
	case e == nil:
		return out
	case e.Name == "." || e.Name == "..":
		p.sawSelf = true
		return out
	}
	return append(out, e)
}

// parseLine finds the format of line, already split into p.line, and
// parses it. A nil entry with ok set is a line to skip; ok false means no
// format understood the line.
func (p *listParser) parseLine(line string) (*Entry, bool) {
	l := &p.line
	if isListTotal(l) {
		return nil, true
	}
	if p.last >= 0 {
		if e, ok := listFormats[p.last].parse(p, l); ok {
			return p.finish(e, line)
		}
	}
	for i := range listFormats {
		if i == p.last {
			continue
		}
		if e, ok := listFormats[i].parse(p, l); ok {
			p.last, p.lastName = i, listFormats[i].name
			return p.finish(e, line)
		}
	}
	return nil, false
}

// finish sets the Raw of an entry.
func (p *listParser) finish(e *Entry, line string) (*Entry, bool) {
	if e == nil {
		return nil, true
	}
	e.Raw = line
	return e, true
}

// trimEOL returns line without the CR and LF characters at its end.
func trimEOL[T string | []byte](line T) T {
	n := len(line)
	for n > 0 && (line[n-1] == '\n' || line[n-1] == '\r') {
		n--
	}
	return line[:n]
}

// listUnknown is the entry of a line that no parser understood.
func listUnknown(line string) *Entry {
	return &Entry{Type: EntryOther, Size: -1, Raw: line}
}

// isListTotal reports whether l is the "total 1234" line of ls (also
// "total 1.2M" from ls -h), which names no file.
func isListTotal(l *listLine) bool {
	if l.n != 2 || l.more || !strings.EqualFold(l.field(0), "total") {
		return false
	}
	_, ok := parseListHumanSize(l.field(1))
	return ok
}

// maxListFields bounds the number of fields a line is split into. The
// longest real prefix seen before a name is a Cygwin group name of a dozen
// words; the rest of a long line is only ever used as a name.
const maxListFields = 40

// listSpan is a field of a line: line[start:end].
type listSpan struct{ start, end int }

// listLine is a line split at runs of spaces and tabs, without allocating.
type listLine struct {
	s    string
	f    [maxListFields]listSpan
	n    int  // fields stored in f
	more bool // the line has more fields than maxListFields
}

// split sets l to line split into fields.
func (l *listLine) split(line string) {
	l.s, l.n, l.more = line, 0, false
	i := 0
	for {
		for i < len(line) && isListSpace(line[i]) {
			i++
		}
		if i == len(line) {
			return
		}
		if l.n == maxListFields {
			l.more = true
			return
		}
		start := i
		for i < len(line) && !isListSpace(line[i]) {
			i++
		}
		l.f[l.n] = listSpan{start, i}
		l.n++
	}
}

// field returns field i, or "" past the last stored field.
func (l *listLine) field(i int) string {
	if i < 0 || i >= l.n {
		return ""
	}
	return l.s[l.f[i].start:l.f[i].end]
}

// count reports whether the line has exactly n fields.
func (l *listLine) count(n int) bool {
	return l.n == n && !l.more
}

// rest returns the line from the start of field i to its end, spaces kept:
// the name of formats where the name comes last.
func (l *listLine) rest(i int) string {
	if i < 0 || i >= l.n {
		return ""
	}
	return l.s[l.f[i].start:]
}

// afterOneSpace returns the line after field i and exactly one separator,
// the way ls prints a name: leading spaces of the name are kept. It returns
// "" when nothing follows.
func (l *listLine) afterOneSpace(i int) string {
	end := l.f[i].end
	if end+1 >= len(l.s) {
		return ""
	}
	return l.s[end+1:]
}

// isListSpace reports whether c separates the fields of a listing line.
func isListSpace(c byte) bool {
	return c == ' ' || c == '\t'
}

// parseListUint parses a non-empty string of ASCII digits. It fails on
// anything else and on values that do not fit an int64.
func parseListUint(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if i >= 18 && n > (math.MaxInt64-d)/10 {
			return 0, false // 18 digits always fit
		}
		n = n*10 + d
	}
	return n, true
}

// parseListInt is parseListUint for small fields (days, hours) as an int.
func parseListInt(s string) (int, bool) {
	if len(s) > 9 {
		return 0, false
	}
	n, ok := parseListUint(s)
	return int(n), ok
}

// parseListGroupedSize parses a size that may use ',' to group thousands,
// as IIS prints "1,234,567": with a ',' in it, every ',' must stand before
// a group of exactly three digits.
func parseListGroupedSize(s string) (int64, bool) {
	if !strings.Contains(s, ",") {
		return parseListUint(s)
	}
	if len(s)%4 == 0 {
		return 0, false // the first group would have four digits
	}
	var n int64
	for i := 0; i < len(s); i++ {
		comma := i > 0 && (len(s)-1-i)%4 == 3
		c := s[i]
		if comma {
			if c != ',' {
				return 0, false
			}
			continue
		}
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// parseListHumanSize parses a size that may carry a binary unit, as
// "ls -h" and some servers print it: "4096", "33.5k", "2KB", "1.2M". The
// result is rounded down to whole bytes: 33.5k = 335*1024/10 = 34304.
func parseListHumanSize(s string) (int64, bool) {
	if n, ok := parseListUint(s); ok {
		return n, true // plain bytes, the common case
	}
	s = strings.TrimSuffix(strings.TrimSuffix(s, "B"), "b")
	if s == "" {
		return 0, false
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		mult = 1 << 10
	case 'm', 'M':
		mult = 1 << 20
	case 'g', 'G':
		mult = 1 << 30
	case 't', 'T':
		mult = 1 << 40
	case 'p', 'P':
		mult = 1 << 50
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || hasFrac && (mult == 1 || frac == "" || len(frac) > 3) {
		return 0, false
	}
	n, ok := parseListUint(whole + frac)
	if !ok {
		return 0, false
	}
	div := int64(1)
	for range len(frac) {
		div *= 10
	}
	if n > (1<<63-1)/mult {
		return 0, false
	}
	return n * mult / div, true
}

// parseListClock parses a time of day: "H:MM", "HH:MM", "HH:MM:SS" or
// "HH:MM:SS.ff" (the fraction, as VMS prints hundredths, is dropped).
// "24:00" (ISO 8601's midnight at the end of a day, which some servers
// print) comes back as hour 24; listParser.date and yearless move it to
// 00:00 of the next day.
func parseListClock(s string) (hour, min, sec int, ok bool) {
	hh, rest, found := strings.Cut(s, ":")
	if !found || len(hh) < 1 || len(hh) > 2 {
		return 0, 0, 0, false
	}
	mm, ss, hasSec := strings.Cut(rest, ":")
	if len(mm) != 2 {
		return 0, 0, 0, false
	}
	hour, ok1 := parseListInt(hh)
	min, ok2 := parseListInt(mm)
	if !ok1 || !ok2 || hour > 24 || min > 59 {
		return 0, 0, 0, false
	}
	if hasSec {
		ss, _, _ = strings.Cut(ss, ".")
		var ok3 bool
		sec, ok3 = parseListInt(ss)
		if !ok3 || len(ss) != 2 || sec > 60 {
			return 0, 0, 0, false
		}
	}
	if hour == 24 && (min != 0 || sec != 0) {
		return 0, 0, 0, false
	}
	return hour, min, sec, true
}

// parseListYear parses a four-digit year.
func parseListYear(s string) (int, bool) {
	if len(s) != 4 {
		return 0, false
	}
	y, ok := parseListInt(s)
	return y, ok && y >= 1000
}

// listTwoDigitYear expands a two-digit year the way FileZilla and most
// servers mean it: 00-69 is 2000-2069, 70-99 is 1970-1999.
func listTwoDigitYear(y int) int {
	if y < 70 {
		return 2000 + y
	}
	return 1900 + y
}

// listDaysIn returns the number of days of month m of year y.
func listDaysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// validListDate reports whether y-m-d is a date of the calendar.
func validListDate(y, m, d int) bool {
	return m >= 1 && m <= 12 && d >= 1 && d <= listDaysIn(y, m)
}

// date returns the time y-m-d h:mi:s in the parser's zone, or false when
// the date does not exist.
func (p *listParser) date(y, m, d, h, mi, s int) (time.Time, bool) {
	if h == 24 && mi == 0 && s == 0 {
		t, ok := p.date(y, m, d, 0, 0, 0)
		return t.AddDate(0, 0, 1), ok
	}
	if !validListDate(y, m, d) || h > 23 || mi > 59 || s > 60 {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(m), d, h, mi, s, 0, p.loc), true
}

// yearless returns the time of a "Mon DD HH:MM" date, which ls prints for
// files changed within the last six months (older ones get a year instead
// of the time). The year is the current one unless that puts the date more
// than a day in the future (a day of slack for the zone difference between
// client and server); then it is the year before. This is what Apache
// Commons Net (lenient future dates) and FileZilla do. February 29 goes to
// the most recent leap year.
func (p *listParser) yearless(m, d, h, mi int) (time.Time, bool) {
	if h == 24 && mi == 0 {
		t, ok := p.yearless(m, d, 0, 0)
		return t.AddDate(0, 0, 1), ok
	}
	if m < 1 || m > 12 || d < 1 || d > 31 || h > 23 || mi > 59 {
		return time.Time{}, false
	}
	y := p.year
	for range 8 {
		if validListDate(y, m, d) {
			t := time.Date(y, time.Month(m), d, h, mi, 0, 0, p.loc)
			if !t.After(p.limit) {
				return t, true
			}
		}
		y--
	}
	return time.Time{}, false
}

// englishMonth returns the number of a lower-case English month
// abbreviation, or 0: the names nearly every listing uses, without a map
// lookup.
func englishMonth(b [3]byte) int {
	switch uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]) {
	case 'j'<<16 | 'a'<<8 | 'n':
		return 1
	case 'f'<<16 | 'e'<<8 | 'b':
		return 2
	case 'm'<<16 | 'a'<<8 | 'r':
		return 3
	case 'a'<<16 | 'p'<<8 | 'r':
		return 4
	case 'm'<<16 | 'a'<<8 | 'y':
		return 5
	case 'j'<<16 | 'u'<<8 | 'n':
		return 6
	case 'j'<<16 | 'u'<<8 | 'l':
		return 7
	case 'a'<<16 | 'u'<<8 | 'g':
		return 8
	case 's'<<16 | 'e'<<8 | 'p':
		return 9
	case 'o'<<16 | 'c'<<8 | 't':
		return 10
	case 'n'<<16 | 'o'<<8 | 'v':
		return 11
	case 'd'<<16 | 'e'<<8 | 'c':
		return 12
	}
	return 0
}

// listMonths maps month names and abbreviations, lower case, to their
// numbers: English first, then the other languages whose servers print
// localised "ls" dates (the set FileZilla recognises, in UTF-8).
var listMonths = map[string]int{
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
	"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
	"january": 1, "february": 2, "march": 3, "april": 4, "june": 6,
	"july": 7, "august": 8, "sept": 9, "september": 9, "october": 10,
	"november": 11, "december": 12,
	// German and Austrian
	"jän": 1, "mär": 3, "märz": 3, "mrz": 3, "mai": 5, "juni": 6, "juli": 7,
	"okt": 10, "dez": 12,
	// French
	"janv": 1, "févr": 2, "fév": 2, "fevr": 2, "fev": 2, "mars": 3,
	"avr": 4, "avril": 4, "juin": 6, "juil": 7, "août": 8, "aout": 8,
	"aoû": 8, "déc": 12,
	// Italian, Spanish, Portuguese
	"gen": 1, "mag": 5, "giu": 6, "lug": 7, "ago": 8, "set": 9, "ott": 10,
	"dic": 12, "ene": 1, "abr": 4, "out": 10,
	// Dutch
	"mrt": 3, "mei": 5,
	// Polish
	"sty": 1, "lut": 2, "kwi": 4, "maj": 5, "cze": 6, "lip": 7, "sie": 8,
	"wrz": 9, "paź": 10, "paz": 10, "lis": 11, "gru": 12,
	// Finnish
	"tammi": 1, "helmi": 2, "maalis": 3, "huhti": 4, "touko": 5, "kesä": 6,
	"heinä": 7, "elo": 8, "syys": 9, "loka": 10, "marras": 11, "joulu": 12,
	// Hungarian
	"febr": 2, "márc": 3, "marc": 3, "ápr": 4, "máj": 5, "jún": 6,
	"júl": 7, "szept": 9,
	// French as OpenVMS abbreviates it to three letters: JUI is juillet
	// (FileZilla's 39-vms-notime-file), juin being JUN.
	"jui": 7,
	// Russian (UTF-8)
	"янв": 1, "фев": 2, "мар": 3, "апр": 4, "май": 5, "мая": 5, "июн": 6,
	"июл": 7, "авг": 8, "сен": 9, "окт": 10, "ноя": 11, "дек": 12,
	// The abbreviations GNU ls prints (glibc's abmon, "LC_ALL=xx_XX.UTF-8
	// locale abmon", Debian 12 glibc 2.36; the captures are in
	// testdata/ls-locales) that the lists above lack: Romanian, Norwegian,
	// Turkish, Ukrainian, Czech and Greek.
	"ian": 1, "iun": 6, "iul": 7, "des": 12,
	"oca": 1, "şub": 2, "nis": 4, "haz": 6, "tem": 7, "ağu": 8, "eyl": 9,
	"eki": 10, "kas": 11, "ara": 12,
	"січ": 1, "лют": 2, "бер": 3, "кві": 4, "тра": 5, "чер": 6, "лип": 7,
	"сер": 8, "вер": 9, "жов": 10, "лис": 11, "гру": 12,
	"led": 1, "úno": 2, "bře": 3, "dub": 4, "kvě": 5, "čen": 6, "čec": 7,
	"srp": 8, "zář": 9, "říj": 10, "pro": 12,
	"ιαν": 1, "φεβ": 2, "μαρ": 3, "απρ": 4, "μαΐ": 5, "ιουν": 6, "ιουλ": 7,
	"αυγ": 8, "σεπ": 9, "οκτ": 10, "νοε": 11, "δεκ": 12,
}

// parseListMonth returns the number of a month name such as "Jan", "jan.",
// "JUN" or "Okt"; a comma after it, as German locales print "Juli," and
// "Jan.,", is dropped too.
func parseListMonth(s string) (int, bool) {
	s = strings.TrimSuffix(strings.TrimSuffix(s, ","), ".")
	if len(s) < 3 || len(s) > 12 || s[0] >= '0' && s[0] <= '9' {
		return 0, false
	}
	if len(s) == 3 && s[0] < 0x80 && s[1] < 0x80 && s[2] < 0x80 {
		// The common case, without allocating.
		var b [3]byte
		for i := range b {
			c := s[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b[i] = c
		}
		if m := englishMonth(b); m > 0 {
			return m, true
		}
		m, ok := listMonths[string(b[:])]
		return m, ok
	}
	if i, ok := listMonthPrefixIndex(s); ok && !listMonthPrefixes[i] {
		// Most longer words here are owner and group names; their first
		// two letters rule them out without the lower-casing and the
		// lookup.
		return 0, false
	}
	m, ok := listMonths[strings.ToLower(s)]
	return m, ok
}

// listMonthPrefixes marks the first two letters, as listMonthPrefixIndex
// numbers them, of the month names in listMonths that start with two
// ASCII letters.
var listMonthPrefixes = func() (set [26 * 26]bool) {
	for name := range listMonths {
		if i, ok := listMonthPrefixIndex(name); ok {
			set[i] = true
		}
	}
	return set
}()

// listMonthPrefixIndex numbers the first two letters of s, case folded,
// when both are ASCII letters.
func listMonthPrefixIndex(s string) (int, bool) {
	a, b := s[0]|0x20, s[1]|0x20 // ASCII lower case for letters
	if a < 'a' || a > 'z' || b < 'a' || b > 'z' {
		return 0, false
	}
	return int(a-'a')*26 + int(b-'a'), true
}
