package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pasvport/ftp"
)

// connecting are the commands that talk to a server: a flag whose cmds is
// empty is for all of them.
var connecting = []string{"ls", "get", "put", "mirror", "rm", "mkdir", "doctor"}

// transfers are the commands that dial through connOptions (not doctor,
// which dials its own way), for the flags only they honour.
var transfers = []string{"ls", "get", "put", "mirror", "rm", "mkdir"}

// flagDef is one flag. The table flags is the one place where a flag is
// defined: it is parsed, checked against the command, listed in usage and
// in each command's help from here, and the README's flag table must say
// the same (TestHelpAgreesWithReadme).
type flagDef struct {
	name  string   // given as --name (or -name)
	short string   // a one-letter alias (-R), or ""
	arg   string   // the value's placeholder (N, D, FILE); "" for a switch
	cmds  []string // the commands it is for; nil: every connecting one; {"*"}: every one
	help  string   // one paragraph, wrapped when printed
	value func(o *options) flag.Value
}

// flags are the flags of every command, in the order help lists them.
var flags = []flagDef{
	{"active", "", "", nil, "active mode (PORT/EPRT); passive (EPSV, then PASV) otherwise",
		func(o *options) flag.Value { return boolFlag{&o.active} }},
	{"no-epsv", "", "", nil, "passive mode with PASV only, never EPSV: for a firewall or NAT that mishandles EPSV",
		func(o *options) flag.Value { return boolFlag{&o.noEPSV} }},
	{"explicit-tls", "", "", nil, "secure the session with AUTH TLS (FTPES); ftps:// URLs are implicit TLS",
		func(o *options) flag.Value { return boolFlag{&o.explicitTLS} }},
	{"cacert", "", "FILE", nil, "trust the PEM certificates in FILE for TLS (as curl's --cacert; SSL_CERT_FILE replaces the system's roots too)",
		func(o *options) flag.Value { return stringFlag{&o.ca} }},
	{"insecure", "", "", nil, "do not verify the server's TLS certificate (only on a network you trust)",
		func(o *options) flag.Value { return boolFlag{&o.insecure} }},
	{"timeout", "", "D", nil, "bound each wait on the server (default 30s)",
		func(o *options) flag.Value { return durationFlag{&o.timeout} }},
	{"deadline", "", "D", nil, "end the whole run after D (exit 1; run again to resume)",
		func(o *options) flag.Value { return durationFlag{&o.deadline} }},
	{"verbose", "", "", nil, "print the protocol trace (passwords masked) on stderr; with --parallel, each connection's lines are tagged [1], [2] …",
		func(o *options) flag.Value { return boolFlag{&o.verbose} }},
	{"json", "", "", nil, "print results as JSON on stdout, and nothing else",
		func(o *options) flag.Value { return boolFlag{&o.json} }},
	{"encoding", "", "NAME", nil, "the server's names are in NAME (GBK, GB18030, Big5, Shift_JIS, EUC-KR, ISO-8859-1, windows-1252 …; any IANA name), not UTF-8: shown and saved as UTF-8, sent back in NAME; OPTS UTF8 ON is not sent. Without it, the first listings tell UTF-8, GBK, Big5, Shift_JIS, EUC-JP or EUC-KR (--verbose says which), or else names stay bytes",
		func(o *options) flag.Value {
			return funcFlag(func(s string) (err error) { o.enc, err = parseEncoding(s); return err })
		}},
	{"timezone", "", "ZONE", nil, "LIST times (which carry no zone) are in ZONE (IANA, like Asia/Shanghai); MLSD and MDTM times are UTC",
		func(o *options) flag.Value {
			return funcFlag(func(s string) (err error) { o.loc, err = parseTimezone(s); return err })
		}},
	{"limit-rate", "", "R", transfers, "at most R bytes/s of data, all transfers together (curl's syntax: 500K, 2M, 1G; K, M, G are 1024, 1024², 1024³)",
		func(o *options) flag.Value {
			return funcFlag(func(s string) (err error) { o.limitRate, err = parseRate(s); return err })
		}},
	{"proxy", "", "URL", nil, `connect through a proxy: socks5://[user:pass@]host:port, or http://[user:pass@]host:port (CONNECT); without it, ftp_proxy, then ALL_PROXY (either case), unless NO_PROXY names the host; --proxy "" for none`,
		func(o *options) flag.Value { return funcFlag(func(s string) error { o.proxy = &s; return nil }) }},
	{"reverse", "R", "", []string{"mirror"}, "make the remote directory a copy of the local one: mirror -R LOCAL URL",
		func(o *options) flag.Value { return boolFlag{&o.reverse} }},
	{"parallel", "", "N", []string{"mirror"}, "transfers at a time (default 4)",
		func(o *options) flag.Value { return intFlag{&o.parallel, 1} }},
	{"segments", "", "N", []string{"get"}, "fetch a large file in N parts at once, each over a connection of its own (resumable; default 1)",
		func(o *options) flag.Value { return intFlag{&o.segments, 1} }},
	{"delete", "", "", []string{"mirror"}, "delete what the source lacks, as the last step and only if nothing failed (never excluded paths, symbolic links, nor what the source could not list)",
		func(o *options) flag.Value { return boolFlag{&o.del} }},
	{"max-delete", "", "N", []string{"mirror"}, "with more than N deletions due (with 0: any), delete nothing and fail, listing them",
		func(o *options) flag.Value { return intFlag{&o.maxDelete, 0} }},
	{"allow-empty-source", "", "", []string{"mirror"}, "let --delete empty the destination when the source holds nothing (refused otherwise: a mistyped path looks like an empty folder on some servers)",
		func(o *options) flag.Value { return boolFlag{&o.allowEmpty} }},
	{"dry-run", "", "", []string{"mirror"}, "print the plan (would copy N files), change nothing",
		func(o *options) flag.Value { return boolFlag{&o.dryRun} }},
	{"exclude", "", "GLOB", []string{"mirror"}, "leave out matching paths (repeatable)",
		func(o *options) flag.Value { return &o.exclude }},
	{"checksum", "", "", []string{"mirror"}, "compare same-size files by checksum, not time (says so when the server offers no checksum command)",
		func(o *options) flag.Value { return boolFlag{&o.checksum} }},
	{"only-newer", "", "", []string{"mirror"}, "overwrite a destination file only when the source's copy is newer: never a newer destination file (as rsync -u, lftp --only-newer)",
		func(o *options) flag.Value { return boolFlag{&o.onlyNewer} }},
	{"recursive", "r", "", []string{"rm"}, "remove a directory and all it holds",
		func(o *options) flag.Value { return boolFlag{&o.recursive} }},
	{"parents", "p", "", []string{"mkdir"}, "create missing parents too; an existing directory is no error",
		func(o *options) flag.Value { return boolFlag{&o.parents} }},
	{"write-test", "", "", []string{"doctor"}, "also create and remove a uniquely named folder, with an upload and a download in it",
		func(o *options) flag.Value { return boolFlag{&o.writeTest} }},
	{"version", "", "", []string{"*"}, "print the version of ftpsync and of Go",
		func(o *options) flag.Value { return boolFlag{&o.version} }},
	{"help", "h", "", []string{"*"}, "print help (of the command, if one is named) on stdout",
		func(o *options) flag.Value { return boolFlag{&o.help} }},
}

// command is one command: its arguments and what it does.
type command struct{ name, args, help string }

var commands = []command{
	{"ls", "URL", "list a remote directory, sorted by name, or show a file's entry"},
	{"get", "URL [LOCAL]", "download a file (resumes a LOCAL .part file)"},
	{"put", "LOCAL URL", "upload a file (resumes a remote .part file)"},
	{"mirror", "URL LOCAL", "make the local directory a copy of the remote one; with --reverse (-R), LOCAL URL: the remote one a copy of the local one"},
	{"rm", "[-r] URL", "remove a file (-r: a directory and its contents)"},
	{"mkdir", "[-p] URL", "create a directory (-p: and missing parents)"},
	{"doctor", "[--write-test] URL", "probe the server: what works, what does not (NAT, TLS, missing commands, limits), and the options and flags to use with it; writes nothing unless --write-test"},
	{"demo", "", "walk through a session, passive then active, with the protocol trace, against an in-process server"},
	{"version", "", "print the version of ftpsync and of Go (also --version)"},
	{"help", "[COMMAND]", "show this text, or a command's help (also COMMAND --help)"},
}

// exitCodes are the exit codes, as usage and the README give them.
var exitCodes = []struct {
	code int
	text string
}{
	{exitOK, "success (mirror: everything up to date)"},
	{exitFailed, "the operation failed (mirror: at least one file or folder failed, or deletions were refused, or the run stopped at a local write error; rm: the path exists but was not removed; --deadline reached)"},
	{exitUsage, "usage error: a bad flag, argument or URL; get of a directory, put of a directory"},
	{exitConnect, "could not connect or log in"},
	{exitNotFound, "the remote or local path named does not exist"},
	{exitInterrupted, "interrupted (SIGINT, SIGTERM): parts are kept; run the same command again to resume"},
}

// for reports whether f is a flag of cmd.
func (f flagDef) isFor(cmd string) bool {
	switch {
	case len(f.cmds) == 1 && f.cmds[0] == "*":
		return true
	case f.cmds == nil:
		return slices.Contains(connecting, cmd)
	}
	return slices.Contains(f.cmds, cmd)
}

// spelling is how help shows f: "--name ARG, -s".
func (f flagDef) spelling() string {
	s := "--" + f.name
	if f.arg != "" {
		s += " " + f.arg
	}
	if f.short != "" {
		s += ", -" + f.short
	}
	return s
}

// appliesTo says which commands f is for, as help and the README show it.
func (f flagDef) appliesTo() string {
	switch {
	case len(f.cmds) == 1 && f.cmds[0] == "*":
		return "all"
	case f.cmds == nil:
		return "all but demo"
	}
	return strings.Join(f.cmds, ", ")
}

// newOptions returns the options with their defaults, and a flag set
// that parses every flag of the table into them.
func newOptions() (*options, *flag.FlagSet) {
	o := &options{parallel: 4, segments: 1, maxDelete: -1, timeout: ftp.DefaultTimeout}
	fset := flag.NewFlagSet("ftpsync", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	for _, f := range flags {
		v := f.value(o)
		fset.Var(v, f.name, f.help)
		if f.short != "" {
			fset.Var(v, f.short, f.help)
		}
	}
	return o, fset
}

// parseArgs parses flags placed before, between or after the command and
// its arguments, and returns those (the command first).
func parseArgs(fset *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fset.Parse(args); err != nil {
			return nil, usageError{flagError(err)}
		}
		rest := fset.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil // after --, all are arguments
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// flagError says a flag package error in ftpsync's terms: --name, not
// -name, and the value's own message.
func flagError(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return fmt.Sprintf("unknown flag --%s (ftpsync help lists them)", strings.TrimLeft(name, "-"))
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return fmt.Sprintf("--%s needs a value", name)
	}
	// invalid value "5" for flag -timeout: use a duration such as 5s
	if rest, ok := strings.CutPrefix(msg, "invalid value "); ok {
		if q, err := strconv.QuotedPrefix(rest); err == nil {
			v, _ := strconv.Unquote(q)
			if name, why, ok := strings.Cut(strings.TrimPrefix(rest[len(q):], " for flag -"), ": "); ok {
				return fmt.Sprintf("--%s %s: %s", name, safe(v), why)
			}
		}
	}
	if rest, ok := strings.CutPrefix(msg, "invalid boolean value "); ok {
		if q, err := strconv.QuotedPrefix(rest); err == nil {
			name, _, _ := strings.Cut(strings.TrimPrefix(rest[len(q):], " for -"), ":")
			return fmt.Sprintf("--%s takes no value (or =true, =false), not %s", name, safe(q))
		}
	}
	return msg
}

// checkFlags refuses a flag given to a command it is not for.
func checkFlags(fset *flag.FlagSet, cmd string) error {
	var err error
	fset.Visit(func(fl *flag.Flag) {
		for _, f := range flags {
			if (fl.Name == f.name || fl.Name == f.short) && !f.isFor(cmd) && err == nil {
				err = usageError{fmt.Sprintf("%s takes no --%s (a flag of %s)", cmd, f.name, f.appliesTo())}
			}
		}
	})
	return err
}

type boolFlag struct{ p *bool }

func (b boolFlag) String() string {
	if b.p == nil {
		return "false"
	}
	return strconv.FormatBool(*b.p)
}
func (b boolFlag) IsBoolFlag() bool { return true }
func (b boolFlag) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("takes no value")
	}
	*b.p = v
	return nil
}

type durationFlag struct{ p *time.Duration }

func (d durationFlag) String() string { return "" }
func (d durationFlag) Set(s string) error {
	v, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return errors.New("use a duration such as 5s, 2m or 1h30m")
	case v < 0:
		return errors.New("use a duration of 0 or more, such as 5s")
	}
	*d.p = v
	return nil
}

type intFlag struct {
	p   *int
	min int
}

func (n intFlag) String() string { return "" }
func (n intFlag) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil || v < n.min {
		return fmt.Errorf("use a whole number, %d or more", n.min)
	}
	*n.p = v
	return nil
}

type stringFlag struct{ p *string }

func (f stringFlag) String() string     { return "" }
func (f stringFlag) Set(s string) error { *f.p = s; return nil }

type funcFlag func(string) error

func (f funcFlag) String() string     { return "" }
func (f funcFlag) Set(s string) error { return f(s) }

// usage is the text of ftpsync help.
func usage() string {
	var b strings.Builder
	b.WriteString("usage: ftpsync [flags] COMMAND ARGS (flags go anywhere)\n\ncommands:\n")
	for _, c := range commands {
		writeItem(&b, strings.TrimSpace(c.name+" "+c.args), c.help)
	}
	b.WriteString(usageURLs)
	b.WriteString("\nflags:\n")
	for _, f := range flags {
		help := f.help
		if f.cmds != nil && f.appliesTo() != "all" {
			help = f.appliesTo() + ": " + help
		}
		writeItem(&b, f.spelling(), help)
	}
	b.WriteString(usageNotes)
	b.WriteString("\nexit codes:\n")
	for _, x := range exitCodes {
		writeItem(&b, strconv.Itoa(x.code), x.text)
	}
	return b.String()
}

// commandHelp is the text of ftpsync CMD --help.
func commandHelp(cmd string) (string, bool) {
	i := slices.IndexFunc(commands, func(c command) bool { return c.name == cmd })
	if i < 0 {
		return "", false
	}
	c := commands[i]
	var b strings.Builder
	fmt.Fprintf(&b, "usage: ftpsync [flags] %s\n\n", strings.TrimSpace(c.name+" "+c.args))
	writeWrapped(&b, "", c.help)
	b.WriteString("\nflags:\n")
	for _, f := range flags {
		if f.isFor(cmd) {
			writeItem(&b, f.spelling(), f.help)
		}
	}
	b.WriteString("\nrun 'ftpsync help' for URLs, credentials and exit codes\n")
	return b.String(), true
}

// writeItem writes a term and its text, wrapped in a column.
func writeItem(b *strings.Builder, term, text string) {
	const col = 28
	if len(term) > col-4 {
		fmt.Fprintf(b, "  %s\n", term)
		writeWrapped(b, strings.Repeat(" ", col), text)
		return
	}
	fmt.Fprintf(b, "  %-*s", col-2, term)
	var rest strings.Builder
	writeWrapped(&rest, strings.Repeat(" ", col), text)
	b.WriteString(strings.TrimLeft(rest.String(), " "))
}

// writeWrapped writes text in lines of at most 78 columns, each starting
// with indent.
func writeWrapped(b *strings.Builder, indent, text string) {
	line := indent
	for _, w := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(w) > 78 {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += w
	}
	b.WriteString(line + "\n")
}

const usageURLs = `
URLs are ftp://[user[:password]@]host[:port]/path (ftps:// for implicit
TLS, a protocol of its own on port 990). The path is relative to the login
directory; start it with %2F (ftp://host/%2Fpub) for an absolute one. Write
'%' as %25, '#' as %23 and '?' as %3F, in names and passwords.
`

const usageNotes = `
credentials, first found: the URL; FTP_PASSWORD for the user of the URL;
~/.netrc (or $NETRC) by host, then its default entry; on a terminal, a
prompt for the password of a user named in the URL; anonymous. Passwords
are never printed; one in the URL is visible to other users (ps).

ls --json gives name_bytes (base64), the server's bytes, when the name
was decoded (--encoding) or is not UTF-8. get names the local file by
the decoded name; in one that is still not UTF-8 each such byte is
written %XX and each '%' %25 (in a name holding '%' and two hex digits
too), so no two names give the same local one.

Transfers write to .NAME.part and rename when complete, so an interrupted
get, put or mirror resumes where it stopped when run again; transient
failures (4xx replies, dropped connections) are retried with backoff.
On a terminal a progress line shows the bytes, rate and ETA (mirror: the
files and bytes of the whole run too).
`
