#!/usr/bin/env node
// Does a popular coupon slow its claims? Staff issue one coupon of a claimable template to
// HOLDERS users (500 a request, timed), then a buyer opens the coupon centre MEASURED times
// (`GET /api/v1/app/coupons/claimable`, which says how many of each template the buyer holds)
// and claims the coupon. Prints the issuing rate and the coupon centre's p50 and p95.
//
//   node bench/coupon-centre.mjs                    # HOLDERS=5000 MEASURED=200, release binary
//   TOPUP_BIN=/tmp/topup-before node bench/coupon-centre.mjs
//
// Stops by itself: the processes are killed at the end (or on any failure).

import { requestJson, staffSignIn, topupProcesses } from './support.mjs'

const BIN = process.env.TOPUP_BIN ?? 'target/release/topup'
const HOLDERS = Number(process.env.HOLDERS ?? 5000)
const MEASURED = Number(process.env.MEASURED ?? 200)

const topup = topupProcesses(BIN)

async function main() {
  const { base: world, shopEnv } = await topup.serveWorld()
  const shopDir = topup.dataDir('topup-shop-')
  const { base } = await topup.serve(shopDir, shopEnv)
  const staff = await (await staffSignIn(base, shopDir, 'Bench-passw0rd-1'))()

  const template = await requestJson(base, 'POST', '/api/v1/admin/marketing/coupon-templates', {
    name: 'bench',
    terms: { kind: 'amount_off', amount_off: { amount: 100, currency: 'CNY' }, threshold: { amount: 0, currency: 'CNY' } },
    validity: { kind: 'days_after_claim', days: 30 },
    total_stock: null,
    per_user_limit: 1,
    channel: 'self',
    enabled: true,
  }, staff)
  const issuing = process.hrtime.bigint()
  for (let from = 0; from < HOLDERS; from += 500) {
    const user_ids = Array.from({ length: Math.min(500, HOLDERS - from) }, (_, i) => `holder-${from + i}`)
    await requestJson(base, 'POST', `/api/v1/admin/marketing/coupon-templates/${template.id}/issue`, { user_ids }, staff)
  }
  const issueSeconds = Number(process.hrtime.bigint() - issuing) / 1e9

  const { code } = await requestJson(world, 'POST', '/sandbox/wechat/codes', {})
  const buyer = (await requestJson(base, 'POST', '/api/v1/app/auth/login', { code })).token
  const times = []
  for (let i = 0; i < MEASURED; i++) {
    const started = process.hrtime.bigint()
    await requestJson(base, 'GET', '/api/v1/app/coupons/claimable', undefined, buyer)
    times.push(Number(process.hrtime.bigint() - started) / 1e6)
  }
  await requestJson(base, 'POST', '/api/v1/app/coupons/claim', { template_id: template.id }, buyer)
  const held = (await requestJson(base, 'GET', '/api/v1/app/coupons/claimable', undefined, buyer))
  times.sort((a, b) => a - b)
  const quantile = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(2)
  console.log(`issued ${HOLDERS} coupons of one template in ${issueSeconds.toFixed(1)} s (${(HOLDERS / issueSeconds).toFixed(0)}/s)`)
  console.log(`coupon centre with ${HOLDERS} holders: p50 ${quantile(0.5)} ms, p95 ${quantile(0.95)} ms over ${MEASURED} requests`)
  console.log(`after claiming, the buyer holds ${held.map((c) => c.claimed_by_me).join(", ")} of each template`)
  process.exit(0)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
