package ftp

import (
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParsePASV(t *testing.T) {
	tests := []struct {
		msg  string
		ip   string
		port int
		ok   bool
	}{
		{"Entering Passive Mode (127,0,0,1,4,51)", "127.0.0.1", 1075, true},
		{"Entering passive mode. 10,0,0,5,195,80", "10.0.0.5", 50000, true},
		{"=127,0,0,1,0,21", "127.0.0.1", 21, true},
		{"Entering Passive Mode (192,168,1,1,255,255).", "192.168.1.1", 65535, true},
		{"version 2 (127,0,0,1,4,51)", "127.0.0.1", 1075, true},
		{"(127,0,0,1,0,0)", "", 0, false},
		{"(256,0,0,1,4,51)", "", 0, false},
		{"(127,0,0,1,4,300)", "", 0, false},
		{"(127,0,0,1,4)", "", 0, false},
		{"(1270,0,0,1,4,5)", "", 0, false},
		{"nothing here", "", 0, false},
		{"", "", 0, false},
	}
	for _, tt := range tests {
		ip, port, err := parsePASV(tt.msg)
		if !tt.ok {
			assert.ErrorIs(t, err, ErrMalformedReply, tt.msg)
			continue
		}
		require.NoError(t, err, tt.msg)
		assert.Equal(t, tt.ip, ip.String(), tt.msg)
		assert.Equal(t, tt.port, port, tt.msg)
	}
}

func TestParseEPSV(t *testing.T) {
	tests := []struct {
		msg  string
		port int
		ok   bool
	}{
		{"Entering Extended Passive Mode (|||6446|)", 6446, true},
		{"Entering Extended Passive Mode (!!!6446!)", 6446, true},
		{"ok (###1#)", 1, true},
		{"(|||65535|)", 65535, true},
		{"(|||0|)", 0, false},
		{"(|||65536|)", 0, false},
		{"(|||-1|)", 0, false},
		{"(||6446|)", 0, false},
		{"(|1|127.0.0.1|6446|)", 0, false},
		{"(|||6446)", 0, false},
		{"no parens", 0, false},
		{"(|||abc|)", 0, false},
	}
	for _, tt := range tests {
		port, err := parseEPSV(tt.msg)
		if !tt.ok {
			assert.ErrorIs(t, err, ErrMalformedReply, tt.msg)
			continue
		}
		require.NoError(t, err, tt.msg)
		assert.Equal(t, tt.port, port, tt.msg)
	}
}

func TestPortArgs(t *testing.T) {
	assert.Equal(t, "127,0,0,1,4,51", portArg(net.ParseIP("127.0.0.1"), 1075))
	assert.Equal(t, "|2|::1|5282|", eprtArg(net.ParseIP("::1"), 5282))
	assert.Equal(t, "|1|127.0.0.1|5282|", eprtArg(net.ParseIP("127.0.0.1"), 5282))
}

func TestQuotedPath(t *testing.T) {
	tests := []struct {
		msg, want string
		ok        bool
	}{
		{`"/home/bob" is the current directory`, "/home/bob", true},
		{`"/a ""quoted"" dir" created`, `/a "quoted" dir`, true},
		{`"/" is cwd`, "/", true},
		{`"" empty`, "", true},
		{`"/ends""`, "", false},
		{`no quotes`, "", false},
	}
	for _, tt := range tests {
		got, ok := quotedPath(tt.msg)
		assert.Equal(t, tt.ok, ok, tt.msg)
		assert.Equal(t, tt.want, got, tt.msg)
	}
}

func TestParseFeatures(t *testing.T) {
	r := &Reply{Code: 211, Lines: []string{
		"211-Features:", " MLST type*;size*;modify*;", " utf8", " REST STREAM", " EPSV", "", "211 End",
	}}
	assert.Equal(t, map[string]string{
		"MLST": "type*;size*;modify*;", "UTF8": "", "REST": "STREAM", "EPSV": "",
	}, parseFeatures(r))
	assert.Empty(t, parseFeatures(&Reply{Code: 211, Lines: []string{"211 No features"}}))
}
