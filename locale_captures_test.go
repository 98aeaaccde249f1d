package ftp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// TestLocalisedServerCaptures parses the LIST that GNU ls -l gave under
// four CJK locales on the lab's pyftpdlib-ls* servers: every line is an
// entry with its name, type and time (the minute this year, the day
// before), none EntryOther; under zh_CN.GBK detection reads the names.
func TestLocalisedServerCaptures(t *testing.T) {
	now := time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC)
	tests := []struct {
		file, name string
	}{
		{"pyftpdlib-lszh.LIST", "中文.txt"},
		{"pyftpdlib-lsgbk.LIST", "中文.txt"},
		{"pyftpdlib-lsja.LIST", "日本語.txt"},
		{"pyftpdlib-lsko.LIST", "한국어.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "ls-locales-servers", tt.file))
			require.NoError(t, err)
			p := newListParser(now, nil)
			var entries []*Entry
			for _, l := range strings.Split(strings.TrimRight(string(b), "\r\n"), "\n") {
				entries = p.feed(entries, strings.TrimSuffix(l, "\r"))
			}
			entries = p.flush(entries)
			c := &control{detect: newDetector([]encoding.Encoding{simplifiedchinese.GBK})}
			c.decodeEntries(entries)
			today := time.Date(2026, 12, 6, 20, 46, 0, 0, time.UTC)
			want := map[string]string{
				tt.name:     "file " + today.Format(time.RFC3339),
				"today.txt": "file " + today.Format(time.RFC3339),
				"sub":       "dir " + today.Format(time.RFC3339),
				"old.txt":   "file " + time.Date(2024, 1, 6, 0, 0, 0, 0, time.UTC).Format(time.RFC3339),
			}
			got := map[string]string{}
			for _, e := range entries {
				got[e.Name] = e.Type.String() + " " + e.ModTime.UTC().Format(time.RFC3339)
			}
			assert.Equal(t, want, got)
		})
	}
}
