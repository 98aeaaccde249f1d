// Command ftpsync moves files to and from FTP servers with the
// github.com/pasvport/ftp library: single files, whole trees (mirror) and
// the usual housekeeping, with resumable transfers, retries and parallel
// connections.
//
// Usage:
//
//	ftpsync [flags] ls URL
//	ftpsync [flags] get URL [LOCAL]
//	ftpsync [flags] put LOCAL URL
//	ftpsync [flags] mirror URL LOCAL
//	ftpsync [flags] mirror --reverse LOCAL URL
//	ftpsync [flags] rm [-r] URL
//	ftpsync [flags] mkdir [-p] URL
//	ftpsync [flags] doctor [--write-test] [--ca FILE] URL
//	ftpsync demo
//
// Flags go anywhere. Run "ftpsync help" for the flags, credentials and
// exit codes, "ftpsync COMMAND --help" for a command's flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// SIGTERM (kill, systemd, a container stopping) ends a run as Ctrl-C
	// does: transfers stop where they are, to be resumed by the next run.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
