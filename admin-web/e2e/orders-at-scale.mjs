// How fast the console's orders page answers with many orders in the store: seeds ORDERS
// orders (default 10,000) through the app API into a fresh embedded `topup serve` that serves
// the built console, then measures in Chromium, several times, the time from navigating to
// the orders page until its first rows are shown, and the staff list API alone (first page,
// a phone filter, a state filter). Prints the figures with the machine's load.
//
//   npm run build && node e2e/orders-at-scale.mjs
//   ORDERS=2000 TOPUP_BIN=../target/release/topup node e2e/orders-at-scale.mjs
//
// Stops by itself; the server is killed and its data dir removed at the end.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { chromium } from 'playwright-core'
import { eachConcurrently, freePort, until } from '../../bench/support.mjs'

const ROOT = resolve(import.meta.dirname, '..')
const DIST = join(ROOT, 'dist')
const BIN = process.env.TOPUP_BIN ?? new URL('../../target/debug/topup', import.meta.url).pathname
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const ORDERS = Number(process.env.ORDERS ?? 10_000)
const ROUNDS = Number(process.env.ROUNDS ?? 5)
const NEW_PW = 'Adm1n-scale-passw0rd'

if (!existsSync(join(DIST, 'index.html'))) {
  console.error('dist/ is missing: run `npm run build` first')
  process.exit(2)
}


const port = await freePort()
const API = `http://127.0.0.1:${port}`
const dataDir = mkdtempSync(join(tmpdir(), 'topup-scale-'))
// Limits meant for buyers are off: one buyer places every order here.
const topup = spawn(BIN, ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`], {
  env: {
    ...process.env,
    TOPUP_LOG__LEVEL: 'warn',
    TOPUP_WEB__ADMIN_DIR: DIST,
    TOPUP_ORDERS__MAX_UNPAID_ORDERS_PER_USER: '0',
    TOPUP_ORDERS__CHECKOUT_RATE_PER_MINUTE: '0',
    TOPUP_ORDERS__MAX_ORDERS_PER_NUMBER_PER_DAY: '0',
    TOPUP_ORDERS__PAY_TIMEOUT_MINUTES: '1440',
    TOPUP_CATALOG__DETECT_LOOKUPS_PER_MINUTE: '0',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
})
let browser
function stop() {
  topup.kill('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
}
process.on('exit', stop)

async function json(method, path, body, token, extra = {}) {
  const res = await fetch(`${API}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`)
  return text ? JSON.parse(text) : null
}

function median(list) {
  const sorted = [...list].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

try {
  await until('topup to listen', () => fetch(`${API}/healthz`).then((r) => r.ok), 60_000)
  await until('the catalog sync', async () => (await json('GET', '/api/v1/app/catalog/countries')).items?.length > 0, 60_000)
  const initialPw = readFileSync(join(dataDir, 'initial-admin-password'), 'utf8').trim()
  const first = await json('POST', '/api/v1/admin/auth/login', { username: 'admin', password: initialPw })
  await json('PUT', '/api/v1/admin/auth/password', { old: initialPw, new: NEW_PW }, first.access_token)
  const staff = (await json('POST', '/api/v1/admin/auth/login', { username: 'admin', password: NEW_PW })).access_token

  // Seed: unpaid orders, each for its own number, a few at a time.
  const { code } = await json('POST', '/sandbox/wechat/codes', {})
  const { token } = await json('POST', '/api/v1/app/auth/login', { code })
  const plan = (await json('GET', '/api/v1/app/catalog/detect?phone=%2B639171000000')).plans[0].id
  const seeding = Date.now()
  await eachConcurrently(ORDERS, 8, async (n) => {
    const phone = `+63917${String(n).padStart(7, '0')}`
    await json('POST', '/api/v1/app/orders', { plan_id: plan, phone }, token, { 'idempotency-key': `scale-${n}` })
  })
  const seeded = (await json('GET', '/api/v1/admin/orders?page_size=1', undefined, staff)).total
  console.log(`seeded ${seeded} orders in ${((Date.now() - seeding) / 1000).toFixed(1)} s`)

  // The list API alone.
  const apiTimes = { first_page: [], by_phone: [], by_state: [] }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, query] of [
      ['first_page', 'page=1&page_size=20'],
      ['by_phone', 'phone=9170004321'],
      ['by_state', 'state=awaiting_payment&page=3&page_size=20'],
    ]) {
      const t = performance.now()
      await json('GET', `/api/v1/admin/orders?${query}`, undefined, staff)
      apiTimes[name].push(performance.now() - t)
    }
  }

  // Seeding kept both cores busy: wait (at most 60 s) for a second in which the CPUs are at
  // least 80% idle, so the page is timed on a machine doing only this.
  const cpuTimes = () => {
    const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/)
    const values = fields.map(Number)
    return { idle: values[3] + values[4], total: values.reduce((a, b) => a + b, 0) }
  }
  const settleUntil = Date.now() + 60_000
  let idleBefore = 0
  for (;;) {
    const before = cpuTimes()
    await new Promise((r) => setTimeout(r, 1000))
    const after = cpuTimes()
    idleBefore = (after.idle - before.idle) / Math.max(1, after.total - before.total)
    if (idleBefore >= 0.8 || Date.now() > settleUntil) break
  }

  // The page, as staff open it.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  })
  const page = await (await browser.newContext({ viewport: { width: 1366, height: 820 } })).newPage()
  page.setDefaultTimeout(30_000)
  await page.goto(`${API}/login`)
  await page.locator('[data-test=username] input, input[data-test=username]').first().fill('admin')
  await page.locator('[data-test=password] input, input[data-test=password]').first().fill(NEW_PW)
  await page.click('[data-test=login-submit]')
  await page.waitForURL('**/home')
  // Time from the start of a navigation to the first rows on screen, measured in the page on
  // every frame: `since` is the navigation's start on the page's clock.
  const firstRowsAt = (since) =>
    page
      .waitForFunction(
        (start) =>
          document.querySelector('[data-test=orders-table] [data-test=order-link]')
            ? Math.round(performance.now() - start)
            : false,
        since,
        { polling: 'raf' },
      )
      .then((handle) => handle.jsonValue())
  const pageTimes = []
  const inAppTimes = []
  for (let round = 0; round < ROUNDS; round++) {
    // A full load of the page's address (a bookmark, a reload): the console boots first.
    await page.goto(`${API}/home`)
    await page.locator('[data-test=side-menu]').waitFor()
    await page.goto(`${API}/order/orders`, { waitUntil: 'commit' })
    pageTimes.push(await firstRowsAt(0))
    // Opening the page from the console's menu, as staff usually do: a moment after the
    // console is up (its home page's data and the pages' code it loads while idle are in).
    await page.goto(`${API}/home`)
    await page.locator('[data-test=side-menu]').waitFor()
    await page.waitForTimeout(2000)
    await page.waitForLoadState('networkidle')
    const clickedAt = await page.evaluate(() => {
      const start = performance.now()
      window.history.pushState({}, '', '/order/orders')
      window.dispatchEvent(new PopStateEvent('popstate', { state: window.history.state }))
      return start
    })
    inAppTimes.push(await firstRowsAt(clickedAt))
  }
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  const ms = (v) => `${v.toFixed(0)} ms`
  console.log(`orders in store: ${seeded}; rounds: ${ROUNDS}; CPUs ${(idleBefore * 100).toFixed(0)}% idle just before; load average: ${load}`)
  console.log(`orders page, loaded at its address → first rows: median ${ms(median(pageTimes))} (all: ${pageTimes.join(', ')} ms)`)
  console.log(`orders page, opened from the menu → first rows: median ${ms(median(inAppTimes))} (all: ${inAppTimes.join(', ')} ms)`)
  for (const [name, list] of Object.entries(apiTimes)) {
    console.log(`GET /api/v1/admin/orders ${name}: median ${ms(median(list))}`)
  }
  await browser.close()
  process.exit(0)
} catch (error) {
  console.error(error)
  await browser?.close()
  process.exit(1)
}
