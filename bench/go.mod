module github.com/pasvport/ftp/bench

go 1.26.0

require github.com/pasvport/ftp v0.0.0

require github.com/jlaffaye/ftp v0.2.4

require golang.org/x/text v0.44.0

replace github.com/pasvport/ftp => ../
