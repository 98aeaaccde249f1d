package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pasvport/ftp"
	"golang.org/x/text/encoding"
)

// Exit codes, documented in usage.
const (
	exitOK          = 0
	exitFailed      = 1 // the operation failed, or part of a mirror did
	exitUsage       = 2
	exitConnect     = 3 // could not connect or log in
	exitNotFound    = 4 // a remote or local path does not exist
	exitInterrupted = 130
)

const usageText = `usage: ftpsync [flags] COMMAND ARGS

commands:
  ls URL                      list a remote directory
  get URL [LOCAL]             download a file (resumes a LOCAL .part file)
  put LOCAL URL               upload a file (resumes a remote .part file)
  mirror URL LOCAL            make the local directory a copy of the remote one
  mirror --reverse LOCAL URL  make the remote directory a copy of the local one
  rm [-r] URL                 remove a file (-r: a directory and its contents)
  mkdir [-p] URL              create a directory (-p: and missing parents)
  doctor URL                  probe the server: what works, what does not
                              (NAT, TLS, missing commands, limits), and the
                              options and flags to use with it; writes
                              nothing unless --write-test
  demo                        walk through a session with an in-process server
  version                     print the version of ftpsync and of Go
  help                        show this text

URLs are ftp://[user[:password]@]host[:port]/path (ftps:// for implicit
TLS on port 990). The path is relative to the login directory; start it
with %2F (ftp://host/%2Fpub) for an absolute one. Flags go anywhere.

flags:
  --active            active mode (PORT/EPRT); passive (EPSV, PASV) otherwise
  --explicit-tls      secure the session with AUTH TLS (FTPES)
  --insecure          do not verify the server's TLS certificate
  --parallel N        transfers at a time for mirror (default 4)
  --segments N        get: fetch a large file in N parts at once, each over a
                      connection of its own (resumable; default 1)
  --delete            mirror: delete what the source lacks, as the last step
                      and only if nothing failed (never excluded paths,
                      symbolic links, nor what the source could not list)
  --max-delete N      mirror: with more than N deletions due (with 0: any),
                      delete nothing and fail, listing them
  --allow-empty-source  mirror: let --delete empty the destination when the
                      source holds nothing (refused otherwise: a mistyped
                      path looks like an empty folder on some servers)
  --dry-run           mirror: print the plan, change nothing
  --exclude GLOB      mirror: leave out matching paths (repeatable)
  --checksum          mirror: compare same-size files by checksum, not time
  --encoding NAME     the server's names are in NAME (GBK, GB18030, Big5,
                      Shift_JIS, EUC-KR, ISO-8859-1, windows-1252 …; any
                      IANA name), not UTF-8: shown and saved as UTF-8, sent
                      back in NAME; OPTS UTF8 ON is not sent
  --timezone ZONE     LIST times (which carry no zone) are in ZONE (IANA,
                      like Asia/Shanghai); MLSD and MDTM times are UTC
  --timeout D         bound each wait on the server (default 30s)
  --deadline D        end the whole run after D (exit 1; run again to resume)
  --verbose           print the protocol trace (passwords masked) on stderr
  --json              print results as JSON on stdout
  --write-test        doctor: also create and remove a uniquely named
                      folder, with an upload and a download in it
  --cacert FILE       doctor: trust the PEM certificates in FILE for TLS

credentials, first found: the URL; FTP_PASSWORD for the user of the URL;
~/.netrc (or $NETRC) by host; anonymous. Passwords are never printed.

ls --json gives name_bytes (base64), the server's bytes, when the name
was decoded (--encoding) or is not UTF-8. get names the local file by
the decoded name; in one that is still not UTF-8 each such byte is
written %XX and each '%' %25 (in a name holding '%' and two hex digits
too), so no two names give the same local one.

Transfers write to .NAME.part and rename when complete, so an interrupted
get, put or mirror resumes where it stopped when run again; transient
failures (4xx replies, dropped connections) are retried with backoff.

exit codes:
  0    success (mirror: everything up to date)
  1    the operation failed (mirror: at least one file or folder failed,
       or deletions were refused; rm: the path exists but was not removed;
       --deadline reached)
  2    usage error
  3    could not connect or log in
  4    the remote or local path named does not exist
  130  interrupted (SIGINT, SIGTERM); run again to resume
`

// options are the flags of every command.
type options struct {
	active, explicitTLS, insecure bool
	parallel                      int
	del, dryRun, checksum         bool
	maxDelete                     int // -1: no --max-delete
	allowEmpty                    bool
	exclude                       globs
	timeout, deadline             time.Duration
	verbose, json                 bool
	reverse, recursive, parents   bool
	writeTest                     bool              // doctor --write-test
	ca                            string            // doctor --cacert
	enc                           encoding.Encoding // --encoding; nil: UTF-8
	loc                           *time.Location    // --timezone; nil: the library's default
	segments                      int               // get --segments
}

type globs []string

func (g *globs) String() string     { return strings.Join(*g, ",") }
func (g *globs) Set(s string) error { *g = append(*g, s); return nil }

// usageError is an error of the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// env is what the command takes from the process, replaceable in tests.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	secret         string // the password, masked in every message
}

// run runs the command line args and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	e := &env{stdout: stdout, stderr: stderr, getenv: getenv}
	if len(args) == 0 {
		io.WriteString(stderr, usageText) // not Fprint: the text holds %XX
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help", "-h", "--help", "-help":
		io.WriteString(stdout, usageText)
		return exitOK
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, versionText())
		return exitOK
	case "demo":
		if err := demo(ctx, stdout); err != nil {
			fmt.Fprintln(stderr, "ftpsync:", err)
			return exitFailed
		}
		return exitOK
	}
	var o options
	fset := flag.NewFlagSet("ftpsync "+cmd, flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	fset.BoolVar(&o.active, "active", false, "")
	fset.BoolVar(&o.explicitTLS, "explicit-tls", false, "")
	fset.BoolVar(&o.insecure, "insecure", false, "")
	fset.IntVar(&o.parallel, "parallel", 4, "")
	fset.BoolVar(&o.del, "delete", false, "")
	fset.BoolVar(&o.dryRun, "dry-run", false, "")
	fset.BoolVar(&o.checksum, "checksum", false, "")
	fset.Var(&o.exclude, "exclude", "")
	o.maxDelete = -1
	fset.Func("max-delete", "", func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return errors.New("--max-delete takes a number, 0 or more")
		}
		o.maxDelete = n
		return nil
	})
	fset.BoolVar(&o.allowEmpty, "allow-empty-source", false, "")
	fset.DurationVar(&o.timeout, "timeout", ftp.DefaultTimeout, "")
	fset.DurationVar(&o.deadline, "deadline", 0, "")
	fset.BoolVar(&o.verbose, "verbose", false, "")
	fset.BoolVar(&o.json, "json", false, "")
	fset.Func("encoding", "", func(s string) (err error) { o.enc, err = parseEncoding(s); return err })
	fset.Func("timezone", "", func(s string) (err error) { o.loc, err = parseTimezone(s); return err })
	switch cmd {
	case "get":
		fset.IntVar(&o.segments, "segments", 1, "")
	case "mirror":
		fset.BoolVar(&o.reverse, "reverse", false, "")
		fset.BoolVar(&o.reverse, "R", false, "")
	case "rm":
		fset.BoolVar(&o.recursive, "r", false, "")
	case "mkdir":
		fset.BoolVar(&o.parents, "p", false, "")
	case "doctor":
		fset.BoolVar(&o.writeTest, "write-test", false, "")
		fset.StringVar(&o.ca, "cacert", "", "")
	}
	pos, err := parseInterspersed(fset, rest)
	switch {
	case err != nil:
	case o.parallel < 1:
		err = usageError{"--parallel must be at least 1"}
	case o.deadline < 0:
		err = usageError{"--deadline must be positive"}
	}
	runCtx := ctx
	if err == nil && o.deadline > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, o.deadline)
		defer cancel()
	}
	if err == nil {
		err = e.dispatch(runCtx, cmd, pos, &o)
	}
	return e.finish(ctx, runCtx, o.deadline, err)
}

// parseInterspersed parses flags placed before, between or after the
// positional arguments, which it returns.
func parseInterspersed(fset *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fset.Parse(args); err != nil {
			return nil, usageError{err.Error()}
		}
		args = fset.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// finish prints err (password masked) and maps it to an exit code: ctx
// is the context of the process, runCtx that of the run (with --deadline).
func (e *env) finish(ctx, runCtx context.Context, deadline time.Duration, err error) int {
	if err == nil {
		return exitOK
	}
	msg := err.Error()
	if e.secret != "" {
		msg = strings.ReplaceAll(msg, e.secret, "****")
		msg = strings.ReplaceAll(msg, url.PathEscape(e.secret), "****")
	}
	fmt.Fprintln(e.stderr, "ftpsync:", msg)
	var ue usageError
	var fe *ftp.Error
	switch {
	case errors.As(err, &ue):
		fmt.Fprintln(e.stderr, "run 'ftpsync help' for usage")
		return exitUsage
	case ctx.Err() != nil:
		fmt.Fprintln(e.stderr, "ftpsync: interrupted; run again to resume")
		return exitInterrupted
	case deadlinePassed(runCtx):
		fmt.Fprintf(e.stderr, "ftpsync: --deadline %v reached; run again to resume\n", deadline)
		return exitFailed
	case errors.As(err, new(connectError)):
		return exitConnect
	case errors.Is(err, fs.ErrNotExist) && !errors.As(err, new(failure)):
		return exitNotFound
	case errors.As(err, &fe):
		return exitFailed
	}
	return exitFailed
}

// explained is err with a message of its own.
type explained struct {
	msg string
	err error
}

func (e explained) Error() string { return e.msg }
func (e explained) Unwrap() error { return e.err }

// deadlinePassed reports whether ctx's deadline has come: a Conn may see
// it, and return, before ctx's own timer fires.
func deadlinePassed(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// connectError wraps a failure to dial or log in.
type connectError struct{ err error }

func (e connectError) Error() string { return e.err.Error() }
func (e connectError) Unwrap() error { return e.err }

// failure wraps an error that is no missing path (exit 1), whatever it
// wraps: the failures of a mirror run, a path that exists but was not
// removed or listed.
type failure struct{ err error }

func (e failure) Error() string { return e.err.Error() }
func (e failure) Unwrap() error { return e.err }

func (e *env) dispatch(ctx context.Context, cmd string, pos []string, o *options) error {
	need := func(lo, hi int, form string) error {
		if len(pos) < lo || len(pos) > hi {
			return usageError{"usage: ftpsync " + form}
		}
		return nil
	}
	switch cmd {
	case "ls":
		if err := need(1, 1, "ls URL"); err != nil {
			return err
		}
		return e.ls(ctx, pos[0], o)
	case "get":
		if err := need(1, 2, "get URL [LOCAL]"); err != nil {
			return err
		}
		local := ""
		if len(pos) == 2 {
			local = pos[1]
		}
		return e.get(ctx, pos[0], local, o)
	case "put":
		if err := need(2, 2, "put LOCAL URL"); err != nil {
			return err
		}
		return e.put(ctx, pos[0], pos[1], o)
	case "mirror":
		if o.reverse {
			if err := need(2, 2, "mirror --reverse LOCAL URL"); err != nil {
				return err
			}
			return e.mirror(ctx, pos[1], pos[0], o)
		}
		if err := need(2, 2, "mirror URL LOCAL"); err != nil {
			return err
		}
		return e.mirror(ctx, pos[0], pos[1], o)
	case "rm":
		if err := need(1, 1, "rm [-r] URL"); err != nil {
			return err
		}
		return e.rm(ctx, pos[0], o)
	case "mkdir":
		if err := need(1, 1, "mkdir [-p] URL"); err != nil {
			return err
		}
		return e.mkdir(ctx, pos[0], o)
	case "doctor":
		if err := need(1, 1, "doctor [--write-test] [--cacert FILE] URL"); err != nil {
			return err
		}
		return e.doctor(ctx, pos[0], o)
	}
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

// target is a parsed URL: where to dial (credentials included) and the
// remote path.
type target struct {
	dialURL string
	path    string
	display string // the URL without password
}

// parseTarget parses a command-line URL and completes its credentials.
func (e *env) parseTarget(raw string) (target, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "ftp" && u.Scheme != "ftps") {
		return target{}, usageError{fmt.Sprintf("not an ftp:// or ftps:// URL: %s", redactRaw(raw))}
	}
	user, pass, hasPass := "", "", false
	if u.User != nil {
		user = u.User.Username()
		pass, hasPass = u.User.Password()
	}
	if !hasPass {
		if p := e.getenv("FTP_PASSWORD"); p != "" && user != "" {
			pass, hasPass = p, true
		}
	}
	if !hasPass {
		if l, p, ok := e.netrc(u.Hostname(), user); ok {
			user, pass, hasPass = l, p, true
		}
	}
	if user != "" {
		if hasPass {
			u.User = url.UserPassword(user, pass)
			e.secret = pass
		} else {
			u.User = url.User(user)
		}
	}
	p := u.Path
	switch {
	case strings.HasPrefix(p, "//"):
		p = path.Clean(p[1:]) // %2F: absolute
	case p == "" || p == "/":
		p = "."
	default:
		p = path.Clean(p[1:])
	}
	dial := *u
	dial.Path, dial.RawPath, dial.RawQuery, dial.Fragment = "/", "", "", ""
	return target{dialURL: dial.String(), path: p, display: masked(u)}, nil
}

// redactRaw hides what may be a password in a URL that does not parse.
func redactRaw(raw string) string {
	if i := strings.LastIndex(raw, "@"); i >= 0 {
		if j := strings.Index(raw, "://"); j >= 0 && j < i {
			return raw[:j+3] + "****" + raw[i:]
		}
	}
	return raw
}

// netrc looks host up in ~/.netrc (or $NETRC): the login and password of
// its machine entry, or of the default entry; when user is not empty, only
// an entry for that login counts.
func (e *env) netrc(host, user string) (login, pass string, ok bool) {
	name := e.getenv("NETRC")
	if name == "" {
		home := e.getenv("HOME")
		if home == "" {
			return "", "", false
		}
		name = filepath.Join(home, ".netrc")
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return "", "", false
	}
	type entry struct{ machine, login, pass string }
	var entries []entry
	var cur *entry
	f := strings.Fields(string(data))
	for i := 0; i < len(f); i++ {
		arg := func() string {
			if i+1 < len(f) {
				i++
				return f[i]
			}
			return ""
		}
		switch f[i] {
		case "machine":
			entries = append(entries, entry{machine: arg()})
			cur = &entries[len(entries)-1]
		case "default":
			entries = append(entries, entry{machine: ""})
			cur = &entries[len(entries)-1]
		case "login":
			if cur != nil {
				cur.login = arg()
			}
		case "password":
			if cur != nil {
				cur.pass = arg()
			}
		case "account", "port":
			arg()
		case "macdef":
			// A macro runs to the next blank line, which Fields hides:
			// stop here, as later entries cannot be told apart.
			i = len(f)
		}
	}
	for _, pass := range []bool{true, false} { // machine entries first, then default
		for _, en := range entries {
			if (en.machine == host) != pass || (!pass && en.machine != "") {
				continue
			}
			if en.login == "" || (user != "" && en.login != user) {
				continue
			}
			return en.login, en.pass, true
		}
	}
	return "", "", false
}

// connOptions are the ftp options of the flags.
func (e *env) connOptions(o *options, t target) []ftp.Option {
	opts := []ftp.Option{ftp.WithTimeout(o.timeout), ftp.WithRetry(5, 2*time.Minute, 0)}
	if o.active {
		opts = append(opts, ftp.WithActive())
	}
	tlsCfg := &tls.Config{InsecureSkipVerify: o.insecure} //nolint:gosec // --insecure asks for it
	if o.explicitTLS {
		opts = append(opts, ftp.WithExplicitTLS(tlsCfg))
	} else if strings.HasPrefix(t.dialURL, "ftps:") {
		opts = append(opts, ftp.WithImplicitTLS(tlsCfg))
	}
	if o.enc != nil {
		opts = append(opts, ftp.WithEncoding(o.enc))
	}
	if o.loc != nil {
		opts = append(opts, ftp.WithLocation(o.loc))
	}
	if o.verbose {
		opts = append(opts, ftp.WithDebug(&lockedWriter{w: e.stderr}))
	}
	return opts
}

// lockedWriter serialises the traces of several connections.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// pool opens a Pool for t and checks that it can log in.
func (e *env) pool(ctx context.Context, t target, o *options, size int) (*ftp.Pool, error) {
	p, err := ftp.NewPool(t.dialURL, size, e.connOptions(o, t)...)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	if err := p.Do(ctx, func(*ftp.Conn) error { return nil }); err != nil {
		p.Close()
		return nil, connectError{fmt.Errorf("%s: %w", t.display, err)}
	}
	return p, nil
}

// session parses rawURL and opens a pool of size connections to it.
func (e *env) session(ctx context.Context, rawURL string, o *options, size int) (*ftp.Pool, target, error) {
	t, err := e.parseTarget(rawURL)
	if err != nil {
		return nil, t, err
	}
	p, err := e.pool(ctx, t, o, size)
	return p, t, err
}

func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// jsonEntry is one entry of ls --json. NameBytes (base64) holds the
// name's bytes as the server sent them when Name alone cannot: the name
// was decoded from --encoding, or is not valid UTF-8 (which JSON cannot
// hold); the same for TargetBytes.
type jsonEntry struct {
	Name        string    `json:"name"`
	NameBytes   []byte    `json:"name_bytes,omitempty"`
	Type        string    `json:"type"`
	Size        int64     `json:"size"`
	ModTime     time.Time `json:"modTime,omitzero"`
	Target      string    `json:"target,omitempty"`
	TargetBytes []byte    `json:"target_bytes,omitempty"`
}

func (e *env) ls(ctx context.Context, rawURL string, o *options) error {
	p, t, err := e.session(ctx, rawURL, o, 1)
	if err != nil {
		return err
	}
	defer p.Close()
	entries, err := e.list(ctx, p, t.path)
	if err != nil {
		return err
	}
	if o.json {
		out := []jsonEntry{}
		for _, en := range entries {
			out = append(out, jsonEntry{en.Name, nameBytes(en.Name, en.RawName), en.Type.String(), en.Size, en.ModTime,
				en.Target, nameBytes(en.Target, nil)})
		}
		return e.printJSON(out)
	}
	for _, en := range entries {
		mod := "-"
		if !en.ModTime.IsZero() {
			mod = en.ModTime.UTC().Format("2006-01-02 15:04:05")
		}
		name := en.Name
		if en.Name == "" {
			name = en.Raw
		}
		if en.Target != "" {
			name += " -> " + en.Target
		}
		if !utf8.ValidString(name) {
			name = escapeName(name) // not mojibake: the bytes, as get names the local file
		}
		fmt.Fprintf(e.stdout, "%-4s %12d  %s  %s\n", en.Type, en.Size, mod, name)
	}
	return nil
}

// list lists dir, or shows the file dir names, checking what a listing
// alone cannot tell: vsftpd lists a path that does not exist as an empty
// folder, and a file, or a folder it cannot read, as a lone entry named
// like it; other servers answer a listing of a file, or of a folder they
// cannot read, as of a path that does not exist.
func (e *env) list(ctx context.Context, p *ftp.Pool, dir string) ([]*ftp.Entry, error) {
	entries, err := p.List(ctx, dir)
	base := path.Base(dir)
	selfNamed := len(entries) == 1 && entries[0].Facts == nil && entries[0].Name == base
	switch {
	case err == nil && len(entries) > 0 && !selfNamed:
		return entries, nil
	case err != nil && !errors.Is(err, ftp.ErrNotDir) && !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	st, serr := p.Stat(ctx, dir)
	switch {
	case serr != nil && err != nil:
		return nil, err
	case serr != nil:
		return nil, serr
	case st.Type != ftp.EntryDir:
		return []*ftp.Entry{st}, nil
	case err != nil:
		return nil, failure{fmt.Errorf("%s exists but cannot be listed: %v", dir, err)}
	case len(entries) == 0:
		return entries, nil
	}
	// A folder listed as a lone entry named like it: real only if that
	// entry is in it.
	if in, ierr := p.Stat(ctx, path.Join(dir, base)); ierr == nil && (in.Type == ftp.EntryDir) == (entries[0].Type == ftp.EntryDir) {
		return entries, nil
	}
	return nil, failure{fmt.Errorf("%s is a folder the server lists as a lone entry named like it, which is not in it: it cannot be read", dir)}
}

// missingParent explains err, the failure to create or upload to name, by
// a parent folder that does not exist (exit 4), or returns it unchanged.
func missingParent(ctx context.Context, p *ftp.Pool, name string, err error) error {
	parent := path.Dir(name)
	if errors.Is(err, fs.ErrNotExist) || parent == "." || parent == "/" {
		return err
	}
	if _, serr := p.Stat(ctx, parent); errors.Is(serr, fs.ErrNotExist) {
		return fmt.Errorf("%w (the folder %s does not exist: %w)", err, parent, serr)
	}
	return err
}

type jsonTransfer struct {
	Op          string `json:"op"`
	Remote      string `json:"remote"`
	RemoteBytes []byte `json:"remote_bytes,omitempty"` // when Remote is not valid UTF-8
	Local       string `json:"local"`
	LocalBytes  []byte `json:"local_bytes,omitempty"` // when Local is not valid UTF-8
	Bytes       int64  `json:"bytes"`
}

func (e *env) get(ctx context.Context, rawURL, local string, o *options) error {
	p, t, err := e.session(ctx, rawURL, o, max(o.segments, 1))
	if err != nil {
		return err
	}
	defer p.Close()
	base := localName(path.Base(t.path), o.enc)
	if local == "" {
		local = base
	} else if fi, err := os.Stat(local); err == nil && fi.IsDir() {
		local = filepath.Join(local, base)
	}
	bar := e.newProgress(base, o)
	err = p.Download(ctx, t.path, local, ftp.WithProgress(bar.update), ftp.WithSegments(o.segments))
	bar.done()
	if err != nil {
		return err
	}
	fi, err := os.Stat(local)
	if err != nil {
		return err
	}
	if o.json {
		return e.printJSON(jsonTransfer{"get", t.path, nameBytes(t.path, nil), local, nameBytes(local, nil), fi.Size()})
	}
	fmt.Fprintf(e.stdout, "get %s -> %s (%d bytes)\n", t.path, local, fi.Size())
	return nil
}

func (e *env) put(ctx context.Context, local, rawURL string, o *options) error {
	fi, err := os.Stat(local)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return usageError{local + " is a directory: use mirror --reverse"}
	}
	p, t, err := e.session(ctx, rawURL, o, 1)
	if err != nil {
		return err
	}
	defer p.Close()
	remote := t.path
	if strings.HasSuffix(rawURL, "/") || remote == "." {
		remote = path.Join(remote, filepath.Base(local))
	} else if en, err := p.Stat(ctx, remote); err == nil && en.Type == ftp.EntryDir {
		remote = path.Join(remote, filepath.Base(local))
	}
	bar := e.newProgress(filepath.Base(local), o)
	err = p.Upload(ctx, local, remote, ftp.WithProgress(bar.update))
	bar.done()
	if err != nil {
		return missingParent(ctx, p, remote, err)
	}
	if o.json {
		return e.printJSON(jsonTransfer{"put", remote, nameBytes(remote, nil), local, nameBytes(local, nil), fi.Size()})
	}
	fmt.Fprintf(e.stdout, "put %s -> %s (%d bytes)\n", local, remote, fi.Size())
	return nil
}

type jsonSummary struct {
	Direction string             `json:"direction"`
	DryRun    bool               `json:"dryRun"`
	Files     int                `json:"files"`
	Bytes     int64              `json:"bytes"`
	Dirs      int                `json:"dirs"`
	Skipped   int                `json:"skipped"`
	Deleted   int                `json:"deleted"`
	Kept      int                `json:"kept"`
	Failed    int                `json:"failed"`
	Plan      []ftp.MirrorAction `json:"plan"`
	Error     string             `json:"error,omitempty"`
}

func (e *env) mirror(ctx context.Context, rawURL, local string, o *options) error {
	p, t, err := e.session(ctx, rawURL, o, o.parallel)
	if err != nil {
		return err
	}
	defer p.Close()
	dir := ftp.MirrorDown
	src, dst := t.path, local
	if o.reverse {
		dir = ftp.MirrorUp
		src, dst = local, t.path
		if _, err := os.Stat(local); err != nil {
			return err
		}
	}
	status := e.newStatus(o)
	opts := ftp.MirrorOptions{
		Direction: dir, Parallel: o.parallel, Delete: o.del, Exclude: o.exclude,
		DryRun: o.dryRun, Checksum: o.checksum, AllowEmptySource: o.allowEmpty,
		OnAction: func(a ftp.MirrorAction, err error) { status.action(a, err) },
	}
	switch {
	case o.maxDelete == 0:
		opts.MaxDelete = -1 // none at all
	case o.maxDelete > 0:
		opts.MaxDelete = o.maxDelete
	}
	sum, err := ftp.Mirror(ctx, p, src, dst, opts)
	status.done()
	if o.json {
		js := jsonSummary{dir.String(), o.dryRun, sum.Files, sum.Bytes, sum.Dirs, sum.Skipped, sum.Deleted, sum.Kept, sum.Failed, sum.Plan, ""}
		if js.Plan == nil {
			js.Plan = []ftp.MirrorAction{}
		}
		if err != nil {
			js.Error = err.Error()
		}
		if jerr := e.printJSON(js); jerr != nil {
			return jerr
		}
	} else {
		for _, a := range sum.Plan {
			switch {
			case o.dryRun:
				fmt.Fprintf(e.stdout, "would %s %s (%s)\n", a.Op, a.Path, a.Reason)
			case a.Op == ftp.OpKeep:
				fmt.Fprintf(e.stdout, "keep %s (%s)\n", a.Path, a.Reason)
			}
		}
		fmt.Fprintf(e.stdout, "mirror %s: %d files (%d bytes) copied, %d directories created, %d up to date, %d deleted, %d kept, %d failed\n",
			dir, sum.Files, sum.Bytes, sum.Dirs, sum.Skipped, sum.Deleted, sum.Kept, sum.Failed)
	}
	if errors.Is(err, ftp.ErrEmptySource) {
		err = fmt.Errorf("%w\n(--allow-empty-source allows it)", err)
	}
	if err != nil && sum.Failed > 0 {
		return failure{err}
	}
	return err
}

func (e *env) rm(ctx context.Context, rawURL string, o *options) error {
	p, t, err := e.session(ctx, rawURL, o, 1)
	if err != nil {
		return err
	}
	defer p.Close()
	if o.recursive {
		err = e.removeAll(ctx, p, t.path)
	} else if err = p.Delete(ctx, t.path); err != nil {
		err = whyNotDeleted(ctx, p, t.path, err)
	}
	if err != nil {
		return err
	}
	return e.report("rm", t.path, o)
}

// removeAll removes name and all it holds, and checks that it is gone: a
// server whose listings hide some names (vsftpd hides dot files) would
// otherwise leave a folder behind after a removal that looked complete.
func (e *env) removeAll(ctx context.Context, p *ftp.Pool, name string) error {
	if _, err := p.Stat(ctx, name); err != nil {
		return err
	}
	if err := p.RemoveAll(ctx, name); err != nil {
		return failure{err}
	}
	switch _, err := p.Stat(ctx, name); {
	case err == nil:
		return fmt.Errorf("%s is still there after removing what its listings showed (hidden files?)", name)
	case !errors.Is(err, fs.ErrNotExist):
		return failure{fmt.Errorf("removed %s, but cannot check that it is gone: %w", name, err)}
	}
	return nil
}

// whyNotDeleted explains a failed DELE of name: many servers answer 550
// for a directory or a refusal as for a missing file, and vsftpd says only
// "Delete operation failed", so the path is looked up.
func whyNotDeleted(ctx context.Context, p *ftp.Pool, name string, err error) error {
	st, serr := p.Stat(ctx, name)
	switch {
	case errors.Is(serr, fs.ErrNotExist) && errors.Is(err, fs.ErrNotExist):
		return err
	case errors.Is(serr, fs.ErrNotExist):
		return fmt.Errorf("%w (%s does not exist: %w)", err, name, serr)
	case serr != nil:
		return failure{err}
	case st.Type == ftp.EntryDir:
		return failure{explained{name + " is a directory (rm -r removes it and all it holds)", ftp.ErrIsDir}}
	}
	return failure{err}
}

func (e *env) mkdir(ctx context.Context, rawURL string, o *options) error {
	p, t, err := e.session(ctx, rawURL, o, 1)
	if err != nil {
		return err
	}
	defer p.Close()
	if o.parents {
		err = p.MakeDirAll(ctx, t.path)
	} else {
		err = p.MakeDir(ctx, t.path)
	}
	if err != nil {
		return missingParent(ctx, p, t.path, err)
	}
	return e.report("mkdir", t.path, o)
}

func (e *env) report(op, p string, o *options) error {
	if o.json {
		return e.printJSON(map[string]string{"op": op, "path": p})
	}
	fmt.Fprintf(e.stdout, "%s %s\n", op, p)
	return nil
}

// versionText says which build of ftpsync this is: the module version that
// `go install …@version` recorded (or "(devel)" for a build from a clone,
// then with its VCS revision), and the Go version.
func versionText() string {
	v, rev := "(unknown)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = bi.Main.Version
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && len(s.Value) >= 12:
				rev = " " + s.Value[:12]
			case s.Key == "vcs.modified" && s.Value == "true":
				rev += "+changes"
			}
		}
	}
	return "ftpsync " + v + rev + " (" + runtime.Version() + ")"
}

// masked is the URL with its password, if any, shown as ****: the mask of
// every password the library and ftpsync print (url.Redacted's is xxxxx).
func masked(u *url.URL) string {
	if _, ok := u.User.Password(); !ok {
		return u.String()
	}
	m := *u
	m.User = url.User(u.User.Username()) // UserPassword would escape the *s
	user := m.User.String()
	return strings.Replace(m.String(), "//"+user+"@", "//"+user+":****@", 1)
}
