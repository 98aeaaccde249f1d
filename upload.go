package ftp

import (
	"context"
	"crypto/tls"
	"io"
	"os"
	"time"
)

// Stor uploads r to a file (STOR), replacing it. It returns after the
// server confirmed the file with its final reply.
func (c *Conn) Stor(ctx context.Context, path string, r io.Reader) error {
	return c.upload(ctx, "STOR", path, r, 0, nil)
}

// StorFrom writes r into a file from byte offset on (REST, then STOR), to
// resume an upload: r must start at that offset of the local file.
func (c *Conn) StorFrom(ctx context.Context, path string, r io.Reader, offset int64) error {
	if offset < 0 {
		return errorf("StorFrom %s: negative offset %d", path, offset)
	}
	return c.upload(ctx, "STOR", path, r, offset, nil)
}

// Append appends r to a file (APPE), creating it if needed.
func (c *Conn) Append(ctx context.Context, path string, r io.Reader) error {
	return c.upload(ctx, "APPE", path, r, 0, nil)
}

// upload sends r over a data connection. Data goes out at once (servers
// that omit the 1xx wait for it); a server that refuses it midway breaks
// the data connection, and its reply says why.
// progress, when not nil, is told of the bytes as they go, by whatever
// path they take (sendfile included).
func (c *Conn) upload(ctx context.Context, verb, path string, r io.Reader, offset int64, progress func(n int64)) error {
	return c.locked(ctx, func() error { return c.store(ctx, verb, path, r, offset, progress) })
}

// store is upload for a caller that holds the lock.
func (c *Conn) store(ctx context.Context, verb, path string, r io.Reader, offset int64, progress func(n int64)) error {
	t, err := c.startTransfer(ctx, verb, path, offset)
	if err != nil {
		return err
	}
	t.onData = progress
	if _, err = t.copyFrom(r); err != nil {
		err = t.abandon(err)
		if t.werr != nil && t.watch.cancelErr() == nil {
			// The server refused or broke the data connection: its reply
			// says why, and the data connection's error (often our own
			// interruption of it) adds nothing.
			if ferr := t.rep.failed(t.c.tls != nil); ferr != nil {
				return ferr
			}
		}
		return err
	}
	return t.finish()
}

// copyFrom sends an upload's data, and stops at once if the server
// refuses meanwhile: a server may keep the data connection open after its
// refusal, and read nothing. Over plain TCP the first quietUpload bytes go
// out before anything listens for the replies (the socket buffers take
// that much whatever the server does), so that an upload of a small file
// reads its replies on the caller's goroutine; past that, a listener hears
// them. Over TLS the listener comes first: the handshake needs the
// server's answer, and a server that refuses keeps the data connection
// open without one (vsftpd, pure-ftpd).
func (t *transfer) copyFrom(r io.Reader) (int64, error) {
	var n int64
	if t.c.cfg.proxy != nil {
		t.awaitCommandTaken()
	}
	if _, plain := t.plainTCP(); plain && t.rep.ch == nil {
		var err error
		if n, err = t.copyUpTo(r, quietUpload); err != nil || n < quietUpload {
			return n, err
		}
	}
	t.rep.listen()
	if t.rep.guard(t.interruptData) {
		t.werr = errorf("%s: refused while its data went out", t.cmd)
		return n, t.werr
	}
	m, err := t.copyUpTo(r, -1)
	return n + m, err
}

// awaitCommandTaken waits, boundedly, for the server's first reply to an
// upload command before any data goes, where the two connections do not
// keep their order: through a proxy, which relays them independently, the
// data can reach the server before the command. pyftpdlib takes data on a
// data connection it expects nothing on for a disconnection and closes it,
// then answers the STOR "150 File status okay. About to open data
// connection." and waits for ever (TestInteropProxy: one upload in two).
func (t *transfer) awaitCommandTaken() {
	t.rep.listen()
	t.awaitPreliminary()
}

// quietUpload is what an upload sends before anything reads its replies.
// Linux buffers at least 16 KiB to send and 128 KiB to receive on a TCP
// connection by default (tcp_wmem, tcp_rmem).
const quietUpload = 64 << 10

// copyUpTo sends r, or limit bytes of it when limit >= 0: by sendfile from
// an *os.File (or an io.LimitedReader of one) over plain TCP, else by
// copying.
func (t *transfer) copyUpTo(r io.Reader, limit int64) (int64, error) {
	if tc, ok := t.plainTCP(); ok {
		switch src := r.(type) {
		case *os.File:
			return t.sendFrom(tc, src, limit)
		case *io.LimitedReader:
			if f, ok := src.R.(*os.File); ok {
				want := max(src.N, 0)
				if limit >= 0 {
					want = min(want, limit)
				}
				n, err := t.sendFrom(tc, f, want)
				src.N -= n
				return n, err
			}
		}
	}
	if limit < 0 {
		return io.Copy(writerFunc(t.limitedWrite), r)
	}
	n, err := io.CopyN(writerFunc(t.limitedWrite), r, limit)
	if err == io.EOF {
		err = nil // r ended first
	}
	return n, err
}

// closeTLSUpload ends a TLS upload cleanly: close_notify, so the server can
// tell a complete file from a truncated one, then drain what the server
// sends (unread session tickets would turn the close into a TCP reset and
// lose the tail of the file) until it closes, its final reply arrives, or
// a bounded wait ends: some servers never answer close_notify.
func (t *transfer) closeTLSUpload(tc *tls.Conn) {
	if err := tc.Handshake(); err != nil { // zero-byte uploads never started it
		return
	}
	if t.n == 0 {
		t.awaitPreliminary()
	}
	if tc.CloseWrite() != nil {
		return
	}
	tc.SetReadDeadline(time.Now().Add(min(5*time.Second, t.c.cfg.timeout)))
	drained := make(chan struct{})
	go func() {
		io.Copy(io.Discard, tc)
		close(drained)
	}()
	for {
		select {
		case <-drained:
			return
		case res := <-t.rep.pending():
			t.rep.take(res)
			if t.rep.complete() {
				tc.SetReadDeadline(aLongTimeAgo)
				<-drained
				return
			}
		}
	}
}

// emptyUploadWait bounds the wait of an empty TLS upload for the server's
// 150 before it closes the data connection.
const emptyUploadWait = 5 * time.Second

// awaitPreliminary waits, boundedly, for the first reply to an upload
// that sent no data: some FTPS servers send their 150 only after the data
// connection's TLS handshake, and answer 425 to one closed before it (as
// curl does, the client waits). A server that sends no 1xx costs the
// bound, once per empty upload.
func (t *transfer) awaitPreliminary() {
	if len(t.rep.got) > 0 || t.rep.pending() == nil {
		return
	}
	timer := time.NewTimer(min(emptyUploadWait, t.c.cfg.timeout))
	defer timer.Stop()
	select {
	case res := <-t.rep.pending():
		t.rep.take(res)
	case <-timer.C:
	case <-t.ctx.Done():
	}
}
