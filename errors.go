package ftp

import (
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
