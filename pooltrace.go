package ftp

import (
	"bytes"
	"fmt"
	"io"
	"slices"
)

// dialOpts are the options of a connection the Pool dials: its own, and
// when they trace (WithDebug) in a Pool of more than one connection, a
// trace whose lines begin with the connection's number, so that the lines
// of parallel connections, mixed in one writer, can be told apart.
func (p *Pool) dialOpts() []Option {
	var cfg config
	for _, o := range p.opts {
		o(&cfg)
	}
	if cfg.debug == nil || p.max < 2 {
		return p.opts
	}
	tag := fmt.Sprintf("[%d] ", p.dials.Add(1))
	return append(slices.Clip(p.opts), WithDebug(&taggedWriter{w: cfg.debug, tag: []byte(tag)}))
}

// taggedWriter writes each line with tag before it, in one Write.
type taggedWriter struct {
	w   io.Writer
	tag []byte
}

func (t *taggedWriter) Write(b []byte) (int, error) {
	var out []byte
	for line := range bytes.Lines(b) {
		out = append(append(out, t.tag...), line...)
	}
	if _, err := t.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}
