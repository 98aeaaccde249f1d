package main

import (
	"encoding/json"
	"flag"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFlagsBeforeCommand: flags go anywhere, before the command too, as
// the usage line says (issue 21, item 1).
func TestFlagsBeforeCommand(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("/pub/f", []byte("x"))
	tests := [][]string{
		{"--json", "ls", at(srv, "pub")},
		{"--timeout", "20s", "--json", "ls", at(srv, "pub")},
		{"ls", "--json", at(srv, "pub")},
		{"ls", at(srv, "pub"), "--json"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args[:len(args)-1], " "), func(t *testing.T) {
			r := ftpsync(t, nil, args...)
			require.Equal(t, exitOK, r.code, r.stderr)
			var entries []jsonEntry
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &entries), r.stdout)
			require.Len(t, entries, 1)
			assert.Equal(t, "f", entries[0].Name)
		})
	}
}

// TestCommandHelp: every command's help, asked either way, goes to stdout
// with exit 0 and lists the command's own flags; demo --help does not run
// the demo (issue 21, item 1).
func TestCommandHelp(t *testing.T) {
	for _, c := range commands {
		if c.name == "help" {
			continue // help --help is the usage
		}
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}, {"--help", c.name}} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				r := ftpsync(t, nil, args...)
				require.Equal(t, exitOK, r.code, r.stderr)
				assert.Empty(t, r.stderr)
				assert.True(t, strings.HasPrefix(r.stdout, "usage: ftpsync [flags] "+c.name), r.stdout)
				assert.NotContains(t, r.stdout, "demo finished")
				for _, f := range flags {
					if f.isFor(c.name) {
						assert.Contains(t, r.stdout, f.spelling())
					} else {
						assert.NotContains(t, r.stdout, f.spelling()+" ")
					}
				}
			})
		}
	}
	r := ftpsync(t, nil, "mirror", "--help")
	assert.Contains(t, r.stdout, "--reverse, -R")
	r = ftpsync(t, nil, "frobnicate", "--help")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, `unknown command "frobnicate"`)
}

// TestUsageListsEveryFlag: help lists every flag the parser takes,
// --reverse and -R and --no-epsv among them (issue 21, item 1).
func TestUsageListsEveryFlag(t *testing.T) {
	r := ftpsync(t, nil, "help")
	require.Equal(t, exitOK, r.code)
	_, fset := newOptions()
	fset.VisitAll(func(fl *flag.Flag) {
		if len(fl.Name) == 1 {
			assert.Contains(t, r.stdout, ", -"+fl.Name)
		} else {
			assert.Contains(t, r.stdout, "--"+fl.Name)
		}
	})
	for _, s := range []string{"--reverse, -R", "--no-epsv", "--only-newer", "--cacert FILE"} {
		assert.Contains(t, r.stdout, s)
	}
}

// TestNoEPSV: --no-epsv opens data connections with PASV alone.
func TestNoEPSV(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("/f", []byte("data"))
	r := ftpsync(t, nil, "get", "--no-epsv", at(srv, "f"), t.TempDir())
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, srv.Commands(), "PASV")
	assert.NotContains(t, srv.Commands(), "EPSV")
}

// TestFlagErrors: a bad flag is said in the user's terms, exit 2.
func TestFlagErrors(t *testing.T) {
	srv := newServer(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"ls", "--timeout", "5", at(srv, "")}, "--timeout 5: use a duration such as 5s"},
		{[]string{"--deadline", "soon", "ls", at(srv, "")}, "--deadline soon: use a duration such as 5s"},
		{[]string{"mirror", "--parallel", "0", at(srv, ""), "x"}, "--parallel 0: use a whole number, 1 or more"},
		{[]string{"mirror", "--max-delete", "-1", at(srv, ""), "x"}, "--max-delete -1: use a whole number, 0 or more"},
		{[]string{"ls", "--nope", at(srv, "")}, "unknown flag --nope"},
		{[]string{"ls", at(srv, ""), "--timeout"}, "--timeout needs a value"},
		{[]string{"ls", "--json=maybe", at(srv, "")}, "--json takes no value"},
		{[]string{"ls", "--reverse", at(srv, "")}, "ls takes no --reverse (a flag of mirror)"},
		{[]string{"demo", "--verbose"}, "demo takes no --verbose"},
		{[]string{"frob", "--verbose"}, `unknown command "frob"`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			r := ftpsync(t, nil, tt.args...)
			assert.Equal(t, exitUsage, r.code)
			assert.Contains(t, r.stderr, tt.want)
			assert.NotContains(t, r.stderr, "flag provided")
		})
	}
}
