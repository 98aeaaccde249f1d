package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"strings"

	"github.com/pasvport/ftp"
	"github.com/pasvport/ftp/ftptest"
)

// demo starts an ftptest server and runs the same session in passive and
// in active mode, printing what it does.
func demo(ctx context.Context, out io.Writer) error {
	srv := ftptest.NewServer()
	defer srv.Close()
	srv.WriteFile("/pub/readme.txt", []byte("Welcome to the ftp demo.\n"))
	srv.WriteFile("/pub/data/numbers.csv", []byte("n,square\n1,1\n2,4\n3,9\n"))
	fmt.Fprintf(out, "test server listening on %s (%s)\n", srv.Addr(), srv.URL())

	modes := []struct {
		name string
		opt  ftp.Option
	}{
		{"passive (EPSV, then PASV)", ftp.WithPassive()},
		{"active (PORT/EPRT)", ftp.WithActive()},
	}
	for _, m := range modes {
		fmt.Fprintf(out, "\n== %s ==\n", m.name)
		if err := session(ctx, out, srv.URL(), m.opt); err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
	}
	fmt.Fprintln(out, "\ndemo finished: every step succeeded")
	return nil
}

// session logs in, lists, uploads, downloads and checks, then quits,
// with the protocol trace.
func session(ctx context.Context, out io.Writer, url string, mode ftp.Option) error {
	opts := []ftp.Option{mode, ftp.WithDebug(prefixWriter{out, "    | "})}
	fmt.Fprintln(out, "dial and log in")
	c, err := ftp.DialURL(ctx, url, opts...)
	if err != nil {
		return err
	}
	defer c.Quit(ctx)

	fmt.Fprintln(out, "list /pub (MLSD)")
	entries, err := c.List(ctx, "/pub")
	if err != nil {
		return err
	}
	for _, e := range entries {
		fmt.Fprintf(out, "  %-4s %8d  %s  %s\n", e.Type, e.Size, e.ModTime.Format("2006-01-02 15:04"), e.Name)
	}

	payload := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	fmt.Fprintf(out, "upload /pub/upload.bin (%d bytes)\n", len(payload))
	if err := c.Stor(ctx, "/pub/upload.bin", bytes.NewReader(payload)); err != nil {
		return err
	}
	size, err := c.FileSize(ctx, "/pub/upload.bin")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "server says the size is %d bytes\n", size)

	fmt.Fprintln(out, "download /pub/upload.bin")
	r, err := c.Retr(ctx, "/pub/upload.bin")
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(h, r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	want := sha256.Sum256(payload)
	if !bytes.Equal(h.Sum(nil), want[:]) {
		return fmt.Errorf("downloaded data differs from the upload")
	}
	fmt.Fprintf(out, "downloaded %d bytes, SHA-256 matches the upload: %x\n", n, want[:8])
	return c.Delete(ctx, "/pub/upload.bin")
}

// prefixWriter indents the protocol trace.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	lines := strings.SplitAfter(string(b), "\n")
	for _, l := range lines {
		if l != "" {
			fmt.Fprint(p.w, p.prefix+l)
		}
	}
	return len(b), nil
}
