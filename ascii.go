package ftp

import (
	"bufio"
	"context"
	"io"
)

// RetrASCII downloads a text file in ASCII mode (TYPE A), as mainframe
// (MVS, OS/400) and some Windows servers need for text: the server sends
// lines ending in CRLF (RFC 959's NVT-ASCII), and the Response turns each
// CRLF into LF; a CR alone is kept. TYPE I is back in force when the
// Response is closed (if it cannot be restored, the Conn is closed, so
// that no later transfer runs in ASCII mode). The size in the server's
// 150 reply is not checked: it counts the stored bytes, not those sent.
func (c *Conn) RetrASCII(ctx context.Context, path string) (*Response, error) {
	return c.download(ctx, path, 0, true)
}

// StorASCII uploads text to a file (STOR) in ASCII mode (TYPE A), then
// goes back to TYPE I: each LF of r that does not follow a CR goes out as
// CRLF, and the server stores lines in its own form. If TYPE I cannot be
// restored, the Conn is closed, so that no later transfer runs in ASCII
// mode.
func (c *Conn) StorASCII(ctx context.Context, path string, r io.Reader) error {
	return c.locked(ctx, func() error {
		if err := c.setType(ctx, "A"); err != nil {
			return err
		}
		err := c.store(ctx, "STOR", path, &crlfEncoder{src: r}, 0, nil)
		if terr := c.setType(ctx, "I"); terr != nil && err == nil {
			err = terr
		}
		return err
	})
}

// setType sends TYPE. When TYPE I (the type every other transfer relies
// on) fails, the connection is closed: a later binary transfer in ASCII
// mode would alter its data.
func (c *Conn) setType(ctx context.Context, typ string) error {
	_, err := c.expect(ctx, 2, "TYPE", typ)
	if err != nil && typ == "I" {
		err = errorf("%w (the connection is closed: it may still be in ASCII mode)", err)
		c.ctl.close(err)
	}
	return err
}

// crlfDecoder reads NVT-ASCII text and turns each CRLF into LF, also when
// the two bytes come in different reads; a CR not followed by LF, and a
// CR at the very end, are kept.
type crlfDecoder struct {
	src *bufio.Reader
}

// Read decodes into p. It returns io.EOF, or the source's error, only
// once everything before it has been returned.
func (d *crlfDecoder) Read(p []byte) (int, error) {
	w := 0
	for w < len(p) {
		if d.src.Buffered() == 0 {
			if w > 0 {
				return w, nil
			}
			if _, err := d.src.Peek(1); err != nil {
				return 0, err
			}
		}
		in, _ := d.src.Peek(d.src.Buffered())
		i := 0
		for i < len(in) && w < len(p) {
			b := in[i]
			if b == '\r' && i+1 == len(in) {
				break // the next byte decides
			}
			if b == '\r' && in[i+1] == '\n' {
				b = '\n'
				i++
			}
			p[w] = b
			w++
			i++
		}
		d.src.Discard(i)
		if i < len(in) && w < len(p) { // a CR ends what is buffered
			if w > 0 {
				return w, nil // its next byte may need a wait
			}
			next, err := d.src.Peek(2)
			if len(next) < 2 {
				if err != io.EOF {
					return 0, err
				}
				p[0] = '\r' // the last byte of the data
				d.src.Discard(1)
				return 1, nil
			}
		}
	}
	return w, nil
}

// crlfEncoder reads text and sends each LF that does not follow a CR as
// CRLF (NVT-ASCII), also when the CR came at the end of the previous read.
type crlfEncoder struct {
	src    io.Reader
	prevCR bool   // the last byte read was CR
	buf    []byte // read from src
	out    []byte // encoded, not yet returned
	err    error  // from src, returned once out is empty
}

func (e *crlfEncoder) Read(p []byte) (int, error) {
	if len(e.out) == 0 {
		if e.err != nil {
			return 0, e.err
		}
		if e.buf == nil {
			e.buf = make([]byte, 32<<10)
		}
		var n int
		n, e.err = e.src.Read(e.buf)
		if n == 0 {
			return 0, e.err
		}
		e.out = e.out[:0]
		for _, b := range e.buf[:n] {
			if b == '\n' && !e.prevCR {
				e.out = append(e.out, '\r')
			}
			e.out = append(e.out, b)
			e.prevCR = b == '\r'
		}
	}
	n := copy(p, e.out)
	e.out = e.out[n:]
	return n, nil
}

// restoreType puts an ASCII download's Conn back in TYPE I, once, unless
// the connection is closed already.
func (r *Response) restoreType() error {
	if r.ascii == nil || r.typeRestored {
		return nil
	}
	r.typeRestored = true
	c := r.t.c
	if c.ctl.closedErr() != nil {
		return nil
	}
	ctx := r.t.ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), abortGrace)
		defer cancel()
	}
	return c.setType(ctx, "I")
}
