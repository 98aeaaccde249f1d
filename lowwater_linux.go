package ftp

import (
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// rcvLowatSupported reports whether the kernel honours SO_RCVLOWAT the way
// lowWater needs: epoll reports a TCP socket readable only once the mark
// is reached (or the data end), and lowering the mark wakes a reader that
// waits on bytes already there. The second came with Linux 4.18
// (tcp_set_rcvlowat); before it a lowered mark could leave those bytes
// waiting for the next packet. The kernel is asked at the first download,
// not at package init.
var rcvLowatSupported = sync.OnceValue(func() bool { return kernelAtLeast(4, 18) })

func setRcvLowat(fd uintptr, mark int) error {
	return syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, mark)
}

// kernelAtLeast reports whether the running kernel's release is at least
// major.minor.
func kernelAtLeast(major, minor int) bool {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return false
	}
	var b strings.Builder
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	return releaseAtLeast(b.String(), major, minor)
}

// releaseAtLeast compares a kernel release such as "6.1.0-13-amd64" with
// major.minor; an unreadable release counts as older.
func releaseAtLeast(release string, major, minor int) bool {
	maj, rest, _ := strings.Cut(release, ".")
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	ma, err1 := strconv.Atoi(maj)
	mi, err2 := strconv.Atoi(rest[:n])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}
