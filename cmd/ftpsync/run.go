package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
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

// options are the flags of every command.
type options struct {
	active, explicitTLS, insecure bool
	noEPSV                        bool
	help, version                 bool
	onlyNewer                     bool
	parallel                      int
	segments                      int // get --segments
	del, dryRun, checksum         bool
	maxDelete                     int // -1: no --max-delete
	allowEmpty                    bool
	exclude                       globs
	timeout, deadline             time.Duration
	verbose, json                 bool
	reverse, recursive, parents   bool
	writeTest                     bool              // doctor --write-test
	ca                            string            // --cacert
	enc                           encoding.Encoding // --encoding; nil: detect (encodingOption)
	loc                           *time.Location    // --timezone; nil: the library's default
	limitRate                     int64             // --limit-rate; 0: none
	proxy                         *string           // --proxy; nil: from the environment
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
	secret         string                       // the password, masked in every message
	prompt         func(string) (string, error) // asks for a password; nil: not on a terminal
	warned         map[string]bool              // the warnings printed
	meter          *meter                       // the transfers of get, put, mirror: what an interruption keeps
}

// run runs the command line args and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	e := &env{stdout: stdout, stderr: stderr, getenv: getenv}
	if f, ok := stderr.(*os.File); ok {
		e.prompt = terminalPrompt(f)
	}
	if len(args) == 0 {
		io.WriteString(stderr, usage()) // not Fprint: the text holds %XX
		return exitUsage
	}
	o, fset := newOptions()
	pos, err := parseArgs(fset, args)
	if err != nil {
		return e.finish(ctx, ctx, 0, err)
	}
	cmd := ""
	if len(pos) > 0 {
		cmd, pos = pos[0], pos[1:]
	}
	if cmd == "help" && len(pos) > 0 {
		cmd, o.help = pos[0], true
	}
	switch {
	case cmd == "help" || cmd == "" && o.help:
		io.WriteString(stdout, usage())
		return exitOK
	case !o.help && (cmd == "version" || o.version):
		fmt.Fprintln(stdout, versionText())
		return exitOK
	case cmd == "":
		return e.finish(ctx, ctx, 0, usageError{"no command given"})
	}
	text, ok := commandHelp(cmd)
	switch {
	case !ok:
		return e.finish(ctx, ctx, 0, usageError{fmt.Sprintf("unknown command %q", safe(cmd))})
	case o.help:
		io.WriteString(stdout, text)
		return exitOK
	}
	if err := checkFlags(fset, cmd); err != nil {
		return e.finish(ctx, ctx, 0, err)
	}
	if cmd == "demo" {
		if err := demo(ctx, stdout); err != nil {
			fmt.Fprintln(stderr, "ftpsync:", err)
			return exitFailed
		}
		return exitOK
	}
	runCtx := ctx
	if o.deadline > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, o.deadline)
		defer cancel()
	}
	err = e.dispatch(runCtx, cmd, pos, o)
	return e.finish(ctx, runCtx, o.deadline, err)
}

// finish prints err (password masked) and maps it to an exit code: ctx
// is the context of the process, runCtx that of the run (with --deadline).
func (e *env) finish(ctx, runCtx context.Context, deadline time.Duration, err error) int {
	if err == nil {
		return exitOK
	}
	if ctx.Err() != nil {
		// Once, whatever failed on the way: the transfers stopped where
		// they were, to be resumed.
		if e.meter == nil {
			fmt.Fprintln(e.stderr, "ftpsync: interrupted")
			return exitInterrupted
		}
		files, parts := e.meter.kept()
		fmt.Fprintf(e.stderr, "ftpsync: interrupted: %d files done, %.1f MiB kept in parts; run the same command to resume\n",
			files, float64(parts)/(1<<20))
		return exitInterrupted
	}
	fmt.Fprintln(e.stderr, "ftpsync:", safeLines(e.mask(err.Error())))
	var ue usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintln(e.stderr, "run 'ftpsync help' for usage")
		return exitUsage
	case deadlinePassed(runCtx):
		fmt.Fprintf(e.stderr, "ftpsync: --deadline %v reached; run again to resume\n", deadline)
		return exitFailed
	case errors.As(err, new(connectError)):
		return exitConnect
	case errors.Is(err, fs.ErrNotExist) && !errors.As(err, new(failure)):
		return exitNotFound
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
	return usageError{fmt.Sprintf("unknown command %q", safe(cmd))}
}

// connOptions are the ftp options of the flags.
func (e *env) connOptions(o *options, t target) ([]ftp.Option, error) {
	opts := []ftp.Option{ftp.WithTimeout(o.timeout), ftp.WithRetry(5, 2*time.Minute, 0)}
	if o.active {
		opts = append(opts, ftp.WithActive())
	}
	if o.noEPSV {
		opts = append(opts, ftp.WithoutEPSV())
	}
	tlsCfg, err := tlsConfig(o)
	if err != nil {
		return nil, err
	}
	if o.explicitTLS {
		opts = append(opts, ftp.WithExplicitTLS(tlsCfg))
	} else if strings.HasPrefix(t.dialURL, "ftps:") {
		opts = append(opts, ftp.WithImplicitTLS(tlsCfg))
	}
	if opt := encodingOption(o.enc); opt != nil {
		opts = append(opts, opt)
	}
	if o.loc != nil {
		opts = append(opts, ftp.WithLocation(o.loc))
	}
	if o.verbose {
		opts = append(opts, ftp.WithDebug(&lockedWriter{w: e.stderr}))
	}
	if o.limitRate > 0 {
		opts = append(opts, ftp.WithRateLimit(o.limitRate)) // one limit for all the pool's connections
	}
	return e.withProxy(o.proxy, t, opts)
}

// tlsConfig is the TLS configuration of the flags: the --cacert file's
// certificates or the system's roots (SSL_CERT_FILE, SSL_CERT_DIR), unless
// --insecure.
func tlsConfig(o *options) (*tls.Config, error) {
	cfg := &tls.Config{InsecureSkipVerify: o.insecure} //nolint:gosec // --insecure asks for it
	if o.ca != "" {
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			return nil, usageError{"--cacert: " + err.Error()}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usageError{"--cacert: no PEM certificate in " + o.ca}
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
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
	opts, err := e.connOptions(o, t)
	if err != nil {
		return nil, err
	}
	p, err := ftp.NewPool(t.dialURL, size, opts...)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	if err := p.Do(ctx, func(*ftp.Conn) error { return nil }); err != nil {
		p.Close()
		return nil, connectError{certAdvice(fmt.Errorf("%s: %w", t.display, err))}
	}
	return p, nil
}

// certAdvice tells a user of the command what to do about a certificate
// that does not verify, in place of the library's advice to a programmer.
func certAdvice(err error) error {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ie x509.CertificateInvalidError
	if !errors.As(err, &ua) && !errors.As(err, &he) && !errors.As(err, &ie) {
		return err
	}
	msg := strings.Replace(err.Error(), "; add it to tls.Config.RootCAs", "", 1)
	return explained{msg + "\n(--cacert FILE trusts the certificates of a PEM file, as SSL_CERT_FILE does for every program; --insecure skips the check, only on a network you trust)", err}
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
	slices.SortStableFunc(entries, func(a, b *ftp.Entry) int { return strings.Compare(a.Name, b.Name) })
	if o.json {
		raws, err := serverBytes(ctx, p, entries)
		if err != nil {
			return err
		}
		out := []jsonEntry{}
		for i, en := range entries {
			out = append(out, jsonEntry{en.Name, nameBytes(en.Name, raws[i]), en.Type.String(), en.Size, en.ModTime,
				en.Target, nameBytes(en.Target, nil)})
		}
		return e.printJSON(out)
	}
	for _, en := range entries {
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
		size := "-"
		if en.Size >= 0 {
			size = strconv.FormatInt(en.Size, 10)
		}
		fmt.Fprintf(e.stdout, "%-4s %12s  %-19s  %s\n", en.Type, size, modTime(en), safe(name))
	}
	return nil
}

// modTime shows an entry's time to the precision the server gave, never
// more: seconds (MLSD, MLST, MDTM) in UTC; a LIST line's minutes in UTC
// (in the server's zone as the library found it); a LIST date alone (ls
// shows one for files older than six months) as that date; "-" for none.
func modTime(en *ftp.Entry) string {
	switch {
	case en.ModTime.IsZero():
		return "-"
	case en.Facts != nil || en.Raw == "":
		return en.ModTime.UTC().Format("2006-01-02 15:04:05")
	case en.ModTime.Hour()+en.ModTime.Minute()+en.ModTime.Second() == 0:
		return en.ModTime.Format("2006-01-02")
	}
	return en.ModTime.UTC().Format("2006-01-02 15:04")
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
	p, t, err := e.session(ctx, rawURL, o, o.segments)
	if err != nil {
		return err
	}
	defer p.Close()
	base := localName(path.Base(t.path), o.enc)
	if local, err = localTarget(local, base); err != nil {
		return err
	}
	detectFor(ctx, p, t.path, o.enc)
	bar := e.newProgress(base, o)
	bar.notePart("", localPart(local))
	err = p.Download(ctx, t.path, local, ftp.WithProgress(bar.update), ftp.WithSegments(o.segments))
	bar.done()
	if err != nil {
		return remoteDir(ctx, p, t.path, err)
	}
	fi, err := os.Stat(local)
	if err != nil {
		return err
	}
	if o.json {
		return e.printJSON(jsonTransfer{"get", t.path, nameBytes(t.path, nil), local, nameBytes(local, nil), fi.Size()})
	}
	fmt.Fprintf(e.stdout, "get %s -> %s (%d bytes)\n", safe(t.path), safe(local), fi.Size())
	return nil
}

// localTarget is the local file of a get: local, or base in the
// directory local names, or base here; a directory that does not exist
// is named (not the part file that could not be created in it).
func localTarget(local, base string) (string, error) {
	if local == "" {
		return base, nil
	}
	if fi, err := os.Stat(local); err == nil && fi.IsDir() {
		return filepath.Join(local, base), nil
	}
	dir := filepath.Dir(local)
	if strings.HasSuffix(local, string(filepath.Separator)) || strings.HasSuffix(local, "/") {
		dir, local = local, filepath.Join(local, base)
	}
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("the local directory %s does not exist: %w", dir, err)
	}
	return local, nil
}

// remoteDir explains a failed download of name that is a directory.
func remoteDir(ctx context.Context, p *ftp.Pool, name string, err error) error {
	if ctx.Err() != nil {
		return err
	}
	if st, serr := p.Stat(ctx, name); serr == nil && st.Type == ftp.EntryDir {
		return usageError{safe(name) + " is a directory: use mirror"}
	}
	return err
}

func (e *env) put(ctx context.Context, local, rawURL string, o *options) error {
	fi, err := os.Stat(local)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return usageError{safe(local) + " is a directory: use mirror --reverse"}
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
	detectFor(ctx, p, remote, o.enc)
	bar := e.newProgress(filepath.Base(local), o)
	if bar.w != nil { // the bar's rate: what a resumed part holds is not moved
		if st, err := p.Stat(ctx, ftp.PartName(remote)); err == nil && st.Size > 0 {
			bar.notePart("", st.Size)
		}
	}
	err = p.Upload(ctx, local, remote, ftp.WithProgress(bar.update))
	bar.done()
	if err != nil {
		return missingParent(ctx, p, remote, err)
	}
	if o.json {
		return e.printJSON(jsonTransfer{"put", remote, nameBytes(remote, nil), local, nameBytes(local, nil), fi.Size()})
	}
	fmt.Fprintf(e.stdout, "put %s -> %s (%d bytes)\n", safe(local), safe(remote), fi.Size())
	return nil
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
