#!/usr/bin/env node
// Operator detection's memory: what remembering a number costs the server. An "outside
// world" (an embedded `topup serve` whose Reloadly sandbox answers the lookups) runs apart,
// so the measured server's RSS is its own. After a warm-up of WARM numbers it detects
// NUMBERS new ones (each a provider lookup, then remembered), WORKERS at a time, and reports
// the RSS before and after, the growth per number, and the rate of lookups and of answers
// from memory (the same numbers asked again).
//
//   node bench/detect-memory.mjs                       # 100,000 numbers, release binary
//   NUMBERS=20000 TOPUP_BIN=target/debug/topup node bench/detect-memory.mjs
//
// Stops by itself: the processes are killed at the end (or on any failure).

import { eachConcurrently, machineLoad, processUsage, requestJson, topupProcesses, until } from './support.mjs'

const BIN = process.env.TOPUP_BIN ?? 'target/release/topup'
const NUMBERS = Number(process.env.NUMBERS ?? 100_000)
const WARM = Number(process.env.WARM ?? 2_000)
const WORKERS = Number(process.env.WORKERS ?? 16)

const topup = topupProcesses(BIN)

// Philippine mobile numbers (+63 917 and seven digits): valid, distinct for n below 10^7.
const phone = (n) => `+63917${String(n).padStart(7, '0')}`

async function detectAll(base, from, count) {
  const started = Date.now()
  await eachConcurrently(count, WORKERS, async (i) => {
    const found = await requestJson(base, 'GET', `/api/v1/app/catalog/detect?phone=${encodeURIComponent(phone(from + i))}`)
    if (!found.detected) throw new Error(`${phone(from + i)} was not detected`)
  })
  return count / ((Date.now() - started) / 1000)
}

async function main() {
  console.log(`detect-memory: ${NUMBERS} numbers after ${WARM} to warm up, ${WORKERS} at a time; machine load ${machineLoad()}`)
  const { shopEnv } = await topup.serveWorld()
  const shop = await topup.serve(topup.dataDir('topup-shop-'), shopEnv)
  // Numbers are detected once the catalog knows the provider's operators.
  await until('the catalog', async () => (await requestJson(shop.base, 'GET', `/api/v1/app/catalog/detect?phone=${encodeURIComponent(phone(0))}`)).detected, 60_000, 500)
  await detectAll(shop.base, 0, WARM)
  const before = processUsage(shop.pid).rss
  const lookups = await detectAll(shop.base, WARM, NUMBERS)
  const after = processUsage(shop.pid).rss
  const remembered = await detectAll(shop.base, WARM, Math.min(NUMBERS, 20_000))
  const perNumber = ((after - before) * 1024 * 1024) / NUMBERS
  console.log(`RSS ${before.toFixed(1)} MiB after the warm-up, ${after.toFixed(1)} MiB after ${NUMBERS} new numbers: ` +
    `+${(after - before).toFixed(1)} MiB, ${perNumber.toFixed(0)} B a number`)
  console.log(`detections: ${lookups.toFixed(0)}/s asking the provider, ${remembered.toFixed(0)}/s from memory`)
}

main().then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
