package ftp

import (
	"errors"
	"fmt"
	"strings"
)

// errorf is fmt.Errorf for the errors of this package: the message starts
// with "ftp: " once, however deep the errors it wraps are nested. Each
// error argument is shown without its own "ftp: " prefix; the chain is
// unchanged, so errors.Is and errors.As find every wrapped error.
func errorf(format string, args ...any) error {
	for i, a := range args {
		if err, ok := a.(error); ok {
			args[i] = unprefixed{err}
		}
	}
	return fmt.Errorf("ftp: "+format, args...)
}

// unprefixed shows an error without its leading "ftp: ".
type unprefixed struct{ err error }

func (u unprefixed) Error() string { return strings.TrimPrefix(u.err.Error(), "ftp: ") }
func (u unprefixed) Unwrap() error { return u.err }

// ErrNotDir is wrapped by the error of an operation that needs a
// directory (List, Walk, Mirror's source) given a path that names a file.
var ErrNotDir = errors.New("ftp: not a directory")

// ErrIsDir is wrapped by the error of an operation on a file (Delete,
// Retr, Download) given a path that names a directory.
var ErrIsDir = errors.New("ftp: is a directory")

// ErrDirNotEmpty is wrapped by the error of RemoveDir, and of RemoveAll,
// when the directory still holds entries.
var ErrDirNotEmpty = errors.New("ftp: directory not empty")
