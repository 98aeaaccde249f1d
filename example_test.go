package ftp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"strings"
	"time"

	"github.com/pasvport/ftp"
	"github.com/pasvport/ftp/ftptest"
)

// The usual session: dial and log in from a URL, upload, download.
func Example() {
	srv := ftptest.NewServer() // stands in for a real server
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := ftp.DialURL(ctx, srv.URL())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Quit(ctx)

	if err := c.Stor(ctx, "hello.txt", strings.NewReader("hello, world\n")); err != nil {
		log.Fatal(err)
	}
	r, err := c.Retr(ctx, "hello.txt")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	if _, err := io.Copy(os.Stdout, r); err != nil { // fails if the transfer did
		log.Fatal(err)
	}
	// Output: hello, world
}

// Active mode: the client listens and the server connects back (PORT, or
// EPRT on IPv6). Only the server's own address may connect.
func ExampleWithActive() {
	srv := ftptest.NewServer()
	defer srv.Close()
	srv.WriteFile("report.csv", []byte("a,b\n1,2\n"))

	ctx := context.Background()
	c, err := ftp.DialURL(ctx, srv.URL(), ftp.WithActive(), ftp.WithTimeout(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Quit(ctx)
	size, err := c.FileSize(ctx, "report.csv")
	if err != nil {
		log.Fatal(err)
	}
	names, err := c.NameList(ctx, "/")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(names, size)
	// Output: [report.csv] 8
}

// A server behind NAT advertises an address the client cannot reach in its
// PASV reply. By default the client connects to the address it already
// reached the server on, so the transfer works.
func ExampleWithTrustedPASVAddress() {
	srv := ftptest.NewServer(ftptest.WithPASVAddress([]byte{127, 0, 0, 2}))
	defer srv.Close()
	srv.WriteFile("data.bin", []byte("payload"))
	ctx := context.Background()

	c, err := ftp.DialURL(ctx, srv.URL(), ftp.WithoutEPSV()) // PASV, as old servers speak
	if err != nil {
		log.Fatal(err)
	}
	defer c.Quit(ctx)
	r, err := c.Retr(ctx, "data.bin")
	if err != nil {
		log.Fatal(err)
	}
	b, err := io.ReadAll(r)
	r.Close()
	fmt.Println(string(b), err)
	// Output: payload <nil>
}

// Resuming a download: REST, then RETR from the offset.
func ExampleConn_RetrFrom() {
	srv := ftptest.NewServer()
	defer srv.Close()
	srv.WriteFile("big.dat", []byte("0123456789"))
	ctx := context.Background()
	c, err := ftp.DialURL(ctx, srv.URL())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Quit(ctx)

	r, err := c.RetrFrom(ctx, "big.dat", 6)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	rest, _ := io.ReadAll(r)
	fmt.Println(string(rest))
	// Output: 6789
}

// Errors from the server are *ftp.Error values, and missing files match
// fs.ErrNotExist.
func ExampleError() {
	srv := ftptest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	c, err := ftp.DialURL(ctx, srv.URL())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Quit(ctx)

	_, err = c.FileSize(ctx, "missing.txt")
	var ferr *ftp.Error
	if errors.As(err, &ferr) {
		fmt.Println(ferr.Code, errors.Is(err, fs.ErrNotExist))
	}
	// Output: 550 true
}
