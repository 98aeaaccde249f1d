//go:build !linux

package ftp

import (
	"errors"
	"net"
	"time"
)

// poller is Linux-only (poller_linux.go): elsewhere newPoller returns nil,
// and a goroutine reads the replies of every transfer.
type poller struct {
	watch *watchdog
}

func newPoller(net.Conn, time.Duration) *poller { return nil }

func (p *poller) add(net.Conn) error           { return errNoPoller }
func (p *poller) remove(net.Conn)              {}
func (p *poller) wait() (data bool, err error) { return false, errNoPoller }
func (p *poller) close()                       {}

var errNoPoller = errors.New("ftp: no poller on this platform")
