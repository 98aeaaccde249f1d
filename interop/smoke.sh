#!/usr/bin/env bash
# smoke.sh - prove the interop servers work, with Debian's curl, on loopback.
#
#   smoke.sh [INSTANCE...]     default: every instance listed in servers.env
#
# For each running instance (see servers.env, written by servers.sh start):
#   login + LIST of the root: passive (EPSV, and PASV on IPv4) and active
#   (EPRT, and PORT on IPv4); MKD + STOR of a 1 MiB file; RNFR/RNTO; RETR
#   passive and active, compared with cmp; MFMT (MDTM-write on vsftpd) checked
#   through MDTM; DELE + RMD, checked by a listing.
#   nat:  a raw PASV reply must carry 127,0,0,2; curl (which ignores the PASV
#         address by default) must work with PASV forced, and must fail when
#         told to use the advertised address.
#   tls/ftps: everything above over FTPS (--ssl-reqd --cacert), plus: a login
#         without TLS is refused, and (vsftpd, proftpd) a data connection
#         without TLS session reuse is refused.
# Also checks that the daemons listen on 127.0.0.1 / ::1 only.
# Prints one line per check and a final "N passed, N failed" line.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN=${INTEROP_RUN:-/tmp/pasvport-interop}
ENV_FILE=$RUN/servers.env
PY=/usr/bin/python3
[[ -s $ENV_FILE ]] || { echo "smoke: $ENV_FILE missing: run servers.sh start" >&2; exit 2; }
# shellcheck disable=SC1090
source "$ENV_FILE"

WORK=$(mktemp -d /tmp/pasvport-smoke.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
head -c 1048576 /dev/urandom > "$WORK/up.bin"   # 1 MiB of random bytes

PASSED=0 FAILED=0
FAILURES=()

# check NAME COMMAND... : run, record PASS/FAIL with its duration.
check() {
  local name=$1 t0 t1 rc=0; shift
  t0=$(date +%s%3N)
  "$@" >"$WORK/out" 2>&1 || rc=$?
  t1=$(date +%s%3N)
  if ((rc == 0)); then
    PASSED=$((PASSED + 1)); printf '  PASS %-46s %5d ms\n' "$name" $((t1 - t0))
  else
    FAILED=$((FAILED + 1)); FAILURES+=("$CUR: $name")
    printf '  FAIL %-46s %5d ms (rc=%d)\n' "$name" $((t1 - t0)) "$rc"
    sed 's/^/       | /' "$WORK/out" | tail -n 15
  fi
}

# expect_fail NAME COMMAND... : the command must fail (a refusal we want).
expect_fail() {
  local name=$1; shift
  check "$name" invert "$@"
}
invert() { if "$@"; then echo "unexpectedly succeeded"; return 1; fi; return 0; }

# curl against the current instance; $CURL_BASE set per instance.
c() { curl -sS --max-time 30 --user "$FTP_USER:$FTP_PASS" "${TLS_OPTS[@]}" "$@"; }

list_root()    { c "$URL/" "$@" > "$WORK/list"; }
upload()       { c --ftp-create-dirs -T "$WORK/up.bin" "$URL/smoke/up.bin" "${UPLOAD_OPTS[@]}" "$@"; }
rename()       { c "$URL/" -Q "RNFR /smoke/up.bin" -Q "RNTO /smoke/renamed.bin" -o /dev/null; }
download_cmp() { rm -f "$WORK/down.bin"; c -o "$WORK/down.bin" "$URL/smoke/renamed.bin" "$@"; cmp "$WORK/up.bin" "$WORK/down.bin"; }
size_is_1mib() { c -I "$URL/smoke/renamed.bin" | tee /dev/stderr | grep -q '^Content-Length: 1048576'; }
set_mtime() { # MFMT, or vsftpd's "MDTM time file"; then read it back via MDTM
  local cmd=MFMT
  [[ $SERVER == vsftpd ]] && cmd=MDTM
  c "$URL/" -Q "$cmd 20200102030405 /smoke/renamed.bin" -o /dev/null
  c -I "$URL/smoke/renamed.bin" | tee /dev/stderr | grep -q 'Last-Modified: Thu, 02 Jan 2020 03:04:05 GMT'
}
delete_all() {
  # ("*": ignore the failure; up.bin exists only if an earlier check failed)
  c "$URL/" -Q "*DELE /smoke/up.bin" -Q "DELE /smoke/renamed.bin" -Q "RMD /smoke" -o /dev/null
  c "$URL/" --list-only > "$WORK/list"
  ! grep -q smoke "$WORK/list"
}
port_pasv_roundtrip() {
  upload -P "$HOST" --disable-eprt && rename && download_cmp --disable-epsv
}
raw_pasv_is_nat() {
  "$PY" "$HERE/ftpprobe.py" pasv "$HOST" "$PORT" --user "$FTP_USER" --password "$FTP_PASS" \
    | tee /dev/stderr | grep -q '(127,0,0,2,'
}
# FTPS round trip with Python's ftplib (TLS 1.3, session reuse, close_notify)
py_xfer() {
  local mode=--explicit-tls; [[ $KIND == ftps ]] && mode=--implicit-tls
  "$PY" "$HERE/ftpprobe.py" xfer "$HOST" "$PORT" --user "$FTP_USER" --password "$FTP_PASS" \
    "$mode" --cafile "$FTP_TLS_CA" --timeout 20 "$@"
}
# a plain-text login to a TLS-only server must be refused
plain_login() { curl -sS --max-time 10 --user "$FTP_USER:$FTP_PASS" "ftp://$HOST:$PORT/" -o /dev/null; }

run_instance() {
  local inst=$1 key addr
  CUR=$inst
  SERVER=${inst%%-*}; KIND=${inst#*-}
  key=${SERVER^^}_${KIND^^}_ADDR
  addr=${!key:-}
  [[ -n $addr ]] || { echo "== $inst: not in servers.env (not started?)"; FAILED=$((FAILED + 1)); FAILURES+=("$inst: not running"); return; }
  PORT=${addr##*:}; HOST=${addr%:*}; HOST=${HOST#[}; HOST=${HOST%]}
  local urlhost=$HOST; [[ $HOST == *:* ]] && urlhost="[$HOST]"
  URL="ftp://$urlhost:$PORT"
  TLS_OPTS=() UPLOAD_OPTS=()
  case $KIND in
    tls)  TLS_OPTS=(--ssl-reqd --cacert "$FTP_TLS_CA") ;;
    ftps) TLS_OPTS=(--ssl-reqd --cacert "$FTP_TLS_CA"); URL="ftps://$urlhost:$PORT" ;;
  esac
  # curl 7.88 (Debian 12) limitations, see README "Pitfalls":
  #  - active-mode FTPS is broken in curl 7.87-7.88 (curl #10666): the active
  #    TLS checks use Python's ftplib (ftpprobe.py xfer) instead;
  #  - curl closes an upload's TLS 1.3 data connection without reading the
  #    session tickets the server sent on it: the kernel answers with a RST
  #    and the server (vsftpd above all) loses the tail of the upload (426).
  #    curl's FTPS uploads are therefore made with TLS 1.2; TLS 1.3 uploads
  #    are proven with ftplib, which ends them with a close_notify.
  local tls=0; [[ $KIND == tls || $KIND == ftps ]] && tls=1
  ((tls)) && UPLOAD_OPTS=(--tls-max 1.2)
  echo "== $inst ($URL)"

  check "login + LIST / passive (EPSV)"          list_root
  [[ $HOST != *:* ]] && check "LIST / passive (PASV forced)" list_root --disable-epsv
  if ((tls)); then
    check "[ftplib] TLS1.3 active: LIST STOR RETR cmp DELE" py_xfer --active
    check "[ftplib] TLS1.3 passive: LIST STOR RETR cmp DELE" py_xfer
  else
    check "LIST / active (EPRT) -P $HOST"        list_root -P "$HOST"
    [[ $HOST != *:* ]] && check "LIST / active (PORT forced)" list_root -P "$HOST" --disable-eprt
  fi
  check "MKD + STOR 1 MiB (passive)"             upload
  check "RNFR/RNTO"                              rename
  check "SIZE = 1 MiB"                           size_is_1mib
  check "RETR passive + cmp"                     download_cmp
  if ((!tls)); then
    check "RETR active + cmp"                    download_cmp -P "$HOST"
    [[ $HOST != *:* ]] && check "STOR active (PORT) + RETR (PASV) + cmp" port_pasv_roundtrip
  fi
  check "set mtime ($([[ $SERVER == vsftpd ]] && echo 'MDTM-write' || echo MFMT)) + MDTM" set_mtime
  check "DELE + RMD, gone from listing"          delete_all
  if [[ $KIND == nat ]]; then
    check "raw PASV advertises 127,0,0,2"        raw_pasv_is_nat
    expect_fail "curl using the PASV address fails" list_root --disable-epsv --no-ftp-skip-pasv-ip --connect-timeout 5
  fi
  if [[ $KIND == tls ]]; then
    expect_fail "login without TLS refused"      plain_login
  fi
  if [[ $KIND == tls || $KIND == ftps ]] && [[ $SERVER == vsftpd || $SERVER == proftpd ]]; then
    expect_fail "data without TLS session reuse refused" list_root --no-sessionid
  fi
}

check_loopback_only() {
  local pidf pid bad=0 line
  for pidf in "$RUN"/*.pid; do
    [[ -e $pidf ]] || continue
    pid=$(<"$pidf")
    while read -r line; do
      case $line in 127.0.0.1:*|"[::1]:"*) ;; *) echo "pid $pid listens on $line"; bad=1 ;; esac
    done < <(ss -Htlnp | awk -v p="pid=$pid," 'index($0, p) {print $4}')
  done
  return $bad
}

main() {
  local -a insts
  if (($#)); then insts=("$@"); else read -ra insts <<<"$INTEROP_INSTANCES"; fi
  ((${#insts[@]})) || { echo "smoke: no instance running" >&2; exit 2; }
  echo "curl: $(curl --version | head -1)"
  local t0; t0=$(date +%s%3N)
  CUR=global
  check "daemons listen on 127.0.0.1 / ::1 only" check_loopback_only
  local i
  for i in "${insts[@]}"; do run_instance "$i"; done
  echo
  echo "smoke: ${#insts[@]} instance(s) in $(( $(date +%s%3N) - t0 )) ms"
  if ((FAILED)); then printf '  failed: %s\n' "${FAILURES[@]}"; fi
  echo "$PASSED passed, $FAILED failed"
  ((FAILED == 0))
}

main "$@"
