package ftp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// maxListing bounds the bytes of one listing (NLST, LIST, MLSD): a server
// that sends an endless listing gets an error, not all of the memory. A
// variable only so that tests can lower it.
var maxListing = 256 << 20

// maxListLine bounds one line of a listing.
const maxListLine = 64 << 10

// List returns the entries of a directory (an empty path lists the
// working directory): with MLSD (RFC 3659: exact types, sizes and UTC
// times) when the server offers it, else with LIST, whose lines are parsed
// by the format they are in (Unix, Windows/IIS, EPLF, VMS, NetWare, OS/2,
// OS/400, MVS …). The directory itself and its parent are left out. A line
// that no parser understands is not dropped: it comes back as an entry of
// type EntryOther with an empty Name and the line in Raw (and in the
// WithDebug trace).
func (c *Conn) List(ctx context.Context, path string) (entries []*Entry, err error) {
	err = c.locked(ctx, func() (err error) { entries, err = c.list(ctx, path); return err })
	return entries, err
}

// list is List for a caller that holds the lock.
func (c *Conn) list(ctx context.Context, path string) ([]*Entry, error) {
	if c.useMLSx() {
		entries, err := c.listMLSD(ctx, path)
		var ferr *Error
		if !errors.As(err, &ferr) || ferr.Code != 500 && ferr.Code != 502 {
			return c.inDirectory(entries), err
		}
		// Advertised but not understood (seen on Serv-U): LIST from now on.
		c.mlsdOff = true
		c.ctl.trace("# ", fmt.Sprintf("MLSD failed (%v); using LIST from now on", err))
	}
	entries, err := c.listLIST(ctx, path)
	return c.inDirectory(entries), err
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

// useMLSx reports whether to use MLSD and MLST.
func (c *Conn) useMLSx() bool {
	return !c.cfg.noMLSD && !c.mlsdOff && (c.hasFeature("MLST") || c.hasFeature("MLSD"))
}

func (c *Conn) listMLSD(ctx context.Context, dir string) ([]*Entry, error) {
	var entries []*Entry
	err := c.listLines(ctx, "MLSD", dir, func(line string) {
		if strings.TrimSpace(line) == "" {
			return
		}
		e, err := parseMLSxLine(line)
		if err != nil {
			c.ctl.trace("# ", fmt.Sprintf("unparsed MLSD line (%v): %q", err, line))
			e = &Entry{Type: EntryOther, Size: -1, Raw: line}
		}
		if !mlsxIsSelfOrParent(e) && e.Name != "." && e.Name != ".." {
			entries = append(entries, e)
		}
	})
	return entries, err
}

func (c *Conn) listLIST(ctx context.Context, dir string) ([]*Entry, error) {
	p := newListParser(time.Now(), c.cfg.location)
	var entries []*Entry
	err := c.listLines(ctx, "LIST", dir, func(line string) { entries = p.feed(entries, line) })
	entries = p.flush(entries)
	for _, e := range entries {
		if e.Type == EntryOther && e.Name == "" {
			c.ctl.trace("# ", fmt.Sprintf("unparsed LIST line: %q", e.Raw))
		}
	}
	return entries, err
}

// NameList returns the names in a directory (NLST): bare names meant for
// programs (RFC 1123 §4.1.2.7). An empty path lists the working directory.
// Some servers answer an empty directory with 450 or 550.
func (c *Conn) NameList(ctx context.Context, path string) (names []string, err error) {
	err = c.locked(ctx, func() (err error) { names, err = c.nameList(ctx, path); return err })
	return names, err
}

// nameList runs NLST. The caller holds the lock.
func (c *Conn) nameList(ctx context.Context, path string) ([]string, error) {
	var names []string
	err := c.listLines(ctx, "NLST", path, func(line string) {
		// pure-ftpd lists "." and ".." in NLST; they are no names of files.
		if base := pathBase(line); line != "" && base != "." && base != ".." {
			names = append(names, line)
		}
	})
	return names, err
}

// pathBase is path.Base for a name that may or may not hold a directory.
func pathBase(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 && i < len(name)-1 {
		return name[i+1:]
	}
	return name
}

// listLines runs a listing command and passes each line of its data,
// without CR and LF, to fn. A goroutine reads up to listReadAhead blocks
// ahead of fn, so that the server finishes sending while fn parses
// (bench/RESULTS.md, case 5). The caller holds the lock.
func (c *Conn) listLines(ctx context.Context, verb, path string, fn func(string)) error {
	r, err := c.startDownload(ctx, verb, path, 0)
	if err != nil {
		return err
	}
	defer r.Close()
	blocks := make(chan textBlock, listReadAhead)
	var readErr error
	go func() {
		defer close(blocks)
		readErr = readLines(r, verb, path, blocks)
	}()
	for b := range blocks {
		start := 0
		for _, end := range b.ends {
			fn(b.s[start:end])
			start = end
		}
	}
	return readErr
}

// listReadAhead bounds the blocks (of up to maxListLine bytes) that
// listLines reads ahead of the parser.
const listReadAhead = 64

// textBlock is a run of lines: line i is s[ends[i-1]:ends[i]].
type textBlock struct {
	s    string
	ends []int
}

// readLines reads the lines of a listing from r into blocks and sends them
// to out; it returns the first error, or nil at the end of the data.
func readLines(r io.Reader, verb, path string, out chan<- textBlock) error {
	br := bufio.NewReaderSize(r, maxListLine)
	var lines lineBlock
	for total := 0; ; {
		line, err := br.ReadSlice('\n')
		if total += len(line); total > maxListing {
			return errorf("%s %s: listing longer than %d bytes", verb, path, maxListing)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			return errorf("%s %s: listing line longer than %d bytes", verb, path, maxListLine)
		case err != nil && err != io.EOF:
			return err
		}
		if len(line) > 0 {
			lines.add(trimEOL(line), out)
		}
		if err == io.EOF {
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
		out <- textBlock{string(b.buf), b.ends}
	}
	b.buf, b.ends = b.buf[:0], nil
}
