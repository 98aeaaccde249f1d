package ftp

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		code    int
		lines   []string
		message string
	}{
		{"single", "220 Service ready\r\n", 220, []string{"220 Service ready"}, "Service ready"},
		{"bare LF", "200 ok\n", 200, []string{"200 ok"}, "ok"},
		{"code only", "200\r\n", 200, []string{"200"}, ""},
		{
			"RFC 959 odd inner lines",
			"123-First line\r\nSecond line\r\n  234 A line beginning with numbers\r\n123 The last line\r\n",
			123,
			[]string{"123-First line", "Second line", "  234 A line beginning with numbers", "123 The last line"},
			"First line\nSecond line\n  234 A line beginning with numbers\nThe last line",
		},
		{
			"inner line with other code and same code with dash",
			"211-Features:\r\n211-not the end\r\n 500 nope\r\n212 also not\r\n211 End\r\n",
			211,
			[]string{"211-Features:", "211-not the end", " 500 nope", "212 also not", "211 End"},
			"Features:\n211-not the end\n 500 nope\n212 also not\nEnd",
		},
		{"multi ends at bare code", "250-a\n250\n", 250, []string{"250-a", "250"}, "a\n"},
		{"NUL and invalid UTF-8 kept", "200 a\x00b\xff\r\n", 200, []string{"200 a\x00b\xff"}, "a\x00b\xff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := readReply(bufio.NewReader(strings.NewReader(tt.in + "999 next\r\n")))
			require.NoError(t, err)
			assert.Equal(t, tt.code, r.Code)
			assert.Equal(t, tt.lines, r.Lines)
			assert.Equal(t, tt.message, r.Message())
		})
	}
}

func TestReadReplyMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"not numeric", "abc hello\r\n", ErrMalformedReply},
		{"too short", "22\r\n", ErrMalformedReply},
		{"bad separator", "220x hello\r\n", ErrMalformedReply},
		{"code too low", "099 hello\r\n", ErrMalformedReply},
		{"code too high", "600 hello\r\n", ErrMalformedReply},
		{"empty line", "\r\n", ErrMalformedReply},
		{"truncated", "220 hel", io.ErrUnexpectedEOF},
		{"nothing", "", io.EOF},
		{"multi-line never ends", "211-start\r\nmore\r\n", io.EOF},
		{"endless line", "220 " + strings.Repeat("x", maxReplyLine+10) + "\r\n", ErrMalformedReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readReply(bufio.NewReader(strings.NewReader(tt.in)))
			require.ErrorIs(t, err, tt.want)
		})
	}
}

// endless yields the same byte forever and counts how much was read.
type endless struct {
	b    byte
	read int
}

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = e.b
	}
	e.read += len(p)
	return len(p), nil
}

func TestReadReplyBounded(t *testing.T) {
	t.Run("endless line", func(t *testing.T) {
		src := &endless{b: 'x'}
		_, err := readReply(bufio.NewReader(io.MultiReader(strings.NewReader("220 "), src)))
		require.ErrorIs(t, err, ErrMalformedReply)
		assert.Less(t, src.read, 2*maxReplyLine, "reads stop at the line limit")
	})
	t.Run("endless multi-line reply", func(t *testing.T) {
		lines := &repeater{line: "a line of a reply that never ends\r\n"}
		_, err := readReply(bufio.NewReader(io.MultiReader(strings.NewReader("211-start\r\n"), lines)))
		require.ErrorIs(t, err, ErrMalformedReply)
		assert.Less(t, lines.read, 2*maxReplyBytes, "reads stop at the reply limit")
	})
}

// repeater yields one line forever.
type repeater struct {
	line string
	read int
}

func (r *repeater) Read(p []byte) (int, error) {
	n := 0
	for n+len(r.line) <= len(p) {
		n += copy(p[n:], r.line)
	}
	r.read += n
	return n, nil
}

func TestErrorIs(t *testing.T) {
	tests := []struct {
		err      *Error
		notExist bool
		perm     bool
		exist    bool
		temp     bool
	}{
		{&Error{Cmd: "RETR a", Code: 550, Msg: "Failed to open file."}, true, false, false, false},
		{&Error{Cmd: "SIZE a", Code: 550, Msg: "a: No such file or directory"}, true, false, false, false},
		{&Error{Cmd: "RETR a", Code: 550, Msg: "a: Permission denied"}, false, true, false, false},
		{&Error{Cmd: "STOR a", Code: 550, Msg: "a: no such directory"}, false, false, false, false},
		{&Error{Cmd: "MKD a", Code: 550, Msg: "a: File exists"}, false, false, true, false},
		{&Error{Cmd: "MKD a", Code: 521, Msg: "directory already exists"}, false, false, true, false},
		{&Error{Cmd: "LIST a", Code: 450, Msg: "No such file or directory"}, true, false, false, true},
		{&Error{Cmd: "DELE a", Code: 450, Msg: "file busy"}, false, false, false, true},
		{&Error{Cmd: "MLSD a", Code: 501, Msg: "No such directory."}, true, false, false, false},
		{&Error{Cmd: "MLSD a", Code: 501, Msg: "Not a directory."}, false, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			var err error = tt.err
			assert.Equal(t, tt.notExist, errors.Is(err, fs.ErrNotExist), "ErrNotExist")
			assert.Equal(t, tt.perm, errors.Is(err, fs.ErrPermission), "ErrPermission")
			assert.Equal(t, tt.exist, errors.Is(err, fs.ErrExist), "ErrExist")
			assert.Equal(t, tt.temp, IsTransient(err), "IsTransient")
		})
	}
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		arg, want string
		err       bool
	}{
		{arg: "a b.txt", want: "RETR a b.txt"},
		{arg: "", want: "RETR"},
		{arg: "x\xffy", want: "RETR x\xff\xffy"},
		{arg: "a\r\nDELE b", err: true},
		{arg: "a\nb", err: true},
		{arg: "a\rb", err: true},
		{arg: "a\x00b", err: true},
	}
	for _, tt := range tests {
		got, err := commandLine("RETR", tt.arg)
		if tt.err {
			assert.ErrorIs(t, err, ErrInvalidArgument, "%q", tt.arg)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tt.want, got)
	}
}

func TestMask(t *testing.T) {
	assert.Equal(t, "PASS ****", mask("PASS secret"))
	assert.Equal(t, "acct ****", mask("acct secret"))
	assert.Equal(t, "USER bob", mask("USER bob"))
}
