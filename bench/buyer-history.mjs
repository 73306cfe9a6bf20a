#!/usr/bin/env node
// Does a buyer's history slow their checkout? One buyer places and pays HISTORY orders, then
// that buyer and a new one check out MEASURED times each, alternating, with the default
// per-user limits on (at most three unpaid orders; only the per-minute rate is off, as one
// buyer places thousands). Prints each buyer's checkout time (p50, p95, from the client) and
// the server's CPU per checkout over the measured part.
//
//   node bench/buyer-history.mjs                   # HISTORY=3000 MEASURED=300, release binary
//   TOPUP_BIN=/tmp/topup-before node bench/buyer-history.mjs
//
// Stops by itself: the processes are killed at the end (or on any failure).

import { processUsage, requestJson, topupProcesses, until } from './support.mjs'

const BIN = process.env.TOPUP_BIN ?? 'target/release/topup'
const HISTORY = Number(process.env.HISTORY ?? 3000)
const MEASURED = Number(process.env.MEASURED ?? 300)

const topup = topupProcesses(BIN)

async function main() {
  const { base: world, shopEnv } = await topup.serveWorld()
  const shop = await topup.serve(topup.dataDir('topup-shop-'), {
    ...shopEnv,
    TOPUP_ORDERS__CHECKOUT_RATE_PER_MINUTE: '0',
  })
  const base = shop.base
  const plan = await until('the catalog', async () => (await requestJson(base, 'GET', '/api/v1/app/catalog/detect?phone=%2B639171234500')).plans[0]?.id, 60_000)
  const buyer = async () => {
    const { code } = await requestJson(world, 'POST', '/sandbox/wechat/codes', {})
    return (await requestJson(base, 'POST', '/api/v1/app/auth/login', { code })).token
  }
  let number = 0
  /** Detects a fresh number, checks out (timed) and pays; answers the checkout's milliseconds. */
  const buy = async (token) => {
    const n = number++
    const phone = `+63917${String(n % 100_000).padStart(5, '0')}00`
    await requestJson(base, 'GET', `/api/v1/app/catalog/detect?phone=${encodeURIComponent(phone)}`)
    const started = process.hrtime.bigint()
    const checkout = await requestJson(base, 'POST', '/api/v1/app/orders', { plan_id: plan, phone }, token)
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    await requestJson(world, 'POST', '/sandbox/wechat/pay/confirm', {
      prepay_id: checkout.pay_params.package.split('=')[1],
    })
    return ms
  }

  const regular = await buyer()
  for (let i = 0; i < HISTORY; i++) await buy(regular)
  const newcomer = await buyer()
  const times = { regular: [], newcomer: [] }
  const cpu = { regular: 0, newcomer: 0 }
  for (let i = 0; i < MEASURED; i++) {
    for (const [who, token] of [['regular', regular], ['newcomer', newcomer]]) {
      const before = processUsage(shop.pid).cpu
      times[who].push(await buy(token))
      cpu[who] += processUsage(shop.pid).cpu - before
    }
  }
  const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
  console.log(`buyer history: ${HISTORY} orders before; ${MEASURED} measured checkouts each, alternating`)
  for (const who of ['regular', 'newcomer']) {
    const sorted = [...times[who]].sort((a, b) => a - b)
    const label = who === 'regular' ? `buyer with ${HISTORY + MEASURED} orders` : 'new buyer'
    console.log(`${label.padEnd(26)} checkout p50 ${quantile(sorted, 0.5).toFixed(2)} ms, p95 ${quantile(sorted, 0.95).toFixed(2)} ms; server CPU ${(cpu[who] * 1000 / MEASURED).toFixed(2)} ms per turn (detect, checkout, payment)`)
  }
  process.exit(0)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
