package ftp

import "syscall"

// rcvLowatSupported reports whether the poller honours SO_RCVLOWAT: on
// Linux, epoll reports a TCP socket readable only once the mark is reached
// (or the data end).
const rcvLowatSupported = true

func setRcvLowat(fd uintptr, mark int) error {
	return syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, mark)
}
