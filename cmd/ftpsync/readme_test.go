package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readme returns the README, and its section that starts with heading
// (up to the next heading of the same or a higher level).
func readme(t *testing.T, heading string) (all, section string) {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	all = string(b)
	i := strings.Index(all, "\n"+heading+"\n")
	require.GreaterOrEqual(t, i, 0, "no %q in README.md", heading)
	level := strings.Repeat("#", strings.Index(heading, " ")) + " "
	rest := all[i+len(heading)+2:]
	end := len(rest)
	for _, m := range regexp.MustCompile(`(?m)^#+ `).FindAllStringIndex(rest, -1) {
		if h := rest[m[0]:m[1]]; len(h) <= len(level) && !insideFence(rest[:m[0]]) {
			end = m[0]
			break
		}
	}
	return all, rest[:end]
}

// insideFence reports whether text ends inside a ``` block.
func insideFence(text string) bool { return strings.Count(text, "```")%2 == 1 }

// flagRow is a flag's row in the README's flag table: the text of help.
func flagRow(f flagDef) string {
	return fmt.Sprintf("| `%s` | %s | %s |", f.spelling(), f.appliesTo(), f.help)
}

// TestReadmeAgreesWithHelp: the README's flag table has a row for every
// flag with help's text, and its exit codes are help's (issue 21).
func TestReadmeAgreesWithHelp(t *testing.T) {
	_, sec := readme(t, "## The ftpsync command")
	for _, f := range flags {
		assert.Contains(t, sec, flagRow(f)+"\n", "README.md: the row of --%s", f.name)
	}
	for _, x := range exitCodes {
		assert.Contains(t, sec, fmt.Sprintf("| %d | %s |\n", x.code, x.text), "README.md: exit code %d", x.code)
	}
	for _, c := range commands {
		assert.Contains(t, sec, fmt.Sprintf("| `%s` | %s |\n", strings.TrimSpace(c.name+" "+c.args), c.help), "README.md: command %s", c.name)
	}
	rows := regexp.MustCompile("(?m)^\\| `--([a-z-]+)").FindAllStringSubmatch(sec, -1)
	assert.Len(t, rows, len(flags), "a README row for a flag that does not exist")
}

// TestReadmeExamples: the README's examples do what they say (issue 21,
// item 14): the FTPS snippet logs in with an ftp:// URL and explicit TLS;
// the NAT notes say that WithTrustedPASVAddress matters only without
// EPSV; the cron line is one line; building from a clone and
// SSL_CERT_FILE are explained.
func TestReadmeExamples(t *testing.T) {
	all, quick := readme(t, "## Quick start")
	assert.Contains(t, quick, `ftp.DialURL(ctx, "ftp://user:password@ftp.example.com/", ftp.WithExplicitTLS(&tls.Config{}))`)
	assert.NotContains(t, quick, `ftp.Dial(ctx, "ftp.example.com:21", ftp.WithExplicitTLS`, "a Dial that never logs in")
	assert.NotContains(t, quick, "// or: ftp.DialURL(ctx, \"ftps://", "implicit TLS is no other spelling")

	_, works := readme(t, "## What works")
	assert.Regexp(t, "`WithTrustedPASVAddress`[^.]*only\\s+with\\s+`WithoutEPSV`", works)
	_, tested := readme(t, "## Tested against real servers")
	assert.Regexp(t, "`WithTrustedPASVAddress` fails at once only\\s+with\\s+`WithoutEPSV`", tested)

	_, cmd := readme(t, "## The ftpsync command")
	i := strings.Index(cmd, "# m h dom mon dow")
	require.GreaterOrEqual(t, i, 0)
	block := cmd[i:]
	block = block[:strings.Index(block, "```")]
	lines := strings.Split(strings.TrimSpace(block), "\n")
	require.Len(t, lines, 2, "the crontab: a comment and one line")
	assert.NotRegexp(t, `\\$`, lines[1])
	assert.Regexp(t, `^30 2 \* \* \* .*ftpsync mirror`, lines[1])

	assert.Contains(t, cmd, "go build -o ftpsync ./cmd/ftpsync")
	assert.Contains(t, cmd, "SSL_CERT_FILE")
	assert.NotContains(t, all, ":xxxxx@", "one mask style: ****")
}
