package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Remote paths, relative to each server's data folder (the FTP root).
const (
	remoteBig   = "/bench/big.bin"
	remoteSmall = "/bench/small"
	remoteUp    = "/bench/up"
	remoteList  = "/bench/list"
)

func (b *bench) master() string {
	return filepath.Join(b.o.fixtures, fmt.Sprintf("big-%dMiB.bin", b.o.bigSize>>20))
}

func smallName(i int) string { return fmt.Sprintf("f%05d", i) }

// fixtures creates what the cases need, once: the large file (random bytes,
// a master copy hard-linked into each server's data folder), the small
// files, the upload folder and the listed directory, directly on disk.
// Servers restarted by someone else come back with empty data folders; this
// is called again then.
func (b *bench) fixtures() error {
	if err := os.MkdirAll(b.o.fixtures, 0o755); err != nil {
		return err
	}
	os.Chmod(b.o.fixtures, 0o755)
	m := b.master()
	if st, err := os.Stat(m); err != nil || st.Size() != b.o.bigSize {
		logf("creating %s (%d MiB from /dev/urandom)", m, b.o.bigSize>>20)
		if err := writeRandom(m, b.o.bigSize); err != nil {
			return err
		}
	}
	mst, err := os.Stat(m)
	if err != nil {
		return err
	}
	for _, s := range b.servers {
		st, err := os.Stat(s.data)
		if err != nil {
			return err
		}
		sys := st.Sys().(*syscall.Stat_t)
		uid, gid := int(sys.Uid), int(sys.Gid)
		mk := func(rel string) (string, error) {
			d := filepath.Join(s.data, rel)
			if err := os.MkdirAll(d, 0o755); err != nil {
				return "", err
			}
			return d, os.Chown(d, uid, gid)
		}
		if _, err := mk("bench"); err != nil {
			return err
		}
		up, err := mk(remoteUp)
		if err != nil {
			return err
		}
		b.upOnTmpfs(up, uid, gid)
		if s.wan {
			d, err := mk(remoteWan)
			if err != nil {
				return err
			}
			if err := ensureFiles(d, b.o.wanFiles, b.o.smallSize, uid, gid); err != nil {
				return err
			}
			continue
		}
		big := filepath.Join(s.data, remoteBig)
		if st, err := os.Stat(big); err != nil || !os.SameFile(st, mst) {
			os.Remove(big)
			if err := os.Link(m, big); err != nil {
				logf("hard link failed (%v); copying", err)
				if err := copyFile(m, big); err != nil {
					return err
				}
			}
		}
		if s.tls {
			continue
		}
		if (b.o.cases["3"] || b.o.cases["4"]) && slices.Contains(b.o.servers, s.name) {
			d, err := mk(remoteSmall)
			if err != nil {
				return err
			}
			if err := ensureFiles(d, b.o.smallCount, b.o.smallSize, uid, gid); err != nil {
				return err
			}
		}
		if b.o.cases["5"] && slices.Contains(b.o.listSrv, s.name) {
			d, err := mk(remoteList)
			if err != nil {
				return err
			}
			if err := ensureFiles(d, b.o.listCount, 0, uid, gid); err != nil {
				return err
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(b.o.local, "dl"), 0o755); err != nil {
		return err
	}
	if b.o.cases["wan"] {
		if err := ensureFiles(filepath.Join(b.o.local, "wan-src"), b.o.wanFiles, b.o.smallSize, -1, -1); err != nil {
			return err
		}
	}
	return ensureFiles(filepath.Join(b.o.local, "small-src"), b.o.smallCount, b.o.smallSize, -1, -1)
}

func writeRandom(name string, size int64) error {
	f, err := os.Create(name + ".tmp")
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	os.Chmod(name+".tmp", 0o644)
	return os.Rename(name+".tmp", name)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// ensureFiles makes dir hold exactly the files f00000… of size bytes (random
// content), recreating them if the count or the first size is off.
func ensureFiles(dir string, count, size, uid, gid int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(des) == count {
		if st, err := os.Stat(filepath.Join(dir, smallName(0))); err == nil && st.Size() == int64(size) {
			if st, err := os.Stat(filepath.Join(dir, smallName(count-1))); err == nil && st.Size() == int64(size) {
				return nil
			}
		}
	}
	logf("creating %d files of %d bytes in %s", count, size, dir)
	for _, d := range des {
		os.RemoveAll(filepath.Join(dir, d.Name()))
	}
	buf := make([]byte, size)
	for i := range count {
		rand.Read(buf)
		p := filepath.Join(dir, smallName(i))
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			return err
		}
		if uid >= 0 {
			os.Chown(p, uid, gid)
		}
	}
	return nil
}

// upOnTmpfs mounts a tmpfs on a server's upload folder, when -up-tmpfs
// asks for it and it is not one yet. On the disk, what happens after the
// data has arrived weighs on the figures: ext4 with online discard trims
// the blocks of the files removed between runs, and vsftpd 3.0.3 closes an
// uploaded file after its 226 (strace: close(2) of a new 1 GiB file took
// 0.40–0.42 s), so that a client that waits for QUIT's reply waits for the
// disk. Failure (no root, no mount) leaves the folder on the disk and says
// so in the report.
func (b *bench) upOnTmpfs(dir string, uid, gid int) {
	fs := "the server's disk"
	defer func() {
		if !strings.Contains(b.upFS, fs) {
			b.upFS = strings.TrimPrefix(b.upFS+"; "+fs, "; ")
		}
	}()
	if !b.o.upTmpfs {
		fs += " (-up-tmpfs=false)"
		return
	}
	if isMountPoint(dir) {
		fs = "tmpfs, mounted by the bench"
		return
	}
	size := 2*b.o.bigSize + 256<<20
	opts := fmt.Sprintf("size=%d,mode=0755,uid=%d,gid=%d", size, uid, gid)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "ftpbench-up", dir).CombinedOutput(); err != nil {
		fs += fmt.Sprintf(" (mounting a tmpfs failed: %v: %s)", err, strings.TrimSpace(string(out)))
		logf("%s", fs)
		return
	}
	b.mountMu.Lock()
	b.mounts = append(b.mounts, dir)
	b.mountMu.Unlock()
	fs = "tmpfs, mounted by the bench"
}

// isMountPoint reports whether dir is on another device than its parent.
func isMountPoint(dir string) bool {
	a, err1 := os.Stat(dir)
	p, err2 := os.Stat(filepath.Dir(dir))
	if err1 != nil || err2 != nil {
		return false
	}
	return a.Sys().(*syscall.Stat_t).Dev != p.Sys().(*syscall.Stat_t).Dev
}

// unmount removes the tmpfs mounts of upOnTmpfs (also on an interrupt:
// servers.sh start removes the folders, which a mount would stop).
func (b *bench) unmount() {
	b.mountMu.Lock()
	defer b.mountMu.Unlock()
	for _, dir := range b.mounts {
		// Lazy: a server may still hold an upload open.
		if out, err := exec.Command("umount", "--lazy", dir).CombinedOutput(); err != nil {
			logf("umount %s: %v: %s", dir, err, out)
		}
	}
	b.mounts = nil
}

// emptyDir removes what dir holds.
func emptyDir(dir string) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, d := range des {
		if err := os.RemoveAll(filepath.Join(dir, d.Name())); err != nil {
			return err
		}
	}
	return nil
}

// dirStats counts the regular files of dir and their total size.
func dirStats(dir string) (int, int64, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, err
	}
	var n int
	var total int64
	for _, d := range des {
		if !d.Type().IsRegular() {
			continue
		}
		info, err := d.Info()
		if err != nil {
			return 0, 0, err
		}
		n++
		total += info.Size()
	}
	return n, total, nil
}
