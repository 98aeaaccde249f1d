package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParseRate: --limit-rate reads curl's syntax, and says what it wants
// when given anything else.
func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // 0: an error
	}{
		{"2M", 2 << 20},
		{"2m", 2 << 20},
		{"500K", 500 << 10},
		{"1G", 1 << 30},
		{"1.5M", 3 << 19},
		{"4096", 4096},
		{"0", 0},
		{"-1M", 0},
		{"", 0},
		{"M", 0},
		{"2MB", 0},
		{"2 M", 0},
		{"2T", 0},
		{"NaN", 0},
		{"Inf", 0},
		{"1e30G", 0},
		{"0.1", 0},
	}
	for _, tt := range tests {
		got, err := parseRate(tt.in)
		if tt.want == 0 {
			assert.ErrorContains(t, err, "--limit-rate takes bytes per second", "%q", tt.in)
			continue
		}
		assert.NoError(t, err, "%q", tt.in)
		assert.Equal(t, tt.want, got, "%q", tt.in)
	}
}

// TestLimitRateFlag: put and get run with --limit-rate and move every
// byte; a value curl would not take is a usage error that says what
// --limit-rate wants.
func TestLimitRateFlag(t *testing.T) {
	srv := newServer(t)
	data := random(t, 300_000)
	dir := t.TempDir()
	local := filepath.Join(dir, "up.bin")
	require.NoError(t, os.WriteFile(local, data, 0o644))
	r := ftpsync(t, nil, "put", "--limit-rate", "4M", local, at(srv, "up.bin"))
	require.Equal(t, exitOK, r.code, r.stderr)
	got, err := srv.ReadFile("/up.bin")
	require.NoError(t, err)
	assert.Equal(t, data, got)

	back := filepath.Join(dir, "back.bin")
	r = ftpsync(t, nil, "get", at(srv, "up.bin"), back, "--limit-rate", "4M")
	require.Equal(t, exitOK, r.code, r.stderr)
	got, err = os.ReadFile(back)
	require.NoError(t, err)
	assert.Equal(t, data, got)

	r = ftpsync(t, nil, "get", "--limit-rate", "2MB", at(srv, "up.bin"), back)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "--limit-rate takes bytes per second")
}
