package ftp_test

import (
	"context"
	"fmt"
	"log"
	"slices"
	"time"

	"github.com/pasvport/ftp"
	"github.com/pasvport/ftp/ftptest"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// A server whose names are GBK bytes, as a Chinese Linux or Windows
// server keeps them: the first listing tells GBK, and names come and go
// in UTF-8.
func ExampleWithEncodingDetection() {
	srv := ftptest.NewServer() // stands in for the Chinese server
	defer srv.Close()
	for _, name := range []string{"报告.txt", "上海照片.jpg", "说明.txt", "数据备份.zip"} {
		gbk, _ := simplifiedchinese.GBK.NewEncoder().String(name)
		srv.WriteFile("/docs/"+gbk, []byte(name))
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := ftp.DialURL(ctx, srv.URL(), ftp.WithEncodingDetection(
		simplifiedchinese.GBK, traditionalchinese.Big5, japanese.ShiftJIS, korean.EUCKR))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Quit(ctx)
	entries, err := c.List(ctx, "/docs")
	if err != nil {
		log.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
	}
	slices.Sort(names)
	fmt.Println(names)
	enc, _ := c.Encoding()
	fmt.Println(enc)
	raw, _ := c.NameBytes("说明.txt")
	fmt.Printf("% x\n", raw)
	// Output:
	// [上海照片.jpg 报告.txt 数据备份.zip 说明.txt]
	// GBK
	// cb b5 c3 f7 2e 74 78 74
}
