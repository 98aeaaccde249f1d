package ftp

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMirrorGuessesDecideNothing: the remote folders that a Mirror lists
// in its first wave because the local tree has them decide nothing until
// their parent's listing shows them as folders. On a server like vsftpd,
// which lists a missing folder as empty, a guessed folder that is missing
// fails nothing (the run goes as without the guess), and one that the
// parent lists as a symbolic link is not read through the link: with
// Delete on, nothing behind it is deleted (up) nor kept from the plan
// (down). The root's listing waits for the guesses', so that they are
// listed before it rules them out.
func TestMirrorGuessesDecideNothing(t *testing.T) {
	link := "lrwxrwxrwx    1 999      995             5 Dec 06 17:48 linked -> other"
	for _, dir := range []MirrorDirection{MirrorDown, MirrorUp} {
		t.Run(dir.String(), func(t *testing.T) {
			ctx := context.Background()
			local := filepath.Join(t.TempDir(), "l")
			opts := MirrorOptions{Direction: dir, Delete: true}
			remote := map[MirrorDirection]string{MirrorDown: "/src", MirrorUp: "/dst"}[dir]
			o := newOverlap("LIST -a "+remote, 3)
			var srv *ftptest.Server
			var sum MirrorSummary
			var err error
			if dir == MirrorDown {
				// The source lacks "gone" and has "linked" as a link
				// (to a folder, its listing followed, that holds "y").
				srv = newServer(t, vsftpdLike(ftptest.WithListLines("/src", link,
					"-rw-r--r--    1 999      995             1 Dec 06 17:48 a.txt"))...)
				srv.WriteFile("/src/a.txt", []byte("a"))
				srv.WriteFile("/src/linked/y", []byte("y"))
				writeLocalTree(t, local, map[string][]byte{"a.txt": []byte("a"), "gone/x": []byte("x"), "linked/x": []byte("x")})
				sum, err = Mirror(ctx, newTestPool(t, srv, 3, WithDialFunc(o.dial)), "/src", local, opts)
				require.NoError(t, err)
				checkLocalTree(t, local, map[string][]byte{"a.txt": []byte("a"), "linked/x": []byte("x")})
				assert.Equal(t, []MirrorAction{
					{Op: OpDelete, Path: "gone", Dir: true, Reason: "extra"},
					{Op: OpKeep, Path: "linked", Dir: true, Reason: KeepSkipped},
				}, slices.DeleteFunc(sum.Plan, func(a MirrorAction) bool { return a.Path == "a.txt" }))
			} else {
				// The destination lacks "new" and has "linked" as a link
				// (to a folder, its listing followed, that holds "y").
				srv = newServer(t, vsftpdLike(ftptest.WithListLines("/dst", link))...)
				srv.WriteFile("/dst/linked/y", []byte("y"))
				writeLocalTree(t, local, map[string][]byte{"new/f": []byte("f"), "linked/": nil})
				sum, err = Mirror(ctx, newTestPool(t, srv, 3, WithDialFunc(o.dial)), local, "/dst", opts)
				require.Error(t, err)
				assert.Contains(t, err.Error(), "linked: the destination has a symbolic link or special file there")
				assert.Equal(t, 1, sum.Failed, "the link only")
				assert.Equal(t, []MirrorAction{
					{Op: OpMkdir, Path: "new", Dir: true, Reason: "missing"},
					{Op: OpCopy, Path: "new/f", Size: 1, Reason: "missing"},
				}, sum.Plan)
				remoteHas(t, srv, "/dst", map[string][]byte{"linked/y": []byte("y"), "new/f": []byte("f")})
			}
			assert.True(t, o.reached(), "the root and both guesses listed at once")
			missing := map[MirrorDirection]string{MirrorDown: "/gone", MirrorUp: "/new"}[dir]
			cmds := srv.Commands()
			for _, guess := range []string{remote + "/linked", remote + missing} {
				listed := slices.Contains(cmds, "LIST -a "+guess) || slices.Contains(cmds, "LIST "+guess)
				assert.True(t, listed, "%s guessed: %q", guess, cmds)
			}
		})
	}
}

// TestMirrorGuessesRuledOut: on a first run up, whose destination is
// missing, the root's listing rules out the guesses (the source's
// folders) not yet under way: on a server that lists a missing folder as
// empty, each would cost a listing and the check that proves it missing.
func TestMirrorGuessesRuledOut(t *testing.T) {
	srv := newServer(t, vsftpdLike()...)
	tree := subfolderTree(t, 10)
	local := filepath.Join(t.TempDir(), "l")
	writeLocalTree(t, local, tree)
	sum, err := Mirror(context.Background(), newTestPool(t, srv, 1), local, "/dst", MirrorOptions{Direction: MirrorUp})
	require.NoError(t, err)
	assert.Equal(t, fileCount(tree), sum.Files)
	checkRemoteTree(t, srv, "/dst", tree)
	var guessed []string
	for _, c := range srv.Commands() {
		if strings.HasPrefix(c, "LIST -a /dst/") || strings.HasPrefix(c, "LIST /dst/") {
			guessed = append(guessed, c)
		}
	}
	assert.LessOrEqual(t, len(guessed), 1, "only the one taken with the root: %q", guessed)
}
