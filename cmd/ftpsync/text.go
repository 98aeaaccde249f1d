package main

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// safe escapes what a terminal would obey in text that came from a server
// (names, replies) or from the command line: control characters (C0, DEL,
// C1: escape sequences, carriage returns) and bytes that are not UTF-8
// become \xNN, so that a file name cannot rewrite the screen.
func safe(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}

// safeLines is safe for a message of several lines: each line is made
// safe, the line breaks kept.
func safeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = safe(l)
	}
	return strings.Join(lines, "\n")
}
