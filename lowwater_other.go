//go:build !linux

package ftp

import "errors"

// rcvLowatSupported is false where the low-water mark has not been
// measured: reads wake as data come.
var rcvLowatSupported = false

func setRcvLowat(uintptr, int) error { return errors.ErrUnsupported }
