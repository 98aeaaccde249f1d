package ftp

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/url"
	"time"

	"golang.org/x/text/encoding"
)

// DefaultTimeout bounds each wait when no WithTimeout is given: the dial,
// each reply, and each stall of a data connection. It never bounds a whole
// transfer, only silence.
const DefaultTimeout = 30 * time.Second

// tcpKeepAlive is the idle time and interval of TCP keepalive probes on the
// control connection, which is on for every TCP control connection: it
// keeps NAT boxes from forgetting a control connection that is silent
// during a long transfer (as FileZilla and the curl tool do).
const tcpKeepAlive = 15 * time.Second

// Option configures a Conn at Dial time.
type Option func(*config)

// config is what the options set.
type config struct {
	timeout        time.Duration
	dial           func(ctx context.Context, network, addr string) (net.Conn, error)
	customDial     bool
	active         bool
	activeLo       int
	activeHi       int
	activeIP       net.IP
	noEPSV         bool
	noMLSD         bool
	trustPASV      bool
	overloadedMDTM bool
	tlsMode        tlsMode
	tlsConfig      *tls.Config
	debug          io.Writer
	location       *time.Location // WithLocation; nil: found once a session (findZone)
	pool           poolConfig     // options of NewPool (pool.go)
	keepAlive      time.Duration
	fastMiB        time.Duration     // a MiB that comes this fast raises the low-water mark (lowwater.go)
	beforeFirst    func(*transfer)   // tests: called as a download is about to wait for its first data
	noPoller       bool              // tests: downloads wait for their first data with a listener, as where there is no poller
	listAll        ListAll           // WithListAll
	ignoreFEAT     bool              // tests: the FEAT reply is ignored, as if the server had none
	encoding       encoding.Encoding // WithEncoding; nil: names pass as bytes
	detect         *detector         // WithEncodingDetection (detect.go)
	limit          *rateLimit        // WithRateLimit; nil: none
	proxy          *url.URL          // WithProxy; nil: none
	portAtLogin    bool              // a Pool's connection: EPSV/PASV with FEAT and TYPE I (conn.go prepare)
	noPipelining   bool              // WithoutPipelining (pipeline.go)
}

func newConfig(opts []Option) config {
	cfg := config{timeout: DefaultTimeout, fastMiB: fastMiB}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.dial == nil {
		// No keepalive from the dialer: newConn sets it on the control
		// connection, and a data connection is watched by its idle
		// deadline (and spared four setsockopt calls per transfer).
		d := &net.Dialer{KeepAlive: -1}
		cfg.dial = d.DialContext
	}
	if cfg.proxy != nil {
		// Names are resolved by the proxy, so data connections go to the
		// dialled host, as with WithDialFunc. Dial checks the URL first.
		if p, err := newProxyDialer(cfg.proxy, cfg.dial); err == nil {
			cfg.dial, cfg.customDial = p.dial, true
		}
	}
	return cfg
}

// WithTimeout bounds the dial, each reply wait and each stall of a data
// connection (not a whole transfer). Zero or less keeps DefaultTimeout:
// this library never waits without a bound.
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithDialFunc dials the control and every data connection through f, for
// proxies, custom source addresses or instrumentation.
func WithDialFunc(f func(ctx context.Context, network, addr string) (net.Conn, error)) Option {
	return func(c *config) { c.dial, c.customDial = f, f != nil }
}

// WithPassive selects passive data connections, the default: EPSV first,
// then PASV. The client connects to the server for each transfer.
func WithPassive() Option { return func(c *config) { c.active = false } }

// WithActive selects active data connections: the client listens and sends
// PORT (IPv4) or EPRT (IPv6), and the server connects back. Use it when the
// server's passive ports are unreachable (firewall) and yours are not.
func WithActive() Option { return func(c *config) { c.active = true } }

// WithActivePorts restricts the active-mode listener to ports lo..hi, for
// firewalls that open only a range. It implies nothing else: pair it with
// WithActive.
func WithActivePorts(lo, hi int) Option {
	return func(c *config) { c.activeLo, c.activeHi = lo, hi }
}

// WithActiveIP announces ip in PORT/EPRT instead of the control
// connection's local address: for a client behind NAT whose public address
// the server must connect to.
func WithActiveIP(ip net.IP) Option { return func(c *config) { c.activeIP = ip } }

// WithoutEPSV makes passive mode use PASV only, for servers that advertise
// EPSV but break on it. IPv4 only: on IPv6, EPSV is the only passive command.
func WithoutEPSV() Option { return func(c *config) { c.noEPSV = true } }

// WithoutMLSD makes List use LIST even where the server offers MLSD, for
// servers whose MLSD is broken.
func WithoutMLSD() Option { return func(c *config) { c.noMLSD = true } }

// WithTrustedPASVAddress makes passive mode connect to the address in the
// server's 227 reply. By default the client ignores it and connects to the
// control connection's peer (as curl and Python's ftplib do): servers
// behind NAT advertise private addresses, and a hostile server could point
// the client at a third host.
func WithTrustedPASVAddress() Option { return func(c *config) { c.trustPASV = true } }

// WithDebug writes a trace of the control connection to w: each command
// (passwords masked) and each reply line. In a Pool of more than one
// connection, each line begins with the connection's number: [1], [2] ….
func WithDebug(w io.Writer) Option { return func(c *config) { c.debug = w } }

// WithLocation sets the time zone of LIST times that carry none, for a
// caller who knows the server's zone. Without it, a Conn finds the offset
// of a server that lists with LIST (no MLSD) but answers MDTM, as FileZilla
// does: once a session, it compares one listed file's LIST time with its
// MDTM time (which is UTC), rounded to 15 minutes; elsewhere LIST times are
// taken as UTC. MLSD and MDTM times are always UTC.
func WithLocation(loc *time.Location) Option {
	return func(c *config) {
		if loc != nil {
			c.location = loc
		}
	}
}

// WithOverloadedMDTM makes SetModTime send "MDTM time path" instead of
// MFMT: vsftpd's way (its mdtm_write option), which other servers read as
// a query for a file whose name starts with the time.
func WithOverloadedMDTM() Option { return func(c *config) { c.overloadedMDTM = true } }

// WithKeepAlive sends NOOP on the control connection every interval while
// a transfer runs, for NAT boxes and firewalls that drop a control
// connection that stays silent for long, whatever its TCP keepalives: the
// final reply of a long transfer would be lost. The answers are read in
// order with the transfer's replies, before the next command. Zero or
// less (the default) sends none.
func WithKeepAlive(interval time.Duration) Option {
	return func(c *config) { c.keepAlive = max(interval, 0) }
}

// WithListAll sets whether List, on a server without MLSD, asks for hidden
// files (names that start with a dot) with "LIST -a". The default,
// ListAllDetect, uses "LIST -a" where the server honours it, as vsftpd,
// ProFTPD and Pure-FTPd do, and plain LIST elsewhere; it decides at the
// first listing of the session (two listings then on a server that does
// not honour -a). ListAllOn always sends "LIST -a", ListAllOff never.
// Without -a, vsftpd hides dot files: Mirror, RemoveAll and resumable
// transfers would not see them (.htaccess, the .name.part files of
// Download and Upload).
func WithListAll(mode ListAll) Option { return func(c *config) { c.listAll = mode } }

// WithEncoding makes the Conn speak enc (for example
// simplifiedchinese.GBK, japanese.ShiftJIS, charmap.ISO8859_1 from
// golang.org/x/text/encoding/...) to a server whose names are not UTF-8:
// paths in commands are encoded, reply text and the names of listings are
// decoded, and OPTS UTF8 ON is not sent. Only the tables of the encoding
// passed in are linked into a program.
//
// No name is lost to a wrong guess: a name whose bytes do not decode (and
// encode back to the same bytes) is kept as its raw bytes in Entry.Name,
// with one 0xFF byte appended when those bytes would read as UTF-8, and
// every command converts such a name back to the server's exact bytes; so
// each listed entry can be fetched, renamed and deleted by its Name,
// alone or joined to a path. Conn.NameBytes gives the bytes a Name
// stands for. A name that enc cannot write is an error, before anything
// is sent.
func WithEncoding(enc encoding.Encoding) Option {
	return func(c *config) { c.encoding = enc }
}
