package main

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// target is a parsed URL: where to dial (credentials included) and the
// remote path.
type target struct {
	dialURL string
	path    string
	display string // the URL without password
}

// parseTarget parses a command-line URL and completes its credentials.
func (e *env) parseTarget(raw string) (target, error) {
	u, err := e.parseURL(raw)
	if err != nil {
		return target{}, err
	}
	if err := e.credentials(u); err != nil {
		return target{}, err
	}
	p := u.Path
	switch {
	case strings.HasPrefix(p, "//"):
		p = path.Clean(p[1:]) // %2F: absolute
	case p == "" || p == "/":
		p = "."
	default:
		p = path.Clean(p[1:])
	}
	dial := *u
	dial.Path, dial.RawPath, dial.RawQuery, dial.ForceQuery, dial.Fragment = "/", "", "", false, ""
	return target{dialURL: dial.String(), path: p, display: masked(u)}, nil
}

// parseURL parses a command-line URL, or says what is wrong with it; it
// warns when the path stops at a raw '?' or '#', which a name may hold.
func (e *env) parseURL(raw string) (*url.URL, error) {
	shown := safe(redactRaw(raw))
	bad := func(why string) error { return usageError{fmt.Sprintf("bad URL %s: %s", shown, why)} }
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || (scheme != "ftp" && scheme != "ftps") {
		return nil, usageError{"not an ftp:// or ftps:// URL: " + shown}
	}
	authority, _, _ := strings.Cut(rest, "/")
	if at := strings.LastIndex(authority, "@"); at >= 0 && strings.ContainsAny(authority[:at], "#?") {
		return nil, bad("a '#' or '?' in the user or password must be written %23 or %3F")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		why := err.Error()
		if strings.Contains(why, "escape") {
			why += " (write a '%' as %25)"
		}
		return nil, bad(why)
	}
	if u.Hostname() == "" {
		return nil, bad("no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, bad(fmt.Sprintf("port %s is out of range (1 to 65535)", safe(p)))
		}
	}
	for _, cut := range []struct {
		at   bool
		char string
		esc  string
	}{{u.RawQuery != "" || u.ForceQuery, "?", "%3F"}, {u.Fragment != "" || strings.HasSuffix(raw, "#"), "#", "%23"}} {
		if cut.at {
			e.warn("the URL's path stops at its first raw '%s' (a name holding '%s' is written %s): %s",
				cut.char, cut.char, cut.esc, safe(u.Path))
			break
		}
	}
	return u, nil
}

// redactRaw hides what may be a password in a URL that does not parse.
func redactRaw(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	authority, tail, slash := strings.Cut(rest, "/")
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return raw
	}
	user, _, hasPass := strings.Cut(authority[:at], ":")
	if !hasPass {
		return raw
	}
	s := scheme + "://" + user + ":****" + authority[at:]
	if slash {
		s += "/" + tail
	}
	return s
}

// masked is the URL with its password, if any, shown as ****: the mask of
// every password the library and ftpsync print (url.Redacted's is xxxxx).
func masked(u *url.URL) string {
	if _, ok := u.User.Password(); !ok {
		return u.String()
	}
	m := *u
	m.User = url.User(u.User.Username()) // UserPassword would escape the *s
	user := m.User.String()
	return strings.Replace(m.String(), "//"+user+"@", "//"+user+":****@", 1)
}

// mask hides the password in msg where a password is written: in a URL's
// user:password@ and after PASS, never elsewhere (a password "ft" leaves
// "ftp:" alone).
func (e *env) mask(msg string) string {
	if e.secret == "" {
		return msg
	}
	for _, s := range []string{e.secret, url.PathEscape(e.secret), url.QueryEscape(e.secret), url.UserPassword("", e.secret).String()[1:]} {
		msg = strings.ReplaceAll(msg, ":"+s+"@", ":****@")
		msg = strings.ReplaceAll(msg, "PASS "+s, "PASS ****")
	}
	return msg
}
