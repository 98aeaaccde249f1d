package ftp

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
)

// nameCodec converts between the UTF-8 strings of this package's API and the
// bytes of a server whose names are in another encoding (WithEncoding).
//
// A name whose bytes decode and encode back to the very same bytes is
// given in UTF-8. Any other name is kept as its raw bytes, so that it is
// never lost: a raw name that is not valid UTF-8 is sent back as it is,
// and one that is valid UTF-8 (or is valid UTF-8 followed by 0xFF bytes)
// gets one 0xFF byte appended, which encode strips again. 0xFF never
// occurs in UTF-8, so a string built this way cannot be mistaken for a
// name the caller typed, which encode converts.
type nameCodec struct {
	enc encoding.Encoding
}

// rawMark ends a raw name that would otherwise read as UTF-8.
const rawMark = "\xff"

// decode returns the API form of one name as the server sent it.
func (n *nameCodec) decode(raw string) string {
	if s, ok := n.convert(raw); ok {
		return s
	}
	if utf8.ValidString(trimMarks(raw)) {
		return raw + rawMark
	}
	return raw
}

// decodeText returns server text (a reply line) in UTF-8 when it
// converts both ways, else as it came.
func (n *nameCodec) decodeText(raw string) string {
	if s, ok := n.convert(raw); ok {
		return s
	}
	return raw
}

// convert decodes raw, and reports whether the result encodes back to
// exactly raw.
func (n *nameCodec) convert(raw string) (string, bool) {
	if ascii(raw) {
		return raw, true
	}
	return roundTrip(n.enc.NewDecoder(), n.enc.NewEncoder(), raw)
}

// roundTrip is convert with a decoder and an encoder that the caller
// may use again (each String starts afresh).
func roundTrip(dec *encoding.Decoder, enc *encoding.Encoder, raw string) (string, bool) {
	s, err := dec.String(raw)
	if err != nil || !utf8.ValidString(s) {
		return "", false
	}
	back, err := enc.String(s)
	return s, err == nil && back == raw
}

// encode returns the bytes to send for s, a command line in the API's
// form: each part between slashes is converted on its own, so that a path
// may mix names the caller typed and raw names from a listing. (No
// supported encoding uses '/' inside a multi-byte character.)
func (n *nameCodec) encode(s string) (string, error) {
	if ascii(s) {
		return s, nil
	}
	parts := strings.Split(s, "/")
	for i, p := range parts {
		switch kept := strings.TrimSuffix(p, rawMark); {
		case utf8.ValidString(p):
			b, err := n.enc.NewEncoder().String(p)
			if err != nil {
				return "", errorf("%q cannot be written in the server's encoding: %w", p, err)
			}
			parts[i] = b
		case kept != p && utf8.ValidString(trimMarks(kept)):
			parts[i] = kept // a raw name, marked
		}
	}
	return strings.Join(parts, "/"), nil
}

// NameBytes returns the bytes that the server knows name by: name (an
// Entry's Name, or a path) as a command would send it, in the server's
// encoding (WithEncoding, or what WithEncodingDetection has decided), a
// name kept as bytes without its mark. Where no encoding applies they
// are name's own bytes. They cost nothing until asked for: an Entry
// holds no copy of them. The error is that of a name the server's
// encoding cannot write.
func (c *Conn) NameBytes(name string) ([]byte, error) {
	n := c.ctl.codec()
	if n == nil {
		return []byte(name), nil
	}
	s, err := n.encode(name)
	return []byte(s), err
}

// codec returns the codec names go through: WithEncoding's, or the one
// detection has decided (shared by the Conns of a Pool); nil while names
// pass as bytes.
func (c *control) codec() *nameCodec {
	if c.names == nil && c.detect != nil {
		return c.detect.codec()
	}
	return c.names
}

// detectLines is how many lines of a listing detection looks at for
// localised dates: all of them say the same, and scanning every line of
// a long listing would cost it a tenth of its time.
const detectLines = 100

// decodeEntries decodes the names of a listing's entries, which
// detection (WithEncodingDetection) looks at first: the names that are
// not ASCII, and the first detectLines lines if they are not ASCII, the
// only ones that tell anything.
func (c *control) decodeEntries(entries []*Entry) {
	if c.names == nil && c.detect != nil && !c.detect.verdict.Load().done {
		var names, lines []string
		for i, e := range entries {
			if !ascii(e.Name) {
				names = append(names, e.Name)
			}
			if !ascii(e.Target) {
				names = append(names, e.Target)
			}
			if i < detectLines && !ascii(e.Raw) {
				lines = append(lines, e.Raw)
			}
		}
		if names != nil || lines != nil {
			c.observe(names, lines)
		}
	}
	c.codec().decodeEntries(entries)
}

// decodeNames decodes the lines of an NLST listing in place, which
// detection looks at first.
func (c *control) decodeNames(names []string) {
	if c.names == nil && c.detect != nil {
		c.observe(names, nil)
	}
	n := c.codec()
	for i, name := range names {
		names[i] = n.decodePath(name)
	}
}

// observe hands a listing to detection, and traces its decision.
func (c *control) observe(names, lines []string) {
	if v, changed := c.detect.observe(names, lines); changed {
		c.trace("# ", "names: "+v.how)
	}
}

// decodeEntries gives the entries' names (and link targets) in UTF-8
// (Conn.NameBytes gives their bytes back). Raw lines are left as sent.
func (n *nameCodec) decodeEntries(entries []*Entry) {
	if n == nil {
		return
	}
	for _, e := range entries {
		if e.Name != "" && !ascii(e.Name) {
			e.Name = n.decode(e.Name)
		}
		if e.Target != "" {
			e.Target = n.decode(e.Target)
		}
	}
}

// decodePath decodes an NLST line (a name, or a path on some servers)
// part by part; nil n returns it as it is.
func (n *nameCodec) decodePath(raw string) string {
	if n == nil || ascii(raw) {
		return raw
	}
	parts := strings.Split(raw, "/")
	for i, p := range parts {
		parts[i] = n.decode(p)
	}
	return strings.Join(parts, "/")
}

// trimMarks returns s without the 0xFF bytes that end it.
func trimMarks(s string) string {
	for len(s) > 0 && s[len(s)-1] == 0xff {
		s = s[:len(s)-1]
	}
	return s
}

// ascii reports whether s is all ASCII, eight bytes at a time (as
// utf8.ValidString's fast path): detection runs it on every name of a
// listing.
func ascii(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if w&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// wireLine returns line as it goes on the wire: the names in the
// server's encoding, then the Telnet IAC byte doubled. commandLine has
// already doubled IAC in the argument, which is undone first.
func (c *control) wireLine(line string) (string, error) {
	n := c.codec()
	if n == nil || ascii(line) {
		return line, nil
	}
	s, err := n.encode(strings.ReplaceAll(line, "\xff\xff", "\xff"))
	if err != nil {
		return "", err
	}
	return strings.ReplaceAll(s, "\xff", "\xff\xff"), nil
}
