package ftptest_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"

	"github.com/pasvport/ftp/ftptest"
)

func ExampleNewServer() {
	srv := ftptest.NewServer(
		ftptest.WithFiles(map[string][]byte{"pub/hello.txt": []byte("hello")}),
		ftptest.WithRawReply("GREETING", "220-Welcome\r\n220 Ready\r\n"),
	)
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	for range 2 {
		line, _ := r.ReadString('\n')
		fmt.Println(strings.TrimRight(line, "\r\n"))
	}
	fmt.Fprintf(conn, "USER %s\r\nPASS %s\r\nSIZE pub/hello.txt\r\nQUIT\r\n", srv.User(), srv.Password())
	for range 4 {
		line, _ := r.ReadString('\n')
		fmt.Println(strings.TrimRight(line, "\r\n"))
	}
	fmt.Println(srv.Commands()[2])
	// Output:
	// 220-Welcome
	// 220 Ready
	// 331 Please specify the password.
	// 230 Login successful.
	// 213 5
	// 221 Goodbye.
	// SIZE pub/hello.txt
}
