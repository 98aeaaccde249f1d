package main

import (
	"math"
	"strconv"
	"strings"
)

// parseRate reads the value of --limit-rate as curl does: bytes per
// second, with an optional K, M or G suffix (either case) that multiplies
// by 1024, 1024² or 1024³; "2M" and "1.5m" are 2 MiB/s and 1.5 MiB/s.
func parseRate(s string) (int64, error) {
	bad := usageError{"--limit-rate takes bytes per second, such as 500K, 2M or 1G (K, M, G: 1024, 1024², 1024³)"}
	num, mult := s, 1.0
	if i := len(s) - 1; i >= 0 {
		if k := strings.IndexByte("kmg", s[i]|0x20); k >= 0 {
			num, mult = s[:i], math.Pow(1024, float64(k+1))
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, bad
	}
	n := f * mult
	if n < 1 || n > math.MaxInt64/2 {
		return 0, bad
	}
	return int64(n), nil
}
