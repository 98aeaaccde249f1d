package ftp

import "strings"

// parseListDOS parses the MS-DOS style listing of Microsoft IIS (its
// default "MS-DOS" directory listing style) and of other Windows servers:
//
//	05-26-95  10:57AM               143712 $LDR$
//	12-05-96  17:03         <DIR>          absoft2        24-hour clock
//	2002-09-02  18:48       <DIR>          name           IIS FourDigitYears, ISO order
//	04-08-14  03:09PM  1,234,567 bigfile.bin              grouped thousands
//	01/02/2020  10:00 AM    <SYMLINKD>     docs [C:\docs]    Windows "dir" output
//
// The date is month first (IIS does not follow the locale); a first field
// over 12 is not guessed to be a day. The name is the rest of the line.
func parseListDOS(p *listParser, l *listLine) (*Entry, bool) {
	y, m, d, ok := parseDOSDate(l.field(0))
	if !ok {
		return nil, false
	}
	h, mi, next, ok := parseDOSTime(l, 1)
	if !ok {
		return nil, false
	}
	e := &Entry{Type: EntryFile, Size: -1, Name: l.rest(next + 1)}
	switch f := l.field(next); {
	case strings.EqualFold(f, "<DIR>"):
		e.Type = EntryDir
	case strings.EqualFold(f, "<SYMLINK>"), strings.EqualFold(f, "<SYMLINKD>"), strings.EqualFold(f, "<JUNCTION>"):
		// Windows "dir" output, served as is by some servers:
		// "name [target]".
		e.Type = EntryLink
		if n, t, ok := strings.Cut(e.Name, " ["); ok && strings.HasSuffix(t, "]") {
			e.Name, e.Target = n, t[:len(t)-1]
		}
	default:
		if e.Size, ok = parseListGroupedSize(f); !ok {
			return nil, false
		}
	}
	if e.ModTime, ok = p.date(y, m, d, h, mi, 0); !ok || e.Name == "" {
		return nil, false
	}
	return e, true
}

// parseDOSDate parses "MM-DD-YY", "MM-DD-YYYY" and "YYYY-MM-DD", with '-'
// or '/' between the numbers.
func parseDOSDate(s string) (y, m, d int, ok bool) {
	a, b, c, ok := splitListDate(s)
	if !ok {
		return 0, 0, 0, false
	}
	if len(a) == 4 {
		y, _ = parseListInt(a)
		m, _ = parseListInt(b)
		d, _ = parseListInt(c)
		return y, m, d, len(b) <= 2 && len(c) <= 2
	}
	if len(a) > 2 || len(b) > 2 || (len(c) != 2 && len(c) != 4) {
		return 0, 0, 0, false
	}
	m, _ = parseListInt(a)
	d, _ = parseListInt(b)
	y, _ = parseListInt(c)
	if len(c) == 2 {
		y = listTwoDigitYear(y)
	}
	return y, m, d, m >= 1 && m <= 12
}

// parseDOSTime parses the time in field i: "10:57AM", "10:57 PM" or
// "17:03", and returns the index of the field after it.
func parseDOSTime(l *listLine, i int) (hour, min, next int, ok bool) {
	f := l.field(i)
	next = i + 1
	ampm := ""
	if n := len(f); n > 2 && (strings.EqualFold(f[n-2:], "AM") || strings.EqualFold(f[n-2:], "PM")) {
		f, ampm = f[:n-2], f[n-2:]
	} else if a := l.field(next); strings.EqualFold(a, "AM") || strings.EqualFold(a, "PM") {
		ampm = a
		next++
	}
	hour, min, _, ok = parseListClock(f)
	if !ok {
		return 0, 0, 0, false
	}
	if ampm != "" {
		if hour < 1 || hour > 12 {
			return 0, 0, 0, false
		}
		hour %= 12
		if ampm[0] == 'P' || ampm[0] == 'p' {
			hour += 12
		}
	}
	return hour, min, next, true
}

// splitListDate splits a numeric date such as "05-26-95", "2004/06/23" or
// "15.07.2004" into its three numbers, which must be digits and separated
// twice by the same '-', '/' or '.'.
func splitListDate(s string) (a, b, c string, ok bool) {
	i := strings.IndexAny(s, "-/.")
	if i < 0 {
		return "", "", "", false
	}
	a, rest := s[:i], s[i+1:]
	b, c, found := strings.Cut(rest, s[i:i+1])
	if !found || !isListDigits(a) || !isListDigits(b) || !isListDigits(c) {
		return "", "", "", false
	}
	return a, b, c, true
}

// parseListOS2 parses the listing of IBM OS/2 FTP servers: the size, the
// attribute letters (DIR for a directory), a month-first date, the time,
// and the name.
//
//	   0           DIR   05-12-97   16:52  Maintenance Desktop
//	1234      A          05-30-97   13:24  name
//	36611      A    04-23-103  10:57  name      the year since 1900
func parseListOS2(p *listParser, l *listLine) (*Entry, bool) {
	size, ok := parseListUint(l.field(0))
	if !ok {
		return nil, false
	}
	e := &Entry{Type: EntryFile, Size: size}
	i := 1
	for ; i < 5; i++ {
		f := l.field(i)
		if f == "DIR" {
			e.Type = EntryDir
		} else if !isOS2Attributes(f) {
			break
		}
	}
	y, m, d, ok := parseOS2Date(l.field(i))
	if !ok {
		return nil, false
	}
	h, mi, _, ok := parseListClock(l.field(i + 1))
	if !ok {
		return nil, false
	}
	e.Name = l.rest(i + 2)
	if e.ModTime, ok = p.date(y, m, d, h, mi, 0); !ok || e.Name == "" {
		return nil, false
	}
	return e, true
}

// parseOS2Date parses the MM-DD-YY date of an OS/2 listing. Servers that
// are not Y2K aware print the years since 1900, "04-23-103" for 2003
// (FileZilla's 24-os2 to 27-os2).
func parseOS2Date(s string) (y, m, d int, ok bool) {
	if len(s) == 8 {
		return parseDOSDate(s)
	}
	a, b, c, ok := splitListDate(s)
	if !ok || len(a) != 2 || len(b) != 2 || len(c) != 3 || c[0] != '1' {
		return 0, 0, 0, false
	}
	m, _ = parseListInt(a)
	d, _ = parseListInt(b)
	y, _ = parseListInt(c)
	return 1900 + y, m, d, true
}

// isOS2Attributes reports whether s is a group of OS/2 file attribute
// letters: Archive, Hidden, Read-only, System.
func isOS2Attributes(s string) bool {
	if s == "" || len(s) > 4 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune("AHRS", rune(s[i])) {
			return false
		}
	}
	return true
}
