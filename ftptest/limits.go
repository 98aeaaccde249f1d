package ftptest

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"net"
	"strings"
)

// WithMaxConnections makes the server accept at most n control connections
// at a time, as vsftpd's max_clients and pure-ftpd's -c do: a connection
// beyond n gets "421 Too many connections" as its greeting and is closed.
// A session counts until the server has finished with it, a little after
// the client's QUIT. Zero or less means no limit (the default). With
// WithImplicitTLS the refusal is sent in the clear, before any handshake.
func WithMaxConnections(n int) ServerOption {
	return func(c *config) { c.maxConns = n }
}

// WithHash makes the server offer checksums of files: FEAT lists
// "HASH SHA-256*;SHA-1;MD5;CRC32" (draft-bryan-ftpext-hash), "OPTS HASH
// name" selects the algorithm for the session, and "HASH path" answers
// "213 SHA-256 0-size hex path"; the older XSHA256, XSHA1, XMD5 and XCRC
// commands answer "213 hex". Without the option these commands get 502.
func WithHash() ServerOption {
	return func(c *config) { c.hash = true }
}

// full reports whether WithMaxConnections refuses another connection.
func (s *Server) full() bool {
	if s.cfg.maxConns <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions) >= s.cfg.maxConns
}

// refuseConn sends a 421 greeting to a connection over the limit and
// closes it.
func (s *Server) refuseConn(conn net.Conn) {
	s.cfg.logf("ftptest: %s -> 421 Too many connections", conn.RemoteAddr())
	conn.Write([]byte("421 Too many connections (limit reached), try again later.\r\n"))
	conn.Close()
}

// hashFeatures are the FEAT lines of WithHash.
func (c *config) hashFeatures() []string {
	if !c.hash {
		return nil
	}
	return []string{"HASH SHA-256*;SHA-1;MD5;CRC32", "XSHA256", "XSHA1", "XMD5", "XCRC"}
}

// hashAlgos maps the names of HASH algorithms to their constructors.
var hashAlgos = map[string]func() hash.Hash{
	"SHA-256": sha256.New, "SHA-1": sha1.New, "MD5": md5.New,
	"CRC32": func() hash.Hash { return crc32.NewIEEE() },
}

// hashCommands are the checksum commands of WithHash.
var hashCommands = map[string]func(*session, string){
	"HASH":    func(s *session, arg string) { s.hashFile(arg, "", true) },
	"XSHA256": func(s *session, arg string) { s.hashFile(arg, "SHA-256", false) },
	"XSHA1":   func(s *session, arg string) { s.hashFile(arg, "SHA-1", false) },
	"XMD5":    func(s *session, arg string) { s.hashFile(arg, "MD5", false) },
	"XCRC":    func(s *session, arg string) { s.hashFile(arg, "CRC32", false) },
}

// hashFile answers a checksum command for arg with algo, or with the
// session's HASH algorithm when algo is empty.
func (s *session) hashFile(arg, algo string, draft bool) {
	if !s.cfg.hash {
		s.reply(502, "Command not implemented.")
		return
	}
	if algo == "" {
		algo = s.hashAlgo
		if algo == "" {
			algo = "SHA-256"
		}
	}
	e, err := s.srv.fs.file(s.abs(arg))
	if err != nil {
		s.fail(550, err)
		return
	}
	h := hashAlgos[algo]()
	h.Write(e.data)
	sum := hex.EncodeToString(h.Sum(nil))
	if draft {
		s.reply(213, "%s 0-%d %s %s", algo, e.size, sum, arg)
		return
	}
	s.reply(213, "%s", sum)
}

// optsHash handles "OPTS HASH [name]"; it reports whether arg was one.
func (s *session) optsHash(arg string) bool {
	f := strings.Fields(arg)
	if !s.cfg.hash || len(f) == 0 || !strings.EqualFold(f[0], "HASH") {
		return false
	}
	cur := s.hashAlgo
	if cur == "" {
		cur = "SHA-256"
	}
	switch {
	case len(f) == 1:
		s.reply(200, "%s", cur)
	case hashAlgos[strings.ToUpper(f[1])] != nil:
		s.hashAlgo = strings.ToUpper(f[1])
		s.reply(200, "%s", s.hashAlgo)
	default:
		s.reply(501, "%s", fmt.Sprintf("Unknown algorithm %q.", f[1]))
	}
	return true
}
