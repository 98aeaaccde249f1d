package ftp

import "strings"

// verbKind says what a command does, for the rules that depend on it: one
// table, so that a new command (STOU, PRET …) is one line.
type verbKind uint8

const (
	// kindTransfer opens a data connection: Quote refuses it (its data
	// would be left unread), and its replies are 1xx, then 226 or 250.
	kindTransfer verbKind = 1 << iota
	// kindUpload sends data to the server.
	kindUpload
	// kindPath names a file or directory: its 550 means the path is
	// missing, unless the text says otherwise.
	kindPath
	// kindAbort is ABOR: none of its replies is out of place (they are
	// read up to a marker).
	kindAbort
	// kindMakeDir creates a directory: its 521 or 550 "exists" is
	// fs.ErrExist.
	kindMakeDir
)

var commandKinds = map[string]verbKind{
	"RETR": kindTransfer | kindPath,
	"STOR": kindTransfer | kindUpload,
	"STOU": kindTransfer | kindUpload,
	"APPE": kindTransfer | kindUpload,
	"LIST": kindTransfer | kindPath,
	"NLST": kindTransfer | kindPath,
	"MLSD": kindTransfer | kindPath,
	"SIZE": kindPath,
	"MDTM": kindPath,
	"MFMT": kindPath,
	"DELE": kindPath,
	"CWD":  kindPath,
	"RMD":  kindPath,
	"RNFR": kindPath,
	"MLST": kindPath,
	"STAT": kindPath,
	"ABOR": kindAbort,
	"MKD":  kindMakeDir,
}

// kindOf returns the kind of a command line's verb (zero for others).
func kindOf(cmd string) verbKind {
	v, _, _ := strings.Cut(cmd, " ")
	return commandKinds[strings.ToUpper(v)]
}

// stray reports whether reply, read in answer to cmd, answers an earlier
// command instead, so that the answer to cmd is still to come:
//
//   - a 1xx, 225 or 226 answers only a transfer command or ABOR. pyftpdlib
//     sends a 226 when the client closes a data connection it never used;
//     a server that sends its final reply before its 150 leaves the 150
//     behind; a 120 before the greeting is no greeting.
//   - a transfer command ends with 226 or 250, or fails with 4xx or 5xx:
//     any other 2xx before it answers an earlier command (Python's ftplib
//     has met servers that send a late "200" to PORT before the 150), or
//     a keepalive NOOP sent during the transfer.
//
// Nothing is stray after ABOR: its replies are read up to a marker.
func stray(cmd string, reply *Reply) bool {
	switch k := kindOf(cmd); {
	case k&kindAbort != 0:
		return false
	case k&kindTransfer != 0:
		return reply.class() == 2 && reply.Code != 226 && reply.Code != 250
	}
	return reply.class() == 1 || reply.Code == 225 || reply.Code == 226
}
