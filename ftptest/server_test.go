package ftptest_test

import (
	"io/fs"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAddrAndURL(t *testing.T) {
	srv := newServer(t, ftptest.WithCredentials("us er", "p@ss:/"))
	assert.True(t, strings.HasPrefix(srv.Addr(), "127.0.0.1:"), srv.Addr())
	u, err := url.Parse(srv.URL())
	require.NoError(t, err)
	assert.Equal(t, "ftp", u.Scheme)
	assert.Equal(t, srv.Addr(), u.Host)
	assert.Equal(t, "/", u.Path)
	assert.Equal(t, "us er", u.User.Username())
	pass, _ := u.User.Password()
	assert.Equal(t, "p@ss:/", pass)
	assert.Equal(t, "us er", srv.User())
	assert.Equal(t, "p@ss:/", srv.Password())
}

func TestLogin(t *testing.T) {
	tests := []struct {
		name       string
		opts       []ftptest.ServerOption
		user, pass string
		want       int
	}{
		{"good", nil, "user", "pass", 230},
		{"bad password", nil, "user", "nope", 530},
		{"bad user", nil, "root", "pass", 530},
		{"custom", []ftptest.ServerOption{ftptest.WithCredentials("bob", "s3cret")}, "bob", "s3cret", 230},
		{"anonymous refused", nil, "anonymous", "me@example.com", 530},
		{"anonymous", []ftptest.ServerOption{ftptest.WithAnonymous()}, "anonymous", "me@example.com", 230},
		{"ftp", []ftptest.ServerOption{ftptest.WithAnonymous()}, "ftp", "", 230},
		{"anonymous keeps real user", []ftptest.ServerOption{ftptest.WithAnonymous()}, "user", "pass", 230},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.opts...)
			c := dialRaw(t, srv.Addr())
			c.expect(220)
			c.cmd("PWD", 530)
			c.cmd("USER "+tt.user, 331)
			c.cmd("PASS "+tt.pass, tt.want)
			want := 530
			if tt.want == 230 {
				want = 257
			}
			c.cmd("PWD", want)
		})
	}
}

func TestPassWithoutUser(t *testing.T) {
	c := dialRaw(t, newServer(t).Addr())
	c.expect(220)
	c.cmd("PASS pass", 503)
}

func TestFEAT(t *testing.T) {
	tests := []struct {
		name    string
		opts    []ftptest.ServerOption
		missing []string
	}{
		{"default", nil, nil},
		{"without", []ftptest.ServerOption{ftptest.WithoutFeatures("epsv", "Size")}, []string{"EPSV", "SIZE"}},
		{"without MLSD", []ftptest.ServerOption{ftptest.WithoutMLSD()}, []string{"MLST"}},
	}
	all := []string{"EPSV", "EPRT", "MDTM", "MFMT", "MLST type*;size*;modify*;perm*;unique*;unix.mode;",
		"PASV", "REST STREAM", "SIZE", "TVFS", "UTF8"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, newServer(t, tt.opts...).Addr())
			c.expect(220)
			lines := strings.Split(c.cmd("FEAT", 211), "\n")
			require.GreaterOrEqual(t, len(lines), 2)
			assert.True(t, strings.HasPrefix(lines[0], "211-"), lines[0])
			assert.Equal(t, "211 End", lines[len(lines)-1])
			var got []string
			for _, l := range lines[1 : len(lines)-1] {
				require.True(t, strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "  "), "feature line %q", l)
				got = append(got, l[1:])
			}
			var want []string
			for _, f := range all {
				if !hasPrefixAny(f, tt.missing) {
					want = append(want, f)
				}
			}
			assert.Equal(t, want, got)
		})
	}
}

func hasPrefixAny(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func TestPWDQuoting(t *testing.T) {
	srv := newServer(t)
	c := login(t, srv)
	assert.Equal(t, `257 "/" is current directory.`, c.cmd("PWD", 257))
	assert.Equal(t, `257 "/say ""hi""" created.`, c.cmd(`MKD say "hi"`, 257))
	c.cmd(`CWD say "hi"`, 250)
	assert.Equal(t, `257 "/say ""hi""" is current directory.`, c.cmd("PWD", 257))
	fi, err := srv.Stat(`say "hi"`)
	require.NoError(t, err)
	assert.True(t, fi.IsDir())
}

// TestCommands runs a session of commands, each checked against its reply
// code, then checks the tree.
func TestCommands(t *testing.T) {
	srv := newServer(t, ftptest.WithFiles(map[string][]byte{
		"a.txt":      []byte("hello"),
		"dir/b.txt":  []byte("bee"),
		"gone.txt":   nil,
		"full/x.txt": []byte("x"),
	}))
	mod := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	require.NoError(t, srv.SetModTime("a.txt", mod))
	c := login(t, srv)
	steps := []struct {
		line string
		code int
		text string // checked if set
	}{
		{"SYST", 215, "215 UNIX Type: L8"},
		{"NOOP", 200, ""},
		{"OPTS UTF8 ON", 200, ""},
		{"OPTS MLST type;", 501, ""},
		{"TYPE I", 200, ""},
		{"TYPE A", 200, ""},
		{"TYPE E", 504, ""},
		{"HELP", 214, ""},
		{"STAT", 211, ""},
		{"XYZZY", 502, ""},
		{"!@#$ 1", 500, ""},
		{"SIZE a.txt", 213, "213 5"},
		{"SIZE dir", 550, ""},
		{"SIZE nope", 550, ""},
		{"MDTM /a.txt", 213, "213 20200102030405"},
		{"MDTM nope", 550, ""},
		{"MFMT 20210203040506 a.txt", 213, "213 Modify=20210203040506; a.txt"},
		{"MFMT yesterday a.txt", 501, ""},
		{"MFMT 20210203040506 nope", 550, ""},
		{"MKD new", 257, `257 "/new" created.`},
		{"MKD new", 550, ""},
		{"MKD no/parent", 550, ""},
		{"CWD new", 250, ""},
		{"PWD", 257, `257 "/new" is current directory.`},
		{"MKD sub", 257, `257 "/new/sub" created.`},
		{"CDUP", 250, ""},
		{"CWD nope", 550, ""},
		{"CWD a.txt", 550, ""},
		{"RMD full", 550, ""},
		{"RMD nope", 550, ""},
		{"RMD new/sub", 250, ""},
		{"DELE gone.txt", 250, ""},
		{"DELE gone.txt", 550, ""},
		{"DELE dir", 550, ""},
		{"RNTO x", 503, ""},
		{"RNFR nope", 550, ""},
		{"RNFR dir/b.txt", 350, ""},
		{"RNTO /new/c.txt", 250, ""},
		{"RNFR a.txt", 350, ""},
		{"NOOP", 200, ""},
		{"RNTO z.txt", 503, ""},
		{"REST 10", 350, ""},
		{"REST x", 501, ""},
		{"ABOR", 225, ""},
		{"STAT /new", 213, ""},
	}
	for _, st := range steps {
		text := c.cmd(st.line, st.code)
		if st.text != "" {
			assert.Equal(t, st.text, text, st.line)
		}
	}
	data, err := srv.ReadFile("/new/c.txt")
	require.NoError(t, err)
	assert.Equal(t, "bee", string(data))
	_, err = srv.ReadFile("dir/b.txt")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = srv.Stat("gone.txt")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	fi, err := srv.Stat("a.txt")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2021, 2, 3, 4, 5, 6, 0, time.UTC), fi.ModTime().UTC())
	assert.Equal(t, int64(5), fi.Size())
	c.cmd("QUIT", 221)
	assert.True(t, c.closed())
}

func TestCommandsRecorded(t *testing.T) {
	srv := newServer(t)
	c := login(t, srv)
	c.cmd("MKD a\xff\xffb", 257)
	c.cmd("noop", 200)
	c.cmd("QUIT", 221)
	want := []string{"USER user", "PASS pass", "MKD a\xff\xffb", "noop", "QUIT"}
	assert.Equal(t, want, srv.Commands())
	fi, err := srv.Stat("a\xffb")
	require.NoError(t, err, "IAC IAC must become one 0xFF byte")
	assert.True(t, fi.IsDir())
}

func TestLongLine(t *testing.T) {
	c := login(t, newServer(t))
	c.cmd("NOOP "+strings.Repeat("x", 70<<10), 500)
	c.cmd("NOOP", 200)
}

func TestSeedAndInspect(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("x/y/z.bin", []byte{1, 2, 3})
	srv.MkdirAll("/e/f")
	data, err := srv.ReadFile("/x/y/z.bin")
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 2, 3}, data)
	_, err = srv.ReadFile("x/y")
	assert.Error(t, err)
	fi, err := srv.Stat("e/f")
	require.NoError(t, err)
	assert.True(t, fi.IsDir())
	assert.Equal(t, "f", fi.Name())
	assert.ErrorIs(t, srv.SetModTime("nope", time.Now()), fs.ErrNotExist)
	assert.Panics(t, func() { srv.WriteFile("x/y/z.bin/w", nil) })
}
