module github.com/pasvport/ftp

go 1.26
