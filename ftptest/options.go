package ftptest

import (
	"crypto/tls"
	"net"
	"strings"
	"sync/atomic"
	"time"
)

// A ServerOption configures a [Server] built by [NewServer].
//
// Most options make the server misbehave in one precise way, so that a test
// can check how a client copes with a broken or unusual FTP server.
type ServerOption func(*config)

// config is everything a ServerOption can set.
type config struct {
	user, pass    string
	anonymous     bool
	ipv6          bool
	files         map[string][]byte
	pasvIP        net.IP
	hidden        map[string]bool // upper-case feature names
	raw           map[string]string
	rawTimes      map[string]*rawBudget
	delay         map[string]time.Duration
	drop          map[string]bool
	truncate      int64 // -1: never
	truncateFinal string
	noPrelim      bool
	earlyFinal    bool
	activeSource  net.IP
	listLines     map[string][]string // clean absolute dir -> lines
	noMLSD        bool
	logf          func(format string, args ...any)
	tlsMode       tlsMode
	cert          *tls.Certificate
	requireTLS    bool
	requireReuse  bool
	tlsAdjust     []func(*tls.Config)
	maxConns      int      // 0: no limit (WithMaxConnections)
	hash          bool     // WithHash
	emptyMissing  bool     // WithEmptyListingForMissing
	hideDotfiles  bool     // WithHiddenDotfiles
	vagueRemove   bool     // WithVagueRemoveErrors
	vagueErrors   bool     // WithVagueErrors
	unreadable    []string // WithUnreadableDirs: clean absolute paths
	literalList   bool     // WithLiteralListArgs
	minimal       minimal  // ftptest/minimal.go
	engine        engOpts  // ftptest/engine.go
	// listLocation: WithListLocation (ftptest/timezone.go)
	listLocation  *time.Location
	during        DuringTransfer // WithCommandsDuringTransfer (ftptest/pipeline.go)
	earlyDataLost bool           // WithEarlyDataLost (ftptest/earlydata.go)
}

func defaultConfig() config {
	return config{
		user:      "user",
		pass:      "pass",
		hidden:    map[string]bool{},
		raw:       map[string]string{},
		rawTimes:  map[string]*rawBudget{},
		delay:     map[string]time.Duration{},
		drop:      map[string]bool{},
		truncate:  -1,
		listLines: map[string][]string{},
		logf:      func(string, ...any) {},
	}
}

// verbKey normalises a command verb (or "GREETING") for the option maps.
func verbKey(verb string) string { return strings.ToUpper(strings.TrimSpace(verb)) }

// WithCredentials sets the only user name and password the server accepts.
// The default is "user" and "pass".
func WithCredentials(user, pass string) ServerOption {
	return func(c *config) { c.user, c.pass = user, pass }
}

// WithAnonymous makes the server also accept the user names "anonymous" and
// "ftp" with any password, as public FTP servers do.
func WithAnonymous() ServerOption {
	return func(c *config) { c.anonymous = true }
}

// WithIPv6 makes the server listen on [::1] instead of 127.0.0.1, so that a
// test can exercise EPSV and EPRT over IPv6.
func WithIPv6() ServerOption {
	return func(c *config) { c.ipv6 = true }
}

// WithFiles seeds the file tree: each key is a slash path (relative ones are
// taken from "/"), each value the file's contents. Parent directories are
// created as needed.
func WithFiles(files map[string][]byte) ServerOption {
	return func(c *config) {
		if c.files == nil {
			c.files = map[string][]byte{}
		}
		for name, data := range files {
			c.files[name] = data
		}
	}
}

// WithPASVAddress makes 227 replies to PASV advertise ip instead of the
// address the server listens on. The data listener stays where it was, so
// advertising 127.0.0.2 reproduces a server behind NAT that announces an
// address the client cannot reach.
func WithPASVAddress(ip net.IP) ServerOption {
	return func(c *config) { c.pasvIP = ip }
}

// WithoutFeatures hides the named features from the FEAT reply (the name is
// the first word of a feature line, matched case-insensitively). The
// commands behind them still work, as on servers whose FEAT is incomplete.
func WithoutFeatures(names ...string) ServerOption {
	return func(c *config) {
		for _, n := range names {
			c.hidden[verbKey(n)] = true
		}
	}
}

// WithRawReply makes the server answer every verb command with exactly raw
// (which may hold several CRLF-terminated lines, or garbage) instead of
// handling it: the command has no other effect. The verb "GREETING" stands
// for the greeting. If raw starts with "421" the server closes the
// connection after writing it. An ABOR that comes during a transfer is
// never replaced: it always aborts the transfer.
func WithRawReply(verb, raw string) ServerOption {
	return func(c *config) { c.raw[verbKey(verb)] = raw }
}

// WithRawReplyTimes is WithRawReply for the first n commands verb the
// server receives (over all its sessions); later ones are handled as
// usual. It makes a transient failure: pure-ftpd's "425 Unable to
// identify the local data socket: Address already in use" to an EPSV,
// say.
func WithRawReplyTimes(verb, raw string, n int) ServerOption {
	return func(c *config) {
		b := &rawBudget{raw: raw}
		b.left.Store(int64(n))
		c.rawTimes[verbKey(verb)] = b
	}
}

// rawBudget is a raw reply for a number of commands.
type rawBudget struct {
	raw  string
	left atomic.Int64
}

// WithDelay makes the server wait d before answering each verb command
// ("GREETING" for the greeting), to test client timeouts. Close still
// returns promptly.
func WithDelay(verb string, d time.Duration) ServerOption {
	return func(c *config) { c.delay[verbKey(verb)] = d }
}

// WithDrop makes the server hang at the first verb command ("GREETING" for
// the greeting): it never answers it, nor anything after it on that
// connection, though it goes on reading (and recording, see
// [Server.Commands]) until the client or [Server.Close] ends the connection.
func WithDrop(verb string) ServerOption {
	return func(c *config) { c.drop[verbKey(verb)] = true }
}

// WithTruncate makes RETR, LIST, NLST and MLSD close the data connection
// after n bytes and then send finalRaw as the final reply: "226 Transfer
// complete\r\n" makes the server lie about a short transfer, "426
// Connection closed\r\n" makes it honest.
func WithTruncate(n int64, finalRaw string) ServerOption {
	return func(c *config) { c.truncate, c.truncateFinal = n, finalRaw }
}

// WithoutPreliminary makes transfer commands skip the 150 reply and send
// only the final one, as some broken servers do.
func WithoutPreliminary() ServerOption {
	return func(c *config) { c.noPrelim = true }
}

// WithEarlyFinal makes transfer commands that send data reply 226 before
// writing the data, a race real servers expose: a client must still read
// the data connection to its end.
func WithEarlyFinal() ServerOption {
	return func(c *config) { c.earlyFinal = true }
}

// WithActiveSourceIP sets the local address the server dials from for PORT
// and EPRT data connections. With 127.0.0.2 a test can check that a client
// refuses data connections from a peer other than its server.
func WithActiveSourceIP(ip net.IP) ServerOption {
	return func(c *config) { c.activeSource = ip }
}

// WithListLines makes LIST of dir return exactly lines (each sent with a
// CRLF), whatever the tree holds, for testing listing parsers. dir is a slash
// path; relative ones are taken from "/".
func WithListLines(dir string, lines ...string) ServerOption {
	return func(c *config) { c.listLines[cleanPath(dir)] = lines }
}

// WithoutMLSD hides MLST from FEAT and makes MLSD and MLST fail with 500,
// like a server that only knows LIST.
func WithoutMLSD() ServerOption {
	return func(c *config) { c.noMLSD = true; c.hidden["MLST"] = true }
}

// WithLogf traces every line the server receives and sends through logf.
// t.Logf fits, provided [Server.Close] runs before the test ends.
func WithLogf(logf func(format string, args ...any)) ServerOption {
	return func(c *config) { c.logf = logf }
}

// WithExplicitTLS makes the server speak FTPS as RFC 4217 has it: FEAT
// lists AUTH TLS, PBSZ and PROT; AUTH TLS (or AUTH SSL) is answered 234
// and followed by the TLS handshake on the control connection; after it
// PBSZ 0 and PROT P make every data connection TLS too, with the server
// as the TLS server also when it dials the client (PORT, EPRT). PROT C
// goes back to clear data; PROT S and E are refused with 536, CCC with 533.
func WithExplicitTLS() ServerOption {
	return func(c *config) { c.tlsMode = tlsExplicit }
}

// WithImplicitTLS makes the server speak TLS from the first byte of every
// control connection (implicit FTPS); PBSZ and PROT work as with
// [WithExplicitTLS], and [Server.URL] starts with "ftps://".
func WithImplicitTLS() ServerOption {
	return func(c *config) { c.tlsMode = tlsImplicit }
}

// WithRequireTLS makes USER fail with "530 Non-anonymous sessions must use
// encryption." until the control connection is protected, like vsftpd's
// force_local_logins_ssl (anonymous users, see [WithAnonymous], may still
// log in in the clear). It implies [WithExplicitTLS] unless
// [WithImplicitTLS] is given.
func WithRequireTLS() ServerOption {
	return func(c *config) { c.requireTLS = true }
}

// WithRequireTLSReuse makes the server refuse any protected data
// connection that does not resume the TLS session of its own control
// connection, as vsftpd's require_ssl_reuse and ProFTPD do: the transfer
// ends with "522 SSL connection failed: session reuse required" and no
// data. A session from another control connection, or one issued on a
// data connection, does not count. [Server.TLSReuseRefusals] counts the
// refusals. It implies [WithExplicitTLS] unless [WithImplicitTLS] is given.
func WithRequireTLSReuse() ServerOption {
	return func(c *config) { c.requireReuse = true }
}

// WithCertificate makes the server present cert instead of the certificate
// it generates (valid for localhost, 127.0.0.1 and ::1), for instance one
// valid only for another name to test certificate checks.
func WithCertificate(cert tls.Certificate) ServerOption {
	return func(c *config) { c.cert = &cert }
}

// WithTLSConfig lets adjust change the server's tls.Config before it serves,
// for instance to set MinVersion or MaxVersion. The config already holds the
// certificate and the session ticket keys; the session hooks
// (WrapSession, UnwrapSession) are set per connection after adjust, and
// setting GetConfigForClient bypasses them.
func WithTLSConfig(adjust func(*tls.Config)) ServerOption {
	return func(c *config) { c.tlsAdjust = append(c.tlsAdjust, adjust) }
}

// WithEmptyListingForMissing makes LIST and NLST of a path that does not
// exist succeed with an empty listing (150, no data, 226) instead of 550,
// as vsftpd does: it runs its own ls and reports nothing for a missing
// path. LIST of a file already lists the file alone, as every server does.
func WithEmptyListingForMissing() ServerOption {
	return func(c *config) { c.emptyMissing = true }
}

// WithHiddenDotfiles makes LIST and NLST leave out names that start with a
// dot unless the command carries the -a option ("LIST -a"), as vsftpd does
// by default (its force_dot_files is off). MLSD and STAT still show them.
func WithHiddenDotfiles() ServerOption {
	return func(c *config) { c.hideDotfiles = true }
}

// WithVagueRemoveErrors makes every failed DELE answer "550 Delete
// operation failed." and every failed RMD "550 Remove directory operation
// failed.", whatever the reason (missing, a directory, not empty), as
// vsftpd does: the reply alone cannot tell a missing path from one that
// exists.
func WithVagueRemoveErrors() ServerOption {
	return func(c *config) { c.vagueRemove = true }
}

// WithVagueErrors makes every failed DELE, RMD, CWD, SIZE, MDTM and MKD
// answer as vsftpd does, with a text that does not say why: "550 Delete
// operation failed.", "550 Remove directory operation failed.", "550
// Failed to change directory.", "550 Could not get file size.", "550
// Could not get file modification time.", "550 Create directory operation
// failed.". It implies [WithVagueRemoveErrors].
func WithVagueErrors() ServerOption {
	return func(c *config) { c.vagueErrors, c.vagueRemove = true, true }
}

// WithUnreadableDirs makes the login unable to enter or list the
// directories dirs (slash paths; relative ones are taken from "/"), like
// directories of another user with mode 0700: CWD into them, LIST, NLST
// and MLSD of them, and any command on a path under them fail with "550
// <path>: permission denied." (or the vague texts of [WithVagueErrors]);
// MLST of the directory itself still describes it, as its parent is
// readable. With [WithEmptyListingForMissing], which stands for vsftpd's
// own ls, LIST and NLST of such a directory list the directory itself
// instead, as "ls -ld" would, with a 226, as vsftpd does.
func WithUnreadableDirs(dirs ...string) ServerOption {
	return func(c *config) {
		for _, d := range dirs {
			c.unreadable = append(c.unreadable, cleanPath(d))
		}
	}
}

// WithLiteralListArgs makes LIST and NLST take their whole argument as a
// path, ls options included, as pyftpdlib does: "LIST -a dir" looks for a
// directory named "-a dir". A bare option word alone ("LIST -a") is still
// dropped.
func WithLiteralListArgs() ServerOption {
	return func(c *config) { c.literalList = true }
}

// WithVsftpdQuirks makes the server behave as vsftpd does by default in
// the ways a sync tool must not mistake for facts: no MLSD or MLST
// ([WithoutMLSD]), an empty listing for a missing path
// ([WithEmptyListingForMissing]), dot files hidden unless "LIST -a"
// ([WithHiddenDotfiles]), and refusals that do not say why
// ([WithVagueErrors]).
func WithVsftpdQuirks() ServerOption {
	return func(c *config) {
		for _, o := range []ServerOption{WithoutMLSD(), WithEmptyListingForMissing(), WithHiddenDotfiles(), WithVagueErrors()} {
			o(c)
		}
	}
}
