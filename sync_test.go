package ftp

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pasvport/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPartName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a.txt", ".a.txt.part"},
		{"/pub/a b.txt", "/pub/.a b.txt.part"},
		{"dir/sub/ü.bin", "dir/sub/.ü.bin.part"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, PartName(tt.in))
		assert.True(t, isPartName(filepath.Base(PartName(tt.in))))
	}
	assert.False(t, isPartName("a.part"))
}

func TestDownloadResume(t *testing.T) {
	data := randomBytes(t, 300_000)
	mod := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	tests := []struct {
		name   string
		part   int // bytes of a .part left locally; -1: none
		server []ftptest.ServerOption
	}{
		{"fresh", -1, nil},
		{"part at 1", 1, nil},
		{"part at half", len(data) / 2, nil},
		{"part complete", len(data), nil},
		{"part too long", len(data) + 10, nil},
		{"hash", 1000, []ftptest.ServerOption{ftptest.WithHash()}},
		{"X commands only", 1000, []ftptest.ServerOption{ftptest.WithHash(), ftptest.WithoutFeatures("HASH")}},
		{"without REST", 1000, []ftptest.ServerOption{ftptest.WithoutFeatures("REST")}},
		{"without MLST", 77, []ftptest.ServerOption{ftptest.WithoutMLSD()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.server...)
			srv.WriteFile("/d/f i l é.bin", data)
			require.NoError(t, srv.SetModTime("/d/f i l é.bin", mod))
			c := dialTest(t, srv)
			dir := t.TempDir()
			local := filepath.Join(dir, "out.bin")
			if tt.part >= 0 {
				// What an interrupted Download of this file leaves: the
				// part and the record of the remote file it came from.
				part := make([]byte, tt.part)
				copy(part, data)
				require.NoError(t, os.WriteFile(PartName(local), part, 0o644))
				r := partRecord{Version: recordVersion, Source: c.serverName() + " /d/f i l é.bin", Size: int64(len(data)), ModTime: mod}
				require.NoError(t, os.WriteFile(PartName(local)+".meta", r.encode(), 0o644))
			}
			var last, total int64
			calls := 0
			err := c.Download(context.Background(), "/d/f i l é.bin", local, WithProgress(func(d, n int64) {
				require.GreaterOrEqual(t, d, last)
				last, total = d, n
				calls++
			}))
			require.NoError(t, err)
			got, err := os.ReadFile(local)
			require.NoError(t, err)
			require.Equal(t, data, got)
			assert.NoFileExists(t, PartName(local))
			fi, err := os.Stat(local)
			require.NoError(t, err)
			assert.True(t, fi.ModTime().Equal(mod), "mtime %v", fi.ModTime())
			assert.Equal(t, int64(len(data)), last)
			assert.Equal(t, int64(len(data)), total)
			assert.Positive(t, calls)
			if tt.part > 0 && tt.part < len(data) && tt.name != "without REST" {
				assert.Contains(t, srv.Commands(), "REST "+strconv.Itoa(tt.part))
			}
		})
	}
}

func TestDownloadTruncatedResumes(t *testing.T) {
	data := randomBytes(t, 100_000)
	srv := newServer(t, ftptest.WithTruncate(30_000, "426 Connection closed\r\n"))
	srv.WriteFile("big", data)
	c := dialTest(t, srv)
	local := filepath.Join(t.TempDir(), "big")
	var err error
	attempts := 0
	for attempts = 1; attempts <= 10; attempts++ {
		if err = c.Download(context.Background(), "big", local); err == nil {
			break
		}
		fi, serr := os.Stat(PartName(local))
		require.NoError(t, serr)
		require.Equal(t, min(int64(30_000*attempts), 100_000), fi.Size())
	}
	require.NoError(t, err)
	assert.Equal(t, 5, attempts, "four cut transfers, the last one complete but for its 426, then the check")
	got, err := os.ReadFile(local)
	require.NoError(t, err)
	require.Equal(t, data, got)
}

func TestDownloadChecksumMismatch(t *testing.T) {
	srv := newServer(t, ftptest.WithHash(),
		ftptest.WithRawReply("HASH", "213 SHA-256 0-5 0000000000000000000000000000000000000000000000000000000000000000 f\r\n"))
	srv.WriteFile("f", []byte("hello"))
	c := dialTest(t, srv)
	local := filepath.Join(t.TempDir(), "f")
	err := c.Download(context.Background(), "f", local)
	require.ErrorIs(t, err, ErrChecksumMismatch)
	assert.NoFileExists(t, local)
	assert.NoFileExists(t, PartName(local), "a bad part is removed")
}

func TestUploadResume(t *testing.T) {
	data := randomBytes(t, 250_000)
	mod := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name   string
		part   int
		server []ftptest.ServerOption
		want   string // the command that resumes
	}{
		{"fresh", -1, nil, ""},
		{"part at 1", 1, nil, "REST 1"},
		{"part at half", len(data) / 2, []ftptest.ServerOption{ftptest.WithHash()}, "REST 125000"},
		{"part complete", len(data), nil, ""},
		{"part too long", len(data) + 3, nil, ""},
		{"APPE without REST", 4096, []ftptest.ServerOption{ftptest.WithoutFeatures("REST")}, "APPE /up/.é x.bin.part"},
		{"without MFMT", 10, []ftptest.ServerOption{ftptest.WithoutFeatures("MFMT")}, "REST 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.server...)
			srv.MkdirAll("/up")
			srv.WriteFile("/up/é x.bin", []byte("old contents"))
			local := filepath.Join(t.TempDir(), "src.bin")
			require.NoError(t, os.WriteFile(local, data, 0o644))
			require.NoError(t, os.Chtimes(local, mod, mod))
			lowerMinResumable(t, 1)
			if tt.part >= 0 {
				// What an interrupted Upload of this file leaves: the part
				// and the record of the local file it came from.
				part := make([]byte, tt.part)
				copy(part, data)
				plantRemotePart(t, srv, "/up/é x.bin", local, part, tt.part, true)
			}
			c := dialTest(t, srv)
			var last int64
			require.NoError(t, c.Upload(context.Background(), local, "/up/é x.bin", WithProgress(func(d, n int64) {
				last = d
				assert.Equal(t, int64(len(data)), n)
			})))
			got, err := srv.ReadFile("/up/é x.bin")
			require.NoError(t, err)
			require.Equal(t, data, got)
			_, err = srv.Stat("/up/.é x.bin.part")
			require.ErrorIs(t, err, os.ErrNotExist)
			assert.Equal(t, int64(len(data)), last)
			fi, err := srv.Stat("/up/é x.bin")
			require.NoError(t, err)
			if tt.name != "without MFMT" {
				assert.True(t, fi.ModTime().Equal(mod), "mtime %v", fi.ModTime())
			}
			if tt.want != "" {
				assert.Contains(t, srv.Commands(), tt.want)
			}
		})
	}
}

func TestUploadChecksumMismatchRemovesPart(t *testing.T) {
	srv := newServer(t, ftptest.WithHash())
	data := []byte("0123456789")
	local := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(local, data, 0o644))
	lowerMinResumable(t, 1)
	plantRemotePart(t, srv, "f", local, []byte("XXXXX"), 5, true) // a corrupt part, recorded as this file's
	c := dialTest(t, srv)
	err := c.Upload(context.Background(), local, "f")
	require.ErrorIs(t, err, ErrChecksumMismatch)
	_, err = srv.Stat(".f.part")
	require.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, c.Upload(context.Background(), local, "f"))
	got, err := srv.ReadFile("f")
	require.NoError(t, err)
	assert.Equal(t, data, got)
}

func TestDownloadErrors(t *testing.T) {
	srv := newServer(t)
	srv.MkdirAll("/dir")
	c := dialTest(t, srv)
	local := filepath.Join(t.TempDir(), "x")
	err := c.Download(context.Background(), "/missing", local)
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), "download /missing to")
	require.Error(t, c.Download(context.Background(), "/dir", local))
	err = c.Upload(context.Background(), filepath.Join(t.TempDir(), "nope"), "/x")
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), "upload ")
}

func TestRemoteChecksum(t *testing.T) {
	tests := []struct {
		name   string
		opts   []ftptest.ServerOption
		algo   string
		unsupp bool
	}{
		{"HASH", []ftptest.ServerOption{ftptest.WithHash()}, "SHA-256", false},
		{"XSHA256", []ftptest.ServerOption{ftptest.WithHash(), ftptest.WithoutFeatures("HASH")}, "SHA-256", false},
		{"XMD5 only", []ftptest.ServerOption{ftptest.WithHash(), ftptest.WithoutFeatures("HASH", "XSHA256", "XSHA1")}, "MD5", false},
		{"XCRC only", []ftptest.ServerOption{ftptest.WithHash(), ftptest.WithoutFeatures("HASH", "XSHA256", "XSHA1", "XMD5")}, "CRC32", false},
		{"none", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.opts...)
			srv.WriteFile("f", []byte("hello"))
			c := dialTest(t, srv)
			algo, sum, err := c.RemoteChecksum(context.Background(), "f")
			if tt.unsupp {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.algo, algo)
			local := filepath.Join(t.TempDir(), "f")
			require.NoError(t, os.WriteFile(local, []byte("hello"), 0o644))
			want, err := localChecksum(local, algo)
			require.NoError(t, err)
			assert.Equal(t, want, sum)
		})
	}
}

func TestDownloadUnknownHashAlgorithmIgnored(t *testing.T) {
	sum := strings.Repeat("ab", 64) // a SHA-512 this package does not compute
	srv := newServer(t, ftptest.WithHash(), ftptest.WithRawReply("HASH", "213 SHA-512 0-5 "+sum+" f\r\n"))
	srv.WriteFile("f", []byte("hello"))
	c := dialTest(t, srv)
	local := filepath.Join(t.TempDir(), "f")
	require.NoError(t, c.Download(context.Background(), "f", local))
	got, err := os.ReadFile(local)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(got))
}

// TestProgressKeepsZeroCopy: WithProgress over plain TCP still moves the
// file by sendfile and splice, reporting once per chunk (a few calls for
// 16 MiB) instead of once per buffer of a user-space copy (hundreds); over
// TLS the copy reports per piece. Either way the reports rise to the size.
func TestProgressKeepsZeroCopy(t *testing.T) {
	data := randomBytes(t, 16<<20)
	for _, tt := range []struct {
		name     string
		tls      bool
		maxCalls int
	}{{"plain", false, 64}, {"TLS", true, 1 << 20}} {
		t.Run(tt.name, func(t *testing.T) {
			var srv *ftptest.Server
			var opts []Option
			if tt.tls {
				srv = newServer(t, ftptest.WithExplicitTLS())
				opts = append(opts, WithExplicitTLS(srv.ClientTLSConfig()))
			} else {
				srv = newServer(t)
			}
			c := dialTest(t, srv, opts...)
			ctx := context.Background()
			local := filepath.Join(t.TempDir(), "src.bin")
			require.NoError(t, os.WriteFile(local, data, 0o644))
			for _, dir := range []string{"up", "down"} {
				var last int64
				calls := 0
				progress := WithProgress(func(d, n int64) {
					assert.GreaterOrEqual(t, d, last, dir)
					assert.Equal(t, int64(len(data)), n, dir)
					last = d
					calls++
				})
				if dir == "up" {
					require.NoError(t, c.Upload(ctx, local, "/f.bin", progress))
				} else {
					require.NoError(t, c.Download(ctx, "/f.bin", local+".down", progress))
					got, err := os.ReadFile(local + ".down")
					require.NoError(t, err)
					assert.True(t, bytes.Equal(data, got), "downloaded bytes")
				}
				assert.Equal(t, int64(len(data)), last, dir)
				assert.LessOrEqual(t, calls, tt.maxCalls, "%s: reports", dir)
				t.Logf("%s: %d progress reports", dir, calls)
			}
			stored, err := srv.ReadFile("/f.bin")
			require.NoError(t, err)
			assert.True(t, bytes.Equal(data, stored), "uploaded bytes")
		})
	}
}

// TestChunkSizes: a zero-copy chunk lasts a quarter of the timeout at the
// last rate, or progressEvery when progress is reported, within
// [minChunk, maxChunk].
func TestChunkSizes(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name     string
		timeout  time.Duration
		progress bool
		n        int64
		took     time.Duration
		want     int64
	}{
		{"1 MB/s, 40 s timeout", 40 * time.Second, false, mb, time.Second, 10 * mb},
		{"1 MB/s, with progress", 40 * time.Second, true, mb, time.Second, mb / 4},
		{"1 MB/s, 400 ms timeout, with progress", 400 * time.Millisecond, true, mb, time.Second, mb / 10},
		{"slow link: at least minChunk", 40 * time.Second, true, 1000, time.Second, minChunk},
		{"fast: at most maxChunk", 40 * time.Second, true, 1 << 30, time.Second, maxChunk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &transfer{c: &Conn{cfg: config{timeout: tt.timeout}}}
			if tt.progress {
				tr.onData = func(int64) {}
			}
			ch := tr.newChunker()
			assert.Equal(t, int64(minChunk), ch.size, "the first chunk")
			ch.took(tt.n, tt.took)
			assert.InDelta(t, tt.want, ch.size, float64(tt.want)/100)
		})
	}
}
