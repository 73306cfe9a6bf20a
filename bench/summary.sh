#!/usr/bin/env bash
# The README's summary table, measured afresh: runs the catalog, checkout and notification,
# and dashboard and admin search benchmarks one after the other on one binary, and prints
# their figures as one Markdown table with the machine, its load before and after, the
# commit and the build. Each script's own report goes to a log (its path is printed).
#
#   bench/summary.sh                        # a release build; about 8 minutes on 2 cores
#   TOPUP_PROFILE=dist bench/summary.sh     # the build that ships (20 minutes to build first)
#   TOPUP_BIN=/tmp/topup-a bench/summary.sh # a binary built beforehand
#   DASHBOARD_ORDERS=200000 bench/summary.sh   # a smaller shop for the dashboard questions
#
# Needs what the scripts need: wrk, curl, jq and Node. Stops by itself; every server it
# starts is stopped and its data dir removed.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
require_tools wrk curl jq node

TOPUP_BIN=$(topup_binary)
export TOPUP_BIN
DASHBOARD_ORDERS=${DASHBOARD_ORDERS:-1000000}
LOG=$(mktemp -t topup-bench-summary.XXXXXX)
BENCH_ROWS=$(mktemp -t topup-bench-rows.XXXXXX)
export BENCH_ROWS
trap 'rm -f "$BENCH_ROWS"' EXIT

load_before=$(machine_load)
# A script that misses one of its bars still gives its figures: the table says so at the end.
FAILED=()
run() {
  echo "== $1 (report in $LOG)" >&2
  local what=$1
  shift
  "$@" >>"$LOG" 2>&1 || FAILED+=("$what")
}
run "catalog" env CONNECTIONS=64 LEVELS=info bash bench/catalog.sh
run "checkouts and notifications" env SANDBOX=external PHASES="checkout notify" bash bench/orders.sh
run "dashboard and admin search over ${DASHBOARD_ORDERS} demo orders" \
  env ORDERS="$DASHBOARD_ORDERS" REPEAT=100 node bench/dashboard.mjs

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo "unknown commit")
echo
if [[ -n "${TOPUP_PROFILE:-}" || "$TOPUP_BIN" == */release/topup ]]; then
  build="the ${TOPUP_PROFILE:-release} build"
else
  build="the binary $TOPUP_BIN"
fi
echo "Measured $(date -u +%F) on $(nproc) cores ($cpu), commit $commit, $build;"
echo "load average $load_before before, $(machine_load) after. CPU is the server's own, from /proc."
echo
echo "| measured | rate | latency | server CPU each | server RSS after |"
echo "|---|---|---|---|---|"
cat "$BENCH_ROWS"
if ((${#FAILED[@]})); then
  echo
  echo "Failed or missed a bar (see $LOG): ${FAILED[*]}"
  exit 1
fi
