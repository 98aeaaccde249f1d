package ftp

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/text/encoding"
)

// WithEncodingDetection makes the Conn find out for itself the encoding
// of the server's names, from its listings (List, NameList, and so Walk,
// Mirror and FS): valid UTF-8 first, else one of candidates (for example
// simplifiedchinese.GBK, traditionalchinese.Big5, japanese.ShiftJIS,
// japanese.EUCJP, korean.EUCKR from golang.org/x/text/encoding/...), in
// the server's bytes. Once decided, the Conn works as under WithEncoding
// (or as without it, for UTF-8 and for bytes); Encoding tells what was
// chosen, and why.
//
// A candidate must decode every name that is not ASCII, and encode it
// back to the same bytes. Among those that do, the one wins whose
// encoding the listed dates are in (the 年 月 日 or 년 월 일 of a localised
// ls), then the one whose reading has the fewest rare characters: for
// GBK and GB18030, Big5, Shift_JIS, EUC-JP and EUC-KR, those outside
// GB2312 level 1, Big5's frequent characters, JIS X 0208 level 1 and
// kana, and the Hangul of KS X 1001; for other encodings, every character
// that is not ASCII. When two candidates are still level and read the
// names differently, the Conn is unsure: names pass as their bytes, as
// without any option, and the next listings are looked at too, up to
// 10,000 names that are not ASCII; after them, names stay bytes.
//
// A decision is never taken back, so that a name the Conn has given out
// keeps its meaning: a listing that shows names that are valid UTF-8 and
// not ASCII decides, on bytes when unsure. Until the decision, names
// that the caller types are sent in UTF-8.
//
// OPTS UTF8 ON is sent as without the option, where the server offers
// UTF8: a server that honours it lists UTF-8, and detection keeps UTF-8;
// one that lists its disk's bytes all the same (vsftpd, ProFTPD and
// Pure-FTPd do) shows them, and its commands then carry the same bytes.
//
// The Conns made with the same Option share one decision: the
// connections of a Pool decide once, together. Use one Option a server.
// WithEncoding, when given too, wins.
func WithEncodingDetection(candidates ...encoding.Encoding) Option {
	d := newDetector(candidates)
	return func(c *config) { c.detect = d }
}

// commonCJK reports whether b, one character in the encoding named enc
// (as golang.org/x/text names it), is in the part of the character set
// that everyday text uses; false for an encoding it does not know. The
// encodings go by name: importing their packages here would link their
// tables into every program.
func commonCJK(enc string, b string) bool {
	if len(b) != 2 {
		return false // half-width kana, 3- and 4-byte forms
	}
	lead, x := b[0], uint16(b[0])<<8|uint16(b[1])
	switch enc {
	case "GBK", "GB18030":
		return b[1] >= 0xa1 && (lead >= 0xa1 && lead <= 0xa9 || lead >= 0xb0 && lead <= 0xd7) // symbols, GB2312 level 1
	case "Big5":
		return x >= 0xa140 && x <= 0xa3bf || x >= 0xa440 && x <= 0xc67e // symbols, frequent characters
	case "Shift JIS":
		return x >= 0x8140 && x <= 0x84be || x >= 0x889f && x <= 0x9872 // symbols and kana, level 1
	case "EUC-JP":
		return b[1] >= 0xa1 && (lead >= 0xa1 && lead <= 0xa8 || x >= 0xb0a1 && x <= 0xcfd3)
	case "EUC-KR":
		return b[1] >= 0xa1 && (lead >= 0xa1 && lead <= 0xac || lead >= 0xb0 && lead <= 0xc8) // symbols, Hangul
	}
	return false
}

// Encoding reports the encoding of the server's names that the Conn
// works with, and how it was found, in words for a user: WithEncoding's,
// or what WithEncodingDetection decided. enc is nil for UTF-8 and for
// names passed as their bytes (how says which).
func (c *Conn) Encoding() (enc encoding.Encoding, how string) {
	switch {
	case c.ctl.names != nil:
		return c.ctl.names.enc, encodingName(c.ctl.names.enc) + ": set by WithEncoding"
	case c.ctl.detect != nil:
		v := c.ctl.detect.verdict.Load()
		if v.codec != nil {
			return v.codec.enc, v.how
		}
		return nil, v.how
	}
	return nil, "not set: names are passed as their bytes, and sent as UTF-8 when typed"
}

// detector finds the encoding of one server's names from its listings,
// for the Conns of one WithEncodingDetection option.
type detector struct {
	verdict atomic.Pointer[verdict]

	mu    sync.Mutex // guards what follows, and taking a decision
	cands []candidate
	seen  int // names not ASCII looked at so far
}

// verdict is what detection has decided so far.
type verdict struct {
	done  bool
	codec *nameCodec // the encoding chosen; nil for UTF-8, bytes, or not decided yet
	how   string
}

// candidate is one encoding and the evidence for it so far.
type candidate struct {
	enc   encoding.Encoding
	name  string // encodingName(enc)
	codec nameCodec
	fails int    // names that do not decode (and encode back)
	dates int    // lines with a date in its units
	rare  int    // characters outside its common set
	sum   uint64 // FNV-1a hash of the names as it reads them, from the offset basis
	units []string
}

func newDetector(encs []encoding.Encoding) *detector {
	d := &detector{}
	for _, enc := range encs {
		cd := candidate{enc: enc, name: encodingName(enc), codec: nameCodec{enc: enc}, sum: 14695981039346656037}
		for _, u := range []string{"年", "月", "日", "년", "월", "일"} {
			if b, err := enc.NewEncoder().String(u); err == nil && !ascii(b) {
				cd.units = append(cd.units, b)
			}
		}
		d.cands = append(d.cands, cd)
	}
	d.verdict.Store(&verdict{how: "not decided yet: no listing has shown a name that is not ASCII"})
	return d
}

// codec returns the codec decided, nil while there is none.
func (d *detector) codec() *nameCodec { return d.verdict.Load().codec }

// observe looks at the raw names of a listing, and at its lines (lines
// may be nil: NLST), unless a decision is taken already. It returns the
// verdict, new when this listing changed it.
func (d *detector) observe(names, lines []string) (*verdict, bool) {
	if v := d.verdict.Load(); v.done {
		return v, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if v := d.verdict.Load(); v.done { // another Conn decided meanwhile
		return v, false
	}
	utf8Names, otherNames, utf8Dates := 0, 0, false
	for _, n := range names {
		switch {
		case ascii(n):
		case utf8.ValidString(n):
			utf8Names++
		default:
			otherNames++
		}
	}
	for _, l := range lines {
		utf8Dates = utf8Dates || utf8.ValidString(l) && hasDateUnit(l, []string{"年", "月", "日", "년", "월", "일"})
	}
	dated := false
	for i := range d.cands {
		dated = d.cands[i].look(names, lines) || dated
	}
	d.seen += utf8Names + otherNames
	var v *verdict
	switch {
	case otherNames == 0 && (utf8Names > 0 || utf8Dates):
		v = &verdict{done: true, how: "UTF-8: the names listed are valid UTF-8"}
	case otherNames == 0 && !dated:
		return d.verdict.Load(), false // nothing to go by yet
	default:
		v = d.decide(utf8Names > 0)
	}
	if !v.done && d.seen >= detectNames {
		v = &verdict{done: true, how: "bytes: unsure after " + strconv.Itoa(d.seen) + " names: " + strings.TrimPrefix(v.how, "not decided yet: ")}
	}
	d.verdict.Store(v)
	return v, true
}

// detectNames bounds the names that detection looks at while unsure
// (each costs it a few microseconds): beyond, names stay bytes for good.
const detectNames = 10000

// look adds the evidence of one listing for cd: the names that it cannot
// read, those it reads as rare characters, and the lines with dates in
// its units. It reports whether a line had such a date.
func (cd *candidate) look(names, lines []string) bool {
	h := cd.sum
	dec, enc := cd.enc.NewDecoder(), cd.enc.NewEncoder()
	var src [utf8.UTFMax]byte
	var dst [8]byte
	for _, n := range names {
		if ascii(n) {
			continue
		}
		s, ok := roundTrip(dec, enc, n)
		if !ok {
			cd.fails++
			continue
		}
		h = fnv1a(fnv1a(h, s), "/") // '/' ends each: it is in no name
		for _, r := range s {
			if r < utf8.RuneSelf {
				continue
			}
			enc.Reset()
			nd, _, err := enc.Transform(dst[:], src[:utf8.EncodeRune(src[:], r)], true)
			if err != nil || !commonCJK(cd.name, string(dst[:nd])) {
				cd.rare++
			}
		}
	}
	cd.sum = h
	dated := false
	for _, l := range lines {
		if hasDateUnit(l, cd.units) {
			cd.dates++
			dated = true
		}
	}
	return dated
}

// fnv1a adds s to the FNV-1a hash h (hash/fnv, without the linker
// keeping what its interfaces reach in every program).
func fnv1a(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// hasDateUnit reports whether line holds a digit followed by one of
// units: "11月", as in a localised ls date.
func hasDateUnit(line string, units []string) bool {
	for _, u := range units {
		for i := strings.Index(line, u); i >= 0; {
			if i > 0 && line[i-1] >= '0' && line[i-1] <= '9' {
				return true
			}
			j := strings.Index(line[i+1:], u)
			if j < 0 {
				break
			}
			i += 1 + j
		}
	}
	return false
}

// decide ranks the candidates that read every name: most dates first,
// then fewest rare characters. The first of the best wins, unless another
// as good reads the names differently: then the Conn is unsure, and
// stays so (names as bytes) for good when mixed says a name given out
// already is valid UTF-8, which a later decision could read otherwise.
// The caller holds mu.
func (d *detector) decide(mixed bool) *verdict {
	var best *candidate
	for i := range d.cands {
		cd := &d.cands[i]
		if cd.fails == 0 && (best == nil || cd.dates > best.dates || cd.dates == best.dates && cd.rare < best.rare) {
			best = cd
		}
	}
	if best == nil {
		return &verdict{done: true, how: fmt.Sprintf("bytes: the names are not UTF-8, and no candidate reads them all (%s)", d.names())}
	}
	level := []string{best.name}
	for _, cd := range d.cands {
		if cd.fails == 0 && cd.dates == best.dates && cd.rare == best.rare && cd.sum != best.sum {
			level = append(level, cd.name)
		}
	}
	switch {
	case len(level) == 1:
		return &verdict{done: true, codec: &best.codec, how: fmt.Sprintf("%s: %d names that are not ASCII read in it with %d rare characters, and %d listed dates",
			level[0], d.seen, best.rare, best.dates)}
	case mixed:
		return &verdict{done: true, how: fmt.Sprintf("bytes: unsure: %s read the names alike well, and some are valid UTF-8", strings.Join(level, ", "))}
	}
	return &verdict{how: fmt.Sprintf("not decided yet: %s read the names alike well", strings.Join(level, ", "))}
}

// names lists the candidates' names.
func (d *detector) names() string {
	s := []string{}
	for _, cd := range d.cands {
		s = append(s, cd.name)
	}
	if len(s) == 0 {
		return "none given"
	}
	return strings.Join(s, ", ")
}

// encodingName names enc as golang.org/x/text does ("GBK", "Big5").
func encodingName(enc encoding.Encoding) string {
	if s, ok := enc.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", enc)
}
