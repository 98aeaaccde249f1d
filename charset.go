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
	s, err := n.enc.NewDecoder().String(raw)
	if err != nil || !utf8.ValidString(s) {
		return "", false
	}
	back, err := n.enc.NewEncoder().String(s)
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

// codec returns the codec names go through: WithEncoding's, or the one
// detection has decided (shared by the Conns of a Pool); nil while names
// pass as bytes.
func (c *control) codec() *nameCodec {
	if c.names == nil && c.detect != nil {
		return c.detect.codec()
	}
	return c.names
}

// decodeEntries decodes the names of a listing's entries, which
// detection (WithEncodingDetection) looks at first.
func (c *control) decodeEntries(entries []*Entry) {
	if c.names == nil && c.detect != nil {
		var names, lines []string
		for _, e := range entries {
			names = append(names, e.Name, e.Target)
			lines = append(lines, e.Raw)
		}
		c.observe(names, lines)
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

// decodeEntries gives the entries' names (and link targets) in UTF-8,
// keeping the server's bytes in RawName. Raw lines are left as sent.
func (n *nameCodec) decodeEntries(entries []*Entry) {
	if n == nil {
		return
	}
	for _, e := range entries {
		if e.Name != "" && !ascii(e.Name) {
			e.RawName = []byte(e.Name)
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

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
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
