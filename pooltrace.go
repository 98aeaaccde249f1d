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
//
// A Pool's connections are made for transfers: each asks for its first
// passive port at login, with FEAT and TYPE I (portAtLogin).
func (p *Pool) dialOpts() []Option {
	var cfg config
	for _, o := range p.opts {
		o(&cfg)
	}
	opts := append(slices.Clip(p.opts), portAtLogin)
	if cfg.debug == nil || p.max < 2 {
		return opts
	}
	tag := fmt.Sprintf("[%d] ", p.dials.Add(1))
	return append(opts, WithDebug(&taggedWriter{w: cfg.debug, tag: []byte(tag)}))
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

// portAtLogin has a session send its first EPSV or PASV in the same write
// as FEAT and TYPE I, so that its first transfer finds its port ready
// (pipeline.go): a round trip less for a connection that will transfer,
// as a Pool's do; one that never does holds a listening port on the server
// until it ends.
func portAtLogin(c *config) { c.portAtLogin = true }
