#!/usr/bin/env bash
# Load test of the hottest app route, GET /api/v1/app/catalog/plans?country=PH, on a release
# build of `topup serve` over a fresh data dir (embedded mode: SQLite + in-process sandbox).
# Needs `wrk` (Debian: apt-get install -y wrk) and curl.
#
#   bench/catalog.sh                       # 64 and 256 connections, 10 s each, log level info
#   DURATION=30s LEVELS="info warn" bench/catalog.sh   # also without the per-request log line
#   TOPUP_BIN=/tmp/topup-a bench/catalog.sh            # a binary built beforehand
#
# Prints requests/s, latency percentiles (p99), the server's CPU per request (user + system
# from /proc, so other load on the machine does not distort it) and its resident memory
# (VmRSS) per run, then one summary line per run. Target: >= 50,000 req/s with p99 < 10 ms
# at 256 connections on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-"64 256"}
LEVELS=${LEVELS:-info}
THREADS=${THREADS:-2}
PORT=${PORT:-18089}
BASE="http://127.0.0.1:${PORT}"
URL="${BASE}/api/v1/app/catalog/plans?country=PH"

source bench/lib.sh
require_tools wrk curl
TOPUP_BIN=$(topup_binary)

DATA=$(mktemp -d)
PID=""
stop() {
  if [[ -n "$PID" ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  PID=""
}
trap 'stop; rm -rf "$DATA"' EXIT
rss() { rss_of "$PID"; }
SUMMARY=()

echo "machine: $(nproc) cores; load: $(machine_load)"
for level in $LEVELS; do
  stop
  RUST_LOG="$level" "$TOPUP_BIN" serve --listen "127.0.0.1:${PORT}" \
    --data-dir "$DATA/data" --log-format json >"$DATA/server-$level.log" 2>&1 &
  PID=$!
  # The first start syncs the sandbox catalog; wait until PH is on sale.
  for _ in $(seq 1 600); do
    status=$(curl -s -o /dev/null -w '%{http_code}' "$URL" || true)
    [[ "$status" == 200 ]] && break
    sleep 0.1
  done
  [[ "$status" == 200 ]] || { echo "catalog not ready; see $DATA/server-$level.log" >&2; exit 1; }
  bytes=$(curl -s "$URL" | wc -c)
  echo "== log level $level; response ${bytes} bytes; RSS $(rss) at start"
  wrk -t"$THREADS" -c64 -d2s "$URL" >/dev/null # warm-up
  for connections in $CONNECTIONS; do
    echo "-- ${connections} connections, ${DURATION}"
    before=$(cpu_ticks "$PID")
    out=$(wrk -t"$THREADS" -c"$connections" -d"$DURATION" --latency "$URL")
    after=$(cpu_ticks "$PID")
    echo "$out" | grep -E 'Requests/sec|^ +Latency|^ +(50|90|99)%|Non-2xx|Socket errors'
    rate=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    cpu_us=$(awk -v t=$((after - before)) -v hz="$TICKS_PER_SECOND" -v n="$requests" 'BEGIN {printf "%.0f", t / hz * 1e6 / n}')
    echo "    server CPU per request: ${cpu_us} µs; RSS $(rss)"
    SUMMARY+=("log $level, ${connections} connections: ${rate} req/s, p99 ${p99}; server CPU ${cpu_us} µs each; RSS $(rss)")
    bench_row "catalog, one country's plans (log $level, $connections connections)" "$(echo "$out" | wrk_rate)" "p99 $p99" "${cpu_us} µs" "$(rss)"
  done
done
echo "== summary ($(nproc) cores; load after: $(machine_load))"
printf '%s\n' "${SUMMARY[@]}"
