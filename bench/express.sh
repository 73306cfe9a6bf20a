#!/usr/bin/env bash
# Checkouts of topup against the same checkout written as a typical Node.js/Express + SQLite
# service (bench/express-baseline/server.mjs: what it does and leaves out is written there),
# on the same machine, against the same outside world: a third process, an embedded
# `topup serve`, plays WeChat Pay and Reloadly for both.
#
# Both servers run at once (the one not measured is idle); wrk runs bench/checkout.lua
# against each in turn, ROUNDS times (2 by default), ordered topup-express, express-topup, …
# so that neither gains from going first or from a smaller store. Every checkout is a fresh
# number: each asks the provider for its operator, signs the JSAPI prepay, verifies WeChat's
# answer and signs the payment parameters. Printed per run: checkouts/s, p99, and the
# server's CPU per checkout (all its processes, from /proc: other load does not distort it),
# with the outside world's beside it.
#
# Needs wrk, curl, jq, and Node 20 with a C++ toolchain for better-sqlite3 (its first
# `npm install` builds it: about two minutes).
#
#   bench/express.sh
#   DURATION=20s CONNECTIONS=64 ROUNDS=3 TOPUP_BIN=target/release/topup bench/express.sh
#   PROFILE_DIR=/tmp/prof bench/express.sh   # also `perf record` topup's runs (slower: compare no figures)
#   PIN=1 bench/express.sh                   # the servers on core 0, the outside world and wrk on core 1
#   TOPUP_BIN=old/topup WORLD_BIN=target/release/topup bench/express.sh   # an older topup, today's world
#                                            # (LIMITS=login for builds from before 2026-12-06)
#
# Unpinned, the servers share both cores with the outside world and wrk, so the throughput
# ratio is capped by what those spend per checkout (printed at the end). With PIN=1 each
# server has a core of its own, as it would where WeChat Pay is WeChat Pay, and the throughput
# ratio is that of the servers alone (each sees one core: topup runs one HTTP worker, the
# Express service one cluster worker). Needs taskset (util-linux) and at least 2 cores.
#
# Stops by itself: every process it started is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
USERS=${USERS:-64}
ROUNDS=${ROUNDS:-2}
PORT=${PORT:-18290}
WORLD="http://127.0.0.1:$((PORT + 1))"
TOPUP="http://127.0.0.1:${PORT}"
EXPRESS="http://127.0.0.1:$((PORT + 2))"
PROBE_PHONE="%2B639171234500"

source bench/lib.sh
require_tools wrk curl jq node npm
BIN=$(topup_binary)
# The outside world's binary: this one unless told, so that two builds of topup can be
# measured against the same WeChat Pay and provider.
WORLD_BIN=${WORLD_BIN:-$BIN}
if [[ ! -d bench/express-baseline/node_modules ]]; then
  # better-sqlite3 is compiled against the installed Node's headers.
  (cd bench/express-baseline && npm_config_nodedir=${npm_config_nodedir:-/usr} npm ci --no-audit --no-fund)
fi

SERVER_CPUS=() WORLD_CPUS=()
if [[ -n "${PIN:-}" ]]; then
  require_tools taskset
  (($(nproc) >= 2)) || { echo "PIN=1 needs at least 2 cores" >&2; exit 1; }
  SERVER_CPUS=(taskset -c 0)
  WORLD_CPUS=(taskset -c 1)
fi

DATA=$(mktemp -d)
PIDS=()
stop() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap 'stop; rm -rf "$DATA"' EXIT

echo "machine: $(nproc) cores; load: $(machine_load)${PIN:+; servers pinned to core 0, the outside world and wrk to core 1}"
RUST_LOG=warn "${WORLD_CPUS[@]}" "$WORLD_BIN" serve --listen "127.0.0.1:$((PORT + 1))" --data-dir "$DATA/world" \
  --log-format json >"$DATA/world.log" 2>&1 &
WORLD_PID=$!
PIDS+=("$WORLD_PID")
wait_healthy "$WORLD"

# The per-user and per-address limits would refuse most of the load: off. Builds from before
# 2026-12-06 had only the login limit, and refuse settings they do not know: LIMITS=login.
LIMITS_OFF=(TOPUP_APP__LOGIN_RATE_PER_MINUTE=0)
if [[ "${LIMITS:-all}" != login ]]; then
  LIMITS_OFF+=(TOPUP_CATALOG__DETECT_LOOKUPS_PER_MINUTE=0 TOPUP_ORDERS__CHECKOUT_RATE_PER_MINUTE=0
    TOPUP_ORDERS__MAX_UNPAID_ORDERS_PER_USER=0)
fi
env "${LIMITS_OFF[@]}" TOPUP_SANDBOX__EXTERNAL_URL=$WORLD TOPUP_SANDBOX__KEYS_DIR=$DATA/world/secrets \
  RUST_LOG=warn "${SERVER_CPUS[@]}" "$BIN" serve --listen "127.0.0.1:${PORT}" --data-dir "$DATA/topup" \
  --log-format json >"$DATA/topup.log" 2>&1 &
TOPUP_PID=$!
PIDS+=("$TOPUP_PID")
# The first start syncs the catalog from the provider; wait until Globe PH plans are on sale.
TOPUP_PLAN=""
plan_on_sale() {
  TOPUP_PLAN=$(curl -s "$TOPUP/api/v1/app/catalog/detect?phone=$PROBE_PHONE" | jq -r '.plans[0].id // empty' 2>/dev/null || true)
  [[ -n "$TOPUP_PLAN" ]]
}
wait_for "topup" plan_on_sale
: >"$DATA/topup-tokens"
for _ in $(seq 1 "$USERS"); do
  code=$(json_post "$WORLD/sandbox/wechat/codes" '{}' | jq -r .code)
  json_post "$TOPUP/api/v1/app/auth/login" "{\"code\":\"$code\"}" | jq -r .token >>"$DATA/topup-tokens"
done

PORT=$((PORT + 2)) WORLD=$WORLD KEYS=$DATA/world/secrets DATA=$DATA/express USERS=$USERS \
  "${SERVER_CPUS[@]}" node bench/express-baseline/server.mjs >"$DATA/express.log" 2>&1 &
EXPRESS_PID=$!
PIDS+=("$EXPRESS_PID")
wait_for "the Express service" "grep -q listening $DATA/express.log"
EXPRESS_PLAN=$(cat "$DATA/express/plan")

RUN=0
declare -A RATE CPU P99 COUNT WORLD_CPU
measure() { # $1: topup or express
  local name=$1 base pid tokens plan before after world_before world_after requests
  case "$name" in
    topup) base=$TOPUP pid=$TOPUP_PID tokens=$DATA/topup-tokens plan=$TOPUP_PLAN ;;
    express) base=$EXPRESS pid=$EXPRESS_PID tokens=$DATA/express/tokens plan=$EXPRESS_PLAN ;;
  esac
  RUN=$((RUN + 1))
  local perf_pid=""
  if [[ -n "${PROFILE_DIR:-}" && "$name" == topup ]]; then
    mkdir -p "$PROFILE_DIR"
    perf record -F 499 -g -p "$pid" -o "$PROFILE_DIR/perf-topup-run$RUN.data" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  before=$(cpu_ticks "$pid")
  world_before=$(cpu_ticks "$WORLD_PID")
  TOKENS_FILE=$tokens PLAN_ID=$plan RUN=$RUN THREADS=$THREADS \
    "${WORLD_CPUS[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/checkout.lua "$base" >"$DATA/run$RUN.txt"
  after=$(cpu_ticks "$pid")
  world_after=$(cpu_ticks "$WORLD_PID")
  if [[ -n "$perf_pid" ]]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
  requests=$(awk '/requests in/ {print $1}' "$DATA/run$RUN.txt")
  if grep -q 'Non-2xx' "$DATA/run$RUN.txt"; then
    echo "$name: some checkouts failed:" >&2
    grep -E 'requests in|Non-2xx' "$DATA/run$RUN.txt" >&2
    # The data dir goes on exit: show what the server said about them first.
    echo "last lines of its log:" >&2
    tail -n 20 "$DATA/$name.log" >&2
    exit 1
  fi
  local rate p99 cpu world_cpu
  rate=$(awk '/Requests\/sec/ {print $2}' "$DATA/run$RUN.txt")
  p99=$(awk '/^ +99%/ {print $2}' "$DATA/run$RUN.txt")
  cpu=$(cpu_ms_per_request $((after - before)) "$requests")
  world_cpu=$(cpu_ms_per_request $((world_after - world_before)) "$requests")
  printf '%-8s run %d: %8s checkouts/s, p99 %8s, %s ms CPU per checkout (the sandbox: %s ms)\n' \
    "$name" "$RUN" "$rate" "$p99" "$cpu" "$world_cpu"
  RATE[$name]="${RATE[$name]:-} $rate"
  CPU[$name]="${CPU[$name]:-} $cpu"
  WORLD_CPU[$name]="${WORLD_CPU[$name]:-} $world_cpu"
  COUNT[$name]=$((${COUNT[$name]:-0} + 1))
}

echo "== checkouts, ${CONNECTIONS} connections, ${DURATION} each, ${ROUNDS} rounds"
for ((round = 1; round <= ROUNDS; round++)); do
  if ((round % 2)); then measure topup; measure express; else measure express; measure topup; fi
done

mean() { tr ' ' '\n' | awk 'NF {s += $1; n++} END {printf "%.2f", s / n}'; }
topup_rate=$(mean <<<"${RATE[topup]}")
express_rate=$(mean <<<"${RATE[express]}")
topup_cpu=$(mean <<<"${CPU[topup]}")
express_cpu=$(mean <<<"${CPU[express]}")
echo "== summary ($(nproc) cores; load after: $(machine_load))"
echo "topup:   ${topup_rate} checkouts/s, ${topup_cpu} ms CPU per checkout (mean of ${COUNT[topup]} runs)"
echo "express: ${express_rate} checkouts/s, ${express_cpu} ms CPU per checkout (mean of ${COUNT[express]} runs)"
awk -v a="$topup_rate" -v b="$express_rate" -v c="$topup_cpu" -v d="$express_cpu" \
  'BEGIN {printf "topup / express: %.2f× the throughput, %.2f× the CPU per checkout\n", a / b, c / d}'
world_cpu=$(mean <<<"${WORLD_CPU[topup]} ${WORLD_CPU[express]}")
if [[ -n "${PIN:-}" ]]; then
  # Each server had core 0 to itself: its throughput is what one core gives it.
  awk -v w="$world_cpu" 'BEGIN {printf "the sandbox: %.2f ms CPU per checkout for either, on core 1 with wrk\n", w}'
else
  # The sandbox and wrk run on the same cores, and each checkout costs the sandbox the same
  # whichever server placed it (it verifies and signs WeChat's side too). Throughput on a
  # saturated machine follows the CPU all processes spend per checkout, so the ratio of
  # throughputs here stays under that of (server + sandbox) CPU, whatever the server saves.
  awk -v c="$topup_cpu" -v d="$express_cpu" -v w="$world_cpu" \
    'BEGIN {printf "the sandbox: %.2f ms CPU per checkout for either; (express + sandbox) / (topup + sandbox) CPU = %.2f, the most throughput ratio the shared cores allow\n", w, (d + w) / (c + w)}'
fi
