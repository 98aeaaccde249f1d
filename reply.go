package ftp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// Limits on what a server may send on the control connection. A reply that
// exceeds them is an error, so a hostile or broken server cannot make the
// client use unbounded memory.
const (
	maxReplyLine  = 64 << 10 // bytes in one reply line
	maxReplyBytes = 1 << 20  // bytes in one whole (multi-line) reply
)

// ErrMalformedReply is wrapped by errors for control-connection input that
// is not an RFC 959 reply: a line without a three-digit code, a code out of
// range, or a reply over the size limits.
var ErrMalformedReply = errors.New("ftp: malformed reply")

// Reply is one reply of the server: its code and every line as received
// (without line endings), so a multi-line reply is whole.
type Reply struct {
	Code  int
	Lines []string
}

// Message returns the text of the reply without the codes: the text after
// "xyz " or "xyz-" on the first and last lines, inner lines as they are,
// joined by newlines.
func (r *Reply) Message() string {
	if len(r.Lines) == 0 {
		return ""
	}
	parts := make([]string, len(r.Lines))
	copy(parts, r.Lines)
	parts[0] = stripCode(parts[0])
	if last := len(parts) - 1; last > 0 {
		parts[last] = stripCode(parts[last])
	}
	return strings.Join(parts, "\n")
}

// stripCode drops the "xyz " or "xyz-" prefix of a first or last line.
func stripCode(line string) string {
	if len(line) <= 4 {
		return ""
	}
	return line[4:]
}

// class is the first digit of the code: the only part of a reply that
// decisions may rest on (RFC 959 §4.2, RFC 1123 §4.1.2.11).
func (r *Reply) class() int { return r.Code / 100 }

// Error is a negative (4xx, 5xx) or unexpected reply to a command. Msg is
// the server's text as received; Error escapes its control characters.
// errors.As finds it in any error the package returns. errors.Is(err,
// fs.ErrNotExist) holds for "no such file" answers to commands that name a
// file, fs.ErrPermission for "permission denied" and fs.ErrExist for an
// attempt to create a directory that exists.
type Error struct {
	Cmd  string // the command sent, password masked
	Code int
	Msg  string

	// fact is what a follow-up check established about the path (one of
	// fs.ErrNotExist, fs.ErrPermission, ErrIsDir, ErrNotDir,
	// ErrDirNotEmpty, or errThere or errUnsure, which match nothing);
	// when set, Is answers from it alone. note says how it was found.
	fact error
	note string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("ftp: %s: %d %s", printable(e.Cmd), e.Code, printable(e.Msg))
	if e.note != "" {
		s += " (" + printable(e.note) + ")"
	}
	return s
}

// Is maps the server's answer onto the io/fs errors and ErrIsDir, ErrNotDir
// and ErrDirNotEmpty, so callers can write errors.Is(err, fs.ErrNotExist)
// whatever the server's wording. Where a reply did not say why (vsftpd's
// "550 Delete operation failed."), Delete, RemoveDir, RemoveAll and List
// look at the path before they answer, and Is then says what they found.
func (e *Error) Is(target error) bool {
	if e.fact != nil {
		return target == e.fact
	}
	switch target {
	case fs.ErrNotExist:
		return e.notExist()
	case fs.ErrPermission:
		return (e.Code == 550 || e.Code == 553 || e.Code == 450) && said(e.Msg) == fs.ErrPermission
	case fs.ErrExist:
		return kindOf(e.Cmd)&kindMakeDir != 0 && (e.Code == 521 || e.Code == 550 && said(e.Msg) == fs.ErrExist)
	case ErrIsDir, ErrNotDir, ErrDirNotEmpty:
		return e.Code >= 400 && kindOf(e.Cmd)&kindPath != 0 && said(e.Msg) == target
	}
	return false
}

func (e *Error) notExist() bool {
	// 550 is the rule; 450 and 501 only with words that say so (pyftpdlib
	// answers MLSD of a missing directory with "501 No such directory").
	// A text that gives another reason ("Permission denied", "Is a
	// directory", "Directory not empty") is not "does not exist".
	if e.Code != 550 && e.Code != 450 && e.Code != 501 || kindOf(e.Cmd)&kindPath == 0 {
		return false
	}
	switch said(e.Msg) {
	case fs.ErrNotExist, errNoSuchDir:
		return true
	case nil:
		return e.Code == 550
	}
	return false
}

// Facts that a follow-up check may establish which match no error of
// io/fs: the path is there (but the command failed for a reason the
// server did not give), or the check could not tell.
var (
	errThere  = errors.New("the path exists")
	errUnsure = errors.New("the server would not say whether the path exists")
)

// errInvalidArg is what said returns for "Invalid argument" (EINVAL, the
// reason Pure-FTPd gives for DELE of a directory): a reason, and not
// "missing".
var errInvalidArg = errors.New("invalid argument")

// errNoSuchDir is what said returns for "No such directory", which
// pyftpdlib answers to MLSD of a missing path and of a file alike: there
// is no directory there, but there may be a file.
var errNoSuchDir = errors.New("no such directory")

// said returns the reason a negative reply's text gives: fs.ErrPermission,
// ErrNotDir, ErrIsDir, ErrDirNotEmpty, errInvalidArg, errNoSuchDir,
// fs.ErrNotExist or fs.ErrExist; nil when it gives none ("Delete operation
// failed.", "Can't check for file existence", "Invalid argument"). The
// first reason in reasons whose phrase the text holds wins.
func said(msg string) error {
	m := strings.ToLower(msg)
	for _, r := range reasons {
		if mentions(m, r.phrases...) {
			return r.err
		}
	}
	return nil
}

// reasons are the phrases by which servers give the reason for a refusal,
// in the order said tries them: a phrase that holds another's ("no es un
// directorio" holds "es un directorio") comes first. Beside the servers'
// own English, the texts of glibc's strerror in the languages whose
// catalogues Debian ships and servers run under (ProFTPD and Pure-FTPd
// pass strerror through: "550 x: 没有那个文件或目录" under zh_CN), so
// that a permission error in Chinese is not taken for a missing file.
var reasons = []struct {
	err     error
	phrases []string
}{
	{fs.ErrPermission, []string{
		"permission", "denied", "not allowed", "forbidden", "not permitted",
		"权限不够", "不允许的操作", "權限", "不被允許", // zh_CN, zh_TW
		"許可がありません", "許可されていない", // ja
		"허가 거부", "허용하지 않음", // ko
		"keine berechtigung", "nicht erlaubt", "non permise", "permiso denegado",
		"no permitida", "отказано в доступе", "не позволена", "permesso negato",
		"non permessa", "permissão negada", "não permitida", "brak dostępu",
		"niedozwolona",
	}},
	{ErrNotDir, []string{
		"not a directory",
		"不是目录", "並不是一個目錄", "ディレクトリではありません", "디렉터리가 아닙니다",
		"ist kein verzeichnis", "n'est pas un dossier", "no es un directorio",
		"это не каталог", "non è una directory", "não é um diretório",
		"nie jest katalogiem",
	}},
	{ErrIsDir, []string{
		"is a directory", "not a regular file", "not a plain file", "only retrieve regular files",
		"是一个目录", "是個目錄", "ディレクトリです", "디렉터리입니다",
		"ist ein verzeichnis", "est un dossier", "es un directorio", "это каталог",
		"è una directory", "é um diretório", "jest katalogiem",
	}},
	{ErrDirNotEmpty, []string{
		"not empty",
		"目录非空", "目錄不是空的", "空ではありません", "비어있지 않음",
		"nicht leer", "n'est pas vide", "no está vacío", "не пуст", "non vuota",
		"não vazio", "nie jest pusty",
	}},
	{errInvalidArg, []string{"invalid argument"}},
	{errNoSuchDir, []string{"no such directory"}},
	{fs.ErrNotExist, []string{
		"no such", "not found", "not exist", "n't exist", "cannot find", "can't find",
		"没有那个文件或目录", "沒有此一檔案或目錄", "そのようなファイルやディレクトリはありません",
		"그런 파일이나 디렉터리가 없습니다", "nicht gefunden", "aucun fichier ou dossier",
		"no existe el fichero", "нет такого файла", "non esistente", "inexistente",
		"nie ma takiego pliku",
	}},
	{fs.ErrExist, []string{
		"exists",
		"文件已存在", "檔案已存在", "ファイルが存在します", "파일이 있습니다",
		"existiert bereits", "le fichier existe", "ya existe", "файл существует",
		"già esistente", "arquivo existe", "plik istnieje",
	}},
}

// withFact records on the *Error in err what a follow-up check found, and
// returns err.
func withFact(err error, fact error, note string) error {
	var ferr *Error
	if errors.As(err, &ferr) {
		ferr.fact, ferr.note = fact, note
	}
	return err
}

// mentions reports whether msg contains any of the words, ignoring case.
func mentions(msg string, words ...string) bool {
	msg = strings.ToLower(msg)
	for _, w := range words {
		if strings.Contains(msg, w) {
			return true
		}
	}
	return false
}

// readReply reads one reply: a single line "xyz text", or a multi-line
// reply that starts with "xyz-" and ends only at a line that starts with the
// same code followed by a space (RFC 959 §4.2). Lines in between are free
// text. Bare LF line endings are accepted.
func readReply(r *bufio.Reader) (*Reply, error) {
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	code, multi, err := parseCode(line)
	if err != nil {
		return nil, err
	}
	reply := &Reply{Code: code, Lines: []string{line}}
	total := len(line)
	for multi {
		if line, err = readLine(r); err != nil {
			return nil, err
		}
		if total += len(line); total > maxReplyBytes {
			return nil, errorf("%w: reply %d longer than %d bytes", ErrMalformedReply, code, maxReplyBytes)
		}
		reply.Lines = append(reply.Lines, line)
		multi = !endsMultiline(line, reply.Lines[0][:3])
	}
	return reply, nil
}

// endsMultiline reports whether line closes a multi-line reply with code:
// the same three digits, then a space or the end of the line.
func endsMultiline(line, code string) bool {
	return strings.HasPrefix(line, code) && (len(line) == 3 || line[3] == ' ')
}

// parseCode parses the code of a reply's first line and says whether a
// multi-line reply begins.
func parseCode(line string) (code int, multi bool, err error) {
	if len(line) < 3 || len(line) > 3 && line[3] != ' ' && line[3] != '-' {
		return 0, false, errorf("%w: %q", ErrMalformedReply, clip(line))
	}
	for _, c := range []byte(line[:3]) {
		if c < '0' || c > '9' {
			return 0, false, errorf("%w: %q", ErrMalformedReply, clip(line))
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 || code > 599 {
		return 0, false, errorf("%w: code %d out of range in %q", ErrMalformedReply, code, clip(line))
	}
	return code, len(line) > 3 && line[3] == '-', nil
}

// readLine reads one line of at most maxReplyLine bytes without its CRLF
// or LF. A longer line is an error, read no further than the limit.
func readLine(r *bufio.Reader) (string, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(buf)+len(chunk) > maxReplyLine+2 {
			return "", errorf("%w: line longer than %d bytes", ErrMalformedReply, maxReplyLine)
		}
		buf = append(buf, chunk...)
		switch {
		case err == nil:
			buf = buf[:len(buf)-1]
			if n := len(buf); n > 0 && buf[n-1] == '\r' {
				buf = buf[:n-1]
			}
			return string(buf), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(buf) > 0:
			return "", io.ErrUnexpectedEOF
		default:
			return "", err
		}
	}
}

// clip shortens server text quoted in an error message.
func clip(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// replyError makes the *Error for an unwanted reply to cmd.
func replyError(cmd string, r *Reply) *Error {
	return &Error{Cmd: mask(strings.TrimSpace(cmd)), Code: r.Code, Msg: r.Message()}
}

// isPermanent reports whether err is a 5xx reply.
func isPermanent(err error) bool {
	var fe *Error
	return errors.As(err, &fe) && fe.Code >= 500
}
