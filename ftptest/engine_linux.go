package ftptest

import (
	"encoding/binary"
	"net"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// orderWatch tells whether the client closed the data connection before
// anything more came on the control connection. It asks the kernel
// (TCP_INFO) in turn, as fast as it can, whether the data connection is
// still established and how many bytes the control connection has
// received (so that a command the session has read meanwhile changes
// nothing). It says "closed first" only when that is certain: the data
// connection seen closed, then the control connection's count seen
// unmoved. When the two come closer together than one look (about a
// microsecond), the session is kept. It spins only while a transfer of a
// server with WithSessionDropOnEarlyClose runs.
type orderWatch struct {
	ctl, data int // duplicates of the sockets
	base      uint64
	quit      atomic.Bool
	done      chan struct{}
	dataFirst bool
}

// watchOrder starts watching ctl and data, or returns nil if it cannot.
func watchOrder(ctl, data net.Conn) *orderWatch {
	w := &orderWatch{ctl: dupFD(ctl), data: dupFD(data), done: make(chan struct{})}
	var err error
	if w.ctl < 0 || w.data < 0 {
		err = syscall.EBADF
	} else {
		w.base, _, err = tcpInfo(w.ctl)
	}
	if err != nil {
		w.closeFDs()
		return nil
	}
	go w.run()
	return w
}

// dupFD duplicates the socket of conn, or returns -1.
func dupFD(conn net.Conn) int {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return -1
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	raw.Control(func(s uintptr) {
		if d, err := syscall.Dup(int(s)); err == nil {
			fd = d
		}
	})
	return fd
}

func (w *orderWatch) run() {
	defer close(w.done)
	const established = 1
	for !w.quit.Load() {
		_, state, err := tcpInfo(w.data)
		if err != nil {
			return
		}
		got, _, err := tcpInfo(w.ctl)
		switch {
		case err != nil:
			return
		case state != established:
			w.dataFirst = got == w.base
			return
		case got != w.base:
			// A command came; the data connection was open just before,
			// and is again (or the verdict is left to the next look).
			if _, state, err := tcpInfo(w.data); err != nil || state == established {
				return
			}
		}
	}
}

// stop ends the watch, after waiting (boundedly) for a verdict if wait,
// and reports whether the data connection closed first. It closes the
// duplicates, so that closing the connections closes the sockets.
func (w *orderWatch) stop(wait bool) (dataFirst bool) {
	if wait {
		select {
		case <-w.done:
		case <-time.After(dataTimeout):
		}
	}
	w.quit.Store(true)
	<-w.done
	w.closeFDs()
	return w.dataFirst
}

func (w *orderWatch) closeFDs() {
	for _, fd := range []int{w.ctl, w.data} {
		if fd >= 0 {
			syscall.Close(fd)
		}
	}
}

// tcpInfo returns tcpi_bytes_received (Linux 4.1 and later: the bytes the
// socket has received, in order) and tcpi_state of the TCP socket fd.
func tcpInfo(fd int) (received uint64, state byte, err error) {
	const offset = 128 // after 8 one-byte fields, 24 uint32 and 3 uint64
	var info [256]byte
	size := uint32(len(info))
	_, _, errno := syscall.Syscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), syscall.IPPROTO_TCP, syscall.TCP_INFO,
		uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&size)), 0)
	if errno != 0 {
		return 0, 0, errno
	}
	if size < offset+8 {
		return 0, 0, syscall.ENOTSUP
	}
	return binary.NativeEndian.Uint64(info[offset:]), info[0], nil
}
