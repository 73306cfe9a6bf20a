# Helpers shared by the bench/*.sh scripts (sourced, not run). bench/support.mjs is the same
# for the Node scripts.

# Exits unless every named tool is installed.
require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$tool not found (Debian: apt-get install -y $tool)" >&2; exit 1; }
  done
}

# The binary to measure: TOPUP_BIN (one built already, to compare two builds), otherwise one
# built here with the cargo profile TOPUP_PROFILE: `release` by default, `dist` for the build
# that ships (Cargo.toml; twice as long to build).
topup_binary() {
  if [[ -n "${TOPUP_BIN:-}" ]]; then
    echo "$TOPUP_BIN"
  else
    local profile=${TOPUP_PROFILE:-release}
    cargo build --profile "$profile" -q -p topup-server
    echo "${CARGO_TARGET_DIR:-target}/$profile/topup"
  fi
}

json_post() { curl -sf -XPOST "$1" -H 'content-type: application/json' "${@:3}" -d "$2"; }

# Polls `$2` (a command) every 0.1 s for up to a minute; exits naming `$1` if it never holds.
wait_for() {
  for _ in $(seq 1 600); do
    eval "$2" && return 0
    sleep 0.1
  done
  echo "$1 did not start${DATA:+; see $DATA}" >&2
  exit 1
}
wait_healthy() { wait_for "$1" "curl -sf '$1/healthz' >/dev/null"; }

# CPU ticks (user + system) of process $1 and its children (Node's cluster workers).
cpu_ticks() {
  local total=0 pid
  for pid in "$1" $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}
TICKS_PER_SECOND=$(getconf CLK_TCK)

# Milliseconds of CPU per request: $1 ticks over $2 requests.
cpu_ms_per_request() {
  awk -v t="$1" -v hz="$TICKS_PER_SECOND" -v n="$2" 'BEGIN {printf "%.2f", (n > 0 ? t / hz * 1000 / n : 0)}'
}

# Appends one row of the summary table (bench/summary.sh) to the file BENCH_ROWS, when set:
# what was measured, its rate, its latency, the server's CPU per request and its RSS.
bench_row() {
  [[ -n "${BENCH_ROWS:-}" ]] || return 0
  printf '| %s | %s | %s | %s | %s |\n' "$@" >>"$BENCH_ROWS"
}

# "<requests/s>" and "<p99>" of a wrk report on stdin.
wrk_rate() {
  awk '/Requests\/sec/ {
    n = sprintf("%d", $2); grouped = ""
    while (length(n) > 3) { grouped = "," substr(n, length(n) - 2) grouped; n = substr(n, 1, length(n) - 3) }
    print n grouped "/s"
  }'
}
wrk_p99() { awk '$1 == "99%" {print "p99 " $2}'; }

rss_of() { awk '/^VmRSS/ {printf "%.1f MiB", $2 / 1024}' "/proc/$1/status"; }
machine_load() { uptime | sed 's/.*load average: //'; }
