package ftp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"
)

// maxListing bounds the memory one listing (NLST, LIST, MLSD) may take:
// each line is charged its bytes and what its entry costs on the heap
// (listEntryCost), so that a server that sends an endless listing, or
// millions of tiny lines, gets an error, not all of the memory. A variable
// only so that tests can lower it.
var maxListing = 256 << 20

// maxListLine bounds one line of a listing.
const maxListLine = 64 << 10

// What a line of a listing costs on the heap beyond its bytes, which the
// entries share (listing memory, in listing_safety_test.go): an Entry (104
// bytes, in the 112-byte size class) and its pointer in the slice that List returns, with the slack
// of append; for an MLSD line also its Facts map (see mlsdCost); for an
// NLST line its string header in the slice.
const (
	listEntryCost  = 136
	smallMapCost   = 336
	bigMapFactCost = 90
	nameCost       = 24
)

// ListAll says whether List, on a server without MLSD, asks for hidden
// files with "LIST -a" (see WithListAll).
type ListAll int

const (
	// ListAllDetect, the default, sends "LIST -a" and keeps it for the
	// session once a listing shows the "." and ".." entries that only a
	// server that honours -a lists (vsftpd, ProFTPD, Pure-FTPd); when the
	// server refuses "LIST -a dir" but not "LIST dir" (pyftpdlib takes
	// "-a dir" for a name), or lists a directory without them, List sends
	// plain LIST from then on.
	ListAllDetect ListAll = iota
	// ListAllOn always sends "LIST -a".
	ListAllOn
	// ListAllOff always sends plain LIST: servers such as vsftpd then
	// leave out the names that start with a dot.
	ListAllOff
)

// List returns the entries of a directory (an empty path lists the
// working directory): with MLSD (RFC 3659: exact types, sizes and UTC
// times) when the server offers it, else with LIST, whose lines are parsed
// by the format they are in (Unix, Windows/IIS, EPLF, VMS, NetWare, OS/2,
// OS/400, MVS …). Hidden files are listed: LIST is sent as "LIST -a" where
// the server honours it (WithListAll). The directory itself and its
// parent are left out. A line that no parser understands is not dropped:
// it comes back as an entry of type EntryOther with an empty Name and the
// line in Raw (and in the WithDebug trace); so does the last line of a
// listing cut short, which may be a fragment.
//
// The path is checked, not assumed to be a directory: errors.Is(err,
// fs.ErrNotExist) holds when it does not exist (also on servers such as
// vsftpd that answer LIST of a missing path with an empty listing),
// errors.Is(err, ErrNotDir) when it names a file, and a directory that
// the session may not read is an error, never an empty listing. Only a
// listing that could mean any of these (empty, a single entry named like
// the path, cut short, or a reply that says the listing failed) costs the
// round trips of a check: a CWD into the path and back (or MLST), and for
// LIST a listing from inside it.
func (c *Conn) List(ctx context.Context, path string) (entries []*Entry, err error) {
	err = c.locked(ctx, func() (err error) { entries, err = c.list(ctx, path); return err })
	return entries, err
}

// list is List for a caller that holds the lock. Every *Error it returns
// carries what the server said or a check found (Error.fact): a vague
// refusal is never left to be taken for a missing path.
func (c *Conn) list(ctx context.Context, p string) ([]*Entry, error) {
	if c.useMLSD() {
		ls := c.listMLSD(ctx, p)
		switch {
		case ls.err == nil && !ls.suspicious(p):
			return ls.entries, nil
		case ls.err == nil:
			return c.confirmMLSD(ctx, p, ls)
		case !c.tried("MLSD", ls.err):
			return nil, c.listRefused(ctx, p, ls.err)
		}
		// Advertised but not understood (seen on Serv-U), or tried
		// without FEAT: LIST from now on.
	}
	entries, err := c.listWithLIST(ctx, p)
	if err != nil {
		return nil, err
	}
	c.findZone(ctx, p, entries)
	return entries, nil
}

// listWithLIST is list on a server whose listing is LIST.
func (c *Conn) listWithLIST(ctx context.Context, p string) ([]*Entry, error) {
	if needsDetour(p) {
		return c.listInside(ctx, p, nil)
	}
	ls := c.listLIST(ctx, listArg(p))
	switch {
	case ls.err != nil:
		return nil, c.listRefused(ctx, p, ls.err)
	case ls.suspicious(p):
		return c.listInside(ctx, p, &ls)
	}
	return ls.entries, nil
}

// maxZoneOffset bounds the offset findZone accepts: the zones of the
// world run from UTC-12 to UTC+14.
const maxZoneOffset = 14 * time.Hour

// findZone finds the time zone of the server's LIST times as FileZilla
// does, once a session, unless WithLocation gave it: the LIST time of one
// file of entries (a listing of dir) whose line shows a time of day,
// against its MDTM time, which is UTC; the difference, rounded to 15
// minutes, is the offset, applied to entries and to every LIST of the
// session from then on. It costs one MDTM a session, only on a server
// that lists with LIST and offers MDTM. The caller holds the lock.
func (c *Conn) findZone(ctx context.Context, dir string, entries []*Entry) {
	if c.zone != nil || c.zoneAsked || !c.may("MDTM") {
		return
	}
	var e *Entry
	for _, x := range entries {
		if x.Type == EntryFile && x.Name != "" && showsTimeOfDay(x.ModTime) {
			e = x
			break
		}
	}
	if e == nil {
		return // dates only (or no file): the next listing may tell
	}
	c.zoneAsked = true
	name := path.Join(dir, e.Name)
	utc, err := c.modTime(ctx, name)
	if err != nil {
		c.ctl.trace("# ", fmt.Sprintf("LIST times taken as UTC: MDTM %s, to compare with its LIST time, failed: %v", name, err))
		return
	}
	off := e.ModTime.Sub(utc).Round(15 * time.Minute)
	if off < -maxZoneOffset || off > maxZoneOffset {
		c.ctl.trace("# ", fmt.Sprintf("LIST times taken as UTC: %s lists at %s, MDTM says %s, %v apart: no time zone is that far", name, e.ModTime.Format(time.DateTime), utc.Format(time.DateTime), off))
		return
	}
	c.zone = time.UTC
	if off != 0 {
		c.zone = time.FixedZone(zoneName(off), int(off/time.Second))
	}
	c.ctl.trace("# ", fmt.Sprintf("LIST times are in %s: %s lists at %s, MDTM says %s UTC", zoneName(off), name, e.ModTime.Format(time.DateTime), utc.Format(time.DateTime)))
	for _, x := range entries {
		if !x.ModTime.IsZero() {
			x.ModTime = inZone(x.ModTime, c.zone)
		}
	}
}

// showsTimeOfDay reports whether a LIST time t has a time of day, as ls
// shows for the last six months: not only a date (midnight in the zone
// it was read in). A file changed at 00:00 sharp is taken for a date.
func showsTimeOfDay(t time.Time) bool {
	return !t.IsZero() && t.Hour()+t.Minute()+t.Second() != 0
}

// inZone reads the wall clock of t (as listed) in loc instead.
func inZone(t time.Time, loc *time.Location) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
}

// zoneName names the offset off east of UTC: "UTC+08:00", "UTC-03:30".
func zoneName(off time.Duration) string {
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("UTC%c%02d:%02d", sign, int(off/time.Hour), int(off%time.Hour/time.Minute))
}

// listing is one parsed listing and what it shows of the directory.
type listing struct {
	entries []*Entry // in the directory (see inDirectory)
	self    bool     // the directory itself is listed: "." or ".." (LIST -a), or MLSD's cdir or pdir
	hidden  bool     // the listing shows dot files (MLSD, LIST -a)
	cut     bool     // the last line had no line end: the data stopped short
	failed  string   // the final reply, when it says that the listing failed
	err     error
}

// named counts the entries that have a name.
func (ls *listing) named() int {
	n := 0
	for _, e := range ls.entries {
		if e.Name != "" {
			n++
		}
	}
	return n
}

// lonely reports whether the only named entry is named base: what vsftpd
// lists for "LIST file" and for a directory it cannot read.
func (ls *listing) lonely(base string) *Entry {
	var found *Entry
	for _, e := range ls.entries {
		switch {
		case e.Name == "":
		case found != nil || e.Name != base:
			return nil
		default:
			found = e
		}
	}
	return found
}

// suspicious reports whether the listing of p could be something other
// than the directory's entries: empty (or only unparsed lines, or only
// "total 0"), a lone entry named like p, cut short, or followed by a reply
// that says the listing failed. A listing that shows the directory itself
// ("." with LIST -a, cdir in MLSD) is none of these, unless it failed or
// was cut short.
func (ls *listing) suspicious(p string) bool {
	if ls.failed != "" || ls.cut {
		return true
	}
	return !ls.self && (ls.named() == 0 || ls.lonely(pathBaseClean(p)) != nil)
}

// complete reports whether the listing can be trusted to name every entry
// of the directory (named base): it did not fail, and it lists the
// directory itself or entries that are not just a lone one named like the
// directory.
func (ls *listing) complete(base string) bool {
	if ls.failed != "" || ls.cut {
		return false
	}
	return ls.self || ls.named() > 0 && ls.lonely(base) == nil
}

// pathBaseClean returns the last element of p, trailing slashes ignored.
func pathBaseClean(p string) string {
	return path.Base(strings.TrimRight(p, "/"))
}

// listArg returns p as the argument of LIST or NLST: vsftpd reads any
// argument that starts with '-' as ls options, so "-x" goes as "./-x".
func listArg(p string) string {
	if strings.HasPrefix(p, "-") {
		return "./" + p
	}
	return p
}

// needsDetour reports whether LIST of p is sent from inside p (CWD p,
// LIST, CWD back) instead: Pure-FTPd runs LIST's argument through its
// glob and splits it at spaces, so that "LIST my dir" lists nothing (or
// "my" and "dir"). MLSD takes its argument as a name and needs none.
func needsDetour(p string) bool {
	return strings.ContainsAny(p, " \t*?[]{}") || strings.HasPrefix(p, "~")
}

// listRefused explains a refused listing command. A reply that gives its
// reason is taken at its word; a vague one ("550 Can't check for file
// existence", pyftpdlib's "501 No such directory" for a file as for a
// missing path) is checked with probe.
func (c *Conn) listRefused(ctx context.Context, p string, err error) error {
	var ferr *Error
	if !errors.As(err, &ferr) {
		return err
	}
	if fact := said(ferr.Msg); fact == fs.ErrNotExist || fact == fs.ErrPermission || fact == ErrNotDir {
		return withFact(err, fact, "")
	}
	pr, perr := c.probe(ctx, p, refusals{}, 0)
	if perr != nil {
		withFact(err, errUnsure, "")
		return errorf("%w; checking what is there failed: %w", err, perr)
	}
	fact, note := pr.listFact(), pr.how()
	if fact == errThere {
		note = "it is there, and cannot be listed: " + note
	}
	return withFact(err, fact, note)
}

// listFact is what a listing of a path that probe found to be pr should
// fail with.
func (pr *presence) listFact() error {
	switch pr.found {
	case foundMissing:
		return fs.ErrNotExist
	case foundFile:
		return ErrNotDir
	case foundDenied:
		return fs.ErrPermission
	case foundUnsure:
		return errUnsure
	}
	return errThere
}

// notListed is the error of a listing of p that succeeded but is not the
// directory's: fact says what it is instead.
func notListed(verb, p string, fact error, why string) error {
	if fact == errThere || fact == errUnsure {
		return errorf("%s %s: the directory cannot be listed: %s", verb, p, why)
	}
	return errorf("%s %s: %w: %s", verb, p, fact, why)
}

// confirmMLSD checks a suspicious MLSD listing of p: MLST (or CWD) must
// find a directory.
func (c *Conn) confirmMLSD(ctx context.Context, p string, ls listing) ([]*Entry, error) {
	pr, err := c.probe(ctx, p, refusals{}, 0)
	if err != nil {
		return nil, err
	}
	switch {
	case ls.failed != "":
		return nil, notListed("MLSD", p, pr.listFact(), "the server said "+strconv.Quote(ls.failed))
	case pr.found != foundDir:
		return nil, notListed("MLSD", p, pr.listFact(), "the listing was empty or a lone entry, and "+pr.how())
	case pr.entry != nil && pr.entry.Facts["perm"] != "" && !strings.ContainsAny(pr.entry.Facts["perm"], "lL"):
		return nil, notListed("MLSD", p, errThere, "MLST gives it no permission to list (perm="+pr.entry.Facts["perm"]+")")
	}
	return ls.entries, nil
}

// listInside lists p from inside it: CWD p, LIST, CWD back. It confirms a
// suspicious listing (first), and lists the paths that LIST cannot take
// as its argument (needsDetour). A CWD refusal is explained with probe.
func (c *Conn) listInside(ctx context.Context, p string, first *listing) ([]*Entry, error) {
	var in listing
	entered := true
	var err error
	if p == "" || p == "." {
		if first != nil {
			in = *first // the working directory: the listing is from inside already
		}
	} else {
		entered, err = c.inDir(ctx, p, func() error { in = c.listLIST(ctx, ""); return nil })
	}
	var refusal *Error
	switch {
	case !entered && errors.As(err, &refusal):
		return nil, c.cannotEnter(ctx, p, refusal, first)
	case err != nil:
		return nil, err
	case in.err != nil:
		var ferr *Error
		if errors.As(in.err, &ferr) {
			fact := said(ferr.Msg)
			if fact != fs.ErrPermission {
				fact = errThere // the session is in the directory: it exists
			}
			withFact(in.err, fact, "LIST from inside "+p)
		}
		return nil, in.err
	case in.failed != "":
		return nil, notListed("LIST", p, errThere, "the server said "+strconv.Quote(in.failed))
	case in.self || len(in.entries) > 0:
		return in.entries, nil // unparsed lines too: Raw keeps them
	case c.lsDots:
		// This server lists "." and ".." for a directory it can read.
		return nil, notListed("LIST", p, errThere, "its listing lacks the \".\" and \"..\" entries that this server lists for a directory it can read")
	case first != nil && first.lonely(pathBaseClean(p)) != nil && first.lonely(pathBaseClean(p)).Type == EntryDir:
		// vsftpd lists a directory it cannot open as itself.
		return nil, notListed("LIST", p, errThere, "the server lists the directory as itself and nothing from inside it")
	}
	return in.entries, nil // an empty directory, the session inside it
}

// cannotEnter explains why LIST of p was suspicious and CWD p refused:
// with the listing itself as evidence (vsftpd lists a file, and a
// directory it cannot read, as a lone entry), then probe.
func (c *Conn) cannotEnter(ctx context.Context, p string, refusal *Error, first *listing) error {
	fact := said(refusal.Msg)
	switch {
	case fact == fs.ErrPermission || fact == fs.ErrNotExist:
		return errorf("LIST %s: %w", p, withFact(refusal, fact, ""))
	case first != nil:
		if e := first.lonely(pathBaseClean(p)); e != nil && e.Type == EntryDir {
			return notListed("LIST", p, errThere, "it is listed as a directory, and "+refusal.Cmd+": "+strconv.Itoa(refusal.Code)+" "+clip(refusal.Msg))
		}
	}
	pr, err := c.probe(ctx, p, refusals{cwd: refusal}, 0)
	if err != nil {
		return err
	}
	return notListed("LIST", p, pr.listFact(), pr.how())
}

// listRaw lists dir with no check: for probe, which looks for a name in
// it. Paths that LIST cannot take go by a detour (needsDetour).
func (c *Conn) listRaw(ctx context.Context, dir string) listing {
	switch {
	case c.useMLSD():
		ls := c.listMLSD(ctx, dir)
		if !c.tried("MLSD", ls.err) {
			return ls
		}
		return c.listRaw(ctx, dir)
	case needsDetour(dir):
		var in listing
		_, err := c.inDir(ctx, dir, func() error { in = c.listLIST(ctx, ""); return nil })
		if err != nil {
			return listing{err: err}
		}
		return in
	}
	return c.listLIST(ctx, listArg(dir))
}

func (c *Conn) listMLSD(ctx context.Context, dir string) listing {
	var ls listing
	ls.hidden = true
	var err error
	ls.failed, err = c.fetchLines(ctx, "MLSD", dir, mlsdCost, func(line string, cut bool) {
		if strings.TrimSpace(line) == "" {
			return
		}
		e, err := parseMLSxLine(line)
		switch {
		case cut:
			// A fragment: "type=file;size=12; na" would name a file "na".
			c.ctl.trace("# ", fmt.Sprintf("MLSD listing cut short in the line %q", line))
			e = &Entry{Type: EntryOther, Size: -1, Raw: line}
		case err != nil:
			c.ctl.trace("# ", fmt.Sprintf("unparsed MLSD line (%v): %q", err, line))
			e = &Entry{Type: EntryOther, Size: -1, Raw: line}
		case mlsxIsSelfOrParent(e) || e.Name == "." || e.Name == "..":
			ls.self = true
			return
		}
		ls.entries = append(ls.entries, e)
	})
	if err != nil {
		return listing{err: err}
	}
	c.ctl.decodeEntries(ls.entries)
	ls.entries = c.inDirectory(ls.entries)
	return ls
}

// mlsdCost is what an MLSD line costs on the heap: its Entry and its
// Facts map, which takes 336 bytes for up to 8 facts and about 50 a fact
// beyond (Go 1.26, measured in TestListingMemory).
func mlsdCost(line []byte) int {
	facts := bytes.IndexByte(line, ' ')
	if facts < 0 {
		facts = len(line)
	}
	n := bytes.Count(line[:facts], []byte("="))
	if n <= 8 {
		return listEntryCost + smallMapCost
	}
	return listEntryCost + bigMapFactCost*n
}

// listCost is what a LIST line costs on the heap: its Entry.
func listCost([]byte) int { return listEntryCost }

// listLIST runs LIST (with -a as WithListAll and the server decide) with
// arg, which listArg has made safe, and parses the lines.
func (c *Conn) listLIST(ctx context.Context, arg string) listing {
	switch c.listAll {
	case ListAllOn:
		return c.runLIST(ctx, true, arg)
	case ListAllOff:
		return c.runLIST(ctx, false, arg)
	}
	all := c.runLIST(ctx, true, arg)
	if all.self {
		c.listAll = ListAllOn
		c.ctl.trace("# ", `the server honours "LIST -a": using it from now on`)
		return all
	}
	if all.err != nil && !refusesPath(all.err) {
		return all // no verdict on a failure of the connection
	}
	plain := c.runLIST(ctx, false, arg)
	switch {
	case plain.err != nil:
	case all.err != nil, plain.complete(pathBaseClean(arg)):
		// Refused with -a and not without it, or a directory listed
		// without "." and "..": -a is not honoured.
		c.listAll = ListAllOff
		c.ctl.trace("# ", `the server does not honour "LIST -a": using plain LIST from now on`)
	}
	return plain
}

// refusesPath reports whether err is a reply that refuses a listing for
// its argument (450, 5xx), not for want of a data connection (425, 426).
func refusesPath(err error) bool {
	var ferr *Error
	return errors.As(err, &ferr) && (ferr.Code == 450 || ferr.Code >= 500)
}

// runLIST runs one LIST and parses its lines.
func (c *Conn) runLIST(ctx context.Context, all bool, arg string) listing {
	if all {
		arg = strings.TrimSpace("-a " + arg)
	}
	p := newListParser(time.Now(), c.zone)
	var ls listing
	ls.hidden = all
	var err error
	ls.failed, err = c.fetchLines(ctx, "LIST", arg, listCost, func(line string, cut bool) {
		if cut {
			// A fragment: "-rw-r--r-- 1 u g 1 Ja" would name a file "Ja".
			ls.entries = p.flush(ls.entries)
			ls.entries = append(ls.entries, listUnknown(line))
			c.ctl.trace("# ", fmt.Sprintf("LIST listing cut short in the line %q", line))
			return
		}
		ls.entries = p.feed(ls.entries, line)
	})
	if err != nil {
		return listing{err: err}
	}
	ls.entries = p.flush(ls.entries)
	ls.self = p.sawSelf
	if all && ls.self {
		c.lsDots = true
	}
	for _, e := range ls.entries {
		if e.Type == EntryOther && e.Name == "" {
			c.ctl.trace("# ", fmt.Sprintf("unparsed LIST line: %q", e.Raw))
		}
	}
	c.ctl.decodeEntries(ls.entries)
	ls.entries = c.inDirectory(ls.entries)
	return ls
}

// inDirectory drops the entries whose name cannot be that of a file in the
// listed directory: ".", "..", or a name with a slash, or with ".." between
// backslashes (which Windows servers take as separators). Walk, RemoveAll
// and FS join names to the directory's path, and a hostile server's
// "x/.." would make RemoveAll delete the parent's tree.
func (c *Conn) inDirectory(entries []*Entry) []*Entry {
	kept := entries[:0]
	for _, e := range entries {
		if isEntryName(e.Name) {
			kept = append(kept, e)
			continue
		}
		c.ctl.trace("# ", fmt.Sprintf("ignoring a listing entry named %q: not a name in the directory", e.Name))
	}
	return kept
}

// isEntryName reports whether name can name a file in a directory; the
// empty name of an unparsed line passes.
func isEntryName(name string) bool {
	if strings.IndexByte(name, '/') >= 0 {
		return false
	}
	if strings.IndexByte(name, '\\') < 0 {
		return name != "." && name != ".."
	}
	for part := range strings.SplitSeq(name, `\`) {
		if part == "." || part == ".." {
			return false
		}
	}
	return true
}

// useMLSD reports whether List uses MLSD: FEAT lists MLST (or MLSD), or
// without FEAT MLSD has not been found missing yet. The caller holds the
// lock.
func (c *Conn) useMLSD() bool {
	return !c.cfg.noMLSD && c.may("MLSD")
}

// NameList returns the names in a directory (NLST): bare names meant for
// programs (RFC 1123 §4.1.2.7). An empty path lists the working directory.
// Some servers answer an empty directory with 450 or 550. On a server that
// does not implement NLST (500, 502; remembered for the session), it
// returns the names of List's entries instead, without the directory's
// path in front.
func (c *Conn) NameList(ctx context.Context, path string) (names []string, err error) {
	err = c.locked(ctx, func() (err error) { names, err = c.nameList(ctx, path); return err })
	return names, err
}

// nameList runs NLST, or List where the server lacks it. The caller
// holds the lock.
func (c *Conn) nameList(ctx context.Context, path string) ([]string, error) {
	if c.can.absent["NLST"] == nil {
		var names []string
		err := c.listLines(ctx, "NLST", listArg(path), func(line string) {
			// pure-ftpd lists "." and ".." in NLST; they are no names of files.
			if base := pathBase(line); line != "" && base != "." && base != ".." {
				names = append(names, line)
			}
		})
		c.ctl.decodeNames(names)
		if !c.tried("NLST", err) {
			return names, err
		}
	}
	entries, err := c.list(ctx, path)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Name != "" {
			names = append(names, e.Name)
		}
	}
	return names, nil
}

// pathBase is path.Base for a name that may or may not hold a directory.
func pathBase(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 && i < len(name)-1 {
		return name[i+1:]
	}
	return name
}

// listLines runs a listing command whose lines are names (NLST) and
// passes each line of its data, without CR and LF, to fn. The caller
// holds the lock.
func (c *Conn) listLines(ctx context.Context, verb, arg string, fn func(string)) error {
	_, err := c.fetchLines(ctx, verb, arg, func([]byte) int { return nameCost }, func(line string, _ bool) { fn(line) })
	return err
}

// fetchLines runs a listing command and passes each line of its data,
// without CR and LF, to fn; cut is set for a last line that had no line
// end. A goroutine reads up to listReadAhead blocks ahead of fn, so that
// the server finishes sending while fn parses (bench/RESULTS.md, case 5).
// Each line is charged its bytes and cost(line) against maxListing. It
// returns the final reply's text when that says the listing failed
// (Pure-FTPd's "226-Sorry, we were unable to read [dir]", vsftpd's "226
// Transfer done (but failed to open directory)."). The caller holds the
// lock.
func (c *Conn) fetchLines(ctx context.Context, verb, arg string, cost func([]byte) int, fn func(line string, cut bool)) (failed string, err error) {
	r, err := c.startDownload(ctx, verb, arg, 0)
	if err != nil {
		return "", err
	}
	defer r.Close()
	blocks := make(chan textBlock, listReadAhead)
	var readErr error
	go func() {
		defer close(blocks)
		readErr = readLines(r, verb, arg, cost, blocks)
	}()
	for b := range blocks {
		start := 0
		for i, end := range b.ends {
			fn(b.s[start:end], b.cut && i == len(b.ends)-1)
			start = end
		}
	}
	if readErr != nil {
		return "", readErr
	}
	if final := r.t.rep.last().r; final != nil && listingFailed(final) {
		failed = strings.ReplaceAll(final.Message(), "\n", " ")
		c.ctl.trace("# ", fmt.Sprintf("%s %s: the final reply says the listing failed", verb, arg))
	}
	return failed, nil
}

// listingFailed reports whether the 2xx reply that ends a listing says
// that it failed all the same.
func listingFailed(r *Reply) bool {
	return mentions(r.Message(), "unable to", "failed", "cannot", "can't", "could not", "permission denied")
}

// listReadAhead bounds the blocks (of up to maxListLine bytes) that
// listLines reads ahead of the parser.
const listReadAhead = 64

// textBlock is a run of lines: line i is s[ends[i-1]:ends[i]]. cut marks
// a last line that had no line end.
type textBlock struct {
	s    string
	ends []int
	cut  bool
}

// readLines reads the lines of a listing from r into blocks and sends them
// to out; it returns the first error, or nil at the end of the data. The
// bytes of the lines and cost(line) for each are charged against
// maxListing.
func readLines(r io.Reader, verb, arg string, cost func([]byte) int, out chan<- textBlock) error {
	br := bufio.NewReaderSize(r, maxListLine)
	var lines lineBlock
	for charged, received := 0, 0; ; {
		line, err := br.ReadSlice('\n')
		received += len(line)
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			return errorf("%s %s: listing line longer than %d bytes", verb, arg, maxListLine)
		case err != nil && err != io.EOF:
			return err
		}
		if len(line) > 0 {
			if charged += len(line) + cost(line); charged > maxListing {
				return errorf("%s %s: listing longer than %d bytes in memory (%d bytes received)", verb, arg, maxListing, received)
			}
			lines.add(trimEOL(line), out)
		}
		if err == io.EOF {
			lines.cut = len(line) > 0
			lines.flush(out)
			return nil
		}
	}
}

// lineBlock gathers the lines of a listing into blocks of about 64 KiB,
// each made into one string whose slices the parsers get: one allocation
// per block instead of one per line. An entry's strings keep its block
// alive, which a listing held whole (as List returns it) does anyway.
type lineBlock struct {
	buf  []byte
	ends []int
	cut  bool
}

func (b *lineBlock) add(line []byte, out chan<- textBlock) {
	if len(b.buf)+len(line) > maxListLine {
		b.flush(out)
	}
	b.buf = append(b.buf, line...)
	b.ends = append(b.ends, len(b.buf))
}

// flush hands the lines gathered so far to out.
func (b *lineBlock) flush(out chan<- textBlock) {
	if len(b.ends) > 0 {
		out <- textBlock{string(b.buf), b.ends, b.cut}
	}
	b.buf, b.ends = b.buf[:0], nil
}
