package ftp

import "strings"

// transferVerbs open a data connection; Quote refuses them because their
// data would be left unread.
var transferVerbs = map[string]bool{
	"RETR": true, "STOR": true, "STOU": true, "APPE": true,
	"LIST": true, "NLST": true, "MLSD": true,
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
	switch v := verb(cmd); {
	case v == "ABOR":
		return false
	case transferVerbs[v]:
		return reply.class() == 2 && reply.Code != 226 && reply.Code != 250
	}
	return reply.class() == 1 || reply.Code == 225 || reply.Code == 226
}

// fileVerbs are the commands whose 550 answer means the named file or
// directory is missing (unless the text says otherwise).
var fileVerbs = map[string]bool{
	"RETR": true, "SIZE": true, "MDTM": true, "MFMT": true, "DELE": true,
	"CWD": true, "RMD": true, "RNFR": true, "MLST": true, "MLSD": true,
	"LIST": true, "NLST": true, "STAT": true,
}

// verb returns the command word of a command line, upper-cased.
func verb(cmd string) string {
	v, _, _ := strings.Cut(cmd, " ")
	return strings.ToUpper(v)
}
