#!/usr/bin/python3
"""Tiny raw FTP probe for servers.sh and smoke.sh (loopback only).

  ftpprobe.py greet HOST PORT [--implicit-tls --cafile CA]
      print the first reply line (exit 0 if it is a 220)
  ftpprobe.py pasv HOST PORT --user U --password P [--explicit-tls --cafile CA]
      log in, send PASV, print the raw reply (e.g. "227 ... (127,0,0,2,p1,p2)")
  ftpprobe.py feat HOST PORT [--explicit-tls|--implicit-tls --cafile CA]
      print the FEAT reply
  ftpprobe.py xfer HOST PORT --user U --password P [--active]
              [--explicit-tls|--implicit-tls --cafile CA] [--tls-max 1.2|1.3]
      LIST, STOR a random file, SIZE, RETR + compare, DELE; one line each.
      FTPS data connections resume the control connection's TLS session
      (vsftpd/proftpd require it) and end with a TLS close_notify (unwrap)
      before the TCP close.  Exists because Debian 12's curl 7.88 cannot do
      active-mode FTPS (curl #10666, fixed in 8.0).

Uses only the standard library; every socket has a timeout.
"""
import argparse
import ftplib
import socket
import ssl
import sys

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def tls_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False  # we connect by IP; the cert has IP SANs anyway
    return ctx


def read_reply(f):
    """Read one (possibly multi-line) FTP reply from a file object."""
    first = f.readline().decode("utf-8", "replace").rstrip("\r\n")
    lines = [first]
    if len(first) >= 4 and first[3] == "-":
        code = first[:3]
        for _ in range(1000):
            line = f.readline().decode("utf-8", "replace").rstrip("\r\n")
            lines.append(line)
            if not line or (line.startswith(code) and line[3:4] == " "):
                break
    return lines


def greet(args):
    sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
    try:
        if args.implicit_tls:
            sock = tls_context(args.cafile).wrap_socket(sock, server_hostname="localhost")
        lines = read_reply(sock.makefile("rb"))
    finally:
        sock.close()
    print(lines[0])
    return 0 if lines[0].startswith("220") else 1


class ImplicitFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS that wraps the control socket before the greeting."""

    def connect(self, host="", port=0, timeout=-999, source_address=None):
        if timeout != -999:
            self.timeout = timeout
        self.host, self.port = host, port
        self.sock = socket.create_connection((host, port), self.timeout)
        self.af = self.sock.family
        self.sock = self.context.wrap_socket(self.sock, server_hostname="localhost")
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome


class ReuseMixin:
    """Data connections resume the control connection's TLS session."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname="localhost",
                                            session=self.sock.session)
        return conn, size


class ReuseFTP_TLS(ReuseMixin, ftplib.FTP_TLS):
    pass


class ReuseImplicitFTP_TLS(ReuseMixin, ImplicitFTP_TLS):
    pass


def session(args):
    ctx = None
    if args.implicit_tls or args.explicit_tls:
        ctx = tls_context(args.cafile)
        if args.tls_max == "1.2":
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if args.implicit_tls:
        ftp = ReuseImplicitFTP_TLS(context=ctx, timeout=args.timeout)
    elif args.explicit_tls:
        ftp = ReuseFTP_TLS(context=ctx, timeout=args.timeout)
    else:
        ftp = ftplib.FTP(timeout=args.timeout)
    ftp.connect(args.host, args.port)
    return ftp


def pasv(args):
    ftp = session(args)
    try:
        if args.explicit_tls:
            ftp.auth()
        ftp.login(args.user, args.password)
        if args.explicit_tls or args.implicit_tls:
            ftp.prot_p()
        reply = ftp.sendcmd("PASV")
    finally:
        try:
            ftp.quit()
        except Exception:
            ftp.close()
    print(reply)
    return 0 if reply.startswith("227") else 1


def feat(args):
    ftp = session(args)
    try:
        if args.explicit_tls:
            ftp.auth()
        print(ftp.sendcmd("FEAT"))
    finally:
        ftp.close()
    return 0


def xfer(args):
    import io
    import os
    ftp = session(args)
    name = "probe-%d.bin" % os.getpid()
    data = os.urandom(args.size)
    try:
        if args.explicit_tls:
            ftp.auth()
        ftp.login(args.user, args.password)
        if args.explicit_tls or args.implicit_tls:
            ftp.prot_p()
            print("tls:", ftp.sock.version())
        ftp.set_pasv(not args.active)
        lines = []
        print("LIST:", ftp.retrlines("LIST", lines.append), "(%d entries)" % len(lines))
        print("STOR:", ftp.storbinary("STOR " + name, io.BytesIO(data)))
        size = ftp.size(name)
        print("SIZE:", size)
        got = io.BytesIO()
        print("RETR:", ftp.retrbinary("RETR " + name, got.write))
        print("DELE:", ftp.delete(name))
    finally:
        try:
            ftp.quit()
        except Exception:
            ftp.close()
    if size != len(data) or got.getvalue() != data:
        print("MISMATCH: sent %d bytes, SIZE %s, got %d bytes"
              % (len(data), size, len(got.getvalue())))
        return 1
    print("OK: %d bytes round-tripped (%s mode)"
          % (len(data), "active" if args.active else "passive"))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("action", choices=["greet", "pasv", "feat", "xfer"])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--user", default="ftpuser")
    ap.add_argument("--password", default="ftppass")
    ap.add_argument("--implicit-tls", action="store_true")
    ap.add_argument("--explicit-tls", action="store_true")
    ap.add_argument("--cafile")
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--active", action="store_true", help="PORT/EPRT data")
    ap.add_argument("--size", type=int, default=1 << 20)
    ap.add_argument("--tls-max", choices=["1.2", "1.3"], default="1.3")
    args = ap.parse_args()
    if args.host not in LOOPBACK:
        sys.exit("ftpprobe: refusing non-loopback host %r" % args.host)
    return {"greet": greet, "pasv": pasv, "feat": feat, "xfer": xfer}[args.action](args)


if __name__ == "__main__":
    sys.exit(main())
