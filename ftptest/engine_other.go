//go:build !linux

package ftptest

import "net"

// orderWatch is Linux only (engine_linux.go).
type orderWatch struct{}

// watchOrder cannot tell the order of events here.
func watchOrder(ctl, data net.Conn) *orderWatch { return nil }

func (w *orderWatch) stop(wait bool) bool { return false }
