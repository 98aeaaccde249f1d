package ftptest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path"
	"slices"
	"strings"
	"time"
)

// errLocal marks a transfer that failed on the server's side.
var errLocal = errors.New("local error")

// refuse fails a transfer command before it starts: no 150, and the pending
// passive listener is closed.
func (s *session) refuse(code int, err error) {
	s.data.reset()
	s.fail(code, err)
}

func (s *session) cmdRETR(arg string) {
	p := s.abs(s.pathArg(arg))
	if s.isUnreadable(p) {
		s.refuse(550, pathErr("", p, fs.ErrPermission))
		return
	}
	e, err := s.srv.fs.file(p)
	if err != nil {
		s.refuse(550, err)
		return
	}
	if s.prev.rest > e.size {
		s.refuse(554, pathErr("retr", p, errOffset))
		return
	}
	s.transfer(fmt.Sprintf("%s (%d bytes)", arg, e.size), true, s.sendBody(s.toWire(e.data[s.prev.rest:])))
}

func (s *session) cmdSTOR(arg string) { s.store(arg, s.prev.rest, false) }

func (s *session) cmdAPPE(arg string) { s.store(arg, 0, true) }

// store receives a file into arg: at offset off (truncating after the new
// data), or after its end with appendTo.
func (s *session) store(arg string, off int64, appendTo bool) {
	p := s.abs(s.pathArg(arg))
	if s.isUnreadable(p) {
		s.refuse(550, pathErr("", p, fs.ErrPermission))
		return
	}
	if err := s.srv.fs.writable(p, off); err != nil {
		s.refuse(550, err)
		return
	}
	commit := func(data []byte) error {
		return s.srv.fs.put(p, false, func(old []byte) ([]byte, error) {
			if appendTo {
				off = int64(len(old))
			}
			if off > int64(len(old)) {
				return nil, errOffset
			}
			return append(old[:off:off], data...), nil
		})
	}
	s.transfer(arg, false, func(c net.Conn) error {
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(c); err != nil {
			return err
		}
		if err := commit(s.fromWire(buf.Bytes())); err != nil {
			return fmt.Errorf("%w: %w", errLocal, err)
		}
		return nil
	})
}

// skipOptions drops ls-style options ("-a", "-la") from a LIST or NLST
// argument and reports whether they ask for every name (-a).
func skipOptions(arg string) (rest string, all bool) {
	for strings.HasPrefix(arg, "-") {
		var opt string
		opt, arg, _ = strings.Cut(arg, " ")
		all = all || strings.ContainsAny(opt, "aA")
		arg = strings.TrimLeft(arg, " ")
	}
	return arg, all
}

// listOptions is skipOptions, or under WithLiteralListArgs, the dropping
// of a bare option word alone.
func (s *session) listOptions(arg string) (rest string, all bool) {
	if !s.cfg.literalList {
		return skipOptions(arg)
	}
	if strings.HasPrefix(arg, "-") && !strings.Contains(arg, " ") {
		return "", false
	}
	return arg, false
}

func (s *session) cmdLIST(arg string) {
	arg, all := s.listOptions(arg)
	p := s.abs(arg)
	if lines, ok := s.cfg.listLines[p]; ok {
		s.sendLines(p, lines)
		return
	}
	s.listing(p, all, func(entries []entry) []string {
		if all && !s.isUnreadable(p) {
			// ls -a lists the directory itself and its parent first.
			entries = append(s.selfAndParent(p), entries...)
		}
		return listLines(s.inListZone(entries, time.Now()))
	})
}

// selfAndParent returns the "." and ".." entries of the directory p, or
// none when p is not a directory.
func (s *session) selfAndParent(p string) []entry {
	self, err := s.srv.fs.stat(p)
	if err != nil || !self.dir {
		return nil
	}
	parent, err := s.srv.fs.stat(path.Dir(p))
	if err != nil {
		parent = self
	}
	self.name, parent.name = ".", ".."
	return []entry{self, parent}
}

func (s *session) cmdNLST(arg string) {
	arg, all := s.listOptions(arg)
	s.listing(s.abs(arg), all, func(entries []entry) []string {
		names := make([]string, len(entries))
		for i, e := range entries {
			names[i] = e.name
		}
		return names
	})
}

func (s *session) cmdMLSD(arg string) {
	p := s.abs(arg)
	if s.cfg.noMLSD {
		s.refuse(500, errors.New("MLSD not understood"))
		return
	}
	if s.isUnreadable(p) {
		s.refuse(550, pathErr("", p, fs.ErrPermission))
		return
	}
	self, err := s.srv.fs.stat(p)
	if err != nil && !s.listMissing(err) {
		s.refuse(550, err)
		return
	}
	if err != nil {
		return
	}
	if !self.dir {
		s.refuse(501, pathErr("mlsd", p, errNotDir))
		return
	}
	s.listing(p, true, func(entries []entry) []string {
		lines := []string{facts(self, "cdir") + " ."}
		for _, e := range entries {
			lines = append(lines, facts(e, "")+" "+e.name)
		}
		return lines
	})
}

// listing sends the formatted entries of the directory p (or the file p
// alone); all keeps dot files that WithHiddenDotfiles hides.
func (s *session) listing(p string, all bool, format func([]entry) []string) {
	if d, ok := s.unreadable(p); ok {
		if !s.cfg.emptyMissing {
			s.refuse(550, pathErr("", p, fs.ErrPermission))
			return
		}
		var self []entry
		if e, err := s.srv.fs.stat(d); err == nil && p == d {
			self = []entry{e} // vsftpd: the directory as "ls -ld" lists it
		}
		s.sendLines(p, format(self))
		return
	}
	entries, err := s.srv.fs.list(p)
	switch {
	case errors.Is(err, fs.ErrNotExist) && s.cfg.emptyMissing:
		entries = nil
	case s.listMissing(err):
		return
	case err != nil:
		s.refuse(550, err)
		return
	}
	if s.cfg.hideDotfiles && !all {
		entries = slices.DeleteFunc(entries, func(e entry) bool { return strings.HasPrefix(e.name, ".") })
	}
	s.sendLines(p, format(entries))
}

// sendLines sends lines, each ending in CRLF, over a data connection.
func (s *session) sendLines(what string, lines []string) {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	s.transfer(what, true, s.sendBody([]byte(b.String())))
}

// listLines formats entries as `ls -l` does: the time of day for the last
// six months, the year for older (or future) dates.
func listLines(entries []entry, now time.Time) []string {
	lines := make([]string, len(entries))
	for i, e := range entries {
		mode, stamp := "-rw-r--r--", e.mod.UTC().Format("Jan _2 15:04")
		if e.dir {
			mode = "drwxr-xr-x"
		}
		if e.mod.Before(now.AddDate(0, -6, 0)) || e.mod.After(now.Add(time.Hour)) {
			stamp = e.mod.UTC().Format("Jan _2  2006")
		}
		lines[i] = fmt.Sprintf("%s 1 ftp ftp %12d %s %s", mode, e.size, stamp, e.name)
	}
	return lines
}

// facts formats the RFC 3659 facts of e, ending in ";"; typ overrides the
// type fact (for "cdir").
func facts(e entry, typ string) string {
	perm := "adfrw"
	if e.dir {
		perm = "cdeflmp"
	}
	switch {
	case typ != "":
	case e.dir:
		typ = "dir"
	default:
		typ = "file"
	}
	return fmt.Sprintf("type=%s;size=%d;modify=%s;perm=%s;unique=%x;", typ, e.size, e.mod.UTC().Format(timeFormat), perm, e.id)
}
