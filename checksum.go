package ftp

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"strings"
)

// ErrChecksumMismatch is wrapped by the error of a Download or Upload whose
// file, once complete, has another checksum than the server computed for
// it. The temporary file is removed, so that trying again starts afresh.
var ErrChecksumMismatch = errors.New("ftp: checksum mismatch")

// checksum algorithms, best first: the names of HASH, the X commands, and
// the local implementations.
var checksums = []struct {
	name, xcmd string
	new        func() hash.Hash
}{
	{"SHA-256", "XSHA256", sha256.New},
	{"SHA-1", "XSHA1", sha1.New},
	{"MD5", "XMD5", md5.New},
	{"CRC32", "XCRC", func() hash.Hash { return crc32.NewIEEE() }},
}

// RemoteChecksum asks the server for the checksum of a file, with HASH
// (draft-bryan-ftpext-hash) or else XSHA256, XSHA1, XMD5 or XCRC, whichever
// FEAT lists first in that order. It returns the algorithm ("SHA-256",
// "SHA-1", "MD5" or "CRC32") and the lower-case hex sum; errors.Is(err,
// errors.ErrUnsupported) holds when the server offers none of them.
func (c *Conn) RemoteChecksum(ctx context.Context, remote string) (algo, sum string, err error) {
	err = c.locked(ctx, func() (err error) { algo, sum, err = c.remoteChecksum(ctx, remote); return err })
	return algo, sum, err
}

// remoteChecksum is RemoteChecksum for a caller that holds the lock.
func (c *Conn) remoteChecksum(ctx context.Context, remote string) (algo, sum string, err error) {
	if v, ok := c.features["HASH"]; ok {
		algo, sum, err := c.hashCmd(ctx, remote, v)
		if err == nil || !isPermanent(err) {
			return algo, sum, err
		}
	}
	for _, cs := range checksums {
		if !c.hasFeature(cs.xcmd) {
			continue
		}
		reply, err := c.expect(ctx, 2, cs.xcmd, remote)
		if err != nil {
			return "", "", err
		}
		for _, w := range strings.Fields(reply.Message()) {
			if isHex(w) {
				return cs.name, strings.ToLower(w), nil
			}
		}
		return "", "", errorf("%w: %s reply %q", ErrMalformedReply, cs.xcmd, clip(reply.Message()))
	}
	return "", "", errorf("server offers no checksum command: %w", errors.ErrUnsupported)
}

// offersChecksum reports whether FEAT listed a checksum command that
// remoteChecksum would send. The caller holds the lock.
func (c *Conn) offersChecksum() bool {
	if c.hasFeature("HASH") {
		return true
	}
	for _, cs := range checksums {
		if c.hasFeature(cs.xcmd) {
			return true
		}
	}
	return false
}

// hashCmd runs HASH, selecting the best algorithm the server offers (feat
// is the parameter of FEAT's HASH line, "SHA-256*;SHA-1;MD5"). The caller
// holds the lock.
func (c *Conn) hashCmd(ctx context.Context, remote, feat string) (string, string, error) {
	current := ""
	offered := map[string]bool{}
	for _, a := range strings.Split(feat, ";") {
		a = strings.ToUpper(strings.TrimSpace(a))
		if name, ok := strings.CutSuffix(a, "*"); ok {
			current, a = name, name
		}
		offered[a] = true
	}
	for _, cs := range checksums {
		if !offered[cs.name] {
			continue
		}
		if cs.name != current {
			if _, err := c.expect(ctx, 2, "OPTS", "HASH "+cs.name); err != nil {
				continue
			}
		}
		break
	}
	reply, err := c.expect(ctx, 2, "HASH", remote)
	if err != nil {
		return "", "", err
	}
	// 213 SHA-256 0-49 169cd22282da7f147cb491e559e9dd filename
	f := strings.Fields(reply.Message())
	if len(f) < 3 || !isHex(f[2]) {
		return "", "", errorf("%w: HASH reply %q", ErrMalformedReply, clip(reply.Message()))
	}
	return strings.ToUpper(f[0]), strings.ToLower(f[2]), nil
}

func isHex(s string) bool {
	if len(s) < 8 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// localChecksum computes the checksum of a local file with algo ("SHA-256",
// "SHA-1", "MD5" or "CRC32"), streaming it.
func localChecksum(local, algo string) (string, error) {
	f, err := os.Open(local)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return readerChecksum(f, algo)
}

// readerChecksum computes the checksum of what r holds with algo.
func readerChecksum(r io.Reader, algo string) (string, error) {
	for _, cs := range checksums {
		if cs.name != algo {
			continue
		}
		h := cs.new()
		if _, err := io.Copy(h, r); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	return "", errorf("checksum %q: %w", algo, errors.ErrUnsupported)
}

// sameSum compares two hex sums; CRC32 sums may come without leading
// zeros.
func sameSum(a, b string) bool {
	return strings.TrimLeft(a, "0") == strings.TrimLeft(b, "0")
}

// verifyChecksum compares the checksum of remote with that of the local
// data (read from the file already open, not by name again: the name may
// have been replaced meanwhile), named local in errors, where the server
// can compute one; it does nothing otherwise. The caller holds the lock.
func (c *Conn) verifyChecksum(ctx context.Context, remote string, data io.Reader, local string) error {
	algo, sum, err := c.remoteChecksum(ctx, remote)
	if errors.Is(err, errors.ErrUnsupported) || isPermanent(err) {
		return nil // nothing to compare with
	}
	if err != nil {
		return errorf("checksum of %s: %w", remote, err)
	}
	mine, err := readerChecksum(data, algo)
	if errors.Is(err, errors.ErrUnsupported) {
		return nil // an algorithm this package does not compute
	}
	if err != nil {
		return err
	}
	if !sameSum(mine, sum) {
		return errorf("%w: %s of %s is %s, of %s %s", ErrChecksumMismatch, algo, remote, sum, local, mine)
	}
	return nil
}
