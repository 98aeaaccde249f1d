#!/usr/bin/env bash
# servers.sh - real FTP servers on loopback for pasvport/ftp interop tests.
#
#   servers.sh install              get vsftpd, proftpd, pure-ftpd, pyftpdlib
#   servers.sh start [VARIANT...]   (re)start instances; VARIANT is one of
#                                   plain ipv6 nat tls wan shanghai all
#                                   (default: all),
#                                   or an instance name (vsftpd-wan): only
#                                   those are (re)started, the others are
#                                   left alone
#   servers.sh stop [VARIANT...]    stop instances (default: all), idempotent
#   servers.sh status               show which instances are up
#   servers.sh ports                print the port map
#
# Environment:
#   INTEROP_CACHE  extracted server packages   (/var/cache/pasvport-interop)
#   INTEROP_RUN    run folder: configs, data, logs, PIDs, servers.env
#                                               (/tmp/pasvport-interop)
#   INTEROP_VARIANTS  variants for start/stop without arguments (all)
#
# Every daemon binds one loopback address only (127.0.0.1 or ::1) and is
# contacted there (or through the latency proxy).  127.0.0.2 only ever
# appears as the address the "nat" instances advertise in their 227 replies
# (nothing listens on it).
# 127.0.0.3 is what the "wan" instances advertise: the latency proxy of
# bench/latproxy listens there, on the same ports, while a benchmark runs.
# Daemons are stopped by their recorded PID (process group), never by name.
# See README.md for the port map, credentials and the pitfalls.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${INTEROP_CACHE:-/var/cache/pasvport-interop}
RUN=${INTEROP_RUN:-/tmp/pasvport-interop}
ROOT=$CACHE/root                      # dpkg-deb -x target
PY=/usr/bin/python3                   # Debian's python (sees python3-pyftpdlib)

FTP_USER=ftpuser
FTP_PASS=ftppass
PAM_SERVICE=pasvport-vsftpd           # /etc/pam.d/pasvport-vsftpd
NAT_ADVERTISED=127.0.0.2              # advertised, never listened on
WAN_ADVERTISED=127.0.0.3              # advertised; the latency proxy listens there

# Packages that conflict with each other ("Conflicts: ftp-server") or whose
# maintainer scripts would start a daemon on all addresses: never installed,
# only downloaded and extracted into $ROOT.
EXTRACTED_PKGS=(vsftpd proftpd-core proftpd-mod-crypto pure-ftpd)
# Installed normally (no conflicts, no daemons).
# tzdata: the shanghai instances run in TZ=Asia/Shanghai.
PLAIN_PKGS=(python3-pyftpdlib python3-openssl openssl curl util-linux tzdata)
SHANGHAI_TZ=Asia/Shanghai

VSFTPD_BIN=$ROOT/usr/sbin/vsftpd
PROFTPD_BIN=$ROOT/usr/sbin/proftpd
PROFTPD_MODDIR=$ROOT/usr/lib/proftpd
PUREFTPD_BIN=$ROOT/usr/sbin/pure-ftpd
PUREPW_BIN=$ROOT/usr/bin/pure-pw

# ---------------------------------------------------------------------------
# Instances: "<server>-<kind>".  kind is plain, ipv6, nat, tls (explicit FTPS,
# AUTH TLS), ftps (implicit TLS) or wan (plain, advertising 127.0.0.3 in
# PASV, where bench/latproxy forwards control and passive ports one to one
# with a delay) or shanghai (plain, in TZ=Asia/Shanghai with the server's
# "local time" option: LIST in UTC+8); the user-facing variant "tls" covers
# tls and ftps.
# Control port = server base + kind offset; passive range is 200 ports at
# 20000 + (port - 2100) * 200, below the kernel's ephemeral range (32768+).
# (pure-ftpd caps its sessions at half its passive range: 100 here.)
# servers: vsftpd proftpd pureftpd pyftpdlib; kinds: plain ipv6 nat tls ftps wan shanghai
declare -A SERVER_BASE=([vsftpd]=2120 [proftpd]=2130 [pureftpd]=2140 [pyftpdlib]=2150)
declare -A KIND_OFFSET=([plain]=1 [ipv6]=2 [nat]=3 [tls]=4 [ftps]=5 [wan]=6 [shanghai]=7)
# pure-ftpd 1.0.50 and pyftpdlib 1.5.7 have no implicit TLS mode.
ALL_INSTANCES=(
  vsftpd-plain proftpd-plain pureftpd-plain pyftpdlib-plain
  vsftpd-ipv6  proftpd-ipv6  pureftpd-ipv6  pyftpdlib-ipv6
  vsftpd-nat   proftpd-nat   pureftpd-nat   pyftpdlib-nat
  vsftpd-tls   proftpd-tls   pureftpd-tls   pyftpdlib-tls
  vsftpd-ftps  proftpd-ftps
  vsftpd-wan   proftpd-wan   pureftpd-wan   pyftpdlib-wan
  vsftpd-shanghai
)

log()  { printf '[servers] %s\n' "$*" >&2; }
die()  { printf '[servers] ERROR: %s\n' "$*" >&2; exit 1; }

inst_server() { echo "${1%%-*}"; }
inst_kind()   { echo "${1#*-}"; }
inst_port()   { echo $(( ${SERVER_BASE[$(inst_server "$1")]} + ${KIND_OFFSET[$(inst_kind "$1")]} )); }
inst_pasv_min() { echo $(( 20000 + ($(inst_port "$1") - 2100) * 200 )); }
inst_pasv_max() { echo $(( $(inst_pasv_min "$1") + 199 )); }
inst_host()   { if [[ $(inst_kind "$1") == ipv6 ]]; then echo "::1"; else echo "127.0.0.1"; fi; }
inst_addr()   { # host:port as Go's net.Dial wants it
  local h; h=$(inst_host "$1")
  if [[ $h == *:* ]]; then echo "[$h]:$(inst_port "$1")"; else echo "$h:$(inst_port "$1")"; fi
}
inst_dir()    { echo "$RUN/$1"; }
inst_pidfile(){ echo "$RUN/$1.pid"; }
inst_envkey() { # vsftpd-plain -> VSFTPD_PLAIN
  local s k; s=$(inst_server "$1"); k=$(inst_kind "$1")
  echo "${s^^}_${k^^}"
}

# Expand variant names (plain ipv6 nat tls all) into instance names.
# Without arguments: $INTEROP_VARIANTS (space-separated), else all.
instances_for() {
  local v i out=()
  # shellcheck disable=SC2086
  [[ $# -eq 0 ]] && set -- ${INTEROP_VARIANTS:-all}
  for v in "$@"; do
    case $v in
      all) out+=("${ALL_INSTANCES[@]}") ;;
      plain|ipv6|nat|wan|shanghai)
        for i in "${ALL_INSTANCES[@]}"; do [[ $(inst_kind "$i") == "$v" ]] && out+=("$i"); done ;;
      tls)
        for i in "${ALL_INSTANCES[@]}"; do [[ $(inst_kind "$i") == tls || $(inst_kind "$i") == ftps ]] && out+=("$i"); done ;;
      *-*)
        printf '%s\n' "${ALL_INSTANCES[@]}" | grep -qx -- "$v" || die "unknown instance '$v'"
        out+=("$v") ;;
      *) die "unknown variant '$v' (plain, ipv6, nat, tls, wan, shanghai, all, or an instance like vsftpd-plain)" ;;
    esac
  done
  # de-duplicate, keep order
  printf '%s\n' "${out[@]}" | awk '!seen[$0]++'
}

# alive = exists and is not a zombie (a killed daemon whose parent has not
# reaped it yet, e.g. when PID 1 of a container does not reap)
pid_alive() {
  [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || return 1
  local stat; stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}
inst_pid() { local f; f=$(inst_pidfile "$1"); if [[ -s $f ]]; then cat "$f"; fi; }
inst_running() { pid_alive "$(inst_pid "$1")"; }

# ===========================================================================
# install
# ===========================================================================
# "pkg=candidate-version" lines, one apt-cache call for all packages
# (an empty version when apt does not know the package).
apt_candidates() {
  apt-cache policy "$@" 2>/dev/null | awk '
    /^[^ ].*:$/ { if (p != "") print p "=" v; p = substr($0, 1, length($0) - 1); v = "" }
    /^  Candidate:/ { v = ($2 == "(none)") ? "" : $2 }
    END { if (p != "") print p "=" v }'
}

# First alternative of every "lib*" Depends of the extracted packages:
# shared libraries and PAM modules, which never conflict.
extracted_lib_deps() {
  local deb
  for deb in "$CACHE"/debs/*.deb; do
    dpkg-deb -f "$deb" Depends
  done | tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/:any//; s/[[:space:]]//g' \
       | grep -E '^lib' | sort -u
}

cmd_install() {
  local t0=$SECONDS
  command -v apt-get >/dev/null || die "apt-get not found: Debian is required"
  [[ $(id -u) -eq 0 ]] || die "install must run as root"
  export DEBIAN_FRONTEND=noninteractive

  # apt lists: update once, only when the packages are not found.
  local cands
  cands=$(apt_candidates "${EXTRACTED_PKGS[@]}" "${PLAIN_PKGS[@]}")
  if [[ $(grep -c '=.' <<<"$cands") -ne $(( ${#EXTRACTED_PKGS[@]} + ${#PLAIN_PKGS[@]} )) ]]; then
    log "apt-get update (packages not found in the apt lists)"
    apt-get update -qq
    cands=$(apt_candidates "${EXTRACTED_PKGS[@]}" "${PLAIN_PKGS[@]}")
  fi

  # 1. download + extract the conflicting server packages into the cache.
  local want have="" p
  want=$(for p in "${EXTRACTED_PKGS[@]}"; do grep -x "$p=.*" <<<"$cands"; done)
  [[ -f $CACHE/extracted.stamp ]] && have=$(cat "$CACHE/extracted.stamp")
  if [[ $want != "$have" || ! -x $VSFTPD_BIN || ! -x $PROFTPD_BIN || ! -x $PUREFTPD_BIN \
        || ! -f $PROFTPD_MODDIR/mod_tls.so ]]; then
    log "downloading and extracting: ${EXTRACTED_PKGS[*]}"
    rm -rf "$CACHE/debs" "$ROOT"
    mkdir -p "$CACHE/debs" "$ROOT"
    # let apt's unprivileged _apt user write there (avoids a sandbox warning)
    if id _apt >/dev/null 2>&1; then chown _apt "$CACHE/debs"; fi
    if ! (cd "$CACHE/debs" && apt-get download -qq "${EXTRACTED_PKGS[@]}"); then
      log "download failed: refreshing the apt lists once and retrying"
      apt-get update -qq
      (cd "$CACHE/debs" && apt-get download -qq "${EXTRACTED_PKGS[@]}")
    fi
    local deb
    for deb in "$CACHE"/debs/*.deb; do dpkg-deb -x "$deb" "$ROOT"; done
    printf '%s\n' "$want" > "$CACHE/extracted.stamp"
  else
    log "server packages already extracted in $ROOT"
  fi

  # 2. their shared-library dependencies + the non-conflicting packages.
  local deps missing=()
  mapfile -t deps < <(extracted_lib_deps)
  for p in "${deps[@]}" "${PLAIN_PKGS[@]}"; do
    [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "apt-get install ${missing[*]}"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    log "dependency packages already installed"
  fi

  # 3. the test account: a system user with a password (vsftpd authenticates
  #    it through PAM; proftpd, pure-ftpd, pyftpdlib map their virtual user to
  #    its uid/gid so that the files they write belong to it).
  if ! id "$FTP_USER" >/dev/null 2>&1; then
    log "creating system user $FTP_USER"
    useradd --system --user-group --no-create-home --home-dir / \
            --shell /usr/sbin/nologin --comment "pasvport interop FTP test user" "$FTP_USER"
  fi
  # vsftpd chdir()s to the home before local_root: it must exist ("/").
  if [[ $(getent passwd "$FTP_USER" | cut -d: -f6) != / ]]; then
    usermod --home / "$FTP_USER" || die "usermod failed: run '$0 stop' first"
  fi
  echo "$FTP_USER:$FTP_PASS" | chpasswd
  # A dedicated PAM service for vsftpd: plain pam_unix password check, no
  # pam_shells (the user's shell is nologin) and no pam_listfile.
  cat > "/etc/pam.d/$PAM_SERVICE" <<'EOF'
# PAM service for the pasvport interop vsftpd instances (interop/servers.sh)
auth     required pam_unix.so
account  required pam_unix.so
session  required pam_permit.so
EOF

  # 4. verify: every binary finds its libraries, python sees pyftpdlib.
  local bin
  for bin in "$VSFTPD_BIN" "$PROFTPD_BIN" "$PUREFTPD_BIN" "$PUREPW_BIN" "$PROFTPD_MODDIR/mod_tls.so"; do
    if [[ $(ldd "$bin" 2>&1) == *"not found"* ]]; then
      ldd "$bin" >&2; die "$bin: missing shared libraries"
    fi
  done
  "$PY" -c 'import pyftpdlib, OpenSSL' || die "$PY cannot import pyftpdlib/OpenSSL"
  [[ -f /usr/share/zoneinfo/$SHANGHAI_TZ ]] || die "tzdata: /usr/share/zoneinfo/$SHANGHAI_TZ missing"
  log "install done in $((SECONDS - t0)) s: vsftpd $("$VSFTPD_BIN" -v 0>&1 2>&1 | awk '{print $3}'), $("$PROFTPD_BIN" -v 2>&1 | awk '{print $2, $3}'), $("$PUREFTPD_BIN" --help 2>&1 | head -1 | awk '{print $1, $2}'), pyftpdlib $("$PY" -c 'import pyftpdlib; print(pyftpdlib.__ver__)')"
}

check_installed() {
  [[ -x $VSFTPD_BIN && -x $PROFTPD_BIN && -x $PUREFTPD_BIN ]] \
    || die "servers not installed in $ROOT: run '$0 install' first"
  id "$FTP_USER" >/dev/null 2>&1 || die "user $FTP_USER missing: run '$0 install'"
}

# ===========================================================================
# start
# ===========================================================================

# Fill @KEY@ placeholders of a template: fill TEMPLATE OUT KEY=VALUE...
fill() {
  local tmpl=$1 dest=$2 text kv; shift 2
  text=$(<"$tmpl")
  for kv in "$@"; do text=${text//"@${kv%%=*}@"/"${kv#*=}"}; done
  if [[ $text =~ @[A-Z0-9_]+@ ]]; then die "unfilled placeholder ${BASH_REMATCH[0]} in $dest"; fi
  printf '%s\n' "$text" > "$dest"
}

# Self-signed certificate for the TLS instances: CN=localhost with SANs
# localhost, 127.0.0.1 and ::1.  Kept across restarts while it is valid.
ensure_cert() {
  local d=$RUN/tls
  mkdir -p "$d"
  if [[ -s $d/cert.pem && -s $d/key.pem ]] \
     && openssl x509 -in "$d/cert.pem" -noout -checkend 86400 >/dev/null 2>&1; then
    return
  fi
  log "generating self-signed certificate in $d"
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 825 \
    -keyout "$d/key.pem" -out "$d/cert.pem" -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
    -addext "basicConstraints=critical,CA:FALSE" \
    -addext "extendedKeyUsage=serverAuth" >/dev/null 2>&1 \
    || die "openssl could not create the certificate"
  cat "$d/key.pem" "$d/cert.pem" > "$d/pureftpd.pem"   # pure-ftpd: key+cert in one file
  chmod 0644 "$d/cert.pem"
  chmod 0640 "$d/key.pem" "$d/pureftpd.pem"
  chgrp "$FTP_USER" "$d/key.pem"                       # pyftpdlib runs as ftpuser
}

# Start one instance: fresh folder, config, daemon in the foreground of a
# background job in its own session (so stop can signal the whole group).
start_instance() {
  local inst=$1 server kind host port pmin pmax dir data uid gid
  server=$(inst_server "$inst"); kind=$(inst_kind "$inst")
  host=$(inst_host "$inst"); port=$(inst_port "$inst")
  pmin=$(inst_pasv_min "$inst"); pmax=$(inst_pasv_max "$inst")
  dir=$(inst_dir "$inst"); data=$dir/data
  uid=$(id -u "$FTP_USER"); gid=$(id -g "$FTP_USER")

  rm -rf "$dir"
  mkdir -p "$data"
  chmod 0755 "$dir"
  chown "$FTP_USER:$FTP_USER" "$data"

  local cert=$RUN/tls/cert.pem key=$RUN/tls/key.pem
  local -a cmd
  case $server in
    vsftpd)
      local lines="" v4=YES v6=NO addrline="listen_address=$host"
      if [[ $kind == ipv6 ]]; then v4=NO; v6=YES; addrline="listen_address6=$host"; fi
      case $kind in
        nat) lines="pasv_address=$NAT_ADVERTISED
pasv_addr_resolve=NO" ;;
        wan) lines="pasv_address=$WAN_ADVERTISED
pasv_addr_resolve=NO" ;;
        # LIST (and MDTM) in the local time of TZ; overrides the template's NO
        shanghai) lines="use_localtime=YES" ;;
        tls|ftps) lines="ssl_enable=YES
rsa_cert_file=$cert
rsa_private_key_file=$key
ssl_ciphers=HIGH
ssl_tlsv1=YES
ssl_sslv2=NO
ssl_sslv3=NO
force_local_logins_ssl=YES
force_local_data_ssl=YES
allow_anon_ssl=NO
# the default, kept on purpose: data connections must resume the control
# connection's TLS session
require_ssl_reuse=YES
strict_ssl_read_eof=NO
debug_ssl=YES"
          [[ $kind == ftps ]] && lines+=$'\n'"implicit_ssl=YES" ;;
      esac
      fill "$HERE/vsftpd.conf.in" "$dir/vsftpd.conf" \
        LISTEN_V4=$v4 LISTEN_V6=$v6 LISTEN_ADDRESS_LINE="$addrline" PORT="$port" \
        INSTANCE="$inst" EMPTY_DIR="$RUN/empty" PAM_SERVICE=$PAM_SERVICE \
        DATA_DIR="$data" PASV_MIN="$pmin" PASV_MAX="$pmax" INSTANCE_DIR="$dir" \
        VARIANT_LINES="$lines"
      cmd=("$VSFTPD_BIN" "$dir/vsftpd.conf")
      ;;
    proftpd)
      local lines="" use6=off
      [[ $kind == ipv6 ]] && use6=on
      case $kind in
        nat) lines="MasqueradeAddress       $NAT_ADVERTISED" ;;
        wan) lines="MasqueradeAddress       $WAN_ADVERTISED" ;;
        tls|ftps) lines="<IfModule mod_dso.c>
  ModulePath            $PROFTPD_MODDIR
  LoadModule            mod_tls.c
</IfModule>
<IfModule mod_tls.c>
  TLSEngine             on
  TLSLog                $dir/tls.log
  TLSProtocol           TLSv1.2 TLSv1.3
  TLSRSACertificateFile    $cert
  TLSRSACertificateKeyFile $key
  TLSVerifyClient       off
  # control and data must be protected; data connections must reuse the
  # control connection's TLS session (mod_tls default, kept on purpose)
  TLSRequired           on
  TLSRenegotiate        none
  TLSSessionTickets     on"
          [[ $kind == ftps ]] && lines+=$'\n'"  TLSOptions            UseImplicitSSL"
          lines+=$'\n'"</IfModule>" ;;
      esac
      local hash; hash=$(openssl passwd -6 "$FTP_PASS")
      printf '%s:%s:%s:%s::%s:/usr/sbin/nologin\n' "$FTP_USER" "$hash" "$uid" "$gid" "$data" > "$dir/ftpd.passwd"
      printf '%s:x:%s:\n' "$FTP_USER" "$gid" > "$dir/ftpd.group"
      chmod 0600 "$dir/ftpd.passwd" "$dir/ftpd.group"
      fill "$HERE/proftpd.conf.in" "$dir/proftpd.conf" \
        INSTANCE="$inst" USE_IPV6=$use6 ADDR="$host" PORT="$port" INSTANCE_DIR="$dir" \
        PASV_MIN="$pmin" PASV_MAX="$pmax" VARIANT_LINES="$lines"
      "$PROFTPD_BIN" -t -c "$dir/proftpd.conf" >"$dir/configtest.log" 2>&1 \
        || { cat "$dir/configtest.log" >&2; die "$inst: proftpd rejects its configuration"; }
      cmd=("$PROFTPD_BIN" --nodaemon -c "$dir/proftpd.conf")
      ;;
    pureftpd)
      # puredb user database with a SHA-512 crypt hash: pure-pw's default
      # argon2id costs seconds of CPU per login.
      local hash; hash=$(openssl passwd -6 "$FTP_PASS")
      printf '%s:%s:%s:%s::%s/./::::::::::::\n' "$FTP_USER" "$hash" "$uid" "$gid" "$data" > "$dir/pureftpd.passwd"
      "$PUREPW_BIN" mkdb "$dir/pureftpd.pdb" -f "$dir/pureftpd.passwd" >/dev/null
      cmd=("$PUREFTPD_BIN"
           -S "$host,$port"                 # bind this address only
           -l "puredb:$dir/pureftpd.pdb"    # virtual users only
           -p "$pmin:$pmax"                 # passive range
           -E                               # no anonymous
           -H                               # no reverse DNS
           -A                               # chroot everyone
           -u 1                             # allow the system uid of ftpuser
           -c 200 -C 200                    # max clients / per IP (benchmarks;
                                            # capped at half the passive range)
           -I 15                            # idle timeout (minutes)
           -O "clf:$dir/xfer.log")          # transfer log
      case $kind in
        nat) cmd+=(-P "$NAT_ADVERTISED") ;;
        wan) cmd+=(-P "$WAN_ADVERTISED") ;;
        tls) cmd+=(-Y 3 -2 "$RUN/tls/pureftpd.pem") ;;  # 3 = TLS required on control and data
      esac
      ;;
    pyftpdlib)
      install -m 0644 "$HERE/pyftpd.py" "$dir/pyftpd.py"  # readable by ftpuser
      cmd=(setpriv --reuid="$uid" --regid="$gid" --init-groups
           "$PY" "$dir/pyftpd.py" --host "$host" --port "$port" --root "$data"
           --user "$FTP_USER" --password "$FTP_PASS" --passive "$pmin-$pmax")
      case $kind in
        nat) cmd+=(--masquerade "$NAT_ADVERTISED") ;;
        wan) cmd+=(--masquerade "$WAN_ADVERTISED") ;;
        tls) cmd+=(--certfile "$cert" --keyfile "$key") ;;
      esac
      ;;
  esac

  [[ $kind == shanghai ]] && cmd=(env TZ="$SHANGHAI_TZ" "${cmd[@]}")
  printf '%q ' "${cmd[@]}" > "$dir/cmdline"; echo >> "$dir/cmdline"
  # setsid: the daemon leads its own process group (PGID == PID), so stop can
  # signal the listener and its session processes together.  We are not a
  # process group leader here, so setsid execs in place and $! is the daemon.
  setsid "${cmd[@]}" >"$dir/daemon.log" 2>&1 </dev/null &
  echo $! > "$(inst_pidfile "$inst")"
}

# Reads the greeting: plain TCP, or TLS first for implicit-FTPS ports.
greeting() { # greeting INSTANCE -> prints the first reply line
  local inst=$1 tls=()
  [[ $(inst_kind "$inst") == ftps ]] && tls=(--implicit-tls --cafile "$RUN/tls/cert.pem")
  "$PY" "$HERE/ftpprobe.py" greet "$(inst_host "$inst")" "$(inst_port "$inst")" "${tls[@]}" 2>/dev/null
}

fail_instance() {
  local inst=$1 why=$2 dir; dir=$(inst_dir "$inst")
  {
    echo "=================== $inst: $why"
    echo "--- command: $(cat "$dir/cmdline" 2>/dev/null)"
    local f
    for f in "$dir"/daemon.log "$dir"/*.log; do
      [[ -s $f ]] || continue
      [[ $f == "$dir/daemon.log" && ${shown:-} == 1 ]] && continue
      [[ $f == "$dir/daemon.log" ]] && local shown=1
      echo "--- $f (last 40 lines)"; tail -n 40 "$f"
    done
  } >&2
}

cmd_start() {
  check_installed
  local -a insts
  mapfile -t insts < <(instances_for "$@")
  local t0; t0=$(date +%s%3N)

  mkdir -p "$RUN"; chmod 0755 "$RUN"
  # vsftpd's secure_chroot_dir: empty, root-owned, not writable by others.
  mkdir -p "$RUN/empty"; chown root:root "$RUN/empty"; chmod 0755 "$RUN/empty"
  local i need_tls=0
  for i in "${insts[@]}"; do [[ $(inst_kind "$i") == tls || $(inst_kind "$i") == ftps ]] && need_tls=1; done
  ((need_tls)) && ensure_cert

  # start = restart: stop what runs, then fresh folders for every instance.
  stop_instances "${insts[@]}"
  for i in "${insts[@]}"; do start_instance "$i"; done

  # Wait (bounded: 50 tries x 0.2 s) until every port answers a 220.
  local -A up=()
  local try failed=() pending
  for ((try = 1; try <= 50; try++)); do
    pending=0
    for i in "${insts[@]}"; do
      [[ -n ${up[$i]:-} ]] && continue
      if ! inst_running "$i"; then up[$i]=dead; continue; fi
      local g; g=$(greeting "$i" || true)
      if [[ $g == 220* ]]; then up[$i]=ok; else pending=1; fi
    done
    ((pending)) || break
    sleep 0.2
  done
  for i in "${insts[@]}"; do
    case ${up[$i]:-} in
      ok) ;;
      dead) fail_instance "$i" "the daemon exited"; failed+=("$i") ;;
      *)    fail_instance "$i" "no 220 greeting on $(inst_addr "$i") after 50 tries"; failed+=("$i") ;;
    esac
  done
  write_env
  if ((${#failed[@]})); then
    stop_instances "${insts[@]}"
    write_env
    die "failed to start: ${failed[*]} (all instances of this start were stopped again)"
  fi
  check_bindings
  log "started ${#insts[@]} instance(s) in $(( $(date +%s%3N) - t0 )) ms; env: $RUN/servers.env"
}

# Every listening socket of our daemons must be on 127.0.0.1 or [::1].
check_bindings() {
  local i pid bad=0 line
  for i in "${ALL_INSTANCES[@]}"; do
    pid=$(inst_pid "$i"); pid_alive "$pid" || continue
    while read -r line; do
      [[ -z $line ]] && continue
      case $line in
        127.0.0.1:*|"[::1]:"*) ;;
        *) log "ERROR: $i (pid $pid) listens on $line"; bad=1 ;;
      esac
    done < <(ss -Htlnp 2>/dev/null | awk -v p="pid=$pid," 'index($0, p) {print $4}')
  done
  ((bad == 0)) || die "a daemon listens on a non-loopback address"
}

# ===========================================================================
# servers.env
# ===========================================================================
write_env() {
  local f=$RUN/servers.env tmp i key names=()
  tmp=$(mktemp "$RUN/.servers.env.XXXXXX")
  {
    echo "# written by interop/servers.sh $(date -u +%FT%TZ); source it or parse KEY=VALUE lines"
    echo "FTP_USER=$FTP_USER"
    echo "FTP_PASS=$FTP_PASS"
    echo "INTEROP_RUN=$RUN"
    echo "NAT_ADVERTISED_ADDR=$NAT_ADVERTISED"
    echo "WAN_ADVERTISED_ADDR=$WAN_ADVERTISED"
    if [[ -s $RUN/tls/cert.pem ]]; then
      echo "FTP_TLS_CA=$RUN/tls/cert.pem"
      echo "FTP_TLS_SERVER_NAME=localhost"
    fi
    for i in "${ALL_INSTANCES[@]}"; do
      inst_running "$i" || continue
      names+=("$i")
      key=$(inst_envkey "$i")
      echo "${key}_ADDR=$(inst_addr "$i")"
      echo "${key}_PASV_PORTS=$(inst_pasv_min "$i")-$(inst_pasv_max "$i")"
      echo "${key}_DATA=$(inst_dir "$i")/data"
      # where the latency proxy listens for it, when one runs
      [[ $(inst_kind "$i") == wan ]] && echo "${key}_PROXY_ADDR=$WAN_ADVERTISED:$(inst_port "$i")"
      # the plain instance is also the server's default address
      [[ $(inst_kind "$i") == plain ]] && echo "${key%_PLAIN}_ADDR=$(inst_addr "$i")"
    done
    echo "INTEROP_INSTANCES=\"${names[*]}\""
  } > "$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$f"
}

# ===========================================================================
# stop / status
# ===========================================================================
# The daemon's process tree: the recorded PID, its process group (PGID == PID
# thanks to setsid) and all its descendants (vsftpd's session processes
# call setsid and leave the group, but remain descendants).
daemon_tree() {
  local root=$1
  {
    echo "$root"
    pgrep -g "$root" 2>/dev/null || true
    ps -eo pid=,ppid= | awk -v root="$root" '
      { parent[$1] = $2 }
      END {
        for (p in parent) {
          q = parent[p]
          for (n = 0; n < 64 && q != root && q > 1 && (q in parent); n++) q = parent[q]
          if (q == root) print p
        }
      }'
  } | sort -un
}

any_alive() { local p; for p in "$@"; do pid_alive "$p" && return 0; done; return 1; }

stop_instances() {
  local i pid n p tree
  for i in "$@"; do
    pid=$(inst_pid "$i")
    if pid_alive "$pid"; then
      mapfile -t tree < <(daemon_tree "$pid")
      for p in "${tree[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
      for ((n = 0; n < 50; n++)); do any_alive "${tree[@]}" || break; sleep 0.1; done
      if any_alive "${tree[@]}"; then
        log "$i: processes ignored SIGTERM for 5 s: SIGKILL"
        for p in "${tree[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
        for ((n = 0; n < 30; n++)); do any_alive "${tree[@]}" || break; sleep 0.1; done
      fi
      for p in "${tree[@]}"; do
        pid_alive "$p" && die "$i: process $p of pid $pid's tree is still running"
      done
      log "stopped $i (pid $pid, ${#tree[@]} process(es))"
    fi
    rm -f "$(inst_pidfile "$i")"
  done
}

cmd_stop() {
  local -a insts
  mapfile -t insts < <(instances_for "$@")
  [[ -d $RUN ]] || { log "nothing to stop ($RUN does not exist)"; return 0; }
  stop_instances "${insts[@]}"
  write_env
}

cmd_status() {
  local i pid state g any=0
  printf '%-16s %-7s %-8s %-18s %-12s %s\n' INSTANCE STATE PID ADDRESS PASV GREETING
  for i in "${ALL_INSTANCES[@]}"; do
    pid=$(inst_pid "$i")
    if pid_alive "$pid"; then
      state=up; any=1
      g=$(greeting "$i" || true); g=${g:-"(no greeting)"}
    else
      [[ -n $pid ]] && state=dead || state=down
      pid=-; g=""
    fi
    printf '%-16s %-7s %-8s %-18s %-12s %s\n' "$i" "$state" "$pid" "$(inst_addr "$i")" \
      "$(inst_pasv_min "$i")-$(inst_pasv_max "$i")" "${g:0:60}"
  done
  ((any)) || return 3
}

cmd_ports() {
  local i
  printf '%-16s %-18s %s\n' INSTANCE ADDRESS PASSIVE
  for i in "${ALL_INSTANCES[@]}"; do
    printf '%-16s %-18s %s\n' "$i" "$(inst_addr "$i")" "$(inst_pasv_min "$i")-$(inst_pasv_max "$i")"
  done
}

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }

main() {
  local sub=${1:-}; shift || true
  case $sub in
    install) cmd_install "$@" ;;
    start)   cmd_start "$@" ;;
    stop)    cmd_stop "$@" ;;
    status)  cmd_status "$@" ;;
    ports)   cmd_ports ;;
    env)     cat "$RUN/servers.env" ;;
    -h|--help|help|"") usage ;;
    *) usage; die "unknown command '$sub'" ;;
  esac
}

main "$@"
