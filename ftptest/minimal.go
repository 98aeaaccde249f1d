package ftptest

import (
	"errors"
	"io/fs"
)

// minimal holds the options of the minimal servers: those that lack
// commands or answer them in ways the common servers do not.
type minimal struct {
	sizeDirs    bool // WithSizeForDirectories
	sizeNoNum   bool // WithSizeWithoutNumber
	listMiss451 bool // WithListMissing451
}

// WithoutFEAT makes FEAT fail with "500 FEAT not understood.", as old and
// minimal servers do that never heard of RFC 2389, while every command
// behind the features (MLST, MLSD, SIZE, MDTM, MFMT, REST …) still works.
func WithoutFEAT() ServerOption {
	return WithRawReply("FEAT", "500 FEAT not understood.\r\n")
}

// WithCommandsNotImplemented makes the server answer each of verbs with
// "502 Command not implemented." and do nothing else, as a server that
// lacks them does (SIZE, MDTM, NLST, NOOP, MLSD …). FEAT still lists
// them unless [WithoutFeatures] or [WithoutFEAT] says otherwise.
func WithCommandsNotImplemented(verbs ...string) ServerOption {
	return func(c *config) {
		for _, v := range verbs {
			c.raw[verbKey(v)] = "502 Command not implemented.\r\n"
		}
	}
}

// WithSizeForDirectories makes SIZE of a directory answer "213 4096", as
// if it were a file of that size, as some servers do.
func WithSizeForDirectories() ServerOption {
	return func(c *config) { c.minimal.sizeDirs = true }
}

// WithSizeWithoutNumber makes SIZE of an empty file answer "213 File
// status" with no number, as some servers do.
func WithSizeWithoutNumber() ServerOption {
	return func(c *config) { c.minimal.sizeNoNum = true }
}

// WithListMissing451 makes LIST, NLST and MLSD of a path that does not
// exist fail with "451 Requested action aborted: local error in
// processing." instead of 550: a temporary-looking reply for a path that
// will never list.
func WithListMissing451() ServerOption {
	return func(c *config) { c.minimal.listMiss451 = true }
}

// minimalSIZE answers SIZE of p as WithSizeForDirectories and
// WithSizeWithoutNumber have it; it reports whether it did.
func (s *session) minimalSIZE(p string) bool {
	if !s.cfg.minimal.sizeDirs && !s.cfg.minimal.sizeNoNum {
		return false
	}
	e, err := s.srv.fs.stat(p)
	switch {
	case err != nil:
		return false
	case e.dir && s.cfg.minimal.sizeDirs:
		s.reply(213, "4096")
		return true
	case !e.dir && e.size == 0 && s.cfg.minimal.sizeNoNum:
		s.reply(213, "File status")
		return true
	}
	return false
}

// listMissing refuses a listing of a missing path as WithListMissing451
// has it; it reports whether it did.
func (s *session) listMissing(err error) bool {
	if !s.cfg.minimal.listMiss451 || !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	s.data.reset()
	s.reply(451, "Requested action aborted: local error in processing.")
	return true
}
