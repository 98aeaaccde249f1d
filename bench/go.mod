module github.com/pasvport/ftp/bench

go 1.26.0

require github.com/pasvport/ftp v0.0.0

require github.com/jlaffaye/ftp v0.2.4

require (
	golang.org/x/net v0.63.0 // indirect
	golang.org/x/text v0.44.0
	golang.org/x/time v0.16.0 // indirect
)

replace github.com/pasvport/ftp => ../
