#!/usr/bin/env bash
# ratelimit.sh: measures ftpsync --limit-rate against a lab server
# (issue 21, item 11): a 64 MiB upload and download at 4 MiB/s should take
# 16 s each, within 5 %. Prints the times and the deviation, and checks
# that the file came back whole. Needs the interop servers
# (interop/servers.sh) and leaves nothing on them.
#
#	bash bench/ratelimit.sh [SERVER] [SIZE_MIB] [RATE]   # defaults: PUREFTPD 64 4M
set -euo pipefail
cd "$(dirname "$0")/.."
server=${1:-PUREFTPD} size=${2:-64} rate=${3:-4M}
env=${INTEROP_RUN:-/tmp/pasvport-interop}/servers.env
addr=$(sed -n "s/^${server}_PLAIN_ADDR=//p" "$env")
user=$(sed -n 's/^FTP_USER=//p' "$env") pass=$(sed -n 's/^FTP_PASS=//p' "$env")
[ -n "$addr" ] || { echo "no ${server}_PLAIN_ADDR in $env" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/ftpsync" ./cmd/ftpsync
head -c $((size << 20)) /dev/urandom >"$tmp/up.bin"
dir="edges-rate-$$"
url="ftp://$user@$addr/$dir"
export FTP_PASSWORD=$pass
"$tmp/ftpsync" mkdir "$url" >/dev/null
trap '"$tmp/ftpsync" rm -r "$url" >/dev/null; rm -rf "$tmp"' EXIT
bps=$(awk -v r="$rate" 'BEGIN { m = 1; u = toupper(substr(r, length(r)));
	if (u == "K") m = 1024; else if (u == "M") m = 1048576; else if (u == "G") m = 1073741824;
	if (m > 1) r = substr(r, 1, length(r) - 1); print r * m }')
want=$(awk -v n=$((size << 20)) -v b="$bps" 'BEGIN { printf "%.2f", n / b }')
for op in put get; do
	start=$(date +%s.%N)
	if [ $op = put ]; then
		"$tmp/ftpsync" put --limit-rate "$rate" "$tmp/up.bin" "$url/up.bin" >/dev/null
	else
		"$tmp/ftpsync" get --limit-rate "$rate" "$url/up.bin" "$tmp/down.bin" >/dev/null
	fi
	end=$(date +%s.%N)
	awk -v s="$start" -v e="$end" -v w="$want" -v op=$op -v n="$size" -v r="$rate" \
		'BEGIN { t = e - s; printf "%s %d MiB at %s/s: %.2f s (expected %.2f s, %+.1f %%)\n", op, n, r, t, w, (t - w) / w * 100 }'
done
cmp "$tmp/up.bin" "$tmp/down.bin" && echo "the download is byte-identical to the upload"
