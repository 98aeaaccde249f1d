package ftp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxListing bounds the bytes of one listing (NLST, LIST, MLSD): a server
// that sends an endless listing gets an error, not all of the memory.
const maxListing = 256 << 20

// maxListLine bounds one line of a listing.
const maxListLine = 64 << 10

// NameList returns the names in a directory (NLST): bare names meant for
// programs (RFC 1123 §4.1.2.7). An empty path lists the working directory.
// Some servers answer an empty directory with 450 or 550.
func (c *Conn) NameList(ctx context.Context, path string) ([]string, error) {
	unlock, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return c.nameList(ctx, path)
}

// nameList runs NLST. The caller holds the lock.
func (c *Conn) nameList(ctx context.Context, path string) ([]string, error) {
	var names []string
	err := c.listLines(ctx, "NLST", path, func(line string) {
		if line != "" {
			names = append(names, line)
		}
	})
	return names, err
}

// listLines runs a listing command and passes each line of its data,
// without CR and LF, to fn. The caller holds the lock.
func (c *Conn) listLines(ctx context.Context, verb, path string, fn func(string)) error {
	r, err := c.startDownload(ctx, verb, path, 0)
	if err != nil {
		return err
	}
	defer r.Close()
	br := bufio.NewReaderSize(r, maxListLine)
	for total := 0; ; {
		line, err := br.ReadSlice('\n')
		if total += len(line); total > maxListing {
			return fmt.Errorf("ftp: %s %s: listing longer than %d bytes", verb, path, maxListing)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			return fmt.Errorf("ftp: %s %s: listing line longer than %d bytes", verb, path, maxListLine)
		case err != nil && err != io.EOF:
			return err
		}
		if len(line) > 0 {
			fn(strings.TrimRight(string(line), "\r\n"))
		}
		if err == io.EOF {
			return nil
		}
	}
}
