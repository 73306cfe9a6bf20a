#!/usr/bin/env bash
# Load test of the hottest app route, GET /api/v1/app/catalog/plans?country=PH, on a release
# build of `topup serve` over a fresh data dir (embedded mode: SQLite + in-process sandbox).
# Needs `wrk` (Debian: apt-get install -y wrk) and curl.
#
#   bench/catalog.sh                       # 64 and 256 connections, 10 s each, log level info
#   DURATION=30s LEVELS="info warn" bench/catalog.sh   # also without the per-request log line
#
# Prints requests/s and latency percentiles (p99) per run. Target: >= 50,000 req/s with
# p99 < 10 ms at 256 connections on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-"64 256"}
LEVELS=${LEVELS:-info}
THREADS=${THREADS:-2}
PORT=${PORT:-18089}
BASE="http://127.0.0.1:${PORT}"
URL="${BASE}/api/v1/app/catalog/plans?country=PH"

command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
cargo build --release -q -p topup-server

DATA=$(mktemp -d)
PID=""
stop() {
  if [[ -n "$PID" ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  PID=""
}
trap 'stop; rm -rf "$DATA"' EXIT

echo "machine: $(nproc) cores; load: $(uptime | sed 's/.*load average: //')"
for level in $LEVELS; do
  stop
  RUST_LOG="$level" target/release/topup serve --listen "127.0.0.1:${PORT}" \
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
  echo "== log level $level; response ${bytes} bytes"
  wrk -t"$THREADS" -c64 -d2s "$URL" >/dev/null # warm-up
  for connections in $CONNECTIONS; do
    echo "-- ${connections} connections, ${DURATION}"
    wrk -t"$THREADS" -c"$connections" -d"$DURATION" --latency "$URL" |
      grep -E 'Requests/sec|^ +Latency|^ +(50|90|99)%|Non-2xx|Socket errors'
  done
done
echo "load after: $(uptime | sed 's/.*load average: //')"
