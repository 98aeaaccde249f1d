package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// need finds a program the terminal tests run; CI must have it (.ci/run
// installs it), elsewhere the test is skipped without it.
func need(t *testing.T, prog string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is needed (apt-get install %s)", prog, prog)
		}
		t.Skipf("%s is not installed", prog)
	}
	return p
}

// asCommand is a shell command that runs this test binary as ftpsync with
// args (see TestMain), the args passed through a file.
func asCommand(t *testing.T, args ...string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "args")
	require.NoError(t, os.WriteFile(name, []byte(strings.Join(args, "\n")), 0o600))
	return fmt.Sprintf(`%s="$(cat '%s')" '%s' -test.run='^$'`, mainArgsEnv, name, os.Args[0])
}

// onScreen runs the shell command in a tmux window of 120×30 and returns
// the screen once it has ended, with its exit status on the last line.
func onScreen(t *testing.T, command string) string {
	t.Helper()
	tmux := need(t, "tmux")
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	sock := "ftpsync-test-" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tm := func(args ...string) string {
		out, err := exec.CommandContext(ctx, tmux, append([]string{"-L", sock, "-f", "/dev/null"}, args...)...).CombinedOutput()
		require.NoError(t, err, "tmux %v: %s", args, out)
		return string(out)
	}
	// The pane stays open (cat reads the terminal) until the server is
	// killed, so that the screen can be captured after the command.
	script := command + `; echo "exit=$?"; tmux -L ` + sock + ` wait-for -S done; exec cat`
	tm("new-session", "-d", "-x", "120", "-y", "30", "sh", "-c", script)
	defer exec.Command(tmux, "-L", sock, "kill-server").Run()
	tm("wait-for", "done")
	return tm("capture-pane", "-p")
}

// screenLines are the screen's lines that are not empty.
func screenLines(screen string) []string {
	var lines []string
	for _, l := range strings.Split(screen, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestBarOnTerminal: get draws its bar on a terminal, ends it at 100%
// with nothing left of earlier, longer lines, and after a resume shows
// the rate of this run's bytes (issue 21, item 2).
func TestBarOnTerminal(t *testing.T) {
	srv := newServer(t)
	data := random(t, 16<<20)
	srv.WriteFile("f.bin", data)
	dir := t.TempDir()
	cut := interruptGet(t, srv, "f.bin", filepath.Join(dir, "f.bin"))
	screen := onScreen(t, asCommand(t, "get", at(srv, "f.bin"), dir))
	lines := screenLines(screen)
	require.GreaterOrEqual(t, len(lines), 3, screen)
	n := len(lines)
	assert.Equal(t, "exit=0", lines[n-1], screen)
	assert.Equal(t, fmt.Sprintf("get f.bin -> %s (%d bytes)", filepath.Join(dir, "f.bin"), len(data)), lines[n-2], screen)
	assert.Regexp(t, `^f\.bin +\[=+\] 100% 16\.0 MiB/16\.0 MiB \d+(\.\d)? [KMGT]?i?B/s ETA 0:00$`, lines[n-3], screen)
	got, err := os.ReadFile(filepath.Join(dir, "f.bin"))
	require.NoError(t, err)
	require.Equal(t, data, got)
	assert.Contains(t, srv.Commands(), fmt.Sprintf("REST %d", cut))
}

// TestMeterRedrawClears: a redraw shorter than the line before leaves
// nothing of it on the screen, and the rate after a resume is of the
// bytes this run moved (issue 21, item 2).
func TestMeterRedrawClears(t *testing.T) {
	var drawn strings.Builder
	clock := time.Unix(1000, 0)
	m := &meter{w: &drawn, width: 120, name: "big.iso", now: func() time.Time { return clock },
		start: clock, bytesTotal: -1, active: map[string]*fileMeter{}, parts: map[string]int64{"": 900 << 20}}
	clock = clock.Add(time.Second)
	m.update(900<<20+100<<10, 1000<<20) // resumed at 900 MiB: 100 KiB in 1 s
	assert.Contains(t, drawn.String(), " 100.0 KiB/s ETA 17:03")
	clock = clock.Add(99 * time.Second)
	m.update(1000<<20, 1000<<20)
	m.done()
	name := filepath.Join(t.TempDir(), "drawn")
	require.NoError(t, os.WriteFile(name, []byte(drawn.String()), 0o600))
	lines := screenLines(onScreen(t, "cat '"+name+"'"))
	require.Len(t, lines, 2)
	assert.Regexp(t, `^big\.iso +\[=+\] 100% 1000\.0 MiB/1000\.0 MiB 1\.0 MiB/s ETA 0:00$`, lines[0])

	// The same bytes without the clearing leave the longer line's tail.
	stale := strings.ReplaceAll(drawn.String(), "\033[K", "")
	require.NoError(t, os.WriteFile(name, []byte(stale), 0o600))
	lines = screenLines(onScreen(t, "cat '"+name+"'"))
	assert.NotRegexp(t, `ETA 0:00$`, lines[0], "the check can fail")
}

// TestMirrorOnTerminal: on a terminal, mirror prints a line per file and
// a progress line with the run's totals, which it clears at the end
// (issue 21, item 2).
func TestMirrorOnTerminal(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("/src/a.txt", []byte("aaaa"))
	srv.WriteFile("/src/big.bin", random(t, 8<<20))
	dir := t.TempDir()
	screen := onScreen(t, asCommand(t, "mirror", "--parallel", "1", at(srv, "src"), dir)+" 2>&1")
	lines := screenLines(screen)
	assert.Equal(t, []string{
		"copy a.txt (4 bytes, missing)",
		"copy big.bin (8388608 bytes, missing)",
		"mirror down: 2 files (8388612 bytes) copied, 0 directories created, 0 up to date, 0 deleted, 0 kept, 0 failed",
		"exit=0",
	}, lines[len(lines)-4:], screen)
	assert.NotContains(t, screen, "files  ", "the progress line is cleared")
}

// TestMirrorProgressLine: the mirror's progress line counts files and
// bytes of the plan, this run's rate and the ETA (issue 21, item 2).
func TestMirrorProgressLine(t *testing.T) {
	var drawn strings.Builder
	clock := time.Unix(1000, 0)
	m := &meter{w: &drawn, width: 120, now: func() time.Time { return clock },
		start: clock, bytesTotal: -1, active: map[string]*fileMeter{}, parts: map[string]int64{"d/b": 4 << 20}}
	m.plan(3, 30<<20)
	clock = clock.Add(time.Second)
	m.updateFile("a", 10<<20, 10<<20)
	m.finished("a", 10<<20, true)
	clock = clock.Add(time.Second)
	m.updateFile("d/b", 5<<20, 10<<20) // resumed at 4 MiB
	assert.True(t, strings.HasSuffix(drawn.String(),
		"\r1/3 files  15.0 MiB/30.0 MiB  5.5 MiB/s  ETA 0:03  d/b 50%\033[K"), "%q", drawn.String())
	files, parts := m.kept()
	assert.Equal(t, 1, files)
	assert.Equal(t, int64(5<<20), parts)
}

// TestPasswordPrompt: on a terminal, a URL with a user and no password
// asks for it, without echo, as ftp(1) and lftp do (issue 21, item 7).
func TestPasswordPrompt(t *testing.T) {
	script := need(t, "script")
	srv := newServer(t, ftptest.WithCredentials("alice", "Pw-typed-42"))
	srv.WriteFile("/pub/f", []byte("x"))
	u, err := url.Parse(srv.URL())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, "-qefc", asCommand(t, "ls", "ftp://alice@"+u.Host+"/pub"), "/dev/null")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var screen strings.Builder
	r := bufio.NewReader(io.TeeReader(stdout, &screen))
	prompt := "Password for alice@" + u.Host + ": "
	for !strings.Contains(screen.String(), prompt) {
		_, err := r.ReadByte()
		require.NoError(t, err, "no prompt; the screen: %q", screen.String())
	}
	_, err = io.WriteString(stdin, "Pw-typed-42\n")
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, r)
	require.NoError(t, err)
	require.NoError(t, cmd.Wait(), screen.String())
	assert.Contains(t, screen.String(), " f\r\n")
	assert.NotContains(t, screen.String(), "Pw-typed", "the password was echoed")
	assert.Contains(t, srv.Commands(), "PASS Pw-typed-42")
}
