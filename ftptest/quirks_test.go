package ftptest_test

import (
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The vsftpd quirks that a sync tool must not mistake for facts: an empty
// listing for a missing path, dot files hidden from a bare LIST, and
// removal errors that do not say why.
func TestVsftpdQuirks(t *testing.T) {
	tests := []struct {
		name  string
		opts  []ftptest.ServerOption
		line  string
		code  int    // final reply
		text  string // part of the final reply, when set
		names []string
	}{
		{"missing dir is 550", nil, "NLST /nope", 550, "", nil},
		{"missing dir lists empty", []ftptest.ServerOption{ftptest.WithEmptyListingForMissing()}, "NLST /nope", 226, "", nil},
		{"LIST of a missing dir lists empty", []ftptest.ServerOption{ftptest.WithEmptyListingForMissing()}, "LIST /nope", 226, "", nil},
		{"dot files listed", nil, "NLST /d", 226, "", []string{".hidden", "seen"}},
		{"dot files hidden", []ftptest.ServerOption{ftptest.WithHiddenDotfiles()}, "NLST /d", 226, "", []string{"seen"}},
		{"dot files with -a", []ftptest.ServerOption{ftptest.WithHiddenDotfiles()}, "NLST -a /d", 226, "", []string{".hidden", "seen"}},
		{"DELE of a dir says why", nil, "DELE /d", 550, "is a directory", nil},
		{"DELE of a dir is vague", []ftptest.ServerOption{ftptest.WithVagueRemoveErrors()}, "DELE /d", 550, "Delete operation failed", nil},
		{"DELE of a missing file is vague", []ftptest.ServerOption{ftptest.WithVagueRemoveErrors()}, "DELE /nope", 550, "Delete operation failed", nil},
		{"RMD of a full dir is vague", []ftptest.ServerOption{ftptest.WithVagueRemoveErrors()}, "RMD /d", 550, "Remove directory operation failed", nil},
		{"DELE still works", []ftptest.ServerOption{ftptest.WithVagueRemoveErrors()}, "DELE /d/seen", 250, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.opts...)
			srv.WriteFile("d/seen", []byte("x"))
			srv.WriteFile("d/.hidden", []byte("y"))
			c := login(t, srv)
			if (strings.HasPrefix(tt.line, "NLST") || strings.HasPrefix(tt.line, "LIST")) && tt.code == 550 {
				c.passive("EPSV")
				c.cmd(tt.line, 550)
				return
			}
			if strings.HasPrefix(tt.line, "NLST") || strings.HasPrefix(tt.line, "LIST") {
				body, code := c.get(tt.line)
				require.Equal(t, tt.code, code)
				if tt.code == 226 && strings.HasPrefix(tt.line, "NLST") {
					var names []string
					for l := range strings.SplitSeq(strings.TrimSpace(string(body)), "\r\n") {
						if l != "" {
							names = append(names, l)
						}
					}
					assert.Equal(t, tt.names, names)
				}
				if tt.code == 226 && strings.HasPrefix(tt.line, "LIST") {
					assert.Empty(t, body)
				}
				return
			}
			text := c.cmd(tt.line, tt.code)
			if tt.text != "" {
				assert.Contains(t, text, tt.text)
			}
		})
	}
}

// The options that reproduce how the lab's servers list and refuse: "LIST
// -a" lists "." and ".." first (vsftpd, ProFTPD, Pure-FTPd), a directory
// the login may not read (its own line on vsftpd, "permission denied"
// elsewhere), arguments taken literally (pyftpdlib) and refusals that do
// not say why (vsftpd).
func TestListingQuirks(t *testing.T) {
	vsftpd := []ftptest.ServerOption{ftptest.WithVsftpdQuirks(), ftptest.WithUnreadableDirs("/locked")}
	tests := []struct {
		name  string
		opts  []ftptest.ServerOption
		line  string
		code  int      // final reply
		text  string   // part of the reply, when set
		lines []string // with LIST: the names, in order
	}{
		{"LIST -a lists . and ..", nil, "LIST -a /d", 226, "", []string{".", "..", ".hidden", "seen"}},
		{"LIST -a of a file lists the file", nil, "LIST -a /d/seen", 226, "", []string{"seen"}},
		{"unreadable: CWD", []ftptest.ServerOption{ftptest.WithUnreadableDirs("/locked")}, "CWD /locked", 550, "permission denied", nil},
		{"unreadable: LIST", []ftptest.ServerOption{ftptest.WithUnreadableDirs("/locked")}, "LIST /locked", 550, "permission denied", nil},
		{"unreadable: MLSD", []ftptest.ServerOption{ftptest.WithUnreadableDirs("/locked")}, "MLSD /locked", 550, "permission denied", nil},
		{"unreadable: DELE below", []ftptest.ServerOption{ftptest.WithUnreadableDirs("/locked")}, "DELE /locked/f", 550, "permission denied", nil},
		{"unreadable: MLST of the directory", []ftptest.ServerOption{ftptest.WithUnreadableDirs("/locked")}, "MLST /locked", 250, "type=dir", nil},
		{"unreadable on vsftpd: LIST lists it alone", vsftpd, "LIST -a /locked", 226, "", []string{"locked"}},
		{"unreadable on vsftpd: CWD", vsftpd, "CWD /locked", 550, "Failed to change directory.", nil},
		{"unreadable on vsftpd: DELE below", vsftpd, "DELE /locked/f", 550, "Delete operation failed.", nil},
		{"vague SIZE", vsftpd, "SIZE /nope", 550, "Could not get file size.", nil},
		{"vague MKD", vsftpd, "MKD /d", 550, "Create directory operation failed.", nil},
		{"vague MDTM", vsftpd, "MDTM /d", 550, "Could not get file modification time.", nil},
		{"literal: LIST -a dir is a name", []ftptest.ServerOption{ftptest.WithLiteralListArgs()}, "LIST -a /d", 550, "", nil},
		{"literal: bare -a is dropped", []ftptest.ServerOption{ftptest.WithLiteralListArgs()}, "LIST -a", 226, "", []string{"d", "locked"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.opts...)
			srv.WriteFile("d/seen", []byte("x"))
			srv.WriteFile("d/.hidden", []byte("y"))
			srv.WriteFile("locked/f", []byte("z"))
			c := login(t, srv)
			if !strings.HasPrefix(tt.line, "LIST") && !strings.HasPrefix(tt.line, "MLSD") {
				assert.Contains(t, c.cmd(tt.line, tt.code), tt.text)
				return
			}
			if tt.code != 226 {
				c.passive("EPSV")
				assert.Contains(t, c.cmd(tt.line, tt.code), tt.text)
				return
			}
			body, code := c.get(tt.line)
			require.Equal(t, tt.code, code)
			var names []string
			for l := range strings.SplitSeq(strings.TrimSpace(string(body)), "\r\n") {
				f := strings.Fields(l)
				names = append(names, f[len(f)-1])
			}
			assert.Equal(t, tt.lines, names)
		})
	}
}

// TestEarlyDataLost: with WithEarlyDataLost, data that reach a passive
// data connection before the transfer command close it, and the command
// finds no data connection (pyftpdlib); data after the command, and
// downloads, work as usual.
func TestEarlyDataLost(t *testing.T) {
	srv := newServer(t, ftptest.WithEarlyDataLost())
	srv.WriteFile("/d.txt", []byte("download"))
	c := login(t, srv)

	payload := []byte("sent after STOR")
	require.Equal(t, 226, c.put("STOR after.txt", payload))
	got, err := srv.ReadFile("/after.txt")
	require.NoError(t, err)
	assert.Equal(t, payload, got)

	body, code := c.get("RETR d.txt")
	assert.Equal(t, 226, code)
	assert.Equal(t, "download", string(body))

	data := c.passive("EPSV")
	_, err = data.Write([]byte("sent before STOR"))
	require.NoError(t, err)
	_, err = io.ReadAll(data) // the server closes it (with a reset: it left data unread)
	if err != nil {
		require.ErrorIs(t, err, syscall.ECONNRESET)
	}
	c.send("STOR before.txt")
	c.send("ABOR") // else the STOR waits for a data connection
	c.expect(426)
	c.expect(226)
	_, err = srv.ReadFile("/before.txt")
	assert.Error(t, err, "the data sent before STOR are lost")
	c.cmd("NOOP", 200)
}
