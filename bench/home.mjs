#!/usr/bin/env node
// GET /api/v1/app/home (the decorated home page, filled in from content and catalog, cached
// per process and checked against the content stamp on each request) beside /me (the app
// token check every app route pays) and the catalog's country list (no login, from memory),
// under wrk on a release build over a fresh data dir.
// Publishes a page of eight components with three banners and three announcements first.
// Prints requests/s, p50 / p99 latency and the server's CPU per request for each route, and
// the ratio between them; then publishes again while wrk runs and checks the new version was
// served (every request reads the stamp).
//
//   node bench/home.mjs                       # 64 connections, 10 s per route
//   CONNECTIONS=256 DURATION=30s node bench/home.mjs
//
// Needs wrk (Debian: apt-get install -y wrk). Stops by itself: the server is killed and the
// data dir removed at the end.

import { spawnSync } from 'node:child_process'
import { machineLoad, processUsage, requestJson as call, staffSignIn, topupProcesses, until } from './support.mjs'

const BIN = process.env.TOPUP_BIN ?? 'target/release/topup'
const CONNECTIONS = process.env.CONNECTIONS ?? '64'
const DURATION = process.env.DURATION ?? '10s'
const NEW_PW = 'Bench-passw0rd-1'

const topup = topupProcesses(BIN)

/** Runs wrk against `url` with the app token; answers requests/s, p50 and p99 in ms. */
function wrk(url, token) {
  const run = spawnSync('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${DURATION}`, '--latency', '-H', `authorization: Bearer ${token}`, url], {
    encoding: 'utf8',
  })
  if (run.status !== 0) throw new Error(`wrk failed: ${run.stderr || run.error}`)
  const out = run.stdout
  const ms = (label) => {
    const m = new RegExp(`${label}%\\s+([\\d.]+)(us|ms|s)`).exec(out)
    if (!m) return NaN
    const value = Number(m[1])
    return m[2] === 'us' ? value / 1000 : m[2] === 's' ? value * 1000 : value
  }
  const requests = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1])
  const total = Number(/(\d+) requests in/.exec(out)[1])
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
  return { requests, total, non2xx, p50: ms(' 50'), p99: ms(' 99') }
}

async function main() {
  const dir = topup.dataDir('topup-home-')
  const { base, pid } = await topup.serve(dir, { TOPUP_APP__LOGIN_RATE_PER_MINUTE: '0' })
  console.log(`home bench: ${CONNECTIONS} connections, ${DURATION} per route; machine load ${machineLoad()}`)
  const countries = await until('the catalog to sync', async () => {
    const list = await call(base, 'GET', '/api/v1/app/catalog/countries')
    return list.items.length > 0 && list.items
  }, 60_000)
  const admin = await (await staffSignIn(base, dir, NEW_PW, call))()

  const plans = (await call(base, 'GET', `/api/v1/app/catalog/plans?country=${countries[0].code}`)).items
  for (let i = 0; i < 3; i++) {
    await call(base, 'POST', '/api/v1/admin/content/banners', {
      title: `Banner ${i}`, image_url: `https://cdn.example/banner-${i}.png`,
      link: i === 0 ? { kind: 'plan', plan_id: plans[0].id } : { kind: 'page', path: '/pages/membership/index' },
      position: 'home', starts_at: null, ends_at: null, sort: i, enabled: true,
    }, admin)
    await call(base, 'POST', '/api/v1/admin/content/announcements', {
      title: `Notice ${i}`, body_html: '<p>Top-ups arrive in seconds.</p>', audience: 'all',
      starts_at: null, ends_at: null, pinned: i === 0, enabled: true,
    }, admin)
  }
  const page = (height) => [
    { type: 'banner_carousel', position: 'home', interval_seconds: 5 },
    { type: 'notice_bar', limit: 3 },
    { type: 'topup_form' },
    { type: 'country_grid', title: 'Popular', countries: countries.slice(0, 8).map((c) => c.code), columns: 4 },
    { type: 'hot_plans', title: 'Hot', plan_ids: plans.slice(0, 4).map((p) => p.id) },
    { type: 'membership_entry', title: 'Gold', subtitle: '2% off every top-up' },
    { type: 'rich_text', html: '<p>Top-ups arrive in seconds.</p>' },
    { type: 'spacer', height },
  ]
  const publish = async (height) => {
    const editor = await call(base, 'GET', '/api/v1/admin/content/home', undefined, admin)
    const draft = await call(base, 'PUT', '/api/v1/admin/content/home/draft', { version: editor.draft.version, components: page(height) }, admin)
    return (await call(base, 'POST', '/api/v1/admin/content/home/publish', { version: draft.version }, admin)).number
  }
  await publish(16)

  const { code } = await call(base, 'POST', '/sandbox/wechat/codes', {})
  const app = (await call(base, 'POST', '/api/v1/app/auth/login', { code })).token
  const home = await call(base, 'GET', '/api/v1/app/home', undefined, app)
  const bytes = JSON.stringify(home).length
  console.log(`  page: version ${home.version}, ${home.components.length} blocks, ${bytes} bytes of JSON`)

  const results = {}
  // The country list needs no login and comes from memory; /me checks the app token and reads
  // the user (what every app route pays); /home adds the membership and the content stamp.
  const routes = [
    ['catalog countries', '/api/v1/app/catalog/countries'],
    ['app me', '/api/v1/app/me'],
    ['app home', '/api/v1/app/home'],
  ]
  for (const [name, path] of routes) {
    const before = processUsage(pid).cpu
    const r = wrk(`${base}${path}`, app)
    const cpuMs = ((processUsage(pid).cpu - before) * 1000) / r.total
    results[name] = r
    console.log(`  ${name.padEnd(18)} ${r.requests.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  ${(cpuMs * 1000).toFixed(0)} µs CPU/request  non-2xx ${r.non2xx}`)
  }
  const ratio = (name) => ((results['app home'].requests / results[name].requests) * 100).toFixed(0)
  console.log(`  app home at ${ratio('app me')}% of /me's rate and ${ratio('catalog countries')}% of the country list's; RSS ${processUsage(pid).rss.toFixed(0)} MiB`)

  // A publish after the load: the next request answers the new version. (Node's connection
  // pool may hold a socket the server closed while idle during wrk: one retry.)
  const published = await publish(24).catch(() => publish(24))
  const after = await call(base, 'GET', '/api/v1/app/home', undefined, app)
  if (after.version !== published) throw new Error(`served version ${after.version} after publishing ${published}`)
  console.log(`  published version ${published}: served from the next request`)
  process.exit(0)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
