package ftptest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// maxLine bounds a command line; longer ones are rejected with 500.
const maxLine = 64 << 10

// line is one command line read from a control connection.
type line struct {
	text    string // as received, without the line ending
	tooLong bool
	handoff *handoff // AUTH lines with WithExplicitTLS: the read loop waits on it
	with    []line   // lines read with it (RunDuringTransfer, pipeline.go)
}

// carry is the state one command hands to the next only: REST's offset for
// RETR/STOR and RNFR's name for RNTO. Any other command clears it.
type carry struct {
	rest int64
	from string
}

// session is one control connection and its state.
type session struct {
	srv    *Server
	cfg    *config
	conn   net.Conn
	ctx    context.Context // cancelled when the connection must end
	cancel context.CancelFunc
	lines  chan line     // from the reader goroutine; closed at EOF
	queue  []line        // lines received during a transfer, not yet handled
	began  chan struct{} // the transfer under way has sent its 1xx (or ended)
	tlsID  string        // random identity, in the tickets of the control connection

	wmu sync.Mutex
	w   net.Conn // where replies go: conn, or the TLS layer over it

	// Owned by the serve goroutine.
	user     string
	loggedIn bool
	cwd      string
	binary   bool
	silent   bool // WithDrop fired: answer nothing more
	epsvAll  bool
	prev     carry // what the previous command handed over
	next     carry // what the current command hands over
	data     dataPlan
	secure   bool     // the control connection is TLS
	pbsz     bool     // PBSZ came after the control connection was protected
	protect  bool     // PROT P: data connections are TLS
	handoff  *handoff // of the AUTH line being handled
	bundled  []line   // the lines read with the one being handled (pipeline.go)
	hashAlgo string   // OPTS HASH choice of WithHash; empty: SHA-256
}

func newSession(srv *Server, conn net.Conn) *session {
	ctx, cancel := context.WithCancel(srv.ctx)
	context.AfterFunc(ctx, func() { conn.Close() })
	return &session{
		srv: srv, cfg: &srv.cfg, conn: conn, w: conn, ctx: ctx, cancel: cancel,
		lines: make(chan line), cwd: "/", tlsID: newSessionID(),
	}
}

// serve runs the session until the connection ends.
func (s *session) serve() {
	defer s.srv.forget(s)
	defer s.cancel()
	defer s.data.reset()
	r := bufio.NewReaderSize(s.conn, maxLine)
	if s.cfg.tlsMode == tlsImplicit {
		var err error
		if r, err = s.secureControl("", r); err != nil {
			s.cfg.logf("ftptest: %s: TLS handshake: %v", s.conn.RemoteAddr(), err)
			return
		}
	}
	s.srv.wg.Go(func() { s.readLoop(r) })
	if s.behave("GREETING") {
		s.reply(220, "ftptest FTP server ready.")
	}
	for {
		l, ok := s.nextLine()
		if !ok {
			return
		}
		s.dispatch(l)
	}
}

// readLoop feeds s.lines with the lines of the control connection, read
// through r, so that the session can watch for ABOR while a transfer runs.
// With WithExplicitTLS it stops after each AUTH line until the session
// hands it the reader to go on with, since the TLS handshake that may
// follow is not made of lines.
func (s *session) readLoop(r *bufio.Reader) {
	defer close(s.lines)
	for {
		l, err := readLine(r)
		if err != nil {
			return
		}
		if !l.tooLong {
			s.srv.record(l.text)
		}
		s.cfg.logf("ftptest: %s <- %q", s.conn.RemoteAddr(), l.text)
		if s.cfg.tlsMode == tlsExplicit && !l.tooLong && isAUTH(l.text) {
			l.handoff = &handoff{r: r, next: make(chan *bufio.Reader, 1)}
		}
		s.bundle(r, &l)
		select {
		case s.lines <- l:
		case <-s.ctx.Done():
			return
		}
		if l.handoff != nil {
			select {
			case r = <-l.handoff.next:
			case <-s.ctx.Done():
				return
			}
		}
	}
}

// readLine reads one line ending in LF (CRLF or bare LF), discarding the
// rest of a line longer than maxLine.
func readLine(r *bufio.Reader) (line, error) {
	b, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = r.ReadSlice('\n')
		}
		return line{tooLong: true}, err
	}
	if err != nil {
		return line{}, err
	}
	text := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	return line{text: text}, nil
}

// nextLine returns the next queued or received line; false when the
// connection has ended.
func (s *session) nextLine() (line, bool) {
	if len(s.queue) > 0 {
		l := s.queue[0]
		s.queue = s.queue[1:]
		return l, true
	}
	select {
	case l, ok := <-s.lines:
		return l, ok
	case <-s.ctx.Done():
		return line{}, false
	}
}

// dispatch handles one command line.
func (s *session) dispatch(l line) {
	if l.handoff != nil {
		s.handoff = l.handoff
		defer func() {
			s.handoff = nil
			l.handoff.next <- l.handoff.r
		}()
	}
	if len(l.with) > 0 {
		s.bundled = l.with
		defer func() { // lines no transfer took: next in turn
			s.queue = append(s.bundled, s.queue...)
			s.bundled = nil
		}()
	}
	if s.silent {
		return
	}
	if l.tooLong {
		s.reply(500, "Command line too long.")
		return
	}
	verb, arg := parseCommand(l.text)
	s.prev, s.next = s.next, carry{}
	if !s.behave(verb) {
		return
	}
	cmd, known := commands[verb]
	switch {
	case !isVerb(verb):
		s.reply(500, "Syntax error, command unrecognized.")
	case !known:
		s.reply(502, "Command not implemented.")
	case cmd.auth && !s.loggedIn:
		s.reply(530, "Please login with USER and PASS.")
	default:
		cmd.fn(s, arg)
	}
}

// parseCommand splits a command line into its upper-case verb and its
// argument, after undoing Telnet escapes.
func parseCommand(text string) (verb, arg string) {
	verb, arg, _ = strings.Cut(unTelnet(text), " ")
	return strings.ToUpper(verb), arg
}

// unTelnet undoes the Telnet layer of a command line: IAC IAC becomes one
// 0xFF byte, and other Telnet commands (IAC IP, IAC DM sent before ABOR)
// are dropped.
func unTelnet(text string) string {
	if !strings.Contains(text, "\xff") {
		return text
	}
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c != 0xff:
			b.WriteByte(c)
		case i+1 < len(text) && text[i+1] == 0xff:
			b.WriteByte(0xff)
			i++
		case i+1 < len(text) && text[i+1] >= 251: // WILL, WONT, DO, DONT option
			i += 2
		case i+1 < len(text) && text[i+1] >= 240:
			i++
		}
	}
	return b.String()
}

// isVerb reports whether verb looks like an FTP command name.
func isVerb(verb string) bool {
	if verb == "" || len(verb) > 16 {
		return false
	}
	for i, c := range verb {
		digit := i > 0 && c >= '0' && c <= '9' // XSHA256, XSHA1
		if (c < 'A' || c > 'Z') && !digit {
			return false
		}
	}
	return true
}

// behave applies the misbehaviour configured for verb ("GREETING" for the
// greeting) and reports whether the server should go on and answer it.
func (s *session) behave(verb string) bool {
	if d, ok := s.cfg.delay[verb]; ok && !s.sleep(d) {
		return false
	}
	if s.cfg.drop[verb] {
		s.silent = true
		return false
	}
	if raw, ok := s.cfg.raw[verb]; ok {
		s.send(raw)
		return false
	}
	if b, ok := s.cfg.rawTimes[verb]; ok && b.left.Add(-1) >= 0 {
		s.send(b.raw)
		return false
	}
	return true
}

// sleep waits d, or less if the session ends; it reports whether the whole
// time passed.
func (s *session) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// send writes raw to the control connection. Any 421 reply, and any failed
// write, ends the session.
func (s *session) send(raw string) {
	s.wmu.Lock()
	_, err := io.WriteString(s.w, raw)
	s.wmu.Unlock()
	s.cfg.logf("ftptest: %s -> %q", s.conn.RemoteAddr(), raw)
	if err != nil || strings.HasPrefix(raw, "421") {
		s.cancel()
	}
}

// reply sends a one-line reply.
func (s *session) reply(code int, format string, args ...any) {
	s.send(fmt.Sprintf("%d %s\r\n", code, fmt.Sprintf(format, args...)))
}

// replyLines sends a multi-line reply: first and last text on the
// "code-" and "code " lines, body lines in between each with a leading
// space, as FEAT, MLST and STAT replies have them.
func (s *session) replyLines(code int, first string, body []string, last string) {
	var b strings.Builder
	fmt.Fprintf(&b, "%d-%s\r\n", code, first)
	for _, l := range body {
		fmt.Fprintf(&b, " %s\r\n", l)
	}
	fmt.Fprintf(&b, "%d %s\r\n", code, last)
	s.send(b.String())
}

// abs resolves a path argument against the working directory.
func (s *session) abs(arg string) string {
	if strings.HasPrefix(arg, "/") {
		return cleanPath(arg)
	}
	return cleanPath(s.cwd + "/" + arg)
}
