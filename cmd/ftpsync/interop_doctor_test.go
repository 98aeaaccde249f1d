//go:build interop

package main

// ftpsync doctor on the real servers that interop/servers.sh starts: the
// plain, NAT, explicit-TLS and implicit-TLS instances, each report
// checked. Run with:
//
//	FTP_INTEROP=required go test -tags interop -run TestInteropDoctor -count=1 -v ./cmd/ftpsync

import (
	"encoding/hex"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInteropDoctor(t *testing.T) {
	env := serversEnv(t)
	login := env["FTP_USER"] + ":" + env["FTP_PASS"]
	nat := env["NAT_ADVERTISED_ADDR"]
	// What each server does, as measured (the README's table).
	type server struct {
		name     string
		key      string            // servers.env prefix
		implicit bool              // has an implicit-FTPS instance
		common   map[string]string // check -> status on every instance
		reuse    string            // tls-reuse status
	}
	servers := []server{
		{"vsftpd", "VSFTPD", true, map[string]string{"mlsd": "no", "mlst": "no", "mfmt": "no", "list-a": "warn", "hash": "no"}, "warn"},
		{"proftpd", "PROFTPD", true, map[string]string{"mlsd": "ok", "mlst": "ok", "mfmt": "ok", "list-a": "warn", "hash": "no"}, "warn"},
		{"pure-ftpd", "PUREFTPD", false, map[string]string{"mlsd": "ok", "mlst": "ok", "mfmt": "ok", "list-a": "warn", "hash": "no"}, "ok"},
		{"pyftpdlib", "PYFTPDLIB", false, map[string]string{"mlsd": "ok", "mlst": "ok", "mfmt": "ok", "list-a": "no", "hash": "no"}, "ok"},
	}
	everywhere := map[string]string{
		"greeting": "ok", "login": "ok", "feat": "ok", "size": "ok", "mdtm": "ok", "rest": "ok",
		"epsv": "ok", "pasv": "ok", "active": "ok", "timezone": "ok", "charset": "ok", "connections": "ok",
		"write-test": "ok",
	}
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			type instance struct {
				name, suffix string
				args         []string
				scheme       string
				want         map[string]string
			}
			instances := []instance{
				{"plain", "PLAIN", nil, "ftp", map[string]string{"pasv-address": "ok", "tls-explicit": "no"}},
				{"nat", "NAT", nil, "ftp", map[string]string{"pasv-address": "warn"}},
				{"tls", "TLS", []string{"--explicit-tls", "--cacert", env["FTP_TLS_CA"]}, "ftp",
					map[string]string{"certificate": "ok", "tls-explicit": "ok", "tls-version": "ok", "tls-reuse": s.reuse}},
			}
			if s.implicit {
				instances = append(instances, instance{"ftps", "FTPS", []string{"--cacert", env["FTP_TLS_CA"]}, "ftps",
					map[string]string{"certificate": "ok", "tls-implicit": "ok", "tls-version": "ok", "tls-reuse": s.reuse}})
			}
			for _, in := range instances {
				t.Run(in.name, func(t *testing.T) {
					addr := env[s.key+"_"+in.suffix+"_ADDR"]
					data := env[s.key+"_"+in.suffix+"_DATA"]
					require.NotEmpty(t, addr)
					dir := "doctor-" + hex.EncodeToString(random(t, 6))
					onDisk(t, filepath.Join(data, dir), map[string]string{"a.txt": "hello", ".hidden": "x", "sub/b.txt": "b"})
					host := strings.Replace(addr, "127.0.0.1", "localhost", 1) // the name the certificate holds
					url := in.scheme + "://" + login + "@" + host + "/" + dir
					args := append([]string{"--write-test", "--timeout", "10s"}, in.args...)
					rep, r := runDoctor(t, append(args, url)...)
					require.Equal(t, exitOK, r.code, r.stderr)
					for _, want := range []map[string]string{everywhere, s.common, in.want} {
						for name, st := range want {
							got, detail := rep.status(name)
							assert.Equal(t, st, got, "%s: %s", name, detail)
						}
					}
					assert.Contains(t, strings.ToLower(rep.Greeting), s.name)
					if in.name == "nat" {
						_, detail := rep.status("pasv-address")
						assert.Contains(t, detail, "advertises "+nat+", but the control connection reached 127.0.0.1")
						assert.True(t, slices.ContainsFunc(rep.Advice, func(a string) bool { return strings.Contains(a, "pasv_address=") }), rep.Advice)
					}
					if in.name == "tls" {
						assert.Contains(t, rep.Flags, "--explicit-tls")
					}
					left, _ := filepath.Glob(filepath.Join(data, dir, ".ftpsync-doctor-*"))
					assert.Empty(t, left, "the write test leaves nothing")
				})
			}
		})
	}
}
