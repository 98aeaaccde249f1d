package main

import (
	"bytes"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// readPassword reads a line from the terminal fd without echo, as
// getpass(3) does: echo goes off before the prompt is shown, so that
// nothing typed after the prompt is echoed (term.ReadPassword would have
// the prompt shown while echo is still on).
func readPassword(fd int, prompt *os.File, text string) ([]byte, error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	quiet.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return nil, err
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
	fmt.Fprint(prompt, text)
	// A byte at a time, so that nothing after the line is taken from
	// stdin (an os.File of fd would close stdin when collected).
	var line []byte
	b := make([]byte, 1)
	for {
		n, err := unix.Read(fd, b)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return nil, err
		case n == 0 || b[0] == '\n':
			return bytes.TrimSuffix(line, []byte("\r")), nil
		}
		line = append(line, b[0])
	}
}
