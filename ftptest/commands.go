package ftptest

import (
	"errors"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// command is how the server handles one verb.
type command struct {
	fn   func(s *session, arg string)
	auth bool // needs a logged-in session
}

// commands maps each verb the server knows to its handler.
var commands map[string]command

func init() {
	open := func(fn func(*session, string)) command { return command{fn: fn} }
	auth := func(fn func(*session, string)) command { return command{fn: fn, auth: true} }
	commands = map[string]command{
		"USER": open((*session).cmdUSER), "PASS": open((*session).cmdPASS),
		"QUIT": open((*session).cmdQUIT), "FEAT": open((*session).cmdFEAT),
		"OPTS": open((*session).cmdOPTS), "HELP": open((*session).cmdHELP),
		"NOOP": open((*session).cmdNOOP), "SYST": open((*session).cmdSYST),
		"PWD": auth((*session).cmdPWD), "XPWD": auth((*session).cmdPWD),
		"CWD": auth((*session).cmdCWD), "CDUP": auth((*session).cmdCDUP),
		"MKD": auth((*session).cmdMKD), "RMD": auth((*session).cmdRMD),
		"DELE": auth((*session).cmdDELE), "RNFR": auth((*session).cmdRNFR),
		"RNTO": auth((*session).cmdRNTO), "TYPE": auth((*session).cmdTYPE),
		"SIZE": auth((*session).cmdSIZE), "MDTM": auth((*session).cmdMDTM),
		"MFMT": auth((*session).cmdMFMT), "REST": auth((*session).cmdREST),
		"STAT": auth((*session).cmdSTAT), "ABOR": auth((*session).cmdABOR),
		"MLST": auth((*session).cmdMLST),
		"PASV": auth((*session).cmdPASV), "EPSV": auth((*session).cmdEPSV),
		"PORT": auth((*session).cmdPORT), "EPRT": auth((*session).cmdEPRT),
		"RETR": auth((*session).cmdRETR), "STOR": auth((*session).cmdSTOR),
		"APPE": auth((*session).cmdAPPE), "LIST": auth((*session).cmdLIST),
		"NLST": auth((*session).cmdNLST), "MLSD": auth((*session).cmdMLSD),
		"AUTH": open((*session).cmdAUTH), "PBSZ": open((*session).cmdPBSZ),
		"PROT": open((*session).cmdPROT), "CCC": open((*session).cmdCCC),
	}
	for verb, fn := range hashCommands {
		commands[verb] = auth(fn)
	}
}

// features are the FEAT lines, before WithoutFeatures and WithoutMLSD.
var features = []string{
	"EPSV", "EPRT", "MDTM", "MFMT",
	"MLST type*;size*;modify*;perm*;unique*;unix.mode;",
	"PASV", "REST STREAM", "SIZE", "TVFS", "UTF8",
}

// timeFormat is the YYYYMMDDHHMMSS form of MDTM, MFMT and MLSD's modify.
const timeFormat = "20060102150405"

func (s *session) cmdUSER(arg string) {
	anon := s.cfg.anonymous && (arg == "anonymous" || arg == "ftp")
	if s.cfg.requireTLS && !s.secure && !anon {
		s.user, s.loggedIn = "", false
		s.reply(530, "Non-anonymous sessions must use encryption.")
		return
	}
	s.user, s.loggedIn = arg, false
	s.reply(331, "Please specify the password.")
}

func (s *session) cmdPASS(arg string) {
	anon := s.cfg.anonymous && (s.user == "anonymous" || s.user == "ftp")
	switch {
	case s.user == "":
		s.reply(503, "Login with USER first.")
	case anon || (s.user == s.cfg.user && arg == s.cfg.pass):
		s.loggedIn = true
		s.reply(230, "Login successful.")
	default:
		s.reply(530, "Login incorrect.")
	}
}

func (s *session) cmdQUIT(string) {
	s.reply(221, "Goodbye.")
	s.cancel()
}

func (s *session) cmdFEAT(string) {
	var lines []string
	for _, f := range append(append(slices.Clone(features), s.cfg.tlsFeatures()...), s.cfg.hashFeatures()...) {
		if s.cfg.hasFeature(f) {
			lines = append(lines, f)
		}
	}
	s.replyLines(211, "Features:", lines, "End")
}

func (s *session) cmdOPTS(arg string) {
	if s.optsHash(arg) {
		return
	}
	if strings.EqualFold(strings.Join(strings.Fields(arg), " "), "UTF8 ON") {
		s.reply(200, "Always in UTF8 mode.")
		return
	}
	s.reply(501, "Option not understood.")
}

func (s *session) cmdHELP(string) {
	verbs := slices.Sorted(maps.Keys(commands))
	s.replyLines(214, "The following commands are recognized.", []string{strings.Join(verbs, " ")}, "Help OK.")
}

func (s *session) cmdNOOP(string) { s.reply(200, "NOOP ok.") }

func (s *session) cmdSYST(string) { s.reply(215, "UNIX Type: L8") }

// quote puts p in double quotes, doubling the quotes inside it, as RFC 959
// Appendix II asks of 257 replies.
func quote(p string) string { return `"` + strings.ReplaceAll(p, `"`, `""`) + `"` }

func (s *session) cmdPWD(string) { s.reply(257, "%s is current directory.", quote(s.cwd)) }

func (s *session) cmdCWD(arg string) {
	p := s.abs(arg)
	if _, ok := s.unreadable(p); ok && !s.cfg.vagueErrors {
		s.denied(p)
		return
	}
	if e, err := s.srv.fs.stat(p); err != nil || !e.dir || s.isUnreadable(p) {
		s.reply(550, "Failed to change directory.")
		return
	}
	s.cwd = p
	s.reply(250, "Directory successfully changed.")
}

func (s *session) cmdCDUP(string) { s.cmdCWD("..") }

func (s *session) cmdMKD(arg string) {
	p := s.abs(arg)
	if s.below(p, "Create directory operation failed.") {
		return
	}
	if err := s.srv.fs.mkdir(p, false); err != nil {
		s.vague(err, "Create directory operation failed.")
		return
	}
	s.reply(257, "%s created.", quote(p))
}

func (s *session) cmdRMD(arg string) {
	s.remove(arg, true, "Remove directory operation")
}

func (s *session) cmdDELE(arg string) {
	s.remove(arg, false, "Delete operation")
}

// remove runs DELE or RMD; what names the operation in the reply.
func (s *session) remove(arg string, dir bool, what string) {
	if s.below(s.abs(arg), what+" failed.") {
		return
	}
	err := s.srv.fs.remove(s.abs(arg), dir)
	if err != nil && s.cfg.vagueRemove {
		s.reply(550, "%s failed.", what)
		return
	}
	s.ok(err, what+" successful.")
}

func (s *session) cmdRNFR(arg string) {
	p := s.abs(arg)
	if _, err := s.srv.fs.stat(p); err != nil {
		s.fail(550, err)
		return
	}
	s.next.from = p
	s.reply(350, "Ready for RNTO.")
}

func (s *session) cmdRNTO(arg string) {
	if s.prev.from == "" {
		s.reply(503, "RNFR required first.")
		return
	}
	s.ok(s.srv.fs.rename(s.prev.from, s.abs(arg)), "Rename successful.")
}

func (s *session) cmdTYPE(arg string) {
	switch t, _, _ := strings.Cut(strings.ToUpper(arg), " "); t {
	case "A", "I":
		s.binary = t == "I"
		s.reply(200, "Switching to %s mode.", s.mode())
	case "":
		s.reply(501, "TYPE needs an argument.")
	default:
		s.reply(504, "Unsupported type %q.", arg)
	}
}

// mode names the transfer type for 150 replies.
func (s *session) mode() string {
	if s.binary {
		return "BINARY"
	}
	return "ASCII"
}

func (s *session) cmdSIZE(arg string) {
	if s.below(s.abs(arg), "Could not get file size.") || s.minimalSIZE(s.abs(arg)) {
		return
	}
	e, err := s.srv.fs.file(s.abs(arg))
	if err != nil {
		s.vague(err, "Could not get file size.")
		return
	}
	s.reply(213, "%d", e.size)
}

func (s *session) cmdMDTM(arg string) {
	if s.below(s.abs(arg), "Could not get file modification time.") {
		return
	}
	e, err := s.srv.fs.file(s.abs(arg))
	if err != nil {
		s.vague(err, "Could not get file modification time.")
		return
	}
	s.reply(213, "%s", e.mod.UTC().Format(timeFormat))
}

func (s *session) cmdMFMT(arg string) {
	stamp, name, _ := strings.Cut(arg, " ")
	t, err := time.ParseInLocation(timeFormat, stamp, time.UTC)
	if err != nil || name == "" {
		s.reply(501, "Usage: MFMT YYYYMMDDHHMMSS path.")
		return
	}
	if err := s.srv.fs.setMod(s.abs(name), t); err != nil {
		s.fail(550, err)
		return
	}
	s.reply(213, "Modify=%s; %s", stamp, name)
}

func (s *session) cmdREST(arg string) {
	n, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || n < 0 {
		s.reply(501, "Bad restart offset %q.", arg)
		return
	}
	s.next.rest = n
	s.reply(350, "Restart position accepted (%d).", n)
}

func (s *session) cmdSTAT(arg string) {
	if arg == "" {
		status := []string{"Connected to " + s.conn.LocalAddr().String(), "Logged in as " + s.user,
			"TYPE: " + s.mode(), "Working directory: " + s.cwd}
		s.replyLines(211, "FTP server status:", status, "End of status.")
		return
	}
	entries, err := s.srv.fs.list(s.abs(arg))
	if err != nil {
		s.fail(550, err)
		return
	}
	s.replyLines(213, "Status of "+arg+":", listLines(entries, time.Now()), "End of status.")
}

func (s *session) cmdABOR(string) { s.reply(225, "No transfer to abort.") }

func (s *session) cmdMLST(arg string) {
	if s.cfg.noMLSD {
		s.reply(500, "MLST not understood.")
		return
	}
	p := s.abs(arg)
	if s.below(p, "") {
		return
	}
	e, err := s.srv.fs.stat(p)
	if err != nil {
		s.fail(550, err)
		return
	}
	s.replyLines(250, "Listing "+p, []string{facts(e, "") + " " + p}, "End")
}

// unreadable returns the directory of WithUnreadableDirs that p is or lies
// under.
func (s *session) unreadable(p string) (string, bool) {
	for _, d := range s.cfg.unreadable {
		if p == d || d == "/" || strings.HasPrefix(p, d+"/") {
			return d, true
		}
	}
	return "", false
}

// isUnreadable reports whether p is or lies under an unreadable directory.
func (s *session) isUnreadable(p string) bool {
	_, ok := s.unreadable(p)
	return ok
}

// below refuses a command on p, a path under an unreadable directory,
// with vagueText under WithVagueErrors (when set); it reports whether it
// did.
func (s *session) below(p, vagueText string) bool {
	d, ok := s.unreadable(p)
	if !ok || p == d {
		return false
	}
	if s.cfg.vagueErrors && vagueText != "" {
		s.reply(550, "%s", vagueText)
		return true
	}
	s.denied(p)
	return true
}

// denied refuses a command on p for want of permission.
func (s *session) denied(p string) {
	s.fail(550, pathErr("", p, fs.ErrPermission))
}

// vague fails with 550 and vagueText under WithVagueErrors, else with the
// error's text.
func (s *session) vague(err error, vagueText string) {
	if s.cfg.vagueErrors {
		s.reply(550, "%s", vagueText)
		return
	}
	s.fail(550, err)
}

// ok replies 250 with msg if err is nil, else fails with 550.
func (s *session) ok(err error, msg string) {
	if err != nil {
		s.fail(550, err)
		return
	}
	s.reply(250, "%s", msg)
}

// fail replies code with the error's text, shortened to what a client may
// see of the tree.
func (s *session) fail(code int, err error) {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		s.reply(code, "%s: %s.", path.Clean(pe.Path), pe.Err)
		return
	}
	s.reply(code, "%s.", err)
}
