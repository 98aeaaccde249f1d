package ftp

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"
)

// poller waits on the caller's goroutine until the control connection or
// a data connection has something to read. It is an epoll instance that
// holds both sockets, itself registered with Go's poller: an epoll
// descriptor is readable while any socket in it is.
//
// A download must hear a refusal while it waits for its first data (a
// server may keep the data connection open after "550 No such file").
// Waiting on both sockets at once does that without a listener goroutine
// handing the replies across: 13-15 % less client CPU per small download
// on vsftpd (bench/DECISIONS.md). Plain passive downloads on Linux use it;
// every other transfer has a listener (replies.go).
type poller struct {
	f     *os.File // the epoll instance
	raw   syscall.RawConn
	ctlFd int32
	watch *watchdog // the deadline and cancellation of a wait

	// The state of one wait, kept here so that a wait allocates nothing.
	poll func(ep uintptr) bool // polls once: p.pollOnce
	evs  [2]syscall.EpollEvent
	n    int
	err  error
}

// newPoller returns a poller for the plain TCP control connection nc,
// whose waits time out after timeout, or nil when nc is not plain TCP or
// the kernel refuses.
func newPoller(nc net.Conn, timeout time.Duration) *poller {
	ep, ctlFd := -1, -1
	err := withFd(nc, func(fd int) error {
		var err error
		if ep, err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC); err != nil {
			return err
		}
		if err = syscall.SetNonblock(ep, true); err == nil {
			err = epollCtl(ep, syscall.EPOLL_CTL_ADD, fd)
		}
		if err != nil {
			syscall.Close(ep)
		}
		ctlFd = fd
		return err
	})
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(ep), "epoll")
	raw, err := f.SyscallConn()
	// A file that Go's poller could not take has no deadlines: a wait on
	// it could not be bounded.
	if err != nil || f.SetReadDeadline(time.Time{}) != nil {
		f.Close()
		return nil
	}
	p := &poller{f: f, raw: raw, ctlFd: int32(ctlFd), watch: newWatchdog(f.SetDeadline, timeout)}
	p.poll = p.pollOnce
	return p
}

// errNotSocket is returned for a connection with no socket of its own.
var errNotSocket = errors.New("ftp: not a plain TCP connection")

// withFd calls fn with the socket of the plain TCP connection nc, which
// stays open until fn returns.
func withFd(nc net.Conn, fn func(fd int) error) error {
	raw, ok := rawSocket(nc)
	if !ok {
		return errNotSocket
	}
	var ferr error
	if err := raw.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// ctl runs one epoll_ctl operation on the socket of data.
func (p *poller) ctl(op int, data net.Conn) error {
	return withFd(data, func(fd int) error {
		var err error
		cerr := p.raw.Control(func(ep uintptr) { err = epollCtl(int(ep), op, fd) })
		return errors.Join(cerr, err)
	})
}

// epollCtl adds (or removes) fd to the epoll instance ep, for input and
// the peer's hang-up.
func epollCtl(ep, op, fd int) error {
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd)}
	return syscall.EpollCtl(ep, op, fd, &ev)
}

// add puts a data connection in the poller.
func (p *poller) add(data net.Conn) error { return p.ctl(syscall.EPOLL_CTL_ADD, data) }

// remove takes a data connection out of the poller again, so that it
// wakes no later wait (a parked connection stays open). A closed
// connection has left it already.
func (p *poller) remove(data net.Conn) { p.ctl(syscall.EPOLL_CTL_DEL, data) }

// wait blocks until the control or the data connection is readable (data,
// the end of the stream or an error), and reports whether the data
// connection is; it fails when the watchdog's deadline passes or the
// poller is closed.
func (p *poller) wait() (data bool, err error) {
	if err := p.raw.Read(p.poll); err != nil {
		return false, err
	}
	if p.err != nil {
		return false, os.NewSyscallError("epoll_wait", p.err)
	}
	for _, ev := range p.evs[:p.n] {
		data = data || ev.Fd != p.ctlFd
	}
	return data, nil
}

// pollOnce takes the ready events without waiting, and reports whether
// the wait is over: false sends Go's poller to wait for the epoll
// instance to become readable.
func (p *poller) pollOnce(ep uintptr) bool {
	p.n, p.err = syscall.EpollWait(int(ep), p.evs[:], 0)
	p.n = max(p.n, 0)
	return p.err != syscall.EINTR && (p.n > 0 || p.err != nil)
}

// close releases the epoll instance, ending any wait.
func (p *poller) close() {
	p.f.Close()
}
