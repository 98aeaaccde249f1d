package ftp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pasvport/ftp/ftptest"
)

// tlsServer starts an ftptest server that speaks FTPS in mode ("explicit"
// or "implicit"), requires TLS session reuse on data connections, and is
// limited to TLS version v.
func tlsServer(t *testing.T, mode string, v uint16) *ftptest.Server {
	t.Helper()
	opts := []ftptest.ServerOption{
		ftptest.WithRequireTLSReuse(),
		ftptest.WithTLSConfig(func(c *tls.Config) { c.MinVersion, c.MaxVersion = v, v }),
	}
	if mode == "implicit" {
		opts = append(opts, ftptest.WithImplicitTLS())
	} else {
		opts = append(opts, ftptest.WithExplicitTLS(), ftptest.WithRequireTLS())
	}
	return newServer(t, opts...)
}

// dialTLS dials srv in mode, trusting its certificate.
func dialTLS(t *testing.T, srv *ftptest.Server, mode string, opts ...Option) *Conn {
	t.Helper()
	cfg := srv.ClientTLSConfig()
	if mode == "implicit" {
		opts = append(opts, WithImplicitTLS(cfg))
	} else {
		opts = append(opts, WithExplicitTLS(cfg))
	}
	opts = append([]Option{WithTimeout(20 * time.Second)}, opts...)
	c, err := Dial(context.Background(), srv.Addr(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.Login(context.Background(), srv.User(), srv.Password()))
	return c
}

func TestTLSMatrix(t *testing.T) {
	versions := []struct {
		name string
		v    uint16
	}{{"TLS1.2", tls.VersionTLS12}, {"TLS1.3", tls.VersionTLS13}}
	for _, mode := range []string{"explicit", "implicit"} {
		for _, data := range []struct {
			name string
			opt  Option
		}{{"passive", WithPassive()}, {"active", WithActive()}} {
			for _, ver := range versions {
				t.Run(mode+"/"+data.name+"/"+ver.name, func(t *testing.T) {
					srv := tlsServer(t, mode, ver.v)
					c := dialTLS(t, srv, mode, data.opt)
					ctx := context.Background()

					payload := randomBytes(t, 16<<20)
					require.NoError(t, c.Stor(ctx, "big.bin", bytes.NewReader(payload)))
					stored, err := srv.ReadFile("big.bin")
					require.NoError(t, err)
					assert.Equal(t, sha256.Sum256(payload), sha256.Sum256(stored), "upload")
					assert.Equal(t, sha256.Sum256(payload), sha256.Sum256(retrAll(t, c, "big.bin")), "download")

					require.NoError(t, c.Stor(ctx, "empty", bytes.NewReader(nil)), "zero-byte upload")
					stored, err = srv.ReadFile("empty")
					require.NoError(t, err)
					assert.Empty(t, stored)

					for _, d := range srv.DataTLS() {
						assert.Equal(t, ver.v, d.Version)
						assert.True(t, d.Resumed, "every data connection resumed the control session")
					}
					assert.Zero(t, srv.TLSReuseRefusals())
					assert.Contains(t, srv.Commands(), "PBSZ 0")
					assert.Contains(t, srv.Commands(), "PROT P")
				})
			}
		}
	}
}

// Tickets get used up on some stacks: the 20th transfer on one control
// connection must still resume the control session.
func TestTLSManyTransfers(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		srv := tlsServer(t, "explicit", v)
		srv.WriteFile("f", []byte("again"))
		c := dialTLS(t, srv, "explicit")
		for i := range 20 {
			require.Equal(t, "again", string(retrAll(t, c, "f")), "transfer %d", i+1)
		}
		infos := srv.DataTLS()
		require.Len(t, infos, 20)
		assert.True(t, infos[19].Resumed)
		assert.Zero(t, srv.TLSReuseRefusals())
	}
}

func TestTLSFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("AUTH refused", func(t *testing.T) {
		srv := newServer(t) // no TLS
		_, err := Dial(ctx, srv.Addr(), WithExplicitTLS(nil), WithTimeout(5*time.Second))
		require.Error(t, err)
		var ferr *Error
		require.ErrorAs(t, err, &ferr)
		assert.Equal(t, "AUTH TLS", ferr.Cmd)
		assert.Contains(t, err.Error(), "refused TLS")
		assert.NotContains(t, srv.Commands(), "USER "+srv.User(), "never a clear-text login")
	})
	t.Run("certificate not trusted", func(t *testing.T) {
		srv := newServer(t, ftptest.WithExplicitTLS())
		_, err := Dial(ctx, srv.Addr(), WithExplicitTLS(nil), WithTimeout(5*time.Second))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "does not trust")
	})
	t.Run("certificate for another name", func(t *testing.T) {
		srv := newServer(t, ftptest.WithExplicitTLS())
		cfg := srv.ClientTLSConfig()
		cfg.ServerName = "ftp.example.invalid"
		_, err := Dial(ctx, srv.Addr(), WithExplicitTLS(cfg), WithTimeout(5*time.Second))
		require.Error(t, err)
		assert.Contains(t, err.Error(), `not valid for "ftp.example.invalid"`)
	})
	t.Run("implicit against a plain server", func(t *testing.T) {
		srv := newServer(t)
		_, err := Dial(ctx, srv.Addr(), WithImplicitTLS(srv.ClientTLSConfig()), WithTimeout(5*time.Second))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "TLS handshake")
	})
}

// The session cache of a Conn hands data connections the control
// session and ignores the tickets they receive.
func TestSessionCacheOnlyControlWrites(t *testing.T) {
	s := newSecure(nil, "host")
	assert.Equal(t, "host", s.control.ServerName)
	assert.Equal(t, "host", s.data.ServerName)
	control := &tls.ClientSessionState{}
	s.control.ClientSessionCache.Put("any", control)
	s.data.ClientSessionCache.Put("any", &tls.ClientSessionState{})
	got, ok := s.data.ClientSessionCache.Get("other key")
	require.True(t, ok)
	assert.Same(t, control, got)
}

func TestFTPSURL(t *testing.T) {
	srv := newServer(t, ftptest.WithImplicitTLS())
	srv.WriteFile("f", []byte("over ftps"))
	c, err := DialURL(context.Background(), srv.URL(), WithImplicitTLS(srv.ClientTLSConfig()), WithTimeout(5*time.Second))
	require.NoError(t, err)
	defer c.Close()
	r, err := c.Retr(context.Background(), "f")
	require.NoError(t, err)
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	assert.Equal(t, "over ftps", string(b))
	assert.NoError(t, c.Quit(context.Background()))
}

// sizeRecorder is a writer that records the size of each write.
type sizeRecorder struct{ sizes []int }

func (w *sizeRecorder) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	return len(p), nil
}

// TestWriteToLargeWrites: a TLS data connection returns at most one 16 KiB
// record per read, and Response.WriteTo gathers them so that its writer
// (a file: one write(2) each) gets at least 64 KiB at a time.
func TestWriteToLargeWrites(t *testing.T) {
	srv := tlsServer(t, "explicit", tls.VersionTLS13)
	payload := randomBytes(t, 4<<20)
	srv.WriteFile("big.bin", payload)
	c := dialTLS(t, srv, "explicit")
	r, err := c.Retr(context.Background(), "big.bin")
	require.NoError(t, err)
	var w sizeRecorder
	n, err := r.WriteTo(&w)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	assert.EqualValues(t, len(payload), n)
	require.NotEmpty(t, w.sizes)
	for i, size := range w.sizes[:len(w.sizes)-1] {
		assert.GreaterOrEqual(t, size, 64<<10, "write %d of %d", i+1, len(w.sizes))
	}
}
