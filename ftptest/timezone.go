package ftptest

import "time"

// WithListLocation makes LIST print times in loc, as a server that formats
// its listing in its own local time does (vsftpd's use_localtime=YES, or
// any server whose ls runs under TZ=Asia/Shanghai), while MDTM and MLSD
// stay in UTC as RFC 3659 requires. Pair it with [WithoutMLSD] to make a
// server whose only listing times are local ones.
func WithListLocation(loc *time.Location) ServerOption {
	return func(c *config) { c.listLocation = loc }
}

// inListZone returns entries, and now, with their times moved so that
// listLines, which prints times in UTC, prints the wall clock of the
// WithListLocation zone. The entries are copies: the file system is not
// touched.
func (s *session) inListZone(entries []entry, now time.Time) ([]entry, time.Time) {
	loc := s.cfg.listLocation
	if loc == nil {
		return entries, now
	}
	out := make([]entry, len(entries))
	for i, e := range entries {
		_, off := e.mod.In(loc).Zone()
		e.mod = e.mod.Add(time.Duration(off) * time.Second)
		out[i] = e
	}
	_, off := now.In(loc).Zone()
	return out, now.Add(time.Duration(off) * time.Second)
}
