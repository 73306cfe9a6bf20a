#!/usr/bin/env node
// How long a paid order waits for its first provider call when healthy and failing orders
// are mixed, over two `topup serve` processes on one store (issue: healthy orders must not
// wait behind a failing operator's).
//
// Starts an "outside world" (an embedded `topup serve` whose sandboxes play WeChat and the
// provider) and two shops on one data dir that use it (`sandbox.external_url`), buys ORDERS
// orders round-robin over the two shops with numbers whose last digit cycles through every
// sandbox outcome (0 success … 7 HTTP 500 twice), pays each at the WeChat Pay sandbox, then
// reads every order from the staff API: the time from payment to its first provider call,
// median, p90 and max, per outcome digit, and how many sends each order took so far.
//
//   node bench/dispatch-latency.mjs                     # 200 orders, release binary
//   ORDERS=400 TOPUP_BIN=target/debug/topup node bench/dispatch-latency.mjs
//
// Stops by itself: the processes are killed at the end (or on any failure).

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { eachConcurrently, staffSignIn, topupProcesses } from './support.mjs'

const BIN = process.env.TOPUP_BIN ?? 'target/release/topup'
const ORDERS = Number(process.env.ORDERS ?? 200)
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 20_000)
const NEW_PW = 'Bench-passw0rd-1'

const topup = topupProcesses(BIN)

async function call(base, method, path, body, token, headers = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`)
  return text ? JSON.parse(text) : null
}

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

async function main() {
  const shopDir = topup.dataDir('topup-shop-')
  const { base: world, shopEnv } = await topup.serveWorld()
  const first = (await topup.serve(shopDir, shopEnv)).base
  const second = (await topup.serve(shopDir, shopEnv)).base
  const shops = [first, second]

  // Staff access: the first administrator's password, changed as the first sign-in requires.
  const staff = await (await staffSignIn(first, shopDir, NEW_PW, call))()

  const plan = (await call(first, 'GET', '/api/v1/app/catalog/detect?phone=%2B639171000000')).plans[0].id
  const paidAt = new Map()
  const started = Date.now()
  // A few buyers at a time, as users arrive; each buyer is a fresh mini-program user.
  await eachConcurrently(ORDERS, 8, async (n) => {
    const shop = shops[n % 2]
    const digit = n % 8
    const phone = `+639171${String(n).padStart(4, '0')}0${digit}`
    const { code } = await call(world, 'POST', '/sandbox/wechat/codes', {})
    const { token } = await call(shop, 'POST', '/api/v1/app/auth/login', { code })
    const checkout = await call(shop, 'POST', '/api/v1/app/orders', { plan_id: plan, phone }, token, {
      'idempotency-key': `bench-${n}`,
    })
    // The buyer presses "pay": the clock starts before the cashier answers.
    const at = Date.now()
    await call(world, 'POST', '/sandbox/wechat/pay/confirm', {
      prepay_id: checkout.pay_params.package.split('=')[1],
    })
    paidAt.set(checkout.order.order_no, { at, digit })
  })
  const buying = Date.now() - started
  await new Promise((r) => setTimeout(r, SETTLE_MS))

  const waits = []
  const byDigit = new Map()
  let notSent = 0
  const waiting = new Map()
  let sends = 0
  const states = new Map()
  for (const [orderNo, { at, digit }] of paidAt) {
    const order = await call(first, 'GET', `/api/v1/admin/orders/${orderNo}`, undefined, staff)
    const state = `${order.state}${order.hold ? ' (held)' : ''}`
    states.set(state, (states.get(state) ?? 0) + 1)
    const attempts = (order.recharge?.attempts ?? []).filter((a) => a.action === 'send')
    sends += attempts.length
    // A call still waiting for its answer (digit 5 hangs) is shown as in flight only.
    const inFlight = order.recharge?.in_flight?.since
    if (attempts.length === 0 && inFlight) attempts.push({ started_at: inFlight })
    if (attempts.length === 0) {
      notSent++
      const last = order.timeline?.[order.timeline.length - 1]?.what ?? '-'
      const key = `${order.state} after "${last}"`
      waiting.set(key, (waiting.get(key) ?? 0) + 1)
      continue
    }
    const wait = Date.parse(attempts[0].started_at) - at
    waits.push(wait)
    if (!byDigit.has(digit)) byDigit.set(digit, [])
    byDigit.get(digit).push(wait)
  }
  waits.sort((a, b) => a - b)
  const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`
  console.log(
    `orders=${ORDERS} shops=2 store=sqlite bought_in=${fmt(buying)} settle=${fmt(SETTLE_MS)} ` +
      `load=${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(',')}`,
  )
  console.log(
    `payment → first provider call: median ${fmt(quantile(waits, 0.5))}, p90 ${fmt(quantile(waits, 0.9))}, ` +
      `max ${fmt(waits[waits.length - 1] ?? NaN)}; not sent yet: ${notSent}; sends answered so far: ${sends}`,
  )
  console.log(`  states after settling: ${JSON.stringify(Object.fromEntries(states))}`)
  if (notSent > 0) console.log(`  not sent yet, by state: ${JSON.stringify(Object.fromEntries(waiting))}`)
  for (const digit of [...byDigit.keys()].sort()) {
    const list = byDigit.get(digit).sort((a, b) => a - b)
    console.log(`  digit ${digit}: n=${list.length} median ${fmt(quantile(list, 0.5))} max ${fmt(list[list.length - 1])}`)
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  },
)
