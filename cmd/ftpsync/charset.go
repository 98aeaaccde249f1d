package main

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"
	_ "time/tzdata" // --timezone works where the system has no zone database (Windows)
	"unicode/utf8"

	"github.com/pasvport/ftp"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
)

// detectCandidates are the encodings that ftpsync tells the server's
// names to be in when --encoding is not given (ftp.WithEncodingDetection):
// those of the Chinese, Japanese and Korean locales, GBK first.
var detectCandidates = []encoding.Encoding{simplifiedchinese.GBK, traditionalchinese.Big5, japanese.ShiftJIS, japanese.EUCJP, korean.EUCKR}

// encodingOption is the option for --encoding: WithEncoding for an
// encoding, none for UTF-8, and detection when the flag is not given
// (enc nil). With --verbose, the trace says what detection decided
// ("# names: GBK: …").
func encodingOption(enc encoding.Encoding) ftp.Option {
	switch enc {
	case nil:
		return ftp.WithEncodingDetection(detectCandidates...)
	case unicode.UTF8:
		return nil
	}
	return ftp.WithEncoding(enc)
}

// detectFor lets detection see a listing before remote is sent, where
// remote is not ASCII and --encoding is not given (enc nil), so that a
// name typed in Chinese goes in the server's encoding: the listing of
// the deepest folder of remote's whose path is ASCII. A failure is left
// to the command.
func detectFor(ctx context.Context, p *ftp.Pool, remote string, enc encoding.Encoding) {
	if enc != nil || isASCII(remote) {
		return
	}
	dir := path.Dir(remote)
	for !isASCII(dir) {
		dir = path.Dir(dir)
	}
	_, _ = p.List(ctx, dir)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// parseEncoding returns the encoding --encoding names (an IANA or MIME
// name: GBK, GB18030, Big5, Shift_JIS, EUC-KR, ISO-8859-1, windows-1252
// …, or UTF-8).
func parseEncoding(name string) (encoding.Encoding, error) {
	enc, err := ianaindex.IANA.Encoding(name)
	if enc == nil || err != nil {
		enc, err = ianaindex.MIME.Encoding(name)
	}
	switch {
	case err != nil || enc == nil:
		return nil, usageError{fmt.Sprintf("--encoding %q: not an encoding this program knows (try GBK, GB18030, Big5, Shift_JIS, EUC-KR, ISO-8859-1, windows-1252)", name)}
	}
	return enc, nil
}

// parseTimezone returns the zone --timezone names (IANA: Asia/Shanghai).
func parseTimezone(name string) (*time.Location, error) {
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" {
		return nil, usageError{fmt.Sprintf("--timezone %q: not an IANA time zone (like Asia/Shanghai or UTC)", name)}
	}
	return loc, nil
}

// serverBytes returns, for each entry, the bytes the server knows its
// name by (ftp.Conn.NameBytes) where they are not the name's own, for
// nameBytes.
func serverBytes(ctx context.Context, p *ftp.Pool, entries []*ftp.Entry) ([][]byte, error) {
	raws := make([][]byte, len(entries))
	err := p.Do(ctx, func(c *ftp.Conn) error {
		for i, en := range entries {
			b, err := c.NameBytes(en.Name)
			if err != nil {
				return err
			}
			if string(b) != en.Name {
				raws[i] = b
			}
		}
		return nil
	})
	return raws, err
}

// nameBytes returns the bytes to give beside name in JSON, where
// encoding/json would replace what is not UTF-8 by U+FFFD: the server's
// bytes when the library decoded them (raw), else name's own bytes when
// they are not valid UTF-8; nil when name says it all.
func nameBytes(name string, raw []byte) []byte {
	switch {
	case raw != nil:
		return raw
	case !utf8.ValidString(name):
		return []byte(name)
	}
	return nil
}

// localName returns the local file name for the remote name base (enc
// is --encoding, nil for UTF-8). Bytes that decode in enc (and encode
// back to the same bytes) give the decoded name. A name that is still
// not valid UTF-8 is escaped so that no two names give the same local
// one: each byte that is not part of valid UTF-8 becomes %XX (upper-case
// hex) and each '%' becomes %25. A valid name is used as it is unless it
// holds '%' followed by two hex digits (the form of an escape): then its
// '%' are escaped too. So every name that is changed holds an escape and
// no name used as it is does, and unescaping %XX gives the name back.
func localName(base string, enc encoding.Encoding) string {
	if !utf8.ValidString(base) && enc != nil {
		if s, err := enc.NewDecoder().String(base); err == nil && utf8.ValidString(s) {
			if back, err := enc.NewEncoder().String(s); err == nil && back == base {
				base = s
			}
		}
	}
	if utf8.ValidString(base) && !hasEscape(base) {
		return base
	}
	return escapeName(base)
}

// escapeName writes the bytes of s that are not part of valid UTF-8 as
// %XX, and '%' as %25.
func escapeName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, "%%%02X", s[i])
		case r == '%':
			b.WriteString("%25")
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// hasEscape reports whether s holds '%' followed by two hex digits.
func hasEscape(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		if s[i] == '%' && isHex(s[i+1]) && isHex(s[i+2]) {
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
