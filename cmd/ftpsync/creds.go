package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"
)

// credentials completes u's user and password, the first found: the URL;
// FTP_PASSWORD for the URL's user; the netrc entry of the host, or its
// default entry; on a terminal, a prompt for the URL's user. Without a
// user, the library logs in as anonymous.
func (e *env) credentials(u *url.URL) error {
	user, pass, hasPass := "", "", false
	if u.User != nil {
		user = u.User.Username()
		pass, hasPass = u.User.Password()
	}
	if hasPass {
		e.warn("a password in the URL is visible to other users (ps, shell history): use FTP_PASSWORD, ~/.netrc, or leave it out to be asked")
	}
	envPass := e.getenv("FTP_PASSWORD")
	switch {
	case envPass != "" && user == "":
		e.warn("FTP_PASSWORD is not used: the URL names no user (ftp://USER@%s/)", u.Host)
	case envPass != "" && !hasPass:
		pass, hasPass = envPass, true
	}
	if !hasPass {
		if l, p, ok := e.netrc(u.Hostname(), user); ok {
			user, pass, hasPass = l, p, true
		}
	}
	if !hasPass && user != "" && e.prompt != nil {
		p, err := e.prompt(fmt.Sprintf("Password for %s@%s: ", user, u.Host))
		if err != nil {
			return fmt.Errorf("reading the password: %w", err)
		}
		pass, hasPass = p, true
	}
	switch {
	case user != "" && hasPass:
		u.User = url.UserPassword(user, pass)
		e.secret = pass
	case user != "":
		u.User = url.User(user)
	}
	return nil
}

// terminalPrompt asks for a password on the terminal, without echo, when
// stdin and stderr are one; nil otherwise (cron, pipes: no prompt).
func terminalPrompt(stderr *os.File) func(string) (string, error) {
	in := int(os.Stdin.Fd())
	if !term.IsTerminal(in) || !term.IsTerminal(int(stderr.Fd())) {
		return nil
	}
	return func(prompt string) (string, error) {
		b, err := readPassword(in, stderr, prompt)
		fmt.Fprintln(stderr)
		return string(b), err
	}
}

// netrc looks host up in ~/.netrc (or $NETRC) as curl and Python read it:
// the login and password of its machine entry, else of the default entry;
// when user is not empty, only an entry for that login counts. Values may
// be quoted ("a b") with backslash escapes; # starts a comment where a
// keyword is due; a macdef runs to the next blank line. A file that other
// users can read is warned about when it gives a password.
func (e *env) netrc(host, user string) (login, pass string, ok bool) {
	name := e.getenv("NETRC")
	if name == "" {
		home := e.getenv("HOME")
		if home == "" {
			return "", "", false
		}
		name = filepath.Join(home, ".netrc")
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return "", "", false
	}
	entries := parseNetrc(string(data))
	for _, def := range []bool{false, true} { // machine entries first, then default
		for _, en := range entries {
			if en.isDefault != def || (!def && en.machine != host) {
				continue
			}
			if en.login == "" || (user != "" && en.login != user) {
				continue
			}
			if fi, err := os.Stat(name); err == nil && fi.Mode().Perm()&0o077 != 0 && en.pass != "" {
				e.warn("%s holds a password and other users can read it: chmod 600 %s", safe(name), safe(name))
			}
			return en.login, en.pass, true
		}
	}
	return "", "", false
}

type netrcEntry struct {
	machine, login, pass string
	isDefault            bool
}

// parseNetrc reads the entries of a netrc file.
func parseNetrc(s string) []netrcEntry {
	var entries []netrcEntry
	lx := netrcLexer{s: s}
	for {
		tok, ok := lx.next()
		if !ok {
			return entries
		}
		if strings.HasPrefix(tok, "#") && !lx.quoted {
			lx.skipLine()
			continue
		}
		cur := func() *netrcEntry {
			if len(entries) == 0 {
				return &netrcEntry{} // a value before any machine: ignored
			}
			return &entries[len(entries)-1]
		}
		switch tok {
		case "machine":
			m, _ := lx.next()
			entries = append(entries, netrcEntry{machine: m})
		case "default":
			entries = append(entries, netrcEntry{isDefault: true})
		case "login":
			cur().login, _ = lx.next()
		case "password":
			cur().pass, _ = lx.next()
		case "account", "port":
			lx.next()
		case "macdef":
			lx.next()
			lx.skipMacro()
		}
	}
}

// netrcLexer splits a netrc file into words: quoted ("a b") with
// backslash escapes, or runs of non-space.
type netrcLexer struct {
	s      string
	i      int
	quoted bool // the last word was quoted
}

func (l *netrcLexer) next() (string, bool) {
	for l.i < len(l.s) && strings.ContainsRune(" \t\r\n", rune(l.s[l.i])) {
		l.i++
	}
	if l.i >= len(l.s) {
		return "", false
	}
	var b strings.Builder
	l.quoted = l.s[l.i] == '"'
	if l.quoted {
		l.i++
	}
	for ; l.i < len(l.s); l.i++ {
		c := l.s[l.i]
		switch {
		case c == '\\' && l.i+1 < len(l.s):
			l.i++
			b.WriteByte(l.s[l.i])
		case l.quoted && c == '"':
			l.i++
			return b.String(), true
		case !l.quoted && strings.ContainsRune(" \t\r\n", rune(c)):
			return b.String(), true
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

func (l *netrcLexer) skipLine() {
	if j := strings.IndexByte(l.s[l.i:], '\n'); j >= 0 {
		l.i += j + 1
	} else {
		l.i = len(l.s)
	}
}

func (l *netrcLexer) skipMacro() {
	if j := strings.Index(l.s[l.i:], "\n\n"); j >= 0 {
		l.i += j + 2
	} else {
		l.i = len(l.s)
	}
}

// warn prints a warning on stderr, once per message.
func (e *env) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if e.warned[msg] {
		return
	}
	if e.warned == nil {
		e.warned = map[string]bool{}
	}
	e.warned[msg] = true
	fmt.Fprintln(e.stderr, "ftpsync: warning:", msg)
}
