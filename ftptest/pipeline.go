package ftptest

import (
	"bufio"
	"bytes"
)

// DuringTransfer says what a server does with a command that arrives
// while a transfer runs: one sent ahead (pipelined) by a client before
// the transfer's final reply. See [WithCommandsDuringTransfer].
type DuringTransfer int

const (
	// AfterTransfer answers it after the transfer's final reply, as RFC
	// 959 has it (vsftpd). The default.
	AfterTransfer DuringTransfer = iota
	// RefuseDuringTransfer answers it at once with "500 Unknown command"
	// and forgets it (Pure-FTPd; ProFTPD says "450 VERB: data transfer in
	// progress").
	RefuseDuringTransfer
	// RunDuringTransfer runs it at once (pyftpdlib), also the commands that
	// came in the same read as the transfer command. A passive command
	// (PASV, EPSV) closes the transfer's data connection, and the transfer
	// gets no final reply: an upload is cut short. Transfer commands, ABOR
	// and QUIT still wait their turn.
	RunDuringTransfer
)

// WithCommandsDuringTransfer makes the server handle the commands that
// arrive during a transfer as d says, as some real servers do, so that a
// test can check how a client that pipelines copes.
func WithCommandsDuringTransfer(d DuringTransfer) ServerOption {
	return func(c *config) { c.during = d }
}

// bundle reads the complete lines already buffered behind the one just
// read, as a server that reads whatever has come and then handles each
// line does (RunDuringTransfer): the session gets them with it.
func (s *session) bundle(r *bufio.Reader, l *line) {
	if s.cfg.during != RunDuringTransfer || l.tooLong || l.handoff != nil {
		return
	}
	for r.Buffered() > 0 {
		b, _ := r.Peek(r.Buffered())
		if !bytes.Contains(b, []byte{'\n'}) {
			return
		}
		next, err := readLine(r)
		if err != nil || next.tooLong {
			return
		}
		s.srv.record(next.text)
		s.cfg.logf("ftptest: %s <- %q", s.conn.RemoteAddr(), next.text)
		l.with = append(l.with, next)
	}
}

// during handles a line that arrived while a transfer runs, as the
// server's DuringTransfer says, and reports whether it did (else the line
// waits for the transfer's end). kill ends the transfer without a final
// reply.
func (s *session) during(l line, kill func()) bool {
	if s.cfg.during == AfterTransfer || l.tooLong {
		return false
	}
	verb, _ := parseCommand(l.text)
	if transferVerbs[verb] || verb == "ABOR" || verb == "QUIT" {
		return false
	}
	if s.cfg.during == RefuseDuringTransfer {
		// Not before the transfer's 1xx: a real server sends it before it
		// reads anything more (its replies keep the commands' order).
		select {
		case <-s.began:
		case <-s.ctx.Done():
		}
		s.reply(500, "Unknown command")
		return true
	}
	if verb == "PASV" || verb == "EPSV" {
		kill()
	}
	with := l.with
	l.with = nil
	s.dispatch(l)
	s.duringAll(with, kill)
	return true
}

// duringAll handles lines that came with a transfer command (bundle) or
// with a line handled during it, in order.
func (s *session) duringAll(lines []line, kill func()) {
	for i, l := range lines {
		if !s.during(l, kill) {
			s.queue = append(s.queue, lines[i:]...) // order kept: the rest waits too
			return
		}
	}
}

// transferVerbs are the commands that open a data connection.
var transferVerbs = map[string]bool{"RETR": true, "STOR": true, "STOU": true, "APPE": true, "LIST": true, "NLST": true, "MLSD": true}
