//go:build !linux

package ftp

import "errors"

// rcvLowatSupported reports false where the low-water mark has not been
// measured: reads wake as data come.
func rcvLowatSupported() bool { return false }

func setRcvLowat(uintptr, int) error { return errors.ErrUnsupported }
