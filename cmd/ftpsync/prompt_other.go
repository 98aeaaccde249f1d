//go:build !linux

package main

import (
	"fmt"
	"os"

	"golang.org/x/term"
)

// readPassword reads a line from the terminal fd without echo.
func readPassword(fd int, prompt *os.File, text string) ([]byte, error) {
	fmt.Fprint(prompt, text)
	return term.ReadPassword(fd)
}
