package main

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// doctorJSON is the JSON report of ftpsync doctor, as a script reads it.
type doctorJSON struct {
	Server   string `json:"server"`
	Greeting string `json:"greeting"`
	Checks   []struct {
		Area, Name, Status, Detail string
	} `json:"checks"`
	Options []string `json:"libraryOptions"`
	Flags   []string `json:"ftpsyncFlags"`
	Advice  []string `json:"advice"`
}

// status returns the status and detail of the check named name.
func (d doctorJSON) status(name string) (status, detail string) {
	for _, c := range d.Checks {
		if c.Name == name {
			return c.Status, c.Detail
		}
	}
	return "", ""
}

// runDoctor runs ftpsync doctor --json with args and decodes its report.
func runDoctor(t *testing.T, args ...string) (doctorJSON, result) {
	t.Helper()
	r := ftpsync(t, nil, append([]string{"doctor", "--json", "--timeout", "5s"}, args...)...)
	var rep doctorJSON
	if r.code == exitOK {
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	}
	return rep, r
}

// writeCA writes srv's certificate as a PEM file for --cacert.
func writeCA(t *testing.T, srv *ftptest.Server) string {
	name := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(name, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	return name
}

// writeCommands are the commands that change something on a server.
var writeCommands = []string{"STOR", "STOU", "APPE", "DELE", "RMD", "MKD", "RNFR", "RNTO", "MFMT", "SITE"}

func wrote(srv *ftptest.Server) []string {
	var out []string
	for _, c := range srv.Commands() {
		verb, _, _ := strings.Cut(c, " ")
		if slices.Contains(writeCommands, strings.ToUpper(verb)) {
			out = append(out, c)
		}
	}
	return out
}

func TestDoctorQuirks(t *testing.T) {
	files := map[string][]byte{"pub/a.txt": []byte("hello"), "pub/.hidden": []byte("x")}
	type want struct{ name, status, detail string }
	tests := []struct {
		name    string
		opts    []ftptest.ServerOption
		want    []want
		options []string // in libraryOptions
		flags   []string // in ftpsyncFlags
		advice  string   // in one advice line
	}{
		{"defaults", nil, []want{
			{"feat", "ok", "MLST"}, {"mlsd", "ok", "MLSD"}, {"mlst", "ok", "250"}, {"size", "ok", "213 "},
			{"mdtm", "ok", "213"}, {"epsv", "ok", ""}, {"pasv", "ok", ""}, {"pasv-address", "ok", "127.0.0.1"},
			{"active", "ok", ""}, {"list-a", "ok", ""}, {"timezone", "ok", "UTC"}, {"charset", "ok", ""},
			{"connections", "ok", "16 parallel"}, {"mfmt", "skip", "--write-test"}, {"tls-explicit", "no", "AUTH TLS refused"},
		}, []string{"none: the defaults work"}, []string{"none: the defaults work"}, ""},
		{"no FEAT, yet MLST, SIZE and MDTM work", []ftptest.ServerOption{ftptest.WithRawReply("FEAT", "502 Command not implemented.\r\n")}, []want{
			{"feat", "no", "502"}, {"mlst", "ok", "not advertised"}, {"size", "ok", "(not advertised"},
			{"mdtm", "ok", "not advertised"},
		}, nil, nil, ""},
		{"no MLSD", []ftptest.ServerOption{ftptest.WithoutMLSD()}, []want{
			{"mlsd", "no", "LIST"}, {"mlst", "no", "500"},
		}, nil, nil, ""},
		{"vsftpd", []ftptest.ServerOption{ftptest.WithVsftpdQuirks()}, []want{
			{"list-a", "warn", "hides dot files (1"}, {"mlst", "no", ""}, {"mlsd", "no", ""},
		}, nil, nil, "LIST -a"},
		{"no SIZE, MDTM, HASH", []ftptest.ServerOption{
			ftptest.WithRawReply("SIZE", "502 Not implemented.\r\n"), ftptest.WithRawReply("MDTM", "502 Not implemented.\r\n"),
			ftptest.WithRawReply("HASH", "502 Not implemented.\r\n"),
		}, []want{{"size", "no", "502"}, {"mdtm", "no", "502"}, {"hash", "no", "502"}}, nil, nil, "no SIZE or MDTM"},
		{"NAT", []ftptest.ServerOption{ftptest.WithPASVAddress(net.IPv4(127, 0, 0, 2))}, []want{
			{"pasv", "ok", ""}, {"pasv-address", "warn", "advertises 127.0.0.2, but the control connection reached 127.0.0.1"},
			{"pasv-address", "warn", "clients that trust it log in, then hang on LIST"},
		}, []string{"none: the defaults work"}, nil, "pasv_address=ADDR, ProFTPD MasqueradeAddress ADDR, Pure-FTPd -P ADDR"},
		{"EPSV broken", []ftptest.ServerOption{ftptest.WithRawReply("EPSV", "500 EPSV not understood.\r\n")}, []want{
			{"epsv", "no", "500"}, {"pasv", "ok", ""},
		}, []string{"ftp.WithoutEPSV() (optional: the library falls back to PASV by itself)"}, nil, ""},
		{"passive blocked, active works", []ftptest.ServerOption{
			ftptest.WithRawReply("EPSV", "500 no.\r\n"), ftptest.WithRawReply("PASV", "500 no.\r\n"),
		}, []want{{"epsv", "no", "500"}, {"pasv", "no", "500"}, {"active", "ok", ""}},
			[]string{"ftp.WithActive()"}, []string{"--active"}, "passive mode fails"},
		{"active refused", []ftptest.ServerOption{ftptest.WithRawReply("PORT", "500 no.\r\n"), ftptest.WithRawReply("EPRT", "500 no.\r\n")},
			[]want{{"active", "fail", "500"}, {"epsv", "ok", ""}}, nil, nil, ""},
		{"three connections at most", []ftptest.ServerOption{ftptest.WithMaxConnections(3)}, []want{
			{"connections", "warn", "parallel sessions logged in; then"}, {"connections", "warn", "421"},
		}, nil, nil, ""},
		{"local time in LIST, names not UTF-8", []ftptest.ServerOption{ftptest.WithoutMLSD(), ftptest.WithListLines("/pub",
			"-rw-r--r-- 1 u g 5 "+time.Now().UTC().Add(-time.Hour).Add(2*time.Hour).Format("Jan _2 15:04")+" a.txt",
			"-rw-r--r-- 1 u g 1 Jan  1  2020 caf\xe9.txt")}, []want{
			{"timezone", "warn", "2h0m0s from UTC"}, {"charset", "warn", `"caf\xe9.txt"`},
		}, []string{`ftp.WithLocation(time.FixedZone("", 7200))`}, nil, "not UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, append([]ftptest.ServerOption{ftptest.WithFiles(files), ftptest.WithCredentials("user", "s3cr3t-pw")}, tt.opts...)...)
			require.NoError(t, srv.SetModTime("pub/a.txt", time.Now().UTC().Add(-time.Hour)))
			rep, r := runDoctor(t, at(srv, "pub"))
			require.Equal(t, exitOK, r.code, r.stderr)
			for _, w := range tt.want {
				st, detail := rep.status(w.name)
				assert.Equal(t, w.status, st, "%s: %s", w.name, detail)
				assert.Contains(t, detail, w.detail, w.name)
			}
			for _, o := range tt.options {
				assert.Contains(t, rep.Options, o)
			}
			for _, f := range tt.flags {
				assert.Contains(t, rep.Flags, f)
			}
			if tt.advice != "" {
				assert.True(t, slices.ContainsFunc(rep.Advice, func(a string) bool { return strings.Contains(a, tt.advice) }),
					"advice %q in %q", tt.advice, rep.Advice)
			}
			assert.Empty(t, wrote(srv), "doctor without --write-test wrote")
			if st, detail := rep.status("connections"); st == "warn" {
				// Sessions of the earlier probes may still count for a moment.
				assert.Regexp(t, `^only [23] parallel`, detail)
				assert.True(t, slices.Contains(rep.Flags, "--parallel 2") || slices.Contains(rep.Flags, "--parallel 3"), rep.Flags)
			}
			assert.NotContains(t, r.stdout, srv.Password())
		})
	}
}

func TestDoctorTLS(t *testing.T) {
	tests := []struct {
		name string
		opts []ftptest.ServerOption
		args []string // before the URL; "CA" stands for the --cacert file
		want map[string]string
		flag string // in ftpsyncFlags
	}{
		{"reuse required, CA trusted", []ftptest.ServerOption{ftptest.WithRequireTLSReuse()}, []string{"--explicit-tls", "--cacert", "CA"},
			map[string]string{"certificate": "ok", "tls-explicit": "ok", "tls-version": "ok", "tls-reuse": "warn", "epsv": "ok", "active": "ok"}, "--explicit-tls"},
		{"reuse not required", []ftptest.ServerOption{ftptest.WithExplicitTLS()}, []string{"--explicit-tls", "--cacert", "CA"},
			map[string]string{"certificate": "ok", "tls-reuse": "ok"}, "--explicit-tls"},
		{"certificate not trusted", []ftptest.ServerOption{ftptest.WithRequireTLSReuse()}, []string{"--explicit-tls"},
			map[string]string{"certificate": "fail", "tls-reuse": "warn", "epsv": "ok"}, "--explicit-tls"},
		{"plain URL on a server that offers TLS", []ftptest.ServerOption{ftptest.WithExplicitTLS()}, []string{"--cacert", "CA"},
			map[string]string{"tls-explicit": "ok", "certificate": "ok", "tls-reuse": "ok"}, "--explicit-tls"},
		{"implicit", []ftptest.ServerOption{ftptest.WithImplicitTLS(), ftptest.WithRequireTLSReuse()}, []string{"--cacert", "CA"},
			map[string]string{"tls-implicit": "ok", "certificate": "ok", "tls-reuse": "warn", "pasv": "ok"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, append([]ftptest.ServerOption{ftptest.WithFiles(map[string][]byte{"a.txt": []byte("hi")})}, tt.opts...)...)
			args := slices.Clone(tt.args)
			if i := slices.Index(args, "CA"); i >= 0 {
				args[i] = writeCA(t, srv)
			}
			rep, r := runDoctor(t, append(args, "--write-test", srv.URL())...)
			require.Equal(t, exitOK, r.code, r.stderr)
			for name, st := range tt.want {
				got, detail := rep.status(name)
				assert.Equal(t, st, got, "%s: %s", name, detail)
			}
			if tt.flag != "" {
				assert.Contains(t, rep.Flags, tt.flag)
			}
			if rep.Checks != nil {
				st, _ := rep.status("certificate")
				ws, detail := rep.status("write-test")
				if st == "fail" {
					assert.Equal(t, "skip", ws, detail)
					assert.Empty(t, wrote(srv), "wrote over an unverified session")
				} else {
					assert.Equal(t, "ok", ws, detail)
				}
			}
		})
	}
}

func TestDoctorWriteTest(t *testing.T) {
	srv := newServer(t, ftptest.WithFiles(map[string][]byte{"in/keep.txt": []byte("keep")}))
	r := ftpsync(t, nil, "doctor", "--write-test", at(srv, "in"))
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Regexp(t, `ok\s+write-test\s+created in/\.ftpsync-doctor-[0-9a-f]{12}, uploaded, downloaded the same bytes, removed`, r.stdout)
	assert.Regexp(t, `ok\s+mfmt\s+set the test file's time`, r.stdout)
	var made []string
	for _, c := range wrote(srv) {
		if strings.HasPrefix(c, "MKD ") {
			made = append(made, c)
		}
	}
	require.Len(t, made, 1, "one folder made")
	dir := strings.TrimPrefix(made[0], "MKD ")
	_, err := srv.Stat(dir)
	assert.ErrorIs(t, err, os.ErrNotExist, "the test folder is removed")
	got, err := srv.ReadFile("in/keep.txt")
	require.NoError(t, err)
	assert.Equal(t, "keep", string(got))
	for _, c := range wrote(srv) {
		_, arg, _ := strings.Cut(c, " ")
		assert.True(t, strings.Contains(arg, dir), "a write outside the test folder: %s", c)
	}
}

func TestDoctorFindingsNotCrashes(t *testing.T) {
	// A server that never answers SYST nor EPSV: each probe ends at the
	// timeout, as a finding; the report is made.
	srv := newServer(t, ftptest.WithDrop("SYST"), ftptest.WithFiles(map[string][]byte{"a": []byte("a")}))
	start := time.Now()
	r := ftpsync(t, nil, "doctor", "--timeout", "300ms", srv.URL())
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Regexp(t, `fail\s+syst\s+`, r.stdout)
	assert.Contains(t, r.stdout, "use with this server")
	assert.Less(t, time.Since(start), 30*time.Second)
}

func TestDoctorCannotConnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	require.NoError(t, ln.Close())
	srv := newServer(t)
	tlsOnly := newServer(t, ftptest.WithRequireTLS())
	tests := []struct {
		name, url, stderr string
	}{
		{"nothing listening", "ftp://" + closed + "/", "connection refused"},
		{"wrong password", fmt.Sprintf("ftp://%s:wrong@%s/", srv.User(), srv.Addr()), "530"},
		{"TLS required", tlsOnly.URL(), "--explicit-tls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ftpsync(t, nil, "doctor", "--timeout", "5s", tt.url)
			assert.Equal(t, exitConnect, r.code, r.stderr)
			assert.Contains(t, r.stderr, tt.stderr)
			assert.Empty(t, r.stdout)
		})
	}
}

func TestDoctorText(t *testing.T) {
	srv := newServer(t, ftptest.WithPASVAddress(net.IPv4(127, 0, 0, 2)), ftptest.WithVsftpdQuirks(), ftptest.WithCredentials("user", "s3cr3t-pw"))
	r := ftpsync(t, nil, "doctor", srv.URL())
	require.Equal(t, exitOK, r.code, r.stderr)
	out := r.stdout
	assert.True(t, strings.HasPrefix(out, "ftpsync doctor ftp://"+srv.User()+":****@"), out)
	assert.NotContains(t, out, srv.Password())
	for _, s := range []string{"\nsession\n", "\ncommands\n", "\ndata\n", "\ntls\n", "\nlimits\n", "\nuse with this server\n"} {
		assert.Contains(t, out, s)
	}
	assert.Less(t, strings.Index(out, "\ncommands\n"), strings.Index(out, "\ndata\n"), "areas in order")
	assert.Regexp(t, `warn\s+pasv-address\s+NAT trap: the 227 reply advertises 127\.0\.0\.2`, out)
	assert.Regexp(t, `no\s+mlst\s+not implemented: 500`, out)
}
