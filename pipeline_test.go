package ftp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pasvport/ftp/ftptest"
)

// passives counts the EPSV and PASV commands among cmds.
func passives(cmds []string) int {
	return count(cmds, "EPSV") + count(cmds, "PASV")
}

// TestPipelineDuringTransfer: whatever a server does with a command that
// arrives during a transfer (answers it after, refuses it at once, or
// runs it at once and drops the transfer: vsftpd, Pure-FTPd, pyftpdlib),
// uploads and downloads on one connection are byte-identical and the
// connection stays in step. The next transfer's EPSV is sent ahead after
// every download, and after uploads only where the probe found that the
// server answers commands after a transfer.
func TestPipelineDuringTransfer(t *testing.T) {
	tests := []struct {
		name       string
		during     ftptest.DuringTransfer
		pipelineUp bool
	}{
		{"after (vsftpd)", ftptest.AfterTransfer, true},
		{"refused (Pure-FTPd)", ftptest.RefuseDuringTransfer, false},
		{"run at once (pyftpdlib)", ftptest.RunDuringTransfer, false},
	}
	for _, tt := range tests {
		forEachWait(t, tt.name, func(t *testing.T, wait Option) {
			srv := newServer(t, ftptest.WithCommandsDuringTransfer(tt.during))
			var trace bytes.Buffer
			c := dialTest(t, srv, wait, WithDebug(&trace))
			ctx := context.Background()
			const files = 12
			data := make([][]byte, files)
			for i := range data {
				size := 4<<10 + i
				if i == files/2 {
					size = 200 << 10 // past quietUpload: a listener hears the replies
				}
				data[i] = randomBytes(t, size)
			}
			before := len(srv.Commands())
			for i, d := range data {
				require.NoError(t, c.Stor(ctx, fmt.Sprintf("f%d", i), bytes.NewReader(d)), "STOR %d", i)
			}
			up := verbs(srv)[before:]
			before = len(srv.Commands())
			for i, d := range data {
				stored, err := srv.ReadFile(fmt.Sprintf("f%d", i))
				require.NoError(t, err)
				require.Equal(t, d, stored, "stored %d", i)
				assert.Equal(t, d, retrAll(t, c, fmt.Sprintf("f%d", i)), "RETR %d", i)
			}
			require.NoError(t, c.NoOp(ctx), "in step") // reads the passive reply owed after the last download
			down := verbs(srv)[before:]
			down = down[:len(down)-1] // the NOOP

			assert.NotContains(t, trace.String(), "no pipelining from now on")
			if tt.pipelineUp {
				// The first two uploads ask (the first probes), the others
				// use the port sent ahead, the last sends one for the first
				// download.
				assert.Equal(t, files+1, passives(up), "uploads")
				assert.Equal(t, files, passives(down), "downloads")
			} else {
				assert.Contains(t, trace.String(), "uploads are not pipelined")
				// Mostly one passive command an upload. The probe's NOOP may
				// reach the server after a small upload has ended (it then
				// looks answered after it): uploads are pipelined until the
				// refusals are a quarter of them, each refused EPSV one more.
				assert.GreaterOrEqual(t, passives(up), files, "uploads")
				assert.LessOrEqual(t, passives(up), files+4, "uploads")
				assert.Equal(t, files+1, passives(down), "downloads")
			}
		})
	}
}

// listenData opens a passive data listener for a raw script and returns
// its 229 reply and a function that accepts on it.
func listenData(s *rawConn) (string, func() net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(s.srv.t, err)
	s.srv.track(ln)
	reply := fmt.Sprintf("229 Entering Extended Passive Mode (|||%d|)\r\n", ln.Addr().(*net.TCPAddr).Port)
	return reply, func() net.Conn {
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(scriptTime))
		conn, err := ln.Accept()
		ln.Close()
		if err != nil {
			return nil
		}
		s.srv.track(conn)
		conn.SetDeadline(time.Now().Add(scriptTime))
		return conn
	}
}

// sendDownloadAhead plays the server of a download of payload whose end
// the client follows with an EPSV sent ahead, and returns the 229 reply
// to send for it, with the port it listens on.
func sendDownloadAhead(s *rawConn, payload []byte) (reply string) {
	accept := s.epsv()
	s.cmd("RETR", "150 Opening\r\n")
	data := accept()
	data.Write(payload)
	data.Close()
	s.expect("EPSV")
	reply, _ = listenData(s)
	return reply
}

// downloadF downloads "f", for the table of TestPipelineOutOfTurn.
func downloadF(c *Conn) error {
	_, err := download(context.Background(), c, "f")
	return err
}

// TestPipelineOutOfTurn: replies to a command sent ahead that come out of
// turn (before the transfer's final reply, or as a refusal during the
// transfer) leave the transfer's outcome as its own reply says, keep the
// connection in step, and stop the pipelining concerned.
func TestPipelineOutOfTurn(t *testing.T) {
	payload := bytes.Repeat([]byte("pipelined "), 500)
	tests := []struct {
		name   string
		script func(s *rawConn)
		call   func(c *Conn) error
		err    string // "" for none
		after  func(t *testing.T, c *Conn)
	}{
		{"a refusal during an upload, then 226 (ProFTPD)",
			func(s *rawConn) {
				// The first upload probes: NOOP with STOR, answered after it.
				accept := s.epsv()
				s.cmd("STOR", "150 Ok to send data\r\n")
				s.expect("NOOP")
				data := accept()
				io.Copy(io.Discard, data)
				data.Close()
				s.send("226 Transfer complete\r\n200 NOOP ok\r\n")
				// The second sends EPSV ahead, which is refused during it.
				accept = s.epsv()
				s.cmd("STOR", "150 Ok to send data\r\n")
				data = accept()
				io.Copy(io.Discard, data)
				data.Close()
				s.expect("EPSV")
				s.send("450 EPSV: data transfer in progress\r\n226 Transfer complete\r\n")
				s.serve()
			},
			func(c *Conn) error {
				ctx := context.Background()
				if err := c.Stor(ctx, "a", bytes.NewReader(payload)); err != nil {
					return err
				}
				return c.Stor(ctx, "b", bytes.NewReader(payload))
			},
			"",
			func(t *testing.T, c *Conn) {
				assert.Equal(t, int8(2), c.pipe.uploads, "uploads still pipelined: one refusal in one")
				assert.Equal(t, 1, c.pipe.refused)
				assert.False(t, c.pipe.off, "downloads still are")
				assert.Nil(t, c.pipe.ready)
			}},
		{"an upload that failed proves nothing: the next one probes again",
			func(s *rawConn) {
				accept := s.epsv()
				s.cmd("STOR", "150 Ok to send data\r\n")
				s.expect("NOOP")
				data := accept()
				io.Copy(io.Discard, data)
				data.Close()
				s.send("552 Quota exceeded\r\n200 NOOP ok\r\n")
				s.serve()
			},
			func(c *Conn) error {
				return c.Stor(context.Background(), "a", bytes.NewReader(payload))
			},
			"552",
			func(t *testing.T, c *Conn) {
				assert.Equal(t, int8(0), c.pipe.uploads, "not known")
				assert.False(t, c.pipe.probing)
			}},
		{"a passive reply before the download's 226",
			func(s *rawConn) {
				reply := sendDownloadAhead(s, payload)
				s.send(reply + "226 Transfer complete\r\n")
				s.serve()
			},
			downloadF,
			"",
			func(t *testing.T, c *Conn) {
				assert.True(t, c.pipe.off, "no pipelining any more")
				assert.Nil(t, c.pipe.ready, "its port is not used")
			}},
		{"a failed download: the port sent ahead is not kept",
			func(s *rawConn) {
				reply := sendDownloadAhead(s, payload)
				s.send("451 Local error in processing\r\n" + reply)
				s.serve()
			},
			downloadF,
			"451",
			func(t *testing.T, c *Conn) {
				assert.False(t, c.pipe.off)
				assert.Nil(t, c.pipe.ready)
			}},
		{"a failed download followed by a second final reply: still failed, in step",
			func(s *rawConn) {
				reply := sendDownloadAhead(s, payload)
				s.send("426 Connection closed; transfer aborted\r\n226 Abort successful\r\n" + reply)
				s.serve()
			},
			downloadF,
			"426",
			func(t *testing.T, c *Conn) {
				assert.False(t, c.pipe.off)
				assert.Nil(t, c.pipe.ready)
			}},
		{"an unused port sent ahead, then pyftpdlib's 421 about it",
			func(s *rawConn) {
				reply := sendDownloadAhead(s, payload)
				s.send("226 Transfer complete\r\n" + reply)
				s.expect("NOOP")
				s.send("421 Passive data channel timed out.\r\n200 NOOP ok\r\n")
				s.serve()
			},
			func(c *Conn) error {
				if _, err := download(context.Background(), c, "f"); err != nil {
					return err
				}
				return c.NoOp(context.Background())
			},
			"",
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRawServer(t, func(s *rawConn) {
				s.login()
				tt.script(s)
			})
			c := dialRaw(t, srv, 5*time.Second)
			err := tt.call(c)
			if tt.err == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tt.err)
			}
			if tt.after != nil {
				tt.after(t, c)
			}
			for range 2 {
				require.NoError(t, c.NoOp(context.Background()), "in step")
			}
		})
	}
}

// TestPipelineClosing421: a 421 read while a port sent ahead is unused is
// still the server closing when nothing follows it.
func TestPipelineClosing421(t *testing.T) {
	srv := newRawServer(t, func(s *rawConn) {
		s.login()
		accept := s.epsv()
		s.cmd("RETR", "150 Opening\r\n")
		data := accept()
		data.Write([]byte("x"))
		data.Close()
		s.expect("EPSV")
		reply, _ := listenData(s)
		s.send("226 Transfer complete\r\n" + reply)
		s.expect("NOOP")
		s.send("421 Service shutting down\r\n")
	})
	c := dialRaw(t, srv, 5*time.Second)
	_, err := download(context.Background(), c, "f")
	require.NoError(t, err)
	err = c.NoOp(context.Background())
	require.ErrorIs(t, err, ErrClosed)
	assert.ErrorContains(t, err, "421 Service shutting down")
}

// TestPipelineLogin: USER and PASS go out in one write, and so do FEAT and
// TYPE I: the server reads each pair before it answers the first (a
// client that waits for each reply would stall this script).
func TestPipelineLogin(t *testing.T) {
	srv := newRawServer(t, func(s *rawConn) {
		s.send("220 raw server ready\r\n")
		s.expect("USER")
		s.expect("PASS")
		s.send("331 Password?\r\n230 Logged in\r\n")
		s.expect("FEAT")
		s.expect("TYPE")
		s.send("211 No features\r\n200 Binary\r\n")
		s.serve()
	})
	c := dialRaw(t, srv, 5*time.Second)
	require.NoError(t, c.NoOp(context.Background()))
}

// TestPipelineLoginReplies: what USER's reply says decides, whatever
// PASS's reply (sent ahead) is; WithoutPipelining waits for each reply.
func TestPipelineLoginReplies(t *testing.T) {
	tests := []struct {
		name     string
		user     string // the reply to USER
		pass     string // the reply to PASS, "" for none (the server waits)
		opts     []Option
		err      string
		loggedIn bool
	}{
		{"331 then 230", "331 Password?\r\n", "230 Logged in\r\n", nil, "", true},
		{"230 at USER, PASS not wanted", "230 No password needed\r\n", "503 Already logged in\r\n", nil, "", true},
		{"USER refused", "530 Unknown user\r\n", "503 Login with USER first\r\n", nil, "USER bob: 530", false},
		{"PASS refused", "331 Password?\r\n", "530 Login incorrect\r\n", nil, "PASS ****: 530", false},
		{"without pipelining", "331 Password?\r\n", "230 Logged in\r\n", []Option{WithoutPipelining()}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRawServer(t, func(s *rawConn) {
				s.send("220 raw server ready\r\n")
				s.cmd("USER", tt.user)
				s.cmd("PASS", tt.pass)
				if tt.loggedIn {
					s.cmd("FEAT", "211 No features\r\n")
					s.cmd("TYPE", "200 Binary\r\n")
				}
				s.serve()
			})
			c, err := Dial(context.Background(), srv.addr(), append([]Option{WithTimeout(5 * time.Second)}, tt.opts...)...)
			require.NoError(t, err)
			defer c.Close()
			err = c.Login(context.Background(), "bob", "secret")
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				assert.NotContains(t, err.Error(), "secret")
			} else {
				require.NoError(t, err)
			}
			require.NoError(t, c.NoOp(context.Background()), "in step")
		})
	}
}

// TestPipelineQuitAfterAhead: a port sent ahead and never used costs
// nothing: Quit, a non-transfer command and a transfer much later all
// work, and a stale port is asked again.
func TestPipelineQuitAfterAhead(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("f", []byte("content"))
	c := dialTest(t, srv)
	ctx := context.Background()
	assert.Equal(t, "content", string(retrAll(t, c, "f")))
	_, err := c.FileSize(ctx, "f") // reads the passive reply owed after the download first
	require.NoError(t, err)
	require.NotNil(t, c.pipe.ready, "a port sent ahead")
	c.pipe.ready.at = time.Now().Add(-aheadFresh - time.Second) // stale: asked again
	before := passives(verbs(srv))
	assert.Equal(t, "content", string(retrAll(t, c, "f")))
	require.NoError(t, c.NoOp(ctx)) // reads the passive reply owed after the download first
	assert.Equal(t, 2, passives(verbs(srv))-before, "asked again, and one sent ahead")
	require.NoError(t, c.Quit(ctx))
	cmds := srv.Commands()
	assert.Equal(t, []string{"EPSV", "NOOP", "QUIT"}, verbs(srv)[len(cmds)-3:])
}

// TestPipelineProbeNeedsAnUpload: a refused upload proves nothing about
// what the server does during a transfer (pyftpdlib answers the NOOP after
// a 550 too): the next upload probes again, and finds out.
func TestPipelineProbeNeedsAnUpload(t *testing.T) {
	srv := newServer(t, ftptest.WithCommandsDuringTransfer(ftptest.RunDuringTransfer))
	var trace bytes.Buffer
	c := dialTest(t, srv, WithDebug(&trace))
	ctx := context.Background()
	err := c.Stor(ctx, "/no/such/dir/f", strings.NewReader("x"))
	require.Error(t, err)
	assert.Equal(t, int8(0), c.pipe.uploads, "not known yet")
	data := randomBytes(t, 5000)
	for i := range 4 {
		require.NoError(t, c.Stor(ctx, fmt.Sprintf("f%d", i), bytes.NewReader(data)))
		stored, err := srv.ReadFile(fmt.Sprintf("f%d", i))
		require.NoError(t, err)
		require.Equal(t, data, stored)
	}
	assert.Equal(t, int8(1), c.pipe.uploads)
	assert.Contains(t, trace.String(), "uploads are not pipelined")
}

// TestPipelineRename: RNFR and RNTO go in one write (the server reads both
// before it answers); a refused RNFR is the error, whatever RNTO's reply,
// and the connection stays in step. Without pipelining, a refused RNFR is
// not followed by RNTO.
func TestPipelineRename(t *testing.T) {
	tests := []struct {
		name    string
		replies string // to RNFR and RNTO
		opts    []Option
		notExis bool
		err     string
	}{
		{"renamed", "350 Ready\r\n250 Renamed\r\n", nil, false, ""},
		{"RNFR refused", "550 No such file\r\n503 RNFR first\r\n", nil, true, "RNFR a: 550"},
		{"RNTO refused", "350 Ready\r\n553 Not allowed\r\n", nil, false, "RNTO b: 553"},
		{"without pipelining", "550 No such file\r\n", []Option{WithoutPipelining()}, true, "RNFR a: 550"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRawServer(t, func(s *rawConn) {
				s.login()
				s.expect("RNFR")
				if tt.opts == nil {
					s.expect("RNTO")
				}
				s.send(tt.replies)
				s.serve()
			})
			c := dialRaw(t, srv, 5*time.Second, tt.opts...)
			err := c.Rename(context.Background(), "a", "b")
			if tt.err == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tt.err)
			}
			assert.Equal(t, tt.notExis, errors.Is(err, fs.ErrNotExist))
			require.NoError(t, c.NoOp(context.Background()), "in step")
		})
	}
}

// TestPipelineRefusalBudget: uploads stay pipelined while the server
// refuses the command sent ahead now and then (at most 3, or a quarter of
// the pipelined uploads), and stop when it refuses more often.
func TestPipelineRefusalBudget(t *testing.T) {
	tests := []struct {
		pipelined, refused int
		stop               bool
	}{
		{1, 0, false}, {3, 2, false}, {4, 3, true}, {16, 3, false},
		{20, 4, false}, {17, 4, true}, {100, 24, false}, {100, 25, true},
	}
	for _, tt := range tests {
		p := pipeState{pipelinedUp: tt.pipelined, refused: tt.refused}
		assert.Equal(t, tt.stop, p.refusedTooOften(), "%d pipelined, %d refused, one more refusal", tt.pipelined, tt.refused)
	}
}

// TestPipelineOptsUTF8: OPTS UTF8 ON, which a server offering UTF8 gets
// after login, costs no round trip of its own: it goes in the same write
// as the session's next command, and its reply, whatever it says, is read
// and dropped before that command's. A 421 in its place still closes the
// session; without pipelining it waits for its reply as before.
func TestPipelineOptsUTF8(t *testing.T) {
	const feat = "211-Features:\r\n UTF8\r\n211 End\r\n"
	tests := []struct {
		name     string
		opts     []Option
		together bool   // OPTS and PWD are read before either is answered
		optsRep  string // the reply to OPTS
		err      string // the error of CurrentDir, "" for none
	}{
		{"with the next command", nil, true, "200 UTF8 set to on\r\n", ""},
		{"refused, no matter", nil, true, "501 OPTS UTF8 not understood\r\n", ""},
		{"421 closes", nil, true, "421 Shutting down\r\n", "421 Shutting down"},
		{"without pipelining", []Option{WithoutPipelining()}, false, "200 UTF8 set to on\r\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRawServer(t, func(s *rawConn) {
				s.send("220 raw server ready\r\n")
				s.cmd("USER", "331 Password?\r\n")
				s.cmd("PASS", "230 Logged in\r\n")
				s.cmd("FEAT", feat)
				s.cmd("TYPE", "200 Binary\r\n")
				if tt.together {
					s.expect("OPTS")
					s.expect("PWD")
					s.send(tt.optsRep + "257 \"/pub\" is the current directory\r\n")
				} else {
					s.cmd("OPTS", tt.optsRep)
					s.cmd("PWD", "257 \"/pub\" is the current directory\r\n")
				}
				s.serve()
			})
			c := dialRaw(t, srv, 5*time.Second, tt.opts...)
			dir, err := c.CurrentDir(context.Background())
			if tt.err != "" {
				require.ErrorIs(t, err, ErrClosed)
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "/pub", dir)
			require.NoError(t, c.NoOp(context.Background()), "in step")
		})
	}
}

// TestPipelinePortAtLogin: a Pool's connection asks for its first
// passive port in the same write as FEAT and TYPE I, and its first
// transfer uses it without asking again; a refused one is asked again
// by the transfer, which then goes on as usual.
func TestPipelinePortAtLogin(t *testing.T) {
	const feat = "211-Features:\r\n MLST type*;size*;modify*;\r\n211 End\r\n"
	for _, refused := range []bool{false, true} {
		t.Run(map[bool]string{false: "used", true: "refused"}[refused], func(t *testing.T) {
			srv := newRawServer(t, func(s *rawConn) {
				s.send("220 raw server ready\r\n")
				s.cmd("USER", "331 Password?\r\n")
				s.cmd("PASS", "230 Logged in\r\n")
				s.expect("FEAT")
				s.expect("TYPE")
				s.expect("EPSV")
				reply, accept := listenData(s)
				if refused {
					s.send(feat + "200 Binary\r\n500 EPSV not now\r\n")
					s.expect("EPSV")
				} else {
					s.send(feat + "200 Binary\r\n")
				}
				s.send(reply)
				s.expect("MLSD")
				data := accept()
				s.send("150 Here it comes\r\n")
				io.WriteString(data, "type=file;size=5;modify=20240102030405; a.txt\r\n")
				data.Close()
				s.send("226 Done\r\n")
				s.serve()
			})
			p, err := NewPool("ftp://user:pass@"+srv.addr(), 1, WithTimeout(5*time.Second))
			require.NoError(t, err)
			defer p.Close()
			entries, err := p.List(context.Background(), "/")
			require.NoError(t, err)
			require.Len(t, entries, 1)
			assert.Equal(t, "a.txt", entries[0].Name)
		})
	}
}

// TestPipelineAheadNotAwaited: the passive command sent ahead at the end
// of a download is not waited for (a server that sends its final reply
// with the data answers it a round trip later): the call returns, and
// the reply is read, and its port kept, with the next command. Here the
// server answers EPSV only once that command has come.
func TestPipelineAheadNotAwaited(t *testing.T) {
	payload := []byte("data")
	srv := newRawServer(t, func(s *rawConn) {
		s.login()
		accept := s.epsv()
		s.cmd("RETR", "150 Opening\r\n")
		data := accept()
		data.Write(payload)
		data.Close()
		s.send("226 Done\r\n")
		s.expect("EPSV")
		reply, _ := listenData(s)
		s.expect("NOOP")
		s.send(reply + "200 NOOP ok\r\n")
		s.serve()
	})
	c := dialRaw(t, srv, 5*time.Second)
	got, err := download(context.Background(), c, "f")
	require.NoError(t, err)
	assert.Equal(t, payload, got)
	require.NoError(t, c.NoOp(context.Background()))
	require.NotNil(t, c.pipe.ready, "the port of the reply read with NOOP is kept")
	assert.Equal(t, 229, c.pipe.ready.reply.Code)
}
