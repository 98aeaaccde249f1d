#!/usr/bin/python3
"""pyftpdlib driver for the pasvport interop servers.

Run it with Debian's /usr/bin/python3 (python3-pyftpdlib, python3-openssl):
a pyenv python3 first on PATH does not see Debian's dist-packages.

    /usr/bin/python3 pyftpd.py --host 127.0.0.1 --port 2151 --root DIR \
        --user ftpuser --password ftppass --passive 25100-25199 \
        [--masquerade 127.0.0.2] [--certfile CERT --keyfile KEY]
        [--ls-locale zh_CN.GBK]

With --ls-locale, LIST is the output of the system's /bin/ls -l run under
that locale (as netkit ftpd and many embedded servers produce it: GNU ls
prints "12月  6日 20:19" under zh_CN), and MLST/MLSD are withdrawn, so a
client has only those localised lines to read, and names are passed
through as bytes.

servers.sh starts it in the foreground of a background job (as the
unprivileged ftpuser account, via setpriv) and stops it by PID.
"""

import argparse
import logging
import os
import subprocess
import sys

import pyftpdlib
from pyftpdlib import filesystems
from pyftpdlib import handlers
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.servers import FTPServer


def _version_tuple(text):
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def patch_tls_data_handshake():
    """Work around pyftpdlib #604 (fixed upstream in 1.5.8 by PR #612).

    In 1.5.7 a TLS data connection is closed during its handshake: the
    DTPHandler is "not readable yet", so DTPHandler.readable() closes it,
    although the SSL layer is still accepting.  curl then fails with
    "Bad PASV/EPSV response" / a reset on the data port.  The fix makes an
    SSLConnection readable while it is accepting.
    """
    if _version_tuple(pyftpdlib.__ver__) >= (1, 5, 8):
        return
    ssl_conn = getattr(handlers, "SSLConnection", None)
    if ssl_conn is None:  # pyOpenSSL missing: TLS unavailable anyway
        return

    def readable(self):
        return (self._ssl_accepting or self._ssl_want_read
                or super(ssl_conn, self).readable())

    ssl_conn.readable = readable


def ls_filesystem(locale):
    """An AbstractedFS whose LIST lines come from /bin/ls -l under locale.

    The names are passed to ls as the bytes on disk, and its output is
    sent unchanged: the dates, and the names, are in the locale's
    encoding, as a server running ls would send them.
    """
    env = {"LC_ALL": locale, "PATH": "/usr/bin:/bin",
           "TZ": os.environ.get("TZ", "UTC")}

    class LsFS(filesystems.AbstractedFS):
        def format_list(self, basedir, listing, ignore_err=True):
            if not listing:
                return iter(())
            names = [os.fsencode(n) for n in listing]
            out = subprocess.run(
                ["/bin/ls", "-ld", "--"] + names, cwd=os.fsencode(basedir),
                env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                check=False).stdout
            return iter(line + b"\r\n" for line in out.splitlines())

    return LsFS


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", required=True, help="127.0.0.1 or ::1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--root", required=True, help="the account's home")
    ap.add_argument("--user", default="ftpuser")
    ap.add_argument("--password", default="ftppass")
    ap.add_argument("--passive", required=True, help="LO-HI port range")
    ap.add_argument("--masquerade", help="address advertised in 227 replies")
    ap.add_argument("--certfile", help="enable explicit FTPS (AUTH TLS)")
    ap.add_argument("--keyfile")
    ap.add_argument("--ls-locale", help="LIST from /bin/ls -l in this locale; no MLSD")
    ap.add_argument("--debug", action="store_true")
    args = ap.parse_args()

    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s pyftpdlib %(levelname)s %(message)s")

    authorizer = DummyAuthorizer()
    # e=cwd l=list r=retr a=append d=delete f=rename m=mkdir w=store
    # M=chmod T=MFMT (modification time)
    authorizer.add_user(args.user, args.password, args.root,
                        perm="elradfmwMT")

    if args.certfile:
        patch_tls_data_handshake()
        handler = type("InteropTLSHandler", (handlers.TLS_FTPHandler,), {})
        handler.certfile = args.certfile
        handler.keyfile = args.keyfile
        handler.tls_control_required = True
        handler.tls_data_required = True
    else:
        handler = type("InteropHandler", (handlers.FTPHandler,), {})

    lo, hi = (int(p) for p in args.passive.split("-"))
    handler.authorizer = authorizer
    handler.passive_ports = range(lo, hi + 1)
    handler.permit_foreign_addresses = False  # PORT only to the client
    handler.banner = "pyftpdlib %s interop server ready." % pyftpdlib.__ver__
    if args.masquerade:
        handler.masquerade_address = args.masquerade
    if args.ls_locale:
        handler.abstracted_fs = ls_filesystem(args.ls_locale)
        # Names pass as the bytes they are, in the locale's encoding, as
        # through a server written in C (pyftpdlib decodes commands as
        # UTF-8 and would replace GBK bytes with U+FFFD).
        handler.unicode_errors = "surrogateescape"
        handler.proto_cmds = {k: v for k, v in handler.proto_cmds.items()
                              if k not in ("MLST", "MLSD")}

    server = FTPServer((args.host, args.port), handler)
    server.max_cons = 256
    server.max_cons_per_ip = 0  # unlimited: benchmarks open many sessions
    server.serve_forever()


if __name__ == "__main__":
    main()
