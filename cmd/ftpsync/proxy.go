package main

import (
	"net"
	"net/url"
	"strings"

	"github.com/pasvport/ftp"
)

// withProxy adds to opts the proxy for t: --proxy's when given (an empty
// one: none), else as curl finds it, ftp_proxy or FTP_PROXY, then
// all_proxy or ALL_PROXY, unless no_proxy or NO_PROXY names the host.
func (e *env) withProxy(flagValue *string, t target, opts []ftp.Option) ([]ftp.Option, error) {
	u, err := proxyFor(flagValue, t.dialURL, e.getenv)
	if err != nil || u == nil {
		return opts, err
	}
	if _, has := u.User.Password(); has && flagValue != nil {
		e.warn("a password in --proxy is visible to other users (ps, shell history): put the proxy's URL in ALL_PROXY or ftp_proxy instead")
	}
	return append(opts, ftp.WithProxy(u)), nil
}

// proxyFor returns the proxy for the server of dialURL, or nil for none.
func proxyFor(flagValue *string, dialURL string, getenv func(string) string) (*url.URL, error) {
	raw, from := "", "--proxy"
	if flagValue != nil {
		raw = *flagValue
	} else {
		for _, name := range []string{"ftp_proxy", "FTP_PROXY", "all_proxy", "ALL_PROXY"} {
			if raw = getenv(name); raw != "" {
				from = name
				break
			}
		}
		if raw == "" || noProxy(dialURL, getenv) {
			return nil, nil
		}
	}
	if raw == "" {
		return nil, nil
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw // curl's default
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "":
		return nil, usageError{from + ": not a proxy URL such as socks5://host:1080 or http://host:3128 (not shown: it may hold a password)"}
	case u.Scheme != "socks5" && u.Scheme != "socks5h" && u.Scheme != "http":
		return nil, usageError{from + ": proxy scheme " + u.Scheme + "://: only socks5://, socks5h:// and http:// (CONNECT) proxies are supported"}
	}
	return u, nil
}

// noProxy reports whether no_proxy or NO_PROXY exempts the host of
// dialURL, as curl reads them: "*", or a list of host names (each also
// matching its subdomains; a leading dot is ignored), IP addresses and
// CIDR ranges, separated by commas or spaces.
func noProxy(dialURL string, getenv func(string) string) bool {
	list := getenv("no_proxy")
	if list == "" {
		list = getenv("NO_PROXY")
	}
	u, err := url.Parse(dialURL)
	if list == "" || err != nil {
		return false
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	ip := net.ParseIP(host)
	for _, entry := range strings.FieldsFunc(strings.ToLower(list), func(r rune) bool { return r == ',' || r == ' ' }) {
		entry = strings.TrimSuffix(strings.TrimPrefix(entry, "."), ".")
		if _, cidr, err := net.ParseCIDR(entry); err == nil && ip != nil && cidr.Contains(ip) {
			return true
		}
		if entry == "*" || host == strings.Trim(entry, "[]") || ip == nil && strings.HasSuffix(host, "."+entry) {
			return true
		}
	}
	return false
}
