// Command ftpsync moves files to and from FTP servers with the
// github.com/pasvport/ftp library.
//
// Usage:
//
//	ftpsync demo    start an in-process test server and walk through a session
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var err error
	switch os.Args[1] {
	case "demo":
		err = demo(ctx, os.Stdout)
	case "help", "-h", "--help":
		usage(os.Stdout)
		return
	default:
		fmt.Fprintf(os.Stderr, "ftpsync: unknown command %q\n", os.Args[1])
		usage(os.Stderr)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ftpsync:", err)
		os.Exit(1)
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: ftpsync COMMAND

commands:
  demo    start an in-process FTP test server seeded with a few files, then
          list, upload and download in passive and in active mode,
          printing each step and the protocol trace
`)
}
