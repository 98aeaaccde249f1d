package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBadURLs: a URL that does not parse says why, exit 2, without its
// password; a path cut at a raw '#' or '?' is warned about (issue 21,
// item 5).
func TestBadURLs(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("/a", []byte("x"))
	host := strings.TrimPrefix(strings.TrimSuffix(srv.URL(), "/"), "ftp://")
	host = host[strings.LastIndex(host, "@")+1:]
	tests := []struct {
		name, url string
		code      int
		want      string
	}{
		{"bad escape", "ftp://" + host + "/a%zz", exitUsage, `invalid URL escape "%zz" (write a '%' as %25)`},
		{"# in the password", "ftp://u:pa#ss@" + host + "/a", exitUsage, "a '#' or '?' in the user or password must be written %23 or %3F"},
		{"port out of range", "ftp://127.0.0.1:99999/a", exitUsage, "port 99999 is out of range (1 to 65535)"},
		{"port 0", "ftp://127.0.0.1:0/a", exitUsage, "port 0 is out of range"},
		{"no host", "ftp:///a", exitUsage, "no host"},
		{"not ftp", "http://" + host + "/", exitUsage, "not an ftp:// or ftps:// URL"},
		{"name cut at #", at(srv, "a#b"), exitOK, "warning: the URL's path stops at its first raw '#' (a name holding '#' is written %23): /a"},
		{"name cut at ?", at(srv, "a?b"), exitOK, "warning: the URL's path stops at its first raw '?'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ftpsync(t, nil, "ls", tt.url)
			assert.Equal(t, tt.code, r.code, r.stderr)
			assert.Contains(t, r.stderr, tt.want)
			assert.NotContains(t, r.stderr, "pa#ss")
		})
	}
}

// TestNetrc: quoted values, comments, macdef and default are read as
// curl and Python read them; a netrc others can read is warned about
// (issue 21, item 7).
func TestNetrc(t *testing.T) {
	srv := newServer(t, ftptest.WithCredentials("alice", `a "b\c d`))
	u, err := url.Parse(srv.URL())
	require.NoError(t, err)
	host := u.Hostname()
	tests := []struct {
		name, netrc, url string
		perm             os.FileMode
		code             int
		warn             string
	}{
		{"quoted", "machine " + host + ` login alice password "a \"b\\c d"` + "\n", "ftp://" + u.Host + "/", 0o600, exitOK, ""},
		{"default after others", "# my hosts\nmachine other login bob password x\nmacdef init\ncd /x\n\ndefault login alice password \"a \\\"b\\\\c d\"\n", "ftp://" + u.Host + "/", 0o600, exitOK, ""},
		{"machine for another login, then default", "machine " + host + " login bob password x\ndefault login alice password \"a \\\"b\\\\c d\"\n", "ftp://alice@" + u.Host + "/", 0o600, exitOK, ""},
		{"readable by others", "machine " + host + ` login alice password "a \"b\\c d"` + "\n", "ftp://" + u.Host + "/", 0o644, exitOK, "other users can read it: chmod 600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "netrc")
			require.NoError(t, os.WriteFile(name, []byte(tt.netrc), tt.perm))
			require.NoError(t, os.Chmod(name, tt.perm))
			r := ftpsync(t, map[string]string{"NETRC": name}, "ls", tt.url)
			assert.Equal(t, tt.code, r.code, r.stderr)
			if tt.warn != "" {
				assert.Contains(t, r.stderr, tt.warn)
			} else {
				assert.NotContains(t, r.stderr, "warning")
			}
		})
	}
}

// TestCredentialWarnings: a password in the URL is warned about, with
// what to use instead; FTP_PASSWORD without a user in the URL is said to
// be unused (issue 21, item 7).
func TestCredentialWarnings(t *testing.T) {
	srv := newServer(t, ftptest.WithCredentials("alice", "pw-1"))
	u, err := url.Parse(srv.URL())
	require.NoError(t, err)
	r := ftpsync(t, nil, "ls", "ftp://alice:pw-1@"+u.Host+"/")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "warning: a password in the URL is visible to other users (ps, shell history): use FTP_PASSWORD, ~/.netrc, or leave it out to be asked")

	r = ftpsync(t, map[string]string{"FTP_PASSWORD": "pw-1"}, "ls", "ftp://alice@"+u.Host+"/")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.NotContains(t, r.stderr, "warning")

	r = ftpsync(t, map[string]string{"FTP_PASSWORD": "pw-1"}, "ls", "ftp://"+u.Host+"/")
	assert.Equal(t, exitConnect, r.code)
	assert.Contains(t, r.stderr, "FTP_PASSWORD is not used: the URL names no user (ftp://USER@"+u.Host+"/)")
}

// TestMaskOnlyPasswords: the password is masked where it is written, not
// wherever its text appears: a password "ft" leaves "ftp:" alone (issue
// 21, item 7).
func TestMaskOnlyPasswords(t *testing.T) {
	e := &env{secret: "ft"}
	assert.Equal(t, "ftp: PASS ****: 530 ftp://u:****@h/ left", e.mask("ftp: PASS ft: 530 ftp://u:ft@h/ left"))
	e = &env{secret: "s3cr:t@x"}
	assert.Equal(t, "ftp://u:****@h/", e.mask("ftp://u:"+url.PathEscape("s3cr:t@x")+"@h/"))
	assert.Equal(t, "ftp://u:****@h/", e.mask("ftp://u:"+url.UserPassword("u", "s3cr:t@x").String()[2:]+"@h/"))

	srv := newServer(t, ftptest.WithCredentials("u", "ft"))
	uu, err := url.Parse(srv.URL())
	require.NoError(t, err)
	r := ftpsync(t, map[string]string{"FTP_PASSWORD": "ft"}, "ls", "ftp://u@"+uu.Host+"/missing")
	assert.Equal(t, exitNotFound, r.code)
	assert.Contains(t, r.stderr, "ftpsync: ftp")
	assert.NotContains(t, r.stderr, "****p")
}

// TestCertificateAdvice: an untrusted certificate tells the user of the
// command what to do (--cacert, SSL_CERT_FILE), not the library's
// tls.Config advice; --cacert then works for every command (item 8).
func TestCertificateAdvice(t *testing.T) {
	srv := newServer(t, ftptest.WithExplicitTLS())
	srv.WriteFile("/f", []byte("x"))
	r := ftpsync(t, nil, "ls", "--explicit-tls", at(srv, ""))
	assert.Equal(t, exitConnect, r.code)
	assert.Contains(t, r.stderr, "--cacert FILE trusts the certificates of a PEM file, as SSL_CERT_FILE does")
	assert.NotContains(t, r.stderr, "tls.Config")

	r = ftpsync(t, nil, "get", "--explicit-tls", "--cacert", writeCA(t, srv), at(srv, "f"), t.TempDir())
	assert.Equal(t, exitOK, r.code, r.stderr)
}

// TestProxyPasswordWarning: a proxy's password given with --proxy is as
// visible in ps as one in the server's URL, and is warned about the same
// way, without being printed; one from the environment is not.
func TestProxyPasswordWarning(t *testing.T) {
	srv := newServer(t)
	closed := "127.0.0.1:1" // nothing listens: the run fails after the warning
	r := ftpsync(t, nil, "ls", "--proxy", "socks5://px:s3cret@"+closed, srv.URL()+"/")
	assert.NotEqual(t, exitOK, r.code)
	assert.Contains(t, r.stderr, "warning: a password in --proxy is visible to other users (ps, shell history): put the proxy's URL in ALL_PROXY or ftp_proxy instead")
	assert.NotContains(t, r.stderr+r.stdout, "s3cret")

	r = ftpsync(t, map[string]string{"ALL_PROXY": "socks5://px:s3cret@" + closed}, "ls", srv.URL()+"/")
	assert.NotEqual(t, exitOK, r.code)
	assert.NotContains(t, r.stderr, "password in --proxy")
	assert.NotContains(t, r.stderr+r.stdout, "s3cret")
}
