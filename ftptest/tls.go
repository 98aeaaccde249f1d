package ftptest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strconv"
	"strings"
	"time"
)

// tlsMode is how the control connections of a server use TLS.
type tlsMode int

const (
	tlsOff      tlsMode = iota
	tlsExplicit         // AUTH TLS (RFC 4217)
	tlsImplicit         // TLS from the first byte
)

// DataTLSInfo describes the TLS layer of one protected data connection, as
// [Server.DataTLS] reports it.
type DataTLSInfo struct {
	// Version is the TLS version negotiated, tls.VersionTLS12 or
	// tls.VersionTLS13.
	Version uint16
	// Resumed reports whether the handshake resumed an earlier TLS
	// session rather than running a full handshake.
	Resumed bool
	// ControlSession reports whether the session resumed is one issued on
	// the control connection of the same FTP session, as
	// [WithRequireTLSReuse] demands.
	ControlSession bool
}

// errDataTLS marks a data connection whose TLS layer failed or was
// refused; the transfer ends with a 522 reply carrying the error's text.
var errDataTLS = errors.New("SSL connection failed")

// errReuse is the refusal of a data connection that did not resume the
// control connection's TLS session.
var errReuse = fmt.Errorf("%w: session reuse required", errDataTLS)

// Ticket tags go into SessionState.Extra: the tag of the connection kind,
// then the FTP session's identity.
const (
	controlTicketTag = "ftptest/control/1:"
	dataTicketTag    = "ftptest/data/1:"
)

// newCertificate generates a self-signed ECDSA P-256 certificate for
// localhost, 127.0.0.1 and ::1, valid from an hour ago for a day.
func newCertificate() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"ftptest"}, CommonName: "localhost"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// newTLSConfig returns the server's base tls.Config: cert, TLS 1.2 at
// least, ticket keys of its own (shared by every clone, so that a ticket of
// one session decrypts in another and only the session check refuses it),
// then the WithTLSConfig adjustments.
func newTLSConfig(cert tls.Certificate, adjust []func(*tls.Config)) (*tls.Config, error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	cfg.SetSessionTicketKeys([][32]byte{key})
	for _, f := range adjust {
		f(cfg)
	}
	return cfg, nil
}

// setupTLS gives the server its certificate and base tls.Config. It panics
// on failure, as NewServer does.
func (s *Server) setupTLS() {
	cert := s.cfg.cert
	if cert == nil {
		c, err := newCertificate()
		if err != nil {
			panic("ftptest: failed to generate a certificate: " + err.Error())
		}
		cert = &c
	}
	s.cert = *cert
	if s.cert.Leaf == nil && len(s.cert.Certificate) > 0 {
		s.cert.Leaf, _ = x509.ParseCertificate(s.cert.Certificate[0])
	}
	cfg, err := newTLSConfig(s.cert, s.cfg.tlsAdjust)
	if err != nil {
		panic("ftptest: failed to set up TLS: " + err.Error())
	}
	s.tlsBase = cfg
}

// Certificate returns the certificate the server presents on TLS
// connections: the generated one, or the leaf given to [WithCertificate].
func (s *Server) Certificate() *x509.Certificate { return s.cert.Leaf }

// ClientTLSConfig returns a new tls.Config for a client of the server: its
// RootCAs trust the server's certificate (and any chain given with it),
// as httptest's Server.Client does for HTTPS. ServerName is left empty:
// set it to "localhost", "127.0.0.1" or "::1", or let the client derive it
// from the address it dials.
func (s *Server) ClientTLSConfig() *tls.Config {
	pool := x509.NewCertPool()
	for _, der := range s.cert.Certificate {
		if c, err := x509.ParseCertificate(der); err == nil {
			pool.AddCert(c)
		}
	}
	return &tls.Config{RootCAs: pool}
}

// TLSReuseRefusals returns how many protected data connections the server
// refused because they did not resume their control connection's TLS
// session (see [WithRequireTLSReuse]).
func (s *Server) TLSReuseRefusals() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reuseRefusals
}

// DataTLS describes every protected data connection whose TLS handshake
// succeeded, across all connections, in the order of their handshakes;
// refused ones included.
func (s *Server) DataTLS() []DataTLSInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]DataTLSInfo(nil), s.dataTLS...)
}

// noteDataTLS records a data connection's TLS layer, and its refusal.
func (s *Server) noteDataTLS(info DataTLSInfo, refused bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dataTLS = append(s.dataTLS, info)
	if refused {
		s.reuseRefusals++
	}
}

// newSessionID returns a random identity for a control session, which the
// tickets issued on its control connection carry.
func newSessionID() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}

// tagTicket returns a WrapSession that appends tag to every session it
// wraps, then encrypts it with cfg's ticket keys.
func tagTicket(cfg *tls.Config, tag string) func(tls.ConnectionState, *tls.SessionState) ([]byte, error) {
	return func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		ss.Extra = append(ss.Extra, []byte(tag))
		return cfg.EncryptTicket(cs, ss)
	}
}

// hasTag reports whether ss carries the Extra entry tag.
func hasTag(ss *tls.SessionState, tag string) bool {
	for _, e := range ss.Extra {
		if bytes.Equal(e, []byte(tag)) {
			return true
		}
	}
	return false
}

// controlTLS returns the tls.Config of the session's control connection:
// the tickets it issues carry the session's identity.
func (s *session) controlTLS() *tls.Config {
	cfg := s.srv.tlsBase.Clone()
	cfg.WrapSession = tagTicket(cfg, controlTicketTag+s.tlsID)
	return cfg
}

// dataTLS returns the tls.Config of one data connection of the session.
// Its tickets are tagged as data tickets, so they never count as the
// control session's. *fromControl tells, after the handshake, whether the
// last ticket unwrapped was issued on this session's control connection;
// with WithRequireTLSReuse other tickets are not even offered to
// crypto/tls, so only such a ticket can be resumed.
func (s *session) dataTLS(fromControl *bool) *tls.Config {
	cfg := s.srv.tlsBase.Clone()
	cfg.WrapSession = tagTicket(cfg, dataTicketTag+s.tlsID)
	cfg.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := cfg.DecryptTicket(identity, cs)
		if err != nil || ss == nil {
			return nil, err
		}
		*fromControl = hasTag(ss, controlTicketTag+s.tlsID)
		if !*fromControl && s.cfg.requireReuse {
			return nil, nil // not this session's: full handshake, then refusal
		}
		return ss, nil
	}
	return cfg
}

// secureData runs the server side of the TLS handshake on a data
// connection, within dataTimeout, records it, and with WithRequireTLSReuse
// refuses it unless it resumed the control connection's session. On error
// the caller closes conn.
func (s *session) secureData(ctx context.Context, conn net.Conn) (*tls.Conn, error) {
	var fromControl bool
	tc := tls.Server(conn, s.dataTLS(&fromControl))
	hctx, cancel := context.WithTimeout(ctx, dataTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return nil, fmt.Errorf("%w: %v", errDataTLS, err)
	}
	st := tc.ConnectionState()
	info := DataTLSInfo{Version: st.Version, Resumed: st.DidResume, ControlSession: st.DidResume && fromControl}
	refuse := s.cfg.requireReuse && !info.ControlSession
	s.srv.noteDataTLS(info, refuse)
	if refuse {
		tc.Close()
		return nil, errReuse
	}
	return tc, nil
}

// bufConn is a connection whose reads go through r, which may already hold
// bytes read from it.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// handoff is how the read loop, stopped after an AUTH line, learns which
// reader to go on with: the one it had, or one on the new TLS layer.
type handoff struct {
	r    *bufio.Reader
	next chan *bufio.Reader // buffered; receives r once the AUTH is handled
}

// secureControl writes pre (the 234 reply, if any) and then runs the server
// side of the TLS handshake on the control connection, reading through r,
// within dataTimeout. On success replies go through TLS from then on, and
// it returns the reader for the commands that follow.
func (s *session) secureControl(pre string, r *bufio.Reader) (*bufio.Reader, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if pre != "" {
		if _, err := io.WriteString(s.w, pre); err != nil {
			return nil, err
		}
		s.cfg.logf("ftptest: %s -> %q", s.conn.RemoteAddr(), pre)
	}
	tc := tls.Server(&bufConn{Conn: s.conn, r: r}, s.controlTLS())
	ctx, cancel := context.WithTimeout(s.ctx, dataTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	s.w, s.secure = tc, true
	return bufio.NewReaderSize(tc, maxLine), nil
}

// isAUTH reports whether a command line is an AUTH command.
func isAUTH(text string) bool {
	verb, _ := parseCommand(text)
	return verb == "AUTH"
}

func (s *session) cmdAUTH(arg string) {
	mech := strings.ToUpper(strings.TrimSpace(arg))
	switch {
	case s.cfg.tlsMode == tlsOff:
		s.reply(502, "Command not implemented.")
	case s.secure:
		s.reply(503, "Already using TLS.")
	case mech != "TLS" && mech != "SSL" && mech != "TLS-C":
		s.reply(504, "AUTH %s not supported; use AUTH TLS.", arg)
	case s.handoff == nil:
		s.reply(451, "AUTH cannot be handled here.")
	default:
		r, err := s.secureControl("234 Proceed with negotiation.\r\n", s.handoff.r)
		if err != nil {
			s.cfg.logf("ftptest: %s: TLS handshake: %v", s.conn.RemoteAddr(), err)
			s.cancel()
			return
		}
		s.handoff.r = r
	}
}

func (s *session) cmdPBSZ(arg string) {
	_, err := strconv.ParseUint(strings.TrimSpace(arg), 10, 32)
	switch {
	case s.cfg.tlsMode == tlsOff:
		s.reply(502, "Command not implemented.")
	case !s.secure:
		s.reply(503, "PBSZ needs a protected control connection; use AUTH TLS first.")
	case err != nil:
		s.reply(501, "Bad protection buffer size %q.", arg)
	default:
		s.pbsz = true
		s.reply(200, "PBSZ=0")
	}
}

func (s *session) cmdPROT(arg string) {
	level := strings.ToUpper(strings.TrimSpace(arg))
	switch {
	case s.cfg.tlsMode == tlsOff:
		s.reply(502, "Command not implemented.")
	case !s.secure:
		s.reply(503, "PROT needs a protected control connection; use AUTH TLS first.")
	case !s.pbsz:
		s.reply(503, "PROT needs PBSZ first.")
	case level == "P":
		s.protect = true
		s.reply(200, "PROT now Private.")
	case level == "C":
		s.protect = false
		s.reply(200, "PROT now Clear.")
	case level == "S" || level == "E":
		s.reply(536, "PROT %s unsupported.", level)
	default:
		s.reply(504, "PROT %q not understood.", arg)
	}
}

func (s *session) cmdCCC(string) {
	if s.cfg.tlsMode == tlsOff {
		s.reply(502, "Command not implemented.")
		return
	}
	s.reply(533, "Command channel must stay protected.")
}

// tlsFeatures are the FEAT lines of the server's TLS mode.
func (c *config) tlsFeatures() []string {
	switch c.tlsMode {
	case tlsExplicit:
		return []string{"AUTH TLS", "PBSZ", "PROT"}
	case tlsImplicit:
		return []string{"PBSZ", "PROT"}
	}
	return nil
}
