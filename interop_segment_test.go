//go:build interop

// Segmented downloads (WithSegments) against the four real servers, and
// one TLS instance (issue 19, item 4). Run with:
//
//	FTP_INTEROP=required go test -tags interop -run TestInteropSegments -count=1 -v .

package ftp_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pasvport/ftp"
)

// restOffsets are the offsets of the REST commands in sent, sorted.
func restOffsets(t *testing.T, sent []string) []int64 {
	var out []int64
	for _, c := range withPrefix(sent, "REST ") {
		n, err := strconv.ParseInt(strings.TrimPrefix(c, "REST "), 10, 64)
		require.NoError(t, err)
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// TestInteropSegments checks on each real server, plainly and over TLS on
// vsftpd: a download in 4 segments (REST, RETR, ABOR on 4 connections) is
// byte-identical and gets the remote time; killed mid-way (plain only:
// the child dials without TLS), it resumes each unfinished segment where
// its record says and fetches no finished one.
func TestInteropSegments(t *testing.T) {
	env := interopEnv(t)
	type target struct{ server, instance string }
	targets := []target{{"vsftpd", "PLAIN"}, {"proftpd", "PLAIN"}, {"pureftpd", "PLAIN"}, {"pyftpdlib", "PLAIN"}, {"vsftpd", "TLS"}}
	for _, tg := range targets {
		t.Run(tg.server+"/"+tg.instance, func(t *testing.T) {
			key := strings.ToUpper(tg.server) + "_" + tg.instance
			addr, dataDir := env[key+"_ADDR"], env[key+"_DATA"]
			if addr == "" || dataDir == "" {
				interopMissing(t, key+" did not start")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			url := fmt.Sprintf("ftp://%s:%s@%s/", env["FTP_USER"], env["FTP_PASS"], addr)
			opts := []ftp.Option{ftp.WithTimeout(15 * time.Second)}
			if tg.instance == "TLS" {
				opts = append(opts, ftp.WithExplicitTLS(tlsConfig(env)))
			}
			trace := &traceBuffer{}
			p, err := ftp.NewPool(url, 4, append(opts, ftp.WithDebug(trace))...)
			require.NoError(t, err)
			defer p.Close()
			dir := fmt.Sprintf("segment-%d-%d", os.Getpid(), time.Now().UnixNano())
			require.NoError(t, p.MakeDir(ctx, dir))
			defer func() {
				if err := p.RemoveAll(context.Background(), dir); err != nil {
					t.Logf("RemoveAll %s: %v", dir, err)
				}
				os.RemoveAll(filepath.Join(dataDir, dir))
			}()
			const size = 6<<20 + 3
			data := randomData(t, size)
			remote := path.Join(dir, "big")
			require.NoError(t, p.Do(ctx, func(c *ftp.Conn) error { return c.Stor(ctx, remote, bytes.NewReader(data)) }))
			mod := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
			require.NoError(t, os.Chtimes(filepath.Join(dataDir, dir, "big"), mod, mod))
			local := t.TempDir()

			trace.sent()
			dst := filepath.Join(local, "big")
			require.NoError(t, p.Download(ctx, remote, dst, ftp.WithSegments(4)))
			sent, tr := trace.sent()
			got, err := os.ReadFile(dst)
			require.NoError(t, err)
			require.True(t, bytes.Equal(data, got), "byte-identical")
			assert.Len(t, restOffsets(t, sent), 3, "4 segments, 3 with REST: %s", tr)
			assert.Len(t, withPrefix(sent, "ABOR"), 3, "each segment but the last ended with ABOR")
			fi, err := os.Stat(dst)
			require.NoError(t, err)
			assert.True(t, fi.ModTime().Equal(mod), "the remote time: %v", fi.ModTime())
			assert.NoFileExists(t, ftp.PartName(dst)+".meta")

			if tg.instance != "PLAIN" {
				return
			}
			dst = filepath.Join(local, "killed")
			ftp.KilledSegmentedForTest(t, url, remote, dst, 4, size/2)
			left, finished := ftp.SegmentsLeftForTest(t, dst)
			t.Logf("%s: killed with %d segments finished, the others to resume at %v", tg.server, finished, left)
			require.NotEmpty(t, left)
			trace.sent()
			require.NoError(t, p.Download(ctx, remote, dst, ftp.WithSegments(4)))
			sent, tr = trace.sent()
			got, err = os.ReadFile(dst)
			require.NoError(t, err)
			require.True(t, bytes.Equal(data, got), "byte-identical after the resume")
			assert.Len(t, withPrefix(sent, "RETR "), len(left), "finished segments not fetched again: %s", tr)
			var rest []int64
			for _, at := range left {
				if at > 0 {
					rest = append(rest, at)
				}
			}
			assert.Equal(t, rest, restOffsets(t, sent), "resumed where the record said")
		})
	}
}
