package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGetSegments(t *testing.T) {
	data := random(t, 3<<20+1) // three segments of 1 MiB or more
	srv := newServer(t)
	srv.WriteFile("/big.bin", data)
	local := filepath.Join(t.TempDir(), "big.bin")
	r := ftpsync(t, nil, "get", "--segments", "4", at(srv, "big.bin"), local)
	require.Equal(t, exitOK, r.code, r.stderr)
	got, err := os.ReadFile(local)
	require.NoError(t, err)
	require.Equal(t, data, got)
	var retr, rest int
	for _, c := range srv.Commands() {
		retr += map[bool]int{true: 1}[strings.HasPrefix(c, "RETR ")]
		rest += map[bool]int{true: 1}[strings.HasPrefix(c, "REST ")]
	}
	assert.Equal(t, 3, retr, "one RETR per segment")
	assert.Equal(t, 2, rest, "all but the first from an offset")
}
