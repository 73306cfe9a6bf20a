#!/usr/bin/env node
// The dashboard and the admin order search over a big shop. Fills a fresh data dir with
// `topup demo-data --orders ORDERS` (a million by default, over 90 days), serves it, and asks
// each question REPEAT times, one request at a time after a warm-up, timing each at the
// client. Prints p50 / p95 / max per question, the demo-data write rate and the server's RSS.
//
// Pass: the 30-day dashboard p95 under 250 ms; order search by phone, by order number and by
// state and date range each p95 under 20 ms. A search by a part of a number from its middle
// reads every order and is printed for comparison only.
//
//   node bench/dashboard.mjs                     # 1,000,000 orders, release binary
//   ORDERS=100000 REPEAT=50 node bench/dashboard.mjs
//
// Stops by itself: the server is killed and the data dir removed at the end.

import { spawnSync } from 'node:child_process'
import { benchRow, machineLoad, processUsage, requestJson, staffSignIn, topupProcesses } from './support.mjs'

const BIN = process.env.TOPUP_BIN ?? 'target/release/topup'
const ORDERS = Number(process.env.ORDERS ?? 1_000_000)
const REPEAT = Number(process.env.REPEAT ?? 200)
const NEW_PW = 'Bench-passw0rd-1'

const topup = topupProcesses(BIN)

const call = requestJson

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]
}

/** Times `pathFor(i)` for `rounds` values of i, after a tenth as many untimed. */
async function measure(base, token, pathFor, rounds) {
  for (let i = 0; i < Math.max(3, rounds / 10); i++) await call(base, 'GET', pathFor(i), undefined, token)
  const times = []
  for (let i = 0; i < rounds; i++) {
    const path = pathFor(i)
    const started = process.hrtime.bigint()
    await call(base, 'GET', path, undefined, token)
    times.push(Number(process.hrtime.bigint() - started) / 1e6)
  }
  times.sort((a, b) => a - b)
  return { p50: percentile(times, 50), p95: percentile(times, 95), max: times[times.length - 1] }
}

async function main() {
  const dir = topup.dataDir('topup-dashboard-')
  console.log(`dashboard bench: ${ORDERS.toLocaleString('en')} demo orders, ${REPEAT} requests per question; machine load ${machineLoad()}`)
  const filled = spawnSync(BIN, ['demo-data', '--orders', String(ORDERS), '--data-dir', dir], {
    env: { ...process.env, RUST_LOG: 'error' },
    encoding: 'utf8',
  })
  if (filled.status !== 0) throw new Error(`demo-data failed: ${filled.stderr}`)
  process.stdout.write(filled.stdout.replace(/^/gm, '  '))
  const written = filled.stdout.match(/\(([\d,]+) orders\/s/)
  if (written) benchRow(`demo data, ${ORDERS.toLocaleString('en')} orders with payments, users and figures`, `${Number(written[1]).toLocaleString('en')} orders/s`, '', '', '')

  const { base, pid } = await topup.serve(dir, {
    TOPUP_APP__LOGIN_RATE_PER_MINUTE: '0',
  })
  const token = await (await staffSignIn(base, dir, NEW_PW, call))()
  // A fresh server reconciles yesterday at once: tens of thousands of orders, both cores for
  // half a minute. The questions are timed after it, on a server at rest.
  const deadline = Date.now() + 300_000
  for (;;) {
    const runs = await call(base, 'GET', '/api/v1/admin/reconciliations?page_size=5', undefined, token)
    if (runs.items.some((run) => run.trigger === 'schedule' && run.state !== 'running')) break
    if (Date.now() > deadline) throw new Error('the daily reconciliation did not finish within 5 minutes')
    await new Promise((resolve) => setTimeout(resolve, 500))
  }

  // Real orders to look for, spread over the period.
  const sample = []
  for (let page = 1; sample.length < REPEAT; page += 37) {
    const found = await call(base, 'GET', `/api/v1/admin/orders?page=${page}&page_size=20`, undefined, token)
    if (found.items.length === 0) break
    sample.push(...found.items)
  }
  const pick = (i) => sample[i % sample.length]
  const day = 86_400_000
  const now = Date.now()
  const window = (i) => {
    const from = new Date(now - ((i % 80) + 7) * day).toISOString()
    const to = new Date(now - (i % 80) * day).toISOString()
    return `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`
  }
  const states = ['succeeded', 'closed', 'refunded']

  const questions = [
    ['dashboard, today', () => '/api/v1/admin/dashboard?range=today', null],
    ['dashboard, 7 days', () => '/api/v1/admin/dashboard?range=7d', null],
    ['dashboard, 30 days', () => '/api/v1/admin/dashboard?range=30d', 250],
    ['orders by whole phone number', (i) => `/api/v1/admin/orders?phone=${encodeURIComponent(pick(i).phone)}&page_size=20`, 20],
    ['orders by number prefix (+63917)', () => `/api/v1/admin/orders?phone=${encodeURIComponent('+63917')}&page_size=20`, null],
    ['order by order number', (i) => `/api/v1/admin/orders/${pick(i).order_no}`, 20],
    ['global search, order number', (i) => `/api/v1/admin/search?q=${pick(i).order_no}`, 20],
    ['orders by state and 7-day range', (i) => `/api/v1/admin/orders?state=${states[i % 3]}&${window(i)}&page_size=20`, 20],
    ['orders, first page', () => '/api/v1/admin/orders?page_size=20', null],
    ['orders by digits from the middle (scan)', (i) => `/api/v1/admin/orders?phone=${pick(i).phone.slice(5, 11)}&page_size=20`, null],
  ]
  let failed = false
  const rows = []
  console.log(`  ${'question'.padEnd(42)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'max ms'.padStart(8)}  bar`)
  for (const [name, pathFor, bar] of questions) {
    // The scan reads every order: fewer rounds of it.
    const rounds = bar === null && name.includes('scan') ? Math.min(REPEAT, 10) : REPEAT
    const result = await measure(base, token, pathFor, rounds)
    const verdict = bar === null ? '' : result.p95 < bar ? `< ${bar} ok` : `≥ ${bar} FAIL`
    if (bar !== null && result.p95 >= bar) failed = true
    console.log(`  ${name.padEnd(42)} ${result.p50.toFixed(1).padStart(8)} ${result.p95.toFixed(1).padStart(8)} ${result.max.toFixed(1).padStart(8)}  ${verdict}`)
    rows.push([name, result])
  }
  const { rss } = processUsage(pid)
  for (const [name, result] of rows) {
    const ms = (v) => `${v.toFixed(1)} ms`
    benchRow(`${name}, ${ORDERS.toLocaleString('en')} orders`, 'one at a time', `p50 ${ms(result.p50)}, p95 ${ms(result.p95)}`, '', `${rss.toFixed(0)} MiB`)
  }
  console.log(`  server RSS ${rss.toFixed(0)} MiB; machine load ${machineLoad()}`)
  console.log(failed ? 'FAIL' : 'PASS')
  process.exit(failed ? 1 : 0)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
