// Package ftptest provides an FTP server for tests, as net/http/httptest
// does for HTTP.
//
// [NewServer] starts a real FTP server on a loopback address, serving an
// in-memory file tree that the test can seed and inspect. It speaks the
// commands of RFC 959, RFC 2389 (FEAT, OPTS), RFC 2428 (EPSV, EPRT) and
// RFC 3659 (SIZE, MDTM, REST, MLST, MLSD), plus MFMT, and FTPS (RFC 4217's
// AUTH TLS, PBSZ and PROT, or implicit TLS) with [WithExplicitTLS] or
// [WithImplicitTLS]. It can be told by [ServerOption] values to misbehave
// in the ways real servers do: wrong addresses in PASV replies, garbage
// replies, delays, silence, truncated transfers, missing or early replies;
// or to be as strict as real FTPS servers are ([WithRequireTLS],
// [WithRequireTLSReuse]); or to offer checksums ([WithHash]) or cap its
// sessions ([WithMaxConnections]).
//
// The server keeps to loopback: it listens on 127.0.0.1 or [::1], and dials
// PORT and EPRT addresses only when they name the client's own host. TYPE A
// is accepted, but data is always sent as it is stored.
//
// A typical test:
//
//	srv := ftptest.NewServer(ftptest.WithFiles(map[string][]byte{"a.txt": []byte("hi")}))
//	defer srv.Close()
//	// dial srv.Addr() or use srv.URL(), log in as srv.User() / srv.Password()
package ftptest

import (
	"context"
	"crypto/tls"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// A Server is an FTP server listening on a loopback address, serving an
// in-memory file tree shared by all its connections. Its methods are safe
// for concurrent use.
type Server struct {
	cfg    config
	ln     net.Listener
	fs     *memFS
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the server started
	cert   tls.Certificate
	// tlsBase is cloned for every TLS connection.
	tlsBase *tls.Config

	mu            sync.Mutex
	sessions      map[*session]struct{}
	commands      []string
	reuseRefusals int
	dataTLS       []DataTLSInfo
}

// NewServer starts an FTP server on 127.0.0.1 (or [::1] with [WithIPv6]) on
// a free port, configured by opts. It panics if it cannot listen, as
// httptest.NewServer does. The caller must call [Server.Close].
func NewServer(opts ...ServerOption) *Server {
	cfg := defaultConfig()
	for _, opt := range opts {
		opt(&cfg)
	}
	if (cfg.requireTLS || cfg.requireReuse) && cfg.tlsMode == tlsOff {
		cfg.tlsMode = tlsExplicit
	}
	s := &Server{cfg: cfg, fs: newMemFS(), sessions: map[*session]struct{}{}}
	s.setupTLS()
	for name, data := range cfg.files {
		s.WriteFile(name, data)
	}
	host := "127.0.0.1"
	if cfg.ipv6 {
		host = "::1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		panic(fmt.Sprintf("ftptest: failed to listen on %s: %v", host, err))
	}
	s.ln = ln
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Go(s.acceptLoop)
	return s
}

// acceptLoop serves each control connection until the listener closes.
func (s *Server) acceptLoop() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() == nil {
				s.cfg.logf("ftptest: accept: %v", err)
			}
			return
		}
		if s.full() {
			s.refuseConn(conn)
			continue
		}
		sess := newSession(s, conn)
		s.mu.Lock()
		s.sessions[sess] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(sess.serve)
	}
}

// forget drops a finished session from the set Broadcast writes to.
func (s *Server) forget(sess *session) {
	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
}

// record appends a received command line to the log Commands returns.
func (s *Server) record(line string) {
	s.mu.Lock()
	s.commands = append(s.commands, line)
	s.mu.Unlock()
}

// Addr returns the control address, "127.0.0.1:port" (or "[::1]:port").
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns "ftp://user:pass@host:port/" with the server's credentials,
// escaped as a URL needs; "ftps://" with [WithImplicitTLS].
func (s *Server) URL() string {
	scheme := "ftp"
	if s.cfg.tlsMode == tlsImplicit {
		scheme = "ftps"
	}
	u := url.URL{Scheme: scheme, User: url.UserPassword(s.cfg.user, s.cfg.pass), Host: s.Addr(), Path: "/"}
	return u.String()
}

// User returns the user name the server accepts.
func (s *Server) User() string { return s.cfg.user }

// Password returns the password the server accepts.
func (s *Server) Password() string { return s.cfg.pass }

// Close stops the server: it closes the listener and every control and
// data connection, cancels pending accepts and delays, and waits until
// every goroutine of the server has returned. It is safe to call more than
// once.
func (s *Server) Close() {
	s.cancel()
	s.ln.Close()
	s.wg.Wait()
}

// Commands returns every command line the server received, across all
// connections, in the order received, exactly as sent but for the line
// ending. Lines rejected as longer than 64 KiB are left out.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.commands)
}

// Broadcast writes raw to every open control connection, as an unsolicited
// reply. If raw starts with "421", it then closes those connections, as a
// server does at its idle timeout.
func (s *Server) Broadcast(raw string) {
	s.mu.Lock()
	all := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		all = append(all, sess)
	}
	s.mu.Unlock()
	for _, sess := range all {
		sess.send(raw)
	}
}

// WriteFile creates or replaces the file name (a slash path, relative ones
// taken from "/") with a copy of data, creating parent directories. It
// panics if name cannot be a file (a parent is a file, or name is a
// directory), since that is a mistake in the test.
func (s *Server) WriteFile(name string, data []byte) {
	data = slices.Clone(data)
	err := s.fs.put(cleanPath(name), true, func([]byte) ([]byte, error) { return data, nil })
	if err != nil {
		panic("ftptest: WriteFile: " + err.Error())
	}
}

// ReadFile returns a copy of the contents of the file name. The error
// matches fs.ErrNotExist if there is no such file.
func (s *Server) ReadFile(name string) ([]byte, error) {
	e, err := s.fs.file(cleanPath(name))
	return slices.Clone(e.data), err
}

// MkdirAll creates the directory name and any missing parents. It panics if
// a file is in the way, since that is a mistake in the test.
func (s *Server) MkdirAll(name string) {
	if err := s.fs.mkdir(cleanPath(name), true); err != nil {
		panic("ftptest: MkdirAll: " + err.Error())
	}
}

// SetModTime sets the modification time of the file or directory name, as
// LIST, MLSD and MDTM report it.
func (s *Server) SetModTime(name string, t time.Time) error {
	return s.fs.setMod(cleanPath(name), t)
}

// Stat describes the file or directory name.
func (s *Server) Stat(name string) (fs.FileInfo, error) {
	e, err := s.fs.stat(cleanPath(name))
	if err != nil {
		return nil, err
	}
	return fileInfo{e}, nil
}

// hasFeature reports whether FEAT lists the feature whose line is line.
func (c *config) hasFeature(line string) bool {
	name, _, _ := strings.Cut(line, " ")
	return !c.hidden[verbKey(name)]
}
