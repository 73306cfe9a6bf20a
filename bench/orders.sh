#!/usr/bin/env bash
# Load test of the order money path on a release build of `topup serve` over a fresh data dir
# (embedded mode: SQLite + the WeChat Pay, mini-program and Reloadly sandboxes, on loopback):
#
#  1. checkouts: POST /api/v1/app/orders, each a fresh number (operator detection at the
#     provider sandbox, order + payment records, JSAPI prepay at the WeChat Pay sandbox with
#     signed request and verified answer, paySign) — requests/s and p99;
#  2. payment notifications: POST /api/v1/pay/wechat/notify with real notifications of paid
#     orders, freshly signed by the sandbox (verified, decrypted, matched against the payment,
#     answered 204 as WeChat's duplicates are) — requests/s and p99;
#  3. checkouts with a coupon (PHASES=coupon, not in the default run): staff issue coupons
#     from three templates, then checkouts are measured on that same store without a coupon
#     and with one (each applying a coupon of its own), over ROUNDS rounds (2 by default, at
#     most 3) ordered plain-coupon, coupon-plain, … so that neither gains from the store's
#     growth: the coupon's guarded lock and price line, compared on equal ground, as CPU per
#     checkout;
#  4. checkouts while subscribe messages go out (PHASES=messages SANDBOX=external, not in
#     the default run):
#     MESSAGE_ORDERS (4,000) orders are paid and recharged for users who accepted both
#     messages, with the server sending none, so two messages per order are queued; the server
#     restarts sending, and checkouts are measured while it works through them; before that
#     and after it, with nothing to send; with the messages sent per second meanwhile;
#  5. resident memory (VmRSS) of the server before and after, and its CPU time per request
#     (user + system from /proc, so other load on the machine does not distort it).
#
# Needs wrk (Debian: apt-get install -y wrk), curl and jq.
#
#   bench/orders.sh                         # 64 connections, 10 s per phase
#   DURATION=30s CONNECTIONS=128 bench/orders.sh
#   SANDBOX=external bench/orders.sh        # the sandboxes in a second process (see below)
#   PROFILE_DIR=/tmp/prof bench/orders.sh   # also `perf record` the server in each phase
#   PHASES=checkout bench/orders.sh         # only some phases (checkout, notify, coupon)
#   PHASES="checkout coupon" bench/orders.sh # checkouts without and with a coupon, to compare
#   PACE_MS=40 PHASES=checkout bench/orders.sh   # checkouts offered at a steady rate (below)
#
# By default the sandboxes run inside the measured server, so its CPU includes the work
# WeChat and the provider do in production (one of the three RSA signatures of a checkout
# is the sandbox's). SANDBOX=external runs them in a second `topup serve` (the measured one
# uses it through `sandbox.external_url`): throughput still shares the machine, but the CPU
# per request is the server's own.
#
# wrk keeps every connection busy, so at saturation the mean latency is connections /
# throughput and the p99 measures the queue. PACE_MS makes each connection pause after
# every answer, offering less than the server can take: the p99 is then a checkout's own
# latency at that rate (wrk's latencies do not count the pauses).
#
# Targets on 2 cores: >= 1,200 checkouts/s with p99 < 50 ms at 64 connections, and
# >= 2,000 notifications/s.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
USERS=${USERS:-64}
PAID=${PAID:-1000}
PORT=${PORT:-18090}
SANDBOX=${SANDBOX:-embedded}
PHASES=${PHASES:-checkout notify}
ROUNDS=${ROUNDS:-2}
MESSAGE_ORDERS=${MESSAGE_ORDERS:-4000}
WRK=${WRK:-wrk}
BASE="http://127.0.0.1:${PORT}"
PROBE_PHONE="%2B639171234500"

source bench/lib.sh
require_tools wrk curl jq
BIN=$(topup_binary)

DATA=$(mktemp -d)
PID=""
WORLD_PID=""
stop() {
  for pid in $PID $WORLD_PID; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  PID=""
  WORLD_PID=""
}
trap 'stop; rm -rf "$DATA"' EXIT

# The per-address and per-user limits off: every request here comes from one address and a
# few users, far faster than any one customer; everything else is the default.
cat >"$DATA/topup.toml" <<'TOML'
[app]
login_rate_per_minute = 0

[catalog]
detect_lookups_per_minute = 0

[orders]
checkout_rate_per_minute = 0
max_unpaid_orders_per_user = 0
TOML

rss() { rss_of "$PID"; }

echo "machine: $(nproc) cores; load: $(machine_load); sandboxes: $SANDBOX"
WORLD=$BASE
if [[ "$SANDBOX" == external ]]; then
  WORLD="http://127.0.0.1:$((PORT + 1))"
  RUST_LOG=warn "$BIN" serve --listen "127.0.0.1:$((PORT + 1))" \
    --data-dir "$DATA/world" --log-format json >"$DATA/world.log" 2>&1 &
  WORLD_PID=$!
  wait_healthy "$WORLD"
  export TOPUP_SANDBOX__EXTERNAL_URL=$WORLD TOPUP_SANDBOX__KEYS_DIR=$DATA/world/secrets
fi
phase() { [[ " $PHASES " == *" $1 "* ]]; }
start_server() { # $1: whether it sends subscribe messages
  TOPUP_NOTIFY__RUN_WORKER=${1:-true} "$BIN" serve --listen "127.0.0.1:${PORT}" --data-dir "$DATA/data" \
    --config "$DATA/topup.toml" --log-format json >>"$DATA/server.log" 2>&1 &
  PID=$!
}
# The messages phase queues messages first, with this process sending none, then restarts
# it: the sandboxes (which remember who accepted which message) must outlive that.
if phase messages && [[ "$SANDBOX" != external || "$PHASES" != messages ]]; then
  echo "PHASES=messages runs alone (its numbers would meet the other phases'), with SANDBOX=external" >&2
  exit 1
fi
# The messages phase queues messages first, with this process sending none.
if phase messages; then start_server false; else start_server true; fi
# The first start syncs the catalog from the provider; wait until Globe PH plans are on sale.
PLAN=""
for _ in $(seq 1 600); do
  PLAN=$(curl -s "$BASE/api/v1/app/catalog/detect?phone=$PROBE_PHONE" | jq -r '.plans[0].id // empty' 2>/dev/null || true)
  [[ -n "$PLAN" ]] && break
  sleep 0.1
done
[[ -n "$PLAN" ]] || { echo "catalog not ready; see $DATA/server.log" >&2; exit 1; }
RSS_START=$(rss)
echo "server pid $PID ready; RSS $RSS_START; plan $PLAN"

# App users: a wx.login() code from the mini-program sandbox, then the app login.
: >"$DATA/tokens"
: >"$DATA/openids"
for _ in $(seq 1 "$USERS"); do
  issued=$(json_post "$WORLD/sandbox/wechat/codes" '{}')
  json_post "$BASE/api/v1/app/auth/login" "{\"code\":\"$(jq -r .code <<<"$issued")\"}" | jq -r .token >>"$DATA/tokens"
  jq -r .openid <<<"$issued" >>"$DATA/openids"
done

summary() { # wrk output -> "requests/s p99"
  awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} END {printf "%s req/s, p99 %s", rps, p99}'
}
show() { grep -E 'requests in|Requests/sec|^ +Latency|^ +(50|90|99)%|Non-2xx|Socket errors' "$1"; }
# Runs one measured wrk phase: wrk's report in $DATA/<name>.txt, the server's CPU per
# request in $DATA/<name>.cpu, and a perf profile of the server when PROFILE_DIR is set.
measure() {
  local name=$1 script=$2 before after requests perf_pid=""
  if [[ -n "${PROFILE_DIR:-}" ]]; then
    mkdir -p "$PROFILE_DIR"
    perf record -F 499 -g -p "$PID" -o "$PROFILE_DIR/perf-$name.data" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  before=$(cpu_ticks "$PID")
  $WRK -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$script" "$BASE" >"$DATA/$name.txt"
  after=$(cpu_ticks "$PID")
  if [[ -n "$perf_pid" ]]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
  requests=$(awk '/requests in/ {print $1}' "$DATA/$name.txt")
  echo "$(cpu_ms_per_request $((after - before)) "$requests") ms" >"$DATA/$name.cpu"
  show "$DATA/$name.txt"
  echo "    server CPU per request: $(cat "$DATA/$name.cpu")"
}

# The numbers bench/checkout.lua orders for in run $1: "+63917 <run> <wrk thread> <counter>".
checkout_numbers() {
  local run=$1 per_thread=$2
  for ((thread = 0; thread < THREADS; thread++)); do
    seq -f "+63917${run}${thread}%05g" 1 "$per_thread"
  done
}
# The mini-program detects a number's operator as it is typed, before a plan is chosen; do
# the same (outside the measured window) for every number the measured checkouts will use,
# up to 2,000 checkouts/s. A number past that is detected by its checkout, as when the
# detection has expired.
detect_ahead() {
  local per_thread=$(( $(duration_seconds) * 2000 / THREADS ))
  checkout_numbers "$1" "$per_thread" |
    awk -v base="$BASE" '{sub(/^\+/, "%2B"); printf "url = \"%s/api/v1/app/catalog/detect?phone=%s\"\noutput = \"/dev/null\"\n", base, $0}' \
      >"$DATA/detect.curl"
  curl -sf --no-progress-meter --parallel --parallel-max 32 -K "$DATA/detect.curl"
}
duration_seconds() {
  case "$DURATION" in
    *m) echo $(( ${DURATION%m} * 60 )) ;;
    *s) echo "${DURATION%s}" ;;
    *) echo "$DURATION" ;;
  esac
}

# A paid order (paid at the WeChat Pay sandbox's cashier) for number +63917 <$1> <$2 as 4
# digits> 00, whose top-up the provider sandbox makes at once: "<order_no> <token>".
prepare_paid() {
  local i=$2 token checkout prepay
  token=$(sed -n "$(((i % USERS) + 1))p" "$DATA/tokens")
  checkout=$(json_post "$BASE/api/v1/app/orders" \
    "{\"plan_id\":\"$PLAN\",\"phone\":\"+63917$1$(printf %04d "$i")00\"}" \
    -H "authorization: Bearer $token")
  prepay=$(jq -r '.pay_params.package | sub("prepay_id="; "")' <<<"$checkout")
  json_post "$WORLD/sandbox/wechat/pay/confirm" "{\"prepay_id\":\"$prepay\"}" >/dev/null
  echo "$(jq -r .order.order_no <<<"$checkout") $token"
}
# Waits (with a deadline) until the order is recharged, so the worker is idle again.
recharged() {
  local order_no=$1 token=$2 deadline=$((SECONDS + 300))
  until [[ $(curl -s "$BASE/api/v1/app/orders/$order_no" -H "authorization: Bearer $token" | jq -r .state) == succeeded ]]; do
    ((SECONDS < deadline)) || { echo "order $order_no not recharged in time" >&2; exit 1; }
    sleep 0.2
  done
}
staff_login() {
  local pw
  pw=$(cat "$DATA/data/initial-admin-password")
  STAFF=$(json_post "$BASE/api/v1/admin/auth/login" "{\"username\":\"admin\",\"password\":\"$pw\"}" | jq -r .access_token)
  STAFF=$(curl -sf -XPUT "$BASE/api/v1/admin/auth/password" -H "authorization: Bearer $STAFF" \
    -H 'content-type: application/json' -d "{\"old\":\"$pw\",\"new\":\"bench-passw0rd-1\"}" | jq -r .access_token)
}
export -f prepare_paid recharged json_post
export BASE WORLD DATA PLAN USERS

if phase checkout; then
  echo "== checkouts: ${CONNECTIONS} connections, ${DURATION}"
  TOKENS_FILE="$DATA/tokens" PLAN_ID="$PLAN" RUN=1 \
    PACE_MS=0 wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s bench/checkout.lua "$BASE" >/dev/null # warm-up
  started=$SECONDS
  detect_ahead 2
  echo "    (numbers detected ahead in $((SECONDS - started)) s)"
  TOKENS_FILE="$DATA/tokens" PLAN_ID="$PLAN" RUN=2 PACE_MS=${PACE_MS:-0} measure checkout bench/checkout.lua
fi
RSS_CHECKOUTS=$(rss)

if phase coupon; then
  templates=$((3 * ROUNDS))
  echo "== preparing coupons: ${templates} templates x 100 per user x ${USERS} users"
  staff_login
  USER_IDS=$(while read -r token; do
    curl -sf "$BASE/api/v1/app/me" -H "authorization: Bearer $token" | jq -r .id
  done <"$DATA/tokens" | jq -R . | jq -sc .)
  for template in $(seq 1 "$templates"); do
    id=$(json_post "$BASE/api/v1/admin/marketing/coupon-templates" \
      "{\"name\":\"bench $template\",\"terms\":{\"kind\":\"amount_off\",\"amount_off\":{\"amount\":$((template % 3 + 1)),\"currency\":\"CNY\"},\"threshold\":{\"amount\":0,\"currency\":\"CNY\"}},\"validity\":{\"kind\":\"days_after_claim\",\"days\":30},\"total_stock\":null,\"per_user_limit\":100,\"channel\":\"staff\",\"enabled\":true}" \
      -H "authorization: Bearer $STAFF" | jq -r .id)
    for _ in $(seq 1 100); do
      json_post "$BASE/api/v1/admin/marketing/coupon-templates/$id/issue" "{\"user_ids\":$USER_IDS}" \
        -H "authorization: Bearer $STAFF" >/dev/null
    done
  done
  : >"$DATA/coupons"
  while read -r token; do
    for page in $(seq 1 "$templates"); do
      curl -sf "$BASE/api/v1/app/coupons?state=unused&page=$page&page_size=100" -H "authorization: Bearer $token" |
        jq -r --arg t "$token" '.items[] | "\($t) \(.id)"' >>"$DATA/coupons"
    done
  done <"$DATA/tokens"
  # Round-robin over the users, as the plain checkouts are: the n-th coupon of every user
  # before any user's (n+1)-th; then one equal share per round.
  awk '{n[$1]++; print n[$1], $0}' "$DATA/coupons" | sort -s -n -k1,1 | cut -d' ' -f2- >"$DATA/coupons.rr"
  share=$(( $(wc -l <"$DATA/coupons.rr") / ROUNDS ))
  split -d -a 1 -l "$share" "$DATA/coupons.rr" "$DATA/coupons."
  echo "    $(wc -l <"$DATA/coupons.rr") coupons ready, ${share} per round"
  # Both measured on this same store, which grows with every phase (and with it what a write
  # costs): in rounds ordered ABBA (plain then coupon, then coupon then plain, …), so that over
  # an even number of rounds the growth weighs on both alike.
  plain_round() {
    echo "== round $1: checkouts without a coupon, same store: ${CONNECTIONS} connections, ${DURATION}"
    detect_ahead $((2 * $1 + 1))
    TOKENS_FILE="$DATA/tokens" PLAN_ID="$PLAN" RUN=$((2 * $1 + 1)) PACE_MS=${PACE_MS:-0} \
      measure "plain$1" bench/checkout.lua
  }
  coupon_round() {
    echo "== round $1: checkouts with a coupon: ${CONNECTIONS} connections, ${DURATION}"
    detect_ahead $((2 * $1 + 2))
    TOKENS_FILE="$DATA/tokens" COUPONS_FILE="$DATA/coupons.$(($1 - 1))" THREADS="$THREADS" \
      PLAN_ID="$PLAN" RUN=$((2 * $1 + 2)) PACE_MS=${PACE_MS:-0} measure "coupon$1" bench/checkout.lua
  }
  for ((round = 1; round <= ROUNDS; round++)); do
    if ((round % 2 == 1)); then plain_round "$round"; coupon_round "$round"
    else coupon_round "$round"; plain_round "$round"; fi
  done
  used=$(curl -s "$BASE/api/v1/admin/marketing/coupons?state=locked&page_size=1" -H "authorization: Bearer $STAFF" | jq -r .total)
  echo "    coupons locked by the measured checkouts: $used"
fi


if phase messages; then
  # Paid and recharged orders whose users accepted the payment and recharge messages, each
  # queued (this process sends none yet); then the server restarts sending them, and checkouts
  # are measured while it works through them, then again once it has.
  echo "== preparing ${MESSAGE_ORDERS} paid orders whose two messages are queued"
  paste -d' ' "$DATA/openids" "$DATA/tokens" >"$DATA/users"
  subscribe_one() { # as a user accepting the prompt for both templates: at WeChat, then told
    local openid token
    read -r openid token < <(sed -n "$((($1 % USERS) + 1))p" "$DATA/users")
    json_post "$WORLD/sandbox/wechat/subscriptions" \
      "{\"openid\":\"$openid\",\"template_ids\":[\"sbx-payment-succeeded\",\"sbx-recharge-succeeded\"]}" >/dev/null
    json_post "$BASE/api/v1/app/subscriptions" \
      '{"accepted":["sbx-payment-succeeded","sbx-recharge-succeeded"],"rejected":[]}' \
      -H "authorization: Bearer $token" >/dev/null
  }
  export -f subscribe_one
  seq 1 "$MESSAGE_ORDERS" | xargs -P 8 -I{} bash -c 'subscribe_one {}'
  seq 1 "$MESSAGE_ORDERS" | xargs -P 8 -I{} bash -c 'prepare_paid 8 {}' >"$DATA/message-orders"
  xargs -P 8 -L 1 bash -c 'recharged "$0" "$1"' <"$DATA/message-orders"
  staff_login
  in_state() { # how many messages are in state $1; stops the run when it cannot tell
    local total
    total=$(curl -s "$BASE/api/v1/admin/notify/deliveries?state=$1&page_size=1" -H "authorization: Bearer $STAFF" | jq -r .total)
    [[ "$total" =~ ^[0-9]+$ ]] || { echo "cannot count the $1 messages" >&2; kill -TERM $$; }
    echo "$total"
  }
  queued=$(in_state queued)
  echo "    ${queued} messages queued"
  # Measured before and after the run with messages, so that neither side gains from the
  # store's state or the machine's (the run after has the larger store and WAL).
  echo "== checkouts with nothing sent (this process sends none): ${CONNECTIONS} connections, ${DURATION}"
  TOKENS_FILE="$DATA/tokens" PLAN_ID="$PLAN" RUN=6 PACE_MS=${PACE_MS:-0} measure before bench/checkout.lua
  kill "$PID"
  wait "$PID" || true
  start_server true
  wait_healthy "$BASE"
  # Neither run below detects its numbers ahead (detections live in the process just started):
  # each checkout also asks the provider for its number's operator.
  before=$(in_state sent)
  echo "    ${before} sent before the checkouts started"
  echo "== checkouts while the queued messages go out: ${CONNECTIONS} connections, ${DURATION}"
  TOKENS_FILE="$DATA/tokens" PLAN_ID="$PLAN" RUN=7 PACE_MS=${PACE_MS:-0} measure mixed bench/checkout.lua
  during=$(($(in_state sent) - before))
  ((during < queued)) || echo "    (all were sent before the run ended: the figures below understate the load)"
  deadline=$((SECONDS + 120))
  until [[ $(in_state queued) -eq 0 ]]; do
    ((SECONDS < deadline)) || { echo "messages not all sent in time ($(in_state sent) of $queued)" >&2; exit 1; }
    sleep 0.5
  done
  echo "    messages sent during the checkouts: ${during} of ${queued}"
  echo "== checkouts with nothing to send, same store: ${CONNECTIONS} connections, ${DURATION}"
  TOKENS_FILE="$DATA/tokens" PLAN_ID="$PLAN" RUN=8 PACE_MS=${PACE_MS:-0} measure alone bench/checkout.lua
fi

if phase notify; then
  # Orders that are paid (at the WeChat Pay sandbox's cashier) and recharged (numbers ending
  # in 00: the provider sandbox succeeds at once), whose notifications are then replayed.
  echo "== preparing ${PAID} paid orders"
  # Its notification freshly signed (WeChat's timestamps are good for 5 minutes), one line.
  replay() {
    curl -sf "$WORLD/sandbox/wechat/pay/notifications/$1/replay" |
      jq -r '[.headers["Wechatpay-Timestamp"], .headers["Wechatpay-Nonce"],
              .headers["Wechatpay-Signature"], .headers["Wechatpay-Serial"], .body] | join("\t")'
  }
  export -f replay
  seq 1 "$PAID" | xargs -P 8 -I{} bash -c 'prepare_paid 9 {}' >"$DATA/paid"
  xargs -P 8 -L 1 bash -c 'recharged "$0" "$1"' <"$DATA/paid"
  cut -d' ' -f1 "$DATA/paid" | xargs -P 8 -I{} bash -c 'replay {}' >"$DATA/notifications"
  [[ $(wc -l <"$DATA/notifications") -eq $(wc -l <"$DATA/paid") ]] || { echo "missing notifications" >&2; exit 1; }

  echo "== payment notifications: ${CONNECTIONS} connections, ${DURATION}"
  NOTIFICATIONS_FILE="$DATA/notifications" measure notify bench/notify.lua
fi
RSS_END=$(rss)

echo "== summary ($(nproc) cores, sandboxes $SANDBOX; load after: $(machine_load))"
if phase checkout; then
  echo "checkouts:      $(summary <"$DATA/checkout.txt"); server CPU $(cat "$DATA/checkout.cpu") each"
  bench_row "checkout, a fresh number each ($CONNECTIONS connections, sandboxes $SANDBOX)" \
    "$(wrk_rate <"$DATA/checkout.txt")" "$(wrk_p99 <"$DATA/checkout.txt")" "$(cat "$DATA/checkout.cpu")" "$RSS_CHECKOUTS"
fi
if phase coupon; then
  for ((round = 1; round <= ROUNDS; round++)); do
    echo "round $round, same store: $(summary <"$DATA/plain$round.txt"); server CPU $(cat "$DATA/plain$round.cpu") each (no coupon)"
    echo "round $round, a coupon:   $(summary <"$DATA/coupon$round.txt"); server CPU $(cat "$DATA/coupon$round.cpu") each"
  done
  # CPU per checkout over all rounds, with a coupon against without one.
  awk -v rounds="$ROUNDS" -v dir="$DATA" 'BEGIN {
    for (r = 1; r <= rounds; r++) {
      getline p <(dir "/plain" r ".cpu"); getline c <(dir "/coupon" r ".cpu")
      plain += p; coupon += c
    }
    printf "coupon / plain: %.2f ms / %.2f ms CPU per checkout = %+.0f%%\n", coupon / rounds, plain / rounds, (coupon / plain - 1) * 100
  }'
fi
if phase messages; then
  seconds=$(duration_seconds)
  echo "checkouts, nothing sent, before: $(summary <"$DATA/before.txt"); server CPU $(cat "$DATA/before.cpu") each"
  echo "checkouts, messages going out:   $(summary <"$DATA/mixed.txt"); server CPU $(cat "$DATA/mixed.cpu") each; $((during / seconds)) messages/s sent meanwhile"
  echo "checkouts, nothing to send, after: $(summary <"$DATA/alone.txt"); server CPU $(cat "$DATA/alone.cpu") each"
  awk -v dir="$DATA" 'BEGIN {
    rate = "Requests/sec:"
    while ((getline line <(dir "/before.txt")) > 0) if (index(line, rate) == 1) { split(line, f); before = f[2] }
    while ((getline line <(dir "/mixed.txt")) > 0) if (index(line, rate) == 1) { split(line, f); mixed = f[2] }
    while ((getline line <(dir "/alone.txt")) > 0) if (index(line, rate) == 1) { split(line, f); after = f[2] }
    printf "checkouts while messages go out, against the mean of before and after: %+.0f%%\n", (mixed / ((before + after) / 2) - 1) * 100
  }'
fi
if phase notify; then
  echo "notifications:  $(summary <"$DATA/notify.txt"); server CPU $(cat "$DATA/notify.cpu") each (duplicates of $(wc -l <"$DATA/paid") paid orders)"
  bench_row "payment notification, verified and matched ($CONNECTIONS connections)" \
    "$(wrk_rate <"$DATA/notify.txt")" "$(wrk_p99 <"$DATA/notify.txt")" "$(cat "$DATA/notify.cpu")" "$RSS_END"
fi
echo "RSS:            ${RSS_START} at start, ${RSS_CHECKOUTS} after checkouts, ${RSS_END} at the end"
