// End-to-end: the built console (dist/) against a real `topup serve` on a temporary data dir,
// driven in Chromium. Expects `npm run build` done; builds nothing itself.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import zlib from 'node:zlib'
import { chromium } from 'playwright-core'
import { serveDist } from './serve.mjs'
import { freePort, until } from '../../bench/support.mjs'

const ROOT = resolve(import.meta.dirname, '..')
const DIST = join(ROOT, 'dist')
const OUT = join(ROOT, 'test-results')
const BIN = process.env.TOPUP_BIN ?? new URL('../../target/debug/topup', import.meta.url).pathname
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const NEW_PW = 'Adm1n-e2e-passw0rd'
const T0 = Date.now()

if (!existsSync(join(DIST, 'index.html'))) {
  console.error('dist/ is missing: run `npm run build` first')
  process.exit(2)
}
mkdirSync(OUT, { recursive: true })

/** The page's API requests: `settled(ms)` once none is open and none has started or ended for `ms`. */
function trackApi(page) {
  const open = new Set()
  let lastChange = Date.now()
  const isApi = (r) => new URL(r.url()).pathname.startsWith('/api/')
  page.on('request', (r) => { if (isApi(r)) { open.add(r); lastChange = Date.now() } })
  const end = (r) => { if (open.delete(r)) lastChange = Date.now() }
  page.on('requestfinished', end)
  page.on('requestfailed', end)
  return { settled: (ms) => open.size === 0 && Date.now() - lastChange >= ms }
}

function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`)
}

// --- servers ---------------------------------------------------------------
const dataDir = mkdtempSync(join(tmpdir(), 'topup-e2e-'))
const apiPort = await freePort()
// Once the binary serves the console itself, use that; otherwise a static server proxies to it.
// The binary serves the console itself (`web.admin_dir`); E2E_PROXY=1 serves it from Node.
const servedByTopup = process.env.E2E_PROXY !== '1'
const env = { ...process.env, RUST_LOG: 'warn' }
if (servedByTopup) env.TOPUP_WEB__ADMIN_DIR = DIST
const topup = spawn(BIN, ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${apiPort}`], { env, stdio: ['ignore', 'ignore', 'pipe'] })
let topupErr = ''
topup.stderr.on('data', (d) => { topupErr = (topupErr + d).slice(-4000) })
const API = `http://127.0.0.1:${apiPort}`
let BASE = API
let web = null
if (!servedByTopup) {
  web = await serveDist({ dist: DIST, upstream: API })
  BASE = `http://127.0.0.1:${web.port}`
}

// Chromium starts while topup does.
const launching = chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-component-update', '--disable-sync'],
})
launching.catch(() => {})
let browser
const results = []
const metrics = {}
async function cleanup() {
  await (browser ?? (await launching.catch(() => null)))?.close().catch(() => {})
  web?.server.close()
  if (topup.exitCode === null && topup.signalCode === null) {
    // Its data dir goes only once it has stopped writing to it.
    const exited = new Promise((r) => topup.once('exit', r))
    topup.kill('SIGTERM')
    const deadline = new Promise((r) => setTimeout(r, 10000).unref())
    if ((await Promise.race([exited.then(() => true), deadline])) !== true) topup.kill('SIGKILL')
  }
  rmSync(dataDir, { recursive: true, force: true })
}

async function json(method, path, body, token, extra = {}) {
  if (topup.exitCode !== null || topup.signalCode !== null) throw new Error(`topup exited (${topup.exitCode ?? topup.signalCode}): ${topupErr}`)
  const res = await fetch(`${API}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  const data = text ? JSON.parse(text) : null
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`)
  return data
}

async function step(name, fn) {
  const t = Date.now()
  try {
    await fn()
    results.push({ name, ok: true, ms: Date.now() - t })
    console.log(`  ✓ ${name} (${Date.now() - t} ms)`)
  } catch (e) {
    results.push({ name, ok: false, ms: Date.now() - t, error: e })
    console.log(`  ✗ ${name}\n    ${e.stack ?? e}`)
    console.log(`    where: ${await whereTheBrowserIs().catch((d) => `unknown (${d.message})`)}`)
  }
}

/** What a failed step leaves on screen, for the log: the page, its open dialogs, its messages. */
let whereTheBrowserIs = async () => 'no page yet'

async function shot(page, name) {
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: false })
}

try {
  await until('topup to listen', () => fetch(`${API}/api/v1/app/catalog/countries`).then((r) => r.ok), 30000)
  await until('the catalog sync', async () => (await json('GET', '/api/v1/app/catalog/countries')).items?.length > 0, 30000)
  const initialPw = readFileSync(join(dataDir, 'initial-admin-password'), 'utf8').trim()
  console.log(`topup at ${API}, console at ${BASE}${servedByTopup ? ' (served by topup)' : ' (static server + proxy)'}`)

  browser = await launching
  const admin = await browser.newContext({ viewport: { width: 1366, height: 820 }, acceptDownloads: true })
  const page = await admin.newPage()
  page.setDefaultTimeout(30000)
  const api = trackApi(page)
  whereTheBrowserIs = async () => {
    const texts = async (css) => (await page.locator(css).allInnerTexts()).map((s) => s.replace(/\s+/g, ' ').slice(0, 120))
    return JSON.stringify({ url: page.url(), dialogs: await texts('.ant-modal-title'), messages: await texts('.ant-message-notice, .ant-alert, .ant-form-item-explain-error') })
  }

  await step('login page weight', async () => {
    const cdp = await admin.newCDPSession(page)
    await cdp.send('Network.enable')
    let encoded = 0
    cdp.on('Network.loadingFinished', (e) => { encoded += e.encodedDataLength })
    const assets = new Set()
    page.on('response', (r) => { if (r.url().startsWith(BASE) && !r.url().includes('/api/')) assets.add(new URL(r.url()).pathname) })
    await page.goto(`${BASE}/login`, { waitUntil: 'networkidle' })
    await page.locator('[data-test=login-submit]').waitFor()
    // What the files weigh gzipped, independent of whether this server compresses.
    let gz = 0
    for (const a of assets) {
      const f = a === '/login' || a === '/' ? join(DIST, 'index.html') : join(DIST, a)
      if (existsSync(f)) gz += zlib.gzipSync(readFileSync(f), { level: 9 }).length
    }
    metrics.loginGzipBytes = gz
    metrics.loginTransferredBytes = encoded
    metrics.loginFiles = assets.size
    await cdp.detach()
    await shot(page, '01-login')
    assert(gz <= 400 * 1024, `login page ${gz} B gzipped exceeds 400 KB`)
  })

  await step('first login forces a password change', async () => {
    await page.fill('[data-test=username] input, input[data-test=username]', 'admin').catch(() => page.locator('[data-test=username]').fill('admin'))
    await page.locator('[data-test=password] input, input[data-test=password]').first().fill(initialPw)
    await page.click('[data-test=login-submit]')
    await page.waitForURL('**/change-password')
    await page.locator('[data-test=must-change]').waitFor()
    // Any other route is refused until the password is changed.
    await page.goto(`${BASE}/order/orders`)
    await page.waitForURL('**/change-password')
    await shot(page, '02-change-password')
    await page.locator('input[data-test=old-password], [data-test=old-password] input').first().fill(initialPw)
    await page.locator('input[data-test=new-password], [data-test=new-password] input').first().fill(NEW_PW)
    await page.locator('input[data-test=confirm-password], [data-test=confirm-password] input').first().fill(NEW_PW)
    await page.click('[data-test=password-submit]')
    await page.waitForURL('**/home')
    await page.locator('[data-test=stat-orders]').waitFor()
    await page.locator('[data-test=side-menu]').getByText('系统', { exact: true }).waitFor()
    await shot(page, '03-home')
  })

  const adminToken = (await json('POST', '/api/v1/admin/auth/login', { username: 'admin', password: NEW_PW })).access_token

  // An order bought through the sandbox, as the mini-program would.
  const PHONE = '+639171234500'
  let orderNo = ''
  await step('setup: buy an order through the sandbox', async () => {
    const { code } = await json('POST', '/sandbox/wechat/codes', {})
    const { token } = await json('POST', '/api/v1/app/auth/login', { code })
    const det = await json('GET', `/api/v1/app/catalog/detect?phone=${encodeURIComponent(PHONE)}`)
    const co = await json('POST', '/api/v1/app/orders', { plan_id: det.plans[0].id, phone: PHONE }, token, { 'idempotency-key': `e2e-${Date.now()}` })
    orderNo = co.order.order_no
    await json('POST', '/sandbox/wechat/pay/confirm', { prepay_id: co.pay_params.package.split('=')[1] })
    await until('the order to succeed', async () => (await json('GET', `/api/v1/app/orders/${orderNo}`, undefined, token)).state === 'succeeded', 15000, 200)
  })

  await step('orders: find by phone, timeline, partial refund', async () => {
    const t = Date.now()
    await page.goto(`${BASE}/order/orders`, { waitUntil: 'commit' })
    // From the navigation's start, on the page's clock, checked on every frame.
    const rowsAt = await page.waitForFunction(
      () => (document.querySelector('[data-test=orders-table] [data-test=order-link]') ? Math.round(performance.now()) : false),
      null,
      { polling: 'raf' },
    )
    metrics.ordersTableMs = await rowsAt.jsonValue()
    metrics.ordersTableWallMs = Date.now() - t
    await page.locator('input[data-test=filter-phone], [data-test=filter-phone] input').first().fill('9171234500')
    await page.click('[data-test=order-search]')
    await page.locator(`[data-test=order-link]:has-text("${orderNo}")`).waitFor()
    assert((await page.locator('[data-test=order-link]').count()) === 1, 'one order matches the phone')
    assert(await page.getByText('+63 917 123 4500').first().isVisible(), 'phone shown internationally')
    await shot(page, '04-orders')
    await page.click(`[data-test=order-link]:has-text("${orderNo}")`)
    // The story in the console's language: the steps, the price line, the attempt.
    const timelineSteps = page.locator('[data-test=order-timeline] [data-test=timeline-item] b')
    await until('the timeline in Chinese', async () =>
      (await timelineSteps.allTextContents()).join() === '下单,支付成功,开始充值,充值成功', 5000)
    const drawerBody = page.locator('.ant-drawer-open .ant-drawer-body')
    await drawerBody.getByText('套餐价', { exact: true }).first().waitFor()
    await drawerBody.locator('.ant-tag', { hasText: '成功' }).first().waitFor()
    await drawerBody.getByText('发送', { exact: true }).first().waitFor()
    // Fully slid in, and its content faded in from the loading state, before the picture.
    await until('the drawer to settle', async () => {
      const box = await page.locator('.ant-drawer-open .ant-drawer-content-wrapper').boundingBox()
      const opacity = await drawerBody.locator('.ant-spin-container').first().evaluate((e) => getComputedStyle(e).opacity)
      return box !== null && Math.abs(box.x + box.width - page.viewportSize().width) < 1 && opacity === '1'
    }, 5000)
    await shot(page, '05-order-drawer')
    await page.click('[data-test=order-refund]')
    const amount = page.locator('input[data-test=refund-amount], [data-test=refund-amount] input').first()
    await amount.fill('1.234')
    await page.locator('input[data-test=refund-reason], [data-test=refund-reason] input').first().fill('e2e partial refund')
    await page.getByRole('button', { name: '提交退款' }).click()
    await page.getByText('请输入金额，最多两位小数').waitFor()
    await amount.fill('1.50')
    await page.getByRole('button', { name: '提交退款' }).click()
    await page.locator('[data-test=order-timeline]').getByText('申请退款', { exact: true }).waitFor()
    await page.locator('[data-test=order-timeline]').getByText('1.50 CNY: e2e partial refund').waitFor()
    await page.locator('[data-test=order-refunds]').getByText('¥1.50').waitFor()
    await shot(page, '06-order-refunded')
    const o = await json('GET', `/api/v1/admin/orders/${orderNo}`, undefined, adminToken)
    assert(o.refunds.length === 1 && o.refunds[0].amount.amount === 150, `refund of 150 fen recorded, got ${JSON.stringify(o.refunds)}`)
    await page.keyboard.press('Escape')
  })

  await step('global search: Ctrl+K finds an order by its phone and opens it', async () => {
    await page.goto(`${BASE}/home`)
    await page.locator('[data-test=stat-orders]').waitFor()
    await page.keyboard.press('Control+k')
    const input = page.locator('input[data-test=quick-jump-input], [data-test=quick-jump-input] input').first()
    await input.waitFor()
    // Six or more digits of the phone number find its orders (no page matches digits).
    await input.fill(PHONE.slice(3))
    const hit = page.locator('[data-test=search-group][data-kind=order] [data-test=search-order]', { has: page.locator('[data-test=search-order-no]', { hasText: orderNo }) })
    await hit.waitFor({ timeout: 10000 })
    await page.locator('[data-test=search-loading]').waitFor({ state: 'detached', timeout: 10000 })
    assert((await hit.locator('[data-test=search-matched]').getAttribute('data-matched')) === 'phone', 'the order says it matched by phone')
    assert(await hit.evaluate((el) => el.classList.contains('active')), 'the order is the first result, chosen by Enter')
    await shot(page, 'global-search')
    await page.keyboard.press('Enter')
    await page.waitForURL((u) => u.pathname === '/order/orders' && u.searchParams.get('order_no') === orderNo)
    await page.locator('.ant-drawer-open .ant-drawer-title').getByText(orderNo, { exact: false }).waitFor()
    // Closing the drawer forgets the order, so the same result opens it again.
    await page.keyboard.press('Escape')
    await page.waitForURL((u) => u.pathname === '/order/orders' && !u.searchParams.has('order_no'))
  })

  await step('held order: refunded in full once the provider confirms nothing was delivered', async () => {
    const HELD = '+639171234506' // the sandbox provider's empty wallet: the order is held
    const { code } = await json('POST', '/sandbox/wechat/codes', {})
    const { token } = await json('POST', '/api/v1/app/auth/login', { code })
    const det = await json('GET', `/api/v1/app/catalog/detect?phone=${encodeURIComponent(HELD)}`)
    const co = await json('POST', '/api/v1/app/orders', { plan_id: det.plans[0].id, phone: HELD }, token, { 'idempotency-key': `e2e-held-${Date.now()}` })
    const heldNo = co.order.order_no
    await json('POST', '/sandbox/wechat/pay/confirm', { prepay_id: co.pay_params.package.split('=')[1] })
    await until('the order to be held', async () => !!(await json('GET', `/api/v1/admin/orders/${heldNo}`, undefined, adminToken)).hold, 20000, 300)
    await page.goto(`${BASE}/order/orders`)
    await page.locator('input[data-test=filter-phone], [data-test=filter-phone] input').first().fill('9171234506')
    await page.click('[data-test=order-search]')
    await page.click(`[data-test=order-link]:has-text("${heldNo}")`)
    await page.locator('[data-test=order-retry]').waitFor()
    await page.click('[data-test=order-refund]')
    await page.locator('[data-test=refund-held-note]').waitFor()
    assert((await page.locator('[data-test=refund-amount]').count()) === 0, 'a held order offers no partial refund')
    await page.locator('input[data-test=refund-reason], [data-test=refund-reason] input').first().fill('e2e provider wallet empty')
    await shot(page, '06b-held-refund')
    await page.getByRole('button', { name: '提交退款' }).click()
    await until('the held order to be refunding', async () => {
      const o = await json('GET', `/api/v1/admin/orders/${heldNo}`, undefined, adminToken)
      return (o.state === 'refunding' || o.state === 'refunded') && o.refunds.length === 1 && o.refunds[0].amount.amount === o.total.amount
    }, 10000, 300)
    await page.keyboard.press('Escape')
  })

  await step('dashboard: figures of the orders above, the trend, 30 days', async () => {
    await page.setViewportSize({ width: 1440, height: 900 })
    const seen = []
    const onResponse = (r) => {
      const u = new URL(r.url())
      if (u.pathname === '/api/v1/admin/dashboard') seen.push({ range: u.searchParams.get('range'), status: r.status() })
    }
    page.on('response', onResponse)
    try {
      await page.goto(`${BASE}/home`)
      const body = page.locator('[data-test=dashboard][data-loaded=true]')
      await body.waitFor()
      assert(!(await page.locator('[data-test=api-error]').isVisible()), 'the dashboard shows no API error')
      const ordersValue = page.locator('[data-test=stat-orders] .ant-statistic-content-value')
      const ordersShown = async () => Number((await ordersValue.innerText()).replace(/[^\d]/g, '') || 0)
      const paidText = () => page.locator('[data-test=stat-paid] .ant-statistic-content').innerText()
      const paidShown = async () => /^¥[\d,]+\.\d\d$/.test((await paidText()).trim()) && /[1-9]/.test(await paidText())
      // The server refreshes its figures every few seconds: read them again until the orders show.
      await until('the orders and paid stats to count the orders above', async () => {
        if ((await ordersShown()) >= 1 && (await paidShown())) return true
        await page.click('[data-test=dash-refresh]')
        await page.locator('[data-test=dash-refresh].ant-btn-loading').waitFor({ state: 'detached' })
        return (await ordersShown()) >= 1 && (await paidShown())
      }, 15000, 1000)
      assert(/\d/.test(await page.locator('[data-test=stat-rate] .ant-statistic-content').innerText()), 'the success rate is a number')
      await page.locator('[data-test=dash-trend] canvas').first().waitFor()
      const range = page.locator('[data-test=dash-range]')
      const todayFrom = await range.getAttribute('data-from')
      assert(todayFrom && todayFrom === (await range.getAttribute('data-to')), `today is one day: ${await range.innerText()}`)
      assert((await page.locator('[data-test=dash-trend]').getAttribute('data-days')) === '1', 'today is one point of the trend')
      // What the orders were bought in and the states they are in now.
      await page.locator('[data-test=dash-by-country] canvas').first().waitFor()
      await page.locator('[data-test=dash-by-kind] canvas').first().waitFor()
      assert((await page.locator('[data-test=dash-states] [data-state]').count()) >= 1, 'orders by state listed')
      assert((await page.locator('[data-test=dash-balance]').count()) >= 1, 'a provider balance row')
      for (const k of ['held', 'alerts', 'refunding']) await page.locator(`[data-test=todo-${k}]`).waitFor()
      assert(/\S/.test(await page.locator('[data-test=dash-as-of]').innerText()), 'the figures say when they were computed')
      await shot(page, 'dashboard-today')

      // 30 days: read again, the range shown changes, the orders are still counted.
      const before = seen.length
      await page.click('[data-test=range-30d]')
      await until('the 30-day figures to be asked for', () => seen.slice(before).some((r) => r.range === '30d' && r.status === 200), 10000)
      await until('the 30-day range to be shown', async () => (await range.getAttribute('data-from')) !== todayFrom, 10000)
      assert((await range.getAttribute('data-to')) === todayFrom, 'the 30 days end today')
      await until('30 points in the trend', async () => (await page.locator('[data-test=dash-trend]').getAttribute('data-days')) === '30', 10000)
      assert((await ordersShown()) >= 1, 'the 30 days count the orders too')
      await page.locator('[data-test=dash-trend] canvas').first().waitFor()
      // The charts animate in; the picture is of them drawn.
      await page.waitForTimeout(1200)
      await page.screenshot({ path: join(OUT, 'dashboard.png'), fullPage: true })

      // A custom range starts from the days shown.
      await page.click('[data-test=range-custom]')
      await page.locator('[data-test=dash-custom]').waitFor()
      assert(!(await page.locator('[data-test=dash-custom-problem]').isVisible()), 'the custom range starts acceptable')
      assert(!(await page.locator('[data-test=api-error]').isVisible()), 'no API error after switching ranges')
      await until('the custom figures', () => seen.slice(before).some((r) => r.range === 'custom' && r.status === 200), 10000)
      // A narrow window stacks the cards and charts.
      await page.setViewportSize({ width: 420, height: 900 })
      await page.locator('[data-test=dash-trend] canvas').first().waitFor()
      await page.waitForTimeout(800)
      await shot(page, 'dashboard-narrow')
    } finally {
      page.off('response', onResponse)
      await page.setViewportSize({ width: 1366, height: 820 })
    }
  })

  let roleCode = 'order_viewer'
  await step('roles: create a role holding only order viewing', async () => {
    await page.goto(`${BASE}/system/roles`)
    await page.click('[data-test=role-create]')
    await page.locator('input[data-test=role-code], [data-test=role-code] input').first().fill(roleCode)
    await page.locator('input[data-test=role-name], [data-test=role-name] input').first().fill('Order viewer')
    await page.locator('[data-test=perm-tree]').getByText('order:order:list', { exact: false }).first().click()
    await shot(page, '07-role-editor')
    await page.click('[data-test=role-save]')
    await page.locator('[data-test=roles-table]').getByText(roleCode).waitFor()
    const roles = await json('GET', '/api/v1/admin/roles?page=1&page_size=100', undefined, adminToken)
    const r = roles.items.find((x) => x.code === roleCode)
    assert(r && r.permissions.length === 1 && r.permissions[0] === 'order:order:list', `role holds order:order:list only: ${JSON.stringify(r?.permissions)}`)
    await shot(page, '08-roles')
  })

  await step('staff users: create a user with that role', async () => {
    await page.goto(`${BASE}/system/users`)
    await page.click('[data-test=user-create]')
    await page.locator('input[data-test=user-username], [data-test=user-username] input').first().fill('viewer')
    await page.locator('input[data-test=user-display], [data-test=user-display] input').first().fill('Viewer')
    await page.locator('input[data-test=user-password], [data-test=user-password] input').first().fill('Viewer-passw0rd')
    await page.locator('[data-test=user-roles]').click()
    await page.locator('.ant-select-dropdown').getByText('Order viewer').click()
    await page.locator('.ant-modal-title').click()
    await page.click('[data-test=user-save]')
    await page.locator('[data-test=users-table]').getByText('viewer', { exact: true }).waitFor()
    await shot(page, '09-staff-users')
  })

  await step('restricted user sees only permitted menus and gets 403 elsewhere', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1024, height: 768 } })
    const p = await ctx.newPage()
    p.setDefaultTimeout(30000)
    await p.goto(`${BASE}/login`)
    await p.locator('input[data-test=username], [data-test=username] input').first().fill('viewer')
    await p.locator('input[data-test=password], [data-test=password] input').first().fill('Viewer-passw0rd')
    await p.click('[data-test=login-submit]')
    await p.waitForURL('**/change-password')
    await p.locator('input[data-test=old-password], [data-test=old-password] input').first().fill('Viewer-passw0rd')
    await p.locator('input[data-test=new-password], [data-test=new-password] input').first().fill('Viewer-passw0rd2')
    await p.locator('input[data-test=confirm-password], [data-test=confirm-password] input').first().fill('Viewer-passw0rd2')
    await p.click('[data-test=password-submit]')
    await p.waitForURL('**/home')
    // Without dashboard:dashboard:view the home page shows only the latest orders, and no error.
    await p.locator('[data-test=dash-recent] .ant-table-row').first().waitFor()
    assert((await p.locator('[data-test=stat-orders]').count()) === 0, 'no dashboard figures without its permission')
    assert(!(await p.locator('[data-test=api-error]').isVisible()), 'the restricted home page shows no API error')
    const menu = p.locator('[data-test=side-menu]')
    await menu.getByText('订单').first().waitFor()
    const text = await menu.innerText()
    for (const hidden of ['系统', '商品', '用户', '支付']) assert(!text.includes(hidden), `menu hides ${hidden}: ${text}`)
    await menu.getByText('订单').first().click()
    await p.locator('[data-test=side-menu] .ant-menu-sub').getByText('订单').click()
    await p.locator('[data-test=orders-table] [data-test=order-link]').first().waitFor()
    assert(!(await p.locator('[data-test=order-export]').isVisible()), 'export hidden without order:order:export')
    await p.click('[data-test=order-link]')
    await p.locator('[data-test=order-timeline]').waitFor()
    assert(!(await p.locator('[data-test=order-refund]').isVisible()), 'refund hidden without order:order:refund')
    await shot(p, '10-restricted-orders')
    await p.goto(`${BASE}/system/users`)
    await p.locator('[data-test=forbidden]').waitFor()
    await shot(p, '11-forbidden')
    await ctx.close()
  })

  await step('plans: pin a price and see it in the app catalog', async () => {
    const det = await json('GET', `/api/v1/app/catalog/detect?phone=${encodeURIComponent('+639171234501')}`)
    const plan = det.plans[0]
    await page.goto(`${BASE}/catalog/plans?country=PH&operator=${plan.operator.id}`)
    await page.locator(`[data-plan="${plan.id}"]`).first().waitFor()
    await page.locator(`tr:has([data-plan="${plan.id}"]) [data-test=plan-edit]`).click()
    await page.locator('input[data-test=plan-pin], [data-test=plan-pin] input').first().fill('12.34')
    await shot(page, '12-plan-edit')
    await page.click('[data-test=plan-save]')
    await until('the pinned price in the app catalog', async () => {
      const list = await json('GET', '/api/v1/app/catalog/plans?country=PH')
      return list.items.find((x) => x.id === plan.id)?.price.amount === 1234
    }, 10000, 200)
    await page.locator(`tr:has([data-plan="${plan.id}"])`).getByText('¥12.34').waitFor()
    await shot(page, '13-plans')
  })

  await step('coupons: create a template, issue it to an app user, find the coupon', async () => {
    // The user to issue to signs in through the sandbox, as the mini-program would.
    const { code } = await json('POST', '/sandbox/wechat/codes', {})
    const { user } = await json('POST', '/api/v1/app/auth/login', { code })
    const { openid } = await json('GET', `/api/v1/admin/app-users/${user.id}`, undefined, adminToken)
    const NAME = 'E2E ¥5 off ¥10'
    await page.goto(`${BASE}/marketing/coupon-templates`)
    await page.click('[data-test=template-create]')
    const input = (name) => page.locator(`input[data-test=${name}], [data-test=${name}] input`).first()
    await input('template-name').fill(NAME)
    await page.locator('[data-test=template-channel]').getByText('后台发放').click()
    await input('template-threshold').fill('10')
    await input('template-amount-off').fill('5')
    // The example line prices ¥50.00 by the discount rule, as typed.
    await page.locator('[data-test=template-example-pay]').getByText('¥45.00').waitFor()
    await page.locator('[data-test=template-unlimited]').click()
    await input('template-stock').fill('10')
    // The form is taller than the window: a taller window for its picture.
    await page.setViewportSize({ width: 1366, height: 1400 })
    await shot(page, '30-coupon-template-form')
    await page.setViewportSize({ width: 1366, height: 820 })
    await page.click('[data-test=template-save]')
    const row = page.locator('[data-test=templates-table] tr', { has: page.getByText(NAME, { exact: true }) })
    await row.getByText('满 ¥10.00 减 ¥5.00').waitFor()
    await row.getByText('后台发放').waitFor()
    await row.getByText('0 / 10').waitFor()
    // Editing shows the terms back in yuan.
    await row.locator('[data-test=template-edit]').click()
    await until('the form to show the saved terms', async () =>
      (await input('template-threshold').inputValue()) === '10.00' && (await input('template-amount-off').inputValue()) === '5.00', 5000)
    await page.click('[data-test=template-cancel]')
    await page.locator('[data-test=template-save]').waitFor({ state: 'hidden' })
    const issueTo = async () => {
      await row.locator('[data-test=template-issue]').click()
      await page.locator('[data-test=issue-users]').click()
      await page.locator('[data-test=issue-users] input').fill(openid)
      await page.locator('.ant-select-dropdown .ant-select-item-option').getByText(openid, { exact: false }).click()
      await page.locator('.ant-modal-title').getByText(NAME, { exact: false }).click()
      await page.click('[data-test=issue-submit]')
    }
    await issueTo()
    await page.locator('[data-test=issue-result]').getByText('已发放 1 张').waitFor()
    await page.click('[data-test=issue-done]')
    await page.locator('[data-test=issue-done]').waitFor({ state: 'hidden' })
    await row.getByText('1 / 10').waitFor()
    // Once per user: a second issue is refused, and the dialog says to whom and why.
    await issueTo()
    await page.locator('[data-test=issue-result]').getByText('1 位用户未发放').waitFor()
    await page.locator('[data-test=issue-refused]').getByText('COUPON_LIMIT_REACHED').waitFor()
    await page.locator('[data-test=issue-refused]').getByText(openid, { exact: false }).waitFor()
    await shot(page, '31-coupon-issue-refused')
    await page.click('[data-test=issue-done]')
    await page.locator('[data-test=issue-done]').waitFor({ state: 'hidden' })
    await shot(page, '32-coupon-templates')
    await page.goto(`${BASE}/marketing/coupons`)
    await input('coupon-filter-user').fill(user.id)
    await page.click('[data-test=coupon-search]')
    const coupon = page.locator('[data-test=coupons-table] tr', { has: page.getByText(NAME, { exact: true }) })
    await coupon.locator('[data-test=coupon-state][data-state=unused]').waitFor()
    assert((await page.locator('[data-test=coupons-table] [data-test=coupon-id]').count()) === 1, 'one coupon for the user')
    await shot(page, '33-coupons')
    const held = await json('GET', `/api/v1/admin/marketing/coupons?user_id=${user.id}`, undefined, adminToken)
    const c = held.items[0]
    assert(held.total === 1 && c.channel === 'staff' && c.terms.amount_off.amount === 500 && c.terms.threshold.amount === 1000,
      `the user holds ¥5 off ¥10, issued by staff: ${JSON.stringify(held)}`)
    const templates = await json('GET', '/api/v1/admin/marketing/coupon-templates?channel=staff', undefined, adminToken)
    const tpl = templates.items.find((x) => x.name === NAME)
    assert(tpl && tpl.total_stock === 10 && tpl.stats.claimed === 1, `stock 10, one claimed: ${JSON.stringify(tpl)}`)
    // A percentage off, capped, limited to one country's operator: the example applies the cap.
    await page.goto(`${BASE}/marketing/coupon-templates`)
    await page.click('[data-test=template-create]')
    // The kind is chosen once its fields show; a click lost to the dialog's opening is made again.
    await until('the percent-off fields', async () => {
      if (!(await input('template-percent-off').isVisible())) await page.locator('[data-test=template-kind]').getByText('折扣券').click({ timeout: 3000 })
      return input('template-percent-off').isVisible()
    }, 10000, 300)
    await input('template-percent-off').fill('12')
    await input('template-max-discount').fill('3')
    await page.locator('[data-test=template-example-pay]').getByText('¥47.00').waitFor()
    const openOptions = page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option')
    await page.locator('[data-test=scope-countries]').click()
    await page.locator('[data-test=scope-countries] input').fill('PH')
    await openOptions.getByText('PH ·', { exact: false }).first().click()
    await page.locator('[data-test=scope-operators]').click()
    await openOptions.getByText('· PH ·', { exact: false }).first().click()
    await page.locator('.ant-modal-title').getByText('新建优惠券').click()
    await page.setViewportSize({ width: 1366, height: 1400 })
    await shot(page, '34-coupon-template-percent')
    await page.setViewportSize({ width: 1366, height: 820 })
    await page.click('[data-test=template-cancel]')
    await page.locator('[data-test=template-save]').waitFor({ state: 'hidden' })
  })

  await step('membership: create a card with a coupon bundle, sell one, refund it from the console', async () => {
    // The coupon the card gives, twice a month.
    const BUNDLED = 'E2E member ¥2 off'
    const tpl = await json('POST', '/api/v1/admin/marketing/coupon-templates', {
      name: BUNDLED, description: '', validity: { kind: 'days_after_claim', days: 30 }, total_stock: null, per_user_limit: 10, channel: 'staff', enabled: true,
      terms: { kind: 'amount_off', amount_off: { amount: 200, currency: 'CNY' }, percent_off: null, max_discount: null, threshold: { amount: 0, currency: 'CNY' }, scope: { kinds: [], countries: [], operator_ids: [], plan_ids: [] } },
    }, adminToken)
    const input = (name) => page.locator(`input[data-test=${name}], [data-test=${name}] input`).first()
    await page.goto(`${BASE}/marketing/membership-plans`)
    await page.locator('[data-test=plans-table]').waitFor()
    await page.click('[data-test=plan-create]')
    await input('plan-name').fill('Gold')
    await input('plan-days').fill('30')
    await input('plan-price').fill('9.90')
    await input('plan-discount').fill('2')
    await page.click('[data-test=bundle-add]')
    await page.locator('[data-test=bundle-template-0]').click()
    await page.locator('[data-test=bundle-template-0] input').fill(BUNDLED)
    await page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option').getByText(BUNDLED, { exact: true }).click()
    await input('bundle-count-0').fill('2')
    await page.locator('textarea[data-test=plan-benefits], [data-test=plan-benefits] textarea').first().fill('2% off every top-up\n2 × ¥2 coupons every month')
    // The picked template's terms show under it.
    await page.locator('[data-test=bundle-row]').getByText('立减 ¥2.00').waitFor()
    await page.setViewportSize({ width: 1366, height: 1100 })
    await shot(page, '35-membership-plan-form')
    await page.setViewportSize({ width: 1366, height: 820 })
    await page.click('[data-test=plan-save]')
    await page.locator('[data-test=plan-save]').waitFor({ state: 'hidden' })
    const row = page.locator('[data-test=plans-table] tr', { has: page.locator('[data-test=plan-name-cell]', { hasText: 'Gold' }) })
    await row.getByText('30 天').waitFor()
    await row.getByText('¥9.90').waitFor()
    await row.getByText('减 2%').waitFor()
    await row.locator('[data-test=plan-bundle]').getByText(`${BUNDLED} × 2`).waitFor()
    await shot(page, '36-membership-plans')
    // Editing shows the price back in yuan.
    await row.locator('[data-test=plan-edit]').click()
    await until('the form to show the saved plan', async () => (await input('plan-price').inputValue()) === '9.90' && (await input('bundle-count-0').inputValue()) === '2', 5000)
    await page.click('[data-test=plan-cancel]')
    await page.locator('[data-test=plan-save]').waitFor({ state: 'hidden' })
    const plans = await json('GET', '/api/v1/admin/marketing/membership-plans', undefined, adminToken)
    const gold = plans.find((p) => p.name === 'Gold')
    assert(gold && gold.duration_days === 30 && gold.price.amount === 990 && gold.discount_percent === 2 && gold.bundle.length === 1
      && gold.bundle[0].template_id === tpl.id && gold.bundle[0].count === 2, `Gold as typed: ${JSON.stringify(gold)}`)

    // An app user buys it through the sandbox, as the mini-program would.
    const { code } = await json('POST', '/sandbox/wechat/codes', {})
    const { token, user } = await json('POST', '/api/v1/app/auth/login', { code })
    const co = await json('POST', '/api/v1/app/membership/orders', { plan_id: gold.id }, token)
    await json('POST', '/sandbox/wechat/pay/confirm', { prepay_id: co.pay_params.package.split('=')[1] })
    await until('the membership order to be paid and granted', async () => {
      const r = await json('GET', `/api/v1/admin/marketing/membership-orders?user_id=${user.id}`, undefined, adminToken)
      return r.items.some((o) => o.id === co.order.id && o.state === 'paid' && o.granted)
    }, 15000, 200)

    await page.goto(`${BASE}/marketing/members`)
    await page.locator('[data-test=members-active-only]').click()
    const member = page.locator('[data-test=members-table] tr', { has: page.getByText(user.id, { exact: true }) })
    await member.locator('[data-test=member-active][data-active=true]').waitFor()
    await member.getByText('Gold').waitFor()
    await shot(page, '37-members')
    // The member's user id opens their membership orders.
    await member.locator('[data-test=member-user]').click()
    await page.waitForURL((u) => u.pathname === '/marketing/membership-orders')
    const order = page.locator('[data-test=membership-orders-table] tr', { has: page.getByText(co.order.id, { exact: true }) })
    await order.locator('[data-test=membership-order-state][data-state=paid]').waitFor()
    assert((await page.locator('[data-test=membership-orders-table] [data-test=membership-order-link]').count()) === 1, 'one order for the user')
    await shot(page, '38-membership-orders')
    await order.locator('[data-test=membership-order-refund]').click()
    await page.locator('[data-test=membership-refund-note]').getByText('¥9.90').waitFor()
    await page.click('[data-test=membership-refund-submit]')
    await page.locator('.ant-modal .ant-form-item-explain').getByText('必填').waitFor()
    await input('membership-refund-reason').fill('e2e membership refund')
    // The error, and its fading out, gone before the picture.
    await page.locator('.ant-modal .ant-form-item-explain').waitFor({ state: 'detached' })
    await shot(page, '39-membership-refund')
    await page.click('[data-test=membership-refund-submit]')
    await page.locator('[data-test=membership-refund-state]').getByText('退款中').waitFor()
    await page.locator('[data-test=membership-refund-withdrawn]').getByText('收回未使用的优惠券 2 张').waitFor()
    await shot(page, '40-membership-refunded')
    await page.click('[data-test=membership-refund-done]')
    await page.locator('[data-test=membership-refund-done]').waitFor({ state: 'hidden' })
    await until('the row to leave "paid"', async () => (await order.locator('[data-test=membership-order-state]').getAttribute('data-state')) !== 'paid', 5000)
    assert((await order.locator('[data-test=membership-order-refund]').count()) === 0, 'no refund action once refunding')
    await order.locator('[data-test=membership-order-link]').click()
    const refundInfo = page.locator('[data-test=membership-order-refund-info]')
    await refundInfo.getByText('e2e membership refund').waitFor()
    await refundInfo.locator('[data-test=membership-order-withdrawn]').getByText('2 张').waitFor()
    // Once it has slid in whole.
    await until('the drawer to open', async () => {
      const box = await page.locator('.ant-drawer-content-wrapper').boundingBox()
      return box && box.x + box.width <= 1366
    }, 5000)
    await shot(page, '41-membership-order-drawer')
    await page.keyboard.press('Escape')
    const coupons = await json('GET', `/api/v1/admin/marketing/coupons?user_id=${user.id}`, undefined, adminToken)
    assert(coupons.total === 2 && coupons.items.every((c) => c.state === 'withdrawn' && c.template_id === tpl.id), `the bundle's coupons are withdrawn: ${JSON.stringify(coupons.items.map((c) => c.state))}`)
  })

  await step('notifications: message templates with a live preview, the delivery log', async () => {
    // Opened from the side menu, as staff reach it.
    const menu = page.locator('[data-test=side-menu]')
    const openFromMenu = async (label, path) => {
      const item = menu.locator('li.ant-menu-item').getByText(label, { exact: true })
      if (!(await item.isVisible())) await menu.locator('.ant-menu-submenu-title').getByText('通知', { exact: true }).click()
      await item.click()
      await page.waitForURL((u) => u.pathname === path)
    }
    await page.goto(`${BASE}/home`)
    await openFromMenu('消息模板', '/notify/templates')
    const table = page.locator('[data-test=notice-templates-table]')
    const eventRow = (event) => table.locator('tr', { has: page.locator(`[data-test=notice-event-cell][data-event=${event}]`) })
    // The five events, each preset with the sandbox mini-program's template.
    const presets = {
      payment_succeeded: ['支付成功', 'sbx-payment-succeeded'], recharge_succeeded: ['充值到账', 'sbx-recharge-succeeded'],
      recharge_failed_refunded: ['充值失败已退款', 'sbx-recharge-failed'], refund_succeeded: ['退款成功', 'sbx-refund-succeeded'],
      membership_activated: ['会员开通', 'sbx-membership-activated'],
    }
    for (const [event, [name, id]] of Object.entries(presets)) {
      await eventRow(event).locator('[data-test=notice-event-cell]').getByText(name, { exact: true }).waitFor()
      await eventRow(event).locator('[data-test=notice-template-id-cell]').getByText(id, { exact: true }).waitFor()
      assert(await eventRow(event).locator('[data-test=notice-toggle]').isChecked(), `${event} is enabled`)
    }
    assert((await table.locator('[data-test=notice-event-cell]').count()) === 5, 'five events')
    await until('the templates page to finish loading', async () => api.settled(300))
    await shot(page, '42-notice-templates')

    await eventRow('recharge_succeeded').locator('[data-test=notice-edit]').click()
    const modal = page.locator('.ant-modal', { has: page.locator('[data-test=notice-preview]') })
    const phrase = modal.locator('[data-test=field-row][data-key=phrase5]')
    const phraseValue = phrase.locator('input[data-test^=field-value]')
    const previewRow = (key) => modal.locator(`[data-test=preview-row][data-key=${key}]`)
    // The preview renders a made-up event: the order number and the fixed phrase.
    await previewRow('phrase5').locator('[data-test=preview-row-value]').getByText('已到账', { exact: true }).waitFor()
    await previewRow('character_string1').locator('[data-test=preview-row-value]').getByText('01JX3Q7Z8M5K2V9T4R6W1Y0B3C').waitFor()
    assert((await phraseValue.inputValue()) === '已到账', 'phrase5 says 已到账')
    // A placeholder hint goes where the caret is in the value being edited.
    const thing = modal.locator('[data-test=field-row][data-key=thing2] input[data-test^=field-value]')
    await thing.click()
    await thing.press('End')
    await modal.locator('[data-test=placeholder-hint]').getByText('{phone}', { exact: true }).click()
    assert((await thing.inputValue()) === '{plan}{phone}', `the hint inserted at the caret: ${await thing.inputValue()}`)
    await previewRow('thing2').locator('[data-test=preview-row-value]').getByText('Philippines', { exact: false }).waitFor()
    await thing.fill('{plan}')
    // An English word is not a WeChat phrase: the preview says why, on that row, and so does the editor.
    await phraseValue.fill('done')
    const previewError = previewRow('phrase5').locator('[data-test=preview-row-error]')
    await previewError.getByText('at most 5 Chinese characters').waitFor()
    await phrase.locator('.ant-form-item-explain').getByText('at most 5 Chinese characters').waitFor()
    assert((await modal.locator('[data-test=preview-row-error]').count()) === 1, 'only phrase5 is refused')
    await until('the preview to settle', async () => (await modal.locator('[data-test=notice-preview]').getAttribute('data-state')) === 'invalid', 5000)
    await page.setViewportSize({ width: 1366, height: 1000 })
    await shot(page, '43-notice-template-invalid')
    // Saving it is refused by the server, on the same row; nothing changes.
    await page.click('[data-test=notice-save]')
    await until('the save to be refused', async () => !(await modal.locator('[data-test=notice-save].ant-btn-loading').count()), 5000)
    await phrase.locator('.ant-form-item-explain').getByText('at most 5 Chinese characters').waitFor()
    assert(await page.locator('[data-test=notice-save]').isVisible(), 'the dialog stays open on a refused save')
    const refused = (await json('GET', '/api/v1/admin/notify/templates', undefined, adminToken)).items.find((x) => x.event === 'recharge_succeeded')
    assert(refused.template.fields.find((f) => f.key === 'phrase5').value === '已到账', 'a refused save changes nothing')
    // Put back, the preview renders it again; saved.
    await phraseValue.fill('已到账')
    await previewRow('phrase5').locator('[data-test=preview-row-value]').getByText('已到账', { exact: true }).waitFor()
    await until('the preview to be good', async () => (await modal.locator('[data-test=notice-preview]').getAttribute('data-state')) === 'ok', 5000)
    assert((await modal.locator('[data-test=preview-row-error]').count()) === 0, 'no refused row')
    // The row's error, and its fading out, gone before the picture.
    await phrase.locator('.ant-form-item-explain').waitFor({ state: 'detached' })
    await shot(page, '44-notice-template-edit')
    await page.setViewportSize({ width: 1366, height: 820 })
    await page.click('[data-test=notice-save]')
    await page.locator('[data-test=notice-save]').waitFor({ state: 'hidden' })
    const saved = (await json('GET', '/api/v1/admin/notify/templates', undefined, adminToken)).items.find((x) => x.event === 'recharge_succeeded')
    assert(saved.template.template_id === 'sbx-recharge-succeeded' && saved.template.enabled
      && saved.template.fields.map((f) => `${f.key}=${f.value}`).join(',') === 'character_string1={order_no},thing2={plan},phone_number3={phone},time4={time},phrase5=已到账',
      `saved as it was: ${JSON.stringify(saved.template)}`)

    // The delivery log: the orders bought above told their users (or skipped them, unsubscribed).
    await openFromMenu('发送记录', '/notify/deliveries')
    const log = page.locator('[data-test=deliveries-table]')
    await log.waitFor()
    await until('the delivery log to finish loading', async () => api.settled(300) && !(await log.locator('.ant-spin-spinning').count()))
    assert(!(await page.locator('[data-test=api-error]').isVisible()), 'the delivery log shows no API error')
    const rows = await log.locator('[data-test=delivery-detail-link]').count()
    console.log(`    delivery log: ${rows} rows on the first page`)
    await shot(page, '45-notice-deliveries')
    if (rows > 0) {
      await log.locator('[data-test=delivery-detail-link]').first().click()
      await page.locator('[data-test=delivery-detail]').waitFor()
      await until('the drawer to open', async () => {
        const box = await page.locator('.ant-drawer-content-wrapper').boundingBox()
        return box && box.x + box.width <= 1366
      }, 5000)
      await shot(page, '46-notice-delivery-drawer')
      await page.keyboard.press('Escape')
      await page.locator('[data-test=delivery-detail]').waitFor({ state: 'hidden' })
    }
    // A skipped (or failed) message can be sent again: it is queued, and the worker tries once more.
    const listed = (await json('GET', '/api/v1/admin/notify/deliveries?page=1&page_size=20', undefined, adminToken)).items
    const index = listed.findIndex((d) => d.state === 'skipped' || d.state === 'failed')
    if (index >= 0) {
      const before = listed[index]
      const row = log.locator('tbody tr.ant-table-row').nth(index)
      await row.locator('[data-test=delivery-state]').getByText(before.state === 'skipped' ? '已跳过' : '失败').waitFor()
      await row.locator('[data-test=delivery-resend]').click()
      await page.locator('.ant-popconfirm .ant-btn-primary').click()
      await page.locator('.ant-message').getByText('已重新排队发送').waitFor()
      await until('the resent message to be tried again', async () => {
        const d = (await json('GET', `/api/v1/admin/notify/deliveries?user_id=${before.user_id}&page_size=100`, undefined, adminToken)).items.find((x) => x.id === before.id)
        return d && d.attempts.length > before.attempts.length
      }, 10000, 200)
      console.log(`    resent ${before.state} message ${before.id}`)
    }
    assert((await log.locator('tbody tr.ant-table-row:has([data-state=sent]) [data-test=delivery-resend]').count()) === 0, 'no resend on sent messages')
  })

  await step('staff alerts: the openids set, a test alert from the console, its deliveries listed', async () => {
    // The embedded mode's official account is the sandbox's; staff only name who receives alerts.
    const groups = await json('GET', '/api/v1/admin/settings', undefined, adminToken)
    const account = groups.find((g) => g.name === 'official_account')
    assert(account && account.settings.find((s) => s.key === 'app_secret').value.set === true, 'the sandbox secret is set, never shown')
    await json('PUT', '/api/v1/admin/settings/official_account', { version: account.version, values: { alert_openids: 'o_e2e_duty, o_unfollowed_e2e' } }, adminToken)
    const menu = page.locator('[data-test=side-menu]')
    await page.goto(`${BASE}/home`)
    const item = menu.locator('li.ant-menu-item').getByText('员工告警', { exact: true })
    if (!(await item.isVisible())) await menu.locator('.ant-menu-submenu-title').getByText('通知', { exact: true }).click()
    await item.click()
    await page.waitForURL((u) => u.pathname === '/notify/alerts')
    const table = page.locator('[data-test=alerts-table]')
    await table.waitFor()
    await page.locator('[data-test=alert-test]').click()
    await page.locator('.ant-popconfirm .ant-btn-primary').click()
    await page.locator('.ant-message').getByText('测试告警：2 条中已发送 1 条').waitFor()
    await until('both deliveries to be listed', async () => (await table.locator('tbody tr.ant-table-row').count()) === 2, 10000, 200)
    await table.locator('[data-state=sent]').first().waitFor()
    const refused = table.locator('tbody tr.ant-table-row', { has: page.locator('[data-state=not_delivered]') })
    await refused.getByText('o_unfollowed_e2e').waitFor()
    assert((await refused.locator('[data-test=alert-error]').innerText()).includes('43004'), 'the non-follower shows WeChat\'s 43004')
    assert((await table.locator('[data-test=alert-kind]').first().innerText()) === '测试', 'listed as a test alert')
    // Every column in view on a 1366-pixel screen: nothing to scroll sideways for.
    const overflow = await table.locator('.ant-table-content').evaluate((el) => el.scrollWidth - el.clientWidth)
    assert(overflow <= 1, `the alerts table fits its page (${overflow} px wider)`)
    const inbox = await (await fetch(`${API}/sandbox/wechat/oa/messages?touser=o_e2e_duty`)).json()
    assert(inbox.items.length === 1 && inbox.items[0].data.thing1.value.startsWith('告警测试'), `the sandbox inbox got it: ${JSON.stringify(inbox)}`)
    await shot(page, '47-staff-alerts')
  })

  await step('api keys: create one shown once, use it, revoke it', async () => {
    await page.goto(`${BASE}/system/api-keys`)
    await page.click('[data-test=api-key-create]')
    await page.locator('input[data-test=api-key-name], [data-test=api-key-name] input').first().fill('e2e export')
    await page.locator('[data-test=api-key-permissions]').click()
    // The option list is virtual: narrow it to the code, as a user types it.
    await page.locator('[data-test=api-key-permissions] input').fill('order:order:list')
    await page.locator('.ant-select-dropdown .ant-select-item-option').getByText('order:order:list', { exact: true }).click()
    await page.locator('.ant-modal-title').first().click()
    await page.click('[data-test=api-key-save]')
    const secret = page.locator('[data-test=api-key-secret]')
    await secret.waitFor()
    const key = (await secret.innerText()).trim()
    assert(/^tpk_[0-9A-Z]{26}_[0-9a-f]{64}$/.test(key), `the key is shown once: ${key}`)
    await shot(page, '13a-api-key-created')
    await page.click('[data-test=api-key-done]')
    const orders = await json('GET', '/api/v1/admin/orders?page_size=1', undefined, key)
    assert(orders.total >= 1, `the key lists orders: ${JSON.stringify(orders)}`)
    const table = page.locator('[data-test=api-keys-table]')
    await table.getByText('e2e export').waitFor()
    assert(!(await page.content()).includes(key.slice(-64)), 'the secret is not on the page after closing')
    await table.locator('[data-test=api-key-revoke]').first().click()
    await page.locator('.ant-popconfirm .ant-btn-primary').click()
    await table.getByText('已吊销').waitFor()
    const res = await fetch(`${API}/api/v1/admin/orders`, { headers: { authorization: `Bearer ${key}` } })
    assert(res.status === 401, `a revoked key is refused at once, got ${res.status}`)
    await shot(page, '13b-api-keys')
  })

  await step('reconciliation: run one over the orders above, its detail and CSV', async () => {
    // Every order this run placed (the sandbox purchase and the held one) is in the period.
    const placed = (await json('GET', '/api/v1/admin/orders?page=1&page_size=1', undefined, adminToken)).total
    assert(placed >= 2, `the orders above exist: ${placed}`)
    const menu = page.locator('[data-test=side-menu]')
    await page.goto(`${BASE}/home`)
    const item = menu.locator('li.ant-menu-item').getByText('对账', { exact: true })
    if (!(await item.isVisible())) await menu.locator('.ant-menu-submenu-title').getByText('支付', { exact: true }).click()
    await item.click()
    await page.waitForURL((u) => u.pathname === '/payment/reconciliations')
    await page.locator('[data-test=recon-table]').waitFor()
    await page.click('[data-test=recon-run]')
    // Yesterday (whole UTC days) by default; the last 7 days end at tomorrow's midnight (UTC), so they hold now.
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)
    await page.locator('[data-test=recon-run-bounds]').getByText(`${yesterday}T00:00:00Z`, { exact: false }).waitFor()
    await page.locator('[data-test=recon-run-range] .ant-picker').click()
    await page.locator('.ant-picker-dropdown:not(.ant-picker-dropdown-hidden) .ant-picker-presets li').getByText('最近 7 天', { exact: true }).click()
    const posted = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/v1/admin/reconciliations')
    await page.click('[data-test=recon-run-submit]')
    const res = await posted
    const t0 = Date.now()
    const run = await res.json()
    assert(res.status() === 202 && run.state === 'running', `started, running: ${res.status()} ${JSON.stringify(run)}`)
    assert(Date.parse(run.from) <= Date.now() - 6 * 86_400_000 && Date.parse(run.to) > Date.now(), `the period holds now: ${run.from} – ${run.to}`)
    // The drawer shows the run and follows it until it is done.
    const drawer = page.locator('.ant-drawer-open', { has: page.locator('[data-test=recon-detail]') })
    await until('the run to show finished', async () =>
      (await drawer.locator('[data-test=recon-detail] [data-test=recon-state]').getAttribute('data-state', { timeout: 500 })) === 'finished', 10000, 100)
    metrics.reconcileMs = Date.now() - t0
    const report = await json('GET', `/api/v1/admin/reconciliations/${run.id}`, undefined, adminToken)
    const checked = Number(await drawer.locator('[data-test=recon-detail-orders]').innerText())
    assert(checked === placed && report.totals.orders === placed, `${placed} orders checked: page ${checked}, report ${report.totals.orders}`)
    const yuan = (fen) => `¥${(fen / 100).toFixed(2).replace(/\B(?=(\d{3})+(?!\d))/g, ',')}`
    for (const [term, fen] of Object.entries({ paid: report.totals.paid, delivered: report.totals.delivered, refunded: report.totals.refunded, in_flight: report.totals.in_flight, unaccounted: report.totals.unaccounted })) {
      const shown = await drawer.locator(`[data-test=recon-identity] [data-term=${term}] .value`).innerText()
      assert(shown === yuan(fen), `${term} shown as ${yuan(fen)}: ${shown}`)
    }
    assert(report.totals.paid > 0, `the paid orders count: ${JSON.stringify(report.totals)}`)
    // The list's row, followed as well.
    const row = page.locator('[data-test=recon-table] tr', { has: page.locator(`[data-run="${run.id}"]`) })
    await until('the row to show finished', async () => (await row.locator('[data-test=recon-state]').getAttribute('data-state', { timeout: 500 })) === 'finished', 5000)
    assert(Number(await row.locator('[data-test=recon-orders]').innerText()) === placed, 'the row shows the orders checked')
    if (report.discrepancy_count === 0) {
      await drawer.locator('[data-test=recon-clean]').getByText('无差异', { exact: false }).waitFor()
      await row.locator('[data-test=recon-state][data-status=clean]').getByText('无差异', { exact: true }).waitFor()
    } else {
      await row.locator('[data-test=recon-state][data-status=discrepancies]').getByText(`${report.discrepancy_count} 处差异`).waitFor()
      const listed = await drawer.locator('[data-test=recon-discrepancies] [data-test=recon-kind]').count()
      assert(listed === Math.min(report.discrepancies.length, 20), `the discrepancies listed: ${listed} of ${JSON.stringify(report.discrepancies)}`)
    }
    console.log(`    ${placed} orders, ${report.discrepancy_count} discrepancies, ${report.totals.paid} fen paid; shown finished ${metrics.reconcileMs} ms after it started`)
    await until('the drawer to open', async () => {
      const box = await page.locator('.ant-drawer-content-wrapper').boundingBox()
      return box && box.x + box.width <= 1366
    }, 5000)
    await until('the page to settle', async () => api.settled(200))
    await shot(page, 'reconciliation')
    // The export downloads the CSV with the bearer token (never in the URL).
    const download = page.waitForEvent('download')
    await drawer.locator('[data-test=recon-export]').click()
    const csv = readFileSync(await (await download).path(), 'utf8')
    assert(csv.startsWith('order_no,kind,order_state,provider_transaction_id,detail'), `the CSV's header: ${csv.slice(0, 80)}`)
    assert(csv.trim().split(/\r?\n/).length === 1 + report.discrepancies.length, `a line per discrepancy: ${csv}`)
    // The sandbox's WeChat Pay and provider agree with every order, so the table is seen with a
    // report made up in the browser: one discrepancy of each kind on the order bought above,
    // and a provider top-up that names no order.
    const KINDS = {
      paid_not_recorded: '已收款未记录', recorded_not_paid: '记为已付但未收款', amount_mismatch: '金额不符', refund_mismatch: '退款不符',
      delivered_not_recorded: '已到账未记录', recorded_not_delivered: '记为已交付但未到账', delivered_twice: '重复充值', cost_mismatch: '成本不符',
      unaccounted: '未对上', check_failed: '无法核对', unknown_topup: '无订单的充值',
    }
    const madeUp = {
      ...report,
      discrepancy_count: 12,
      discrepancies: [
        ...Object.keys(KINDS).map((kind) => ({ order_no: orderNo, kind, order_state: 'succeeded', detail: `e2e: a made-up ${kind}` })),
        { order_no: null, kind: 'unknown_topup', order_state: null, provider_transaction_id: '40017', detail: 'e2e: provider sandbox transaction 40017 (SUCCESSFUL, 5 USD) carries ZZ-1, which no order sent' },
      ],
    }
    const reportUrl = `**/api/v1/admin/reconciliations/${run.id}`
    await page.route(reportUrl, (r) => r.fulfill({ json: madeUp }))
    await drawer.locator('[data-test=recon-reload]').click()
    for (const [kind, label] of Object.entries(KINDS)) {
      // Two rows are unknown_topup: one on the order, one naming none.
      await drawer.locator(`[data-test=recon-discrepancies] [data-test=recon-kind][data-kind=${kind}]`).getByText(label, { exact: true }).first().waitFor()
    }
    await drawer.locator('[data-test=recon-detail] [data-test=recon-state][data-status=discrepancies]').getByText('12 处差异').waitFor()
    await drawer.locator('[data-test=recon-discrepancies] [data-test=recon-no-order]').getByText('无订单', { exact: true }).waitFor()
    await shot(page, 'reconciliation-discrepancies')
    await page.unroute(reportUrl)
    // A discrepancy's order number opens that order.
    await drawer.locator('[data-test=recon-order-link]').first().click()
    await page.waitForURL((u) => u.pathname === '/order/orders' && u.searchParams.get('order_no') === orderNo)
    await page.locator('.ant-drawer-open .ant-drawer-title').getByText(orderNo, { exact: false }).waitFor()
    await page.locator('[data-test=order-timeline]').getByText('充值成功', { exact: true }).waitFor()
    await page.keyboard.press('Escape')
    await page.locator('[data-test=order-timeline]').waitFor({ state: 'hidden' })
  })

  await step('content: a banner, an announcement, the home page edited, published and rolled back', async () => {
    const input = (name) => page.locator(`input[data-test=${name}], [data-test=${name}] input`).first()
    // The banner's picture: drawn by the browser, served to the console at the banner's address.
    const BANNER_IMAGE = '/e2e/banner-summer.png'
    const painter = await admin.newPage()
    await painter.setViewportSize({ width: 750, height: 300 })
    await painter.setContent('<body style="margin:0"><div style="width:750px;height:300px;display:flex;align-items:center;justify-content:center;'
      + 'background:linear-gradient(135deg,#ff7a45,#ffc53d);color:#fff;font:bold 64px sans-serif">Summer top-ups</div></body>')
    const png = await painter.screenshot()
    await painter.close()
    await admin.route(`**${BANNER_IMAGE}`, (r) => r.fulfill({ contentType: 'image/png', body: png }))
    const loaded = (img) => img.evaluate((el) => el.complete && el.naturalWidth > 0)

    // A banner leading to the membership page.
    const BANNER = 'E2E summer banner'
    await page.goto(`${BASE}/content/banners`)
    await page.locator('[data-test=banners-table]').waitFor()
    await page.click('[data-test=banner-create]')
    await input('banner-title').fill(BANNER)
    await input('banner-image-url').fill(BANNER_IMAGE)
    await until('the form to show the image', () => loaded(page.locator('.ant-modal img[data-test=banner-image-preview]')), 5000)
    await page.locator('[data-test=banner-link-kind]').click()
    await page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option').getByText('小程序页面', { exact: true }).click()
    await page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden)').waitFor({ state: 'hidden' })
    await input('banner-link-path').fill('/pages/membership/index')
    await input('banner-sort').fill('1')
    await shot(page, '50-banner-form')
    await page.click('[data-test=banner-save]')
    await page.locator('[data-test=banner-save]').waitFor({ state: 'hidden' })
    const bannerRow = page.locator('[data-test=banners-table] tr', { has: page.locator('[data-test=banner-title-cell]', { hasText: BANNER }) })
    await bannerRow.locator('[data-test=window-state][data-state=showing]').waitFor()
    await bannerRow.getByText('/pages/membership/index').waitFor()
    await until('the thumbnail to load', () => loaded(bannerRow.locator('[data-test=banner-thumb] img')), 5000)
    const banners = await json('GET', '/api/v1/admin/content/banners', undefined, adminToken)
    const banner = banners.find((b) => b.title === BANNER)
    assert(banner && banner.image_url === BANNER_IMAGE && banner.link.kind === 'page' && banner.position === 'home' && banner.sort === 1 && banner.showing,
      `the banner as typed: ${JSON.stringify(banner)}`)

    // A pinned announcement; its body previewed as typed (a script neither runs nor is kept).
    const NOTICE = 'E2E Smart top-ups are back'
    await page.goto(`${BASE}/content/announcements`)
    await page.locator('[data-test=announcements-table]').waitFor()
    await page.click('[data-test=announcement-create]')
    await input('announcement-title').fill(NOTICE)
    await page.locator('textarea[data-test=announcement-body], [data-test=announcement-body] textarea').first()
      .fill('<p>Smart numbers can be <b>topped up</b> again.</p><ul><li>Airtime</li><li>Data</li></ul><script>parent.document.title = "hacked"</script>')
    await page.locator('[data-test=announcement-pinned]').click()
    await page.frameLocator('[data-test=html-preview]').locator('b').getByText('topped up').waitFor()
    await page.setViewportSize({ width: 1366, height: 1000 })
    await shot(page, '52-announcement-form')
    await page.setViewportSize({ width: 1366, height: 820 })
    assert((await page.title()) !== 'hacked', 'the preview runs no script')
    await page.click('[data-test=announcement-save]')
    await page.locator('[data-test=announcement-save]').waitFor({ state: 'hidden' })
    const noticeRow = page.locator('[data-test=announcements-table] tr', { has: page.locator('[data-test=announcement-title-cell]', { hasText: NOTICE }) })
    await noticeRow.locator('[data-test=announcement-pinned-icon]').waitFor()
    await noticeRow.locator('[data-test=window-state][data-state=showing]').waitFor()
    await noticeRow.locator('.ant-table-row-expand-icon').click()
    await page.locator('[data-test=announcement-body-cleaned] b').getByText('topped up').waitFor()
    await shot(page, '53-announcements')
    const notices = await json('GET', '/api/v1/admin/content/announcements?page=1&page_size=20', undefined, adminToken)
    const notice = notices.items.find((a) => a.title === NOTICE)
    assert(notice && notice.pinned && notice.audience === 'all' && !notice.body_html.includes('<script'), `the announcement, cleaned: ${JSON.stringify(notice)}`)

    // The home page: a carousel, a notice bar and a spacer added; the top-up form moved below the notices.
    await page.goto(`${BASE}/content/home`)
    const rows = page.locator('[data-test=component-row]')
    const order = () => rows.evaluateAll((els) => els.map((el) => el.dataset.type).join(','))
    await until('the draft to load', async () => (await order()) === 'topup_form', 10000)
    await page.locator('[data-test=home-published][data-version="0"]').waitFor()
    for (const type of ['banner_carousel', 'notice_bar', 'spacer']) await page.click(`[data-test=palette-item][data-type=${type}]`)
    assert((await order()) === 'topup_form,banner_carousel,notice_bar,spacer', `added below the selected one: ${await order()}`)
    // Up by a button, then dragged below the notice bar.
    await rows.nth(1).locator('[data-test=component-up]').click()
    assert((await order()) === 'banner_carousel,topup_form,notice_bar,spacer', `moved up: ${await order()}`)
    const target = rows.nth(2)
    const box = await target.boundingBox()
    await rows.nth(1).dragTo(target, { targetPosition: { x: 60, y: box.height - 6 } })
    await until('the form to be dragged below the notices', async () => (await order()) === 'banner_carousel,notice_bar,topup_form,spacer', 5000)
    // The preview draws the page as the app would get it: the banner's picture and the notice's title.
    const preview = page.locator('[data-test=home-preview]')
    await until('the preview to show the banner', async () => {
      const img = preview.locator('[data-test=preview-banner]')
      return (await img.count()) === 1 && (await img.getAttribute('src')) === BANNER_IMAGE && loaded(img)
    }, 10000)
    await preview.locator('[data-test=preview-notice-line]').getByText(NOTICE).waitFor()
    await preview.locator('[data-test=preview-topup]').waitFor()
    await page.locator('[data-test=home-unsaved]').waitFor()
    await page.click('[data-test=home-save]')
    await page.locator('[data-test=home-draft-version][data-version="1"]').waitFor()
    await page.locator('[data-test=home-unsaved]').waitFor({ state: 'detached' })
    await page.locator('[data-test=home-unpublished]').waitFor()
    await until('the preview to settle', async () => (await preview.getAttribute('data-state')) === 'ok' && api.settled(300), 5000)
    await shot(page, '54-home-editor')

    // Published: version 1, and the app gets it.
    const confirm = async () => {
      const ok = page.locator('.ant-popconfirm-buttons .ant-btn-primary').filter({ visible: true })
      await ok.click()
      await ok.waitFor({ state: 'detached' })
    }
    await page.click('[data-test=home-publish]')
    await confirm()
    await page.locator('[data-test=home-published][data-version="1"]').getByText('版本 1').waitFor()
    await page.locator('[data-test=home-unpublished]').waitFor({ state: 'detached' })
    const { code } = await json('POST', '/sandbox/wechat/codes', {})
    const { token: appToken } = await json('POST', '/api/v1/app/auth/login', { code })
    const appHome = async () => json('GET', '/api/v1/app/home', undefined, appToken)
    const v1 = await appHome()
    assert(v1.version === 1 && v1.components.map((c) => c.type).join(',') === 'banner_carousel,notice_bar,topup_form,spacer'
      && v1.components[0].banners.some((b) => b.id === banner.id) && v1.components[1].announcements.some((a) => a.id === notice.id),
      `the app gets version 1: ${JSON.stringify(v1)}`)

    // A change published straight away (the unsaved edit is saved first): version 2.
    await rows.nth(3).click()
    await input('prop-input-height').fill('40')
    await page.locator('[data-test=home-unsaved]').waitFor()
    await page.click('[data-test=home-publish]')
    await confirm()
    await page.locator('[data-test=home-published][data-version="2"]').waitFor()
    await until('the app to get version 2', async () => {
      const v = await appHome()
      return v.version === 2 && v.components[3].height === 40
    }, 5000, 200)

    // Rolled back to version 1 from the versions drawer: published again as version 3.
    await page.click('[data-test=home-versions]')
    const drawer = page.locator('.ant-drawer-open')
    const versionRow = (n) => drawer.locator('tr', { has: page.locator(`[data-test=version-row][data-version="${n}"]`) })
    await versionRow(2).waitFor()
    await versionRow(1).locator('[data-test=version-rollback]').click()
    await confirm()
    await versionRow(3).locator('[data-test=version-restored-from]').getByText('回滚自版本 1').waitFor()
    assert((await drawer.locator('[data-test=version-row]').first().getAttribute('data-version')) === '3', 'version 3 is listed first')
    await page.locator('[data-test=home-published][data-version="3"]').getByText('回滚自版本 1').waitFor()
    await until('the drawer to open', async () => {
      const b = await page.locator('.ant-drawer-content-wrapper').boundingBox()
      return b && b.x + b.width <= 1366
    }, 5000)
    await shot(page, '55-home-versions')
    // Version 1 viewed: its components and how they show now.
    await versionRow(1).locator('[data-test=version-view-button]').click()
    const view = page.locator('[data-test=version-view]')
    await until('version 1 to show', async () => (await view.locator('[data-test=version-component]').count()) === 4, 5000)
    await view.locator('[data-test=preview-notice-line]').getByText(NOTICE).waitFor()
    await until('its preview to load', async () => api.settled(300), 5000)
    await shot(page, '56-home-version-view')
    await page.keyboard.press('Escape')
    await view.waitFor({ state: 'hidden' })
    await page.keyboard.press('Escape')
    await drawer.waitFor({ state: 'hidden' })
    const v3 = await appHome()
    assert(v3.version === 3 && v3.components[3].height === 16, `the app gets version 1's page as version 3: ${JSON.stringify(v3.components)}`)
    // The draft became version 1's components too.
    await until('the spacer to be back at 16 px', async () => (await rows.nth(3).locator('[data-test=component-summary]').innerText()).includes('16'), 5000)

    // A spacer 1 px high is refused, at its height, by the preview and by saving.
    await rows.nth(3).click()
    await input('prop-input-height').fill('1')
    const height = page.locator('[data-test=prop][data-prop=height]')
    await height.locator('.ant-form-item-explain').getByText('4–200').waitFor()
    await rows.nth(3).locator('[data-test=component-error]').waitFor()
    await page.locator('[data-test=home-preview-stale]').waitFor()
    await page.click('[data-test=home-save]')
    await until('the save to be refused', async () => !(await page.locator('[data-test=home-save].ant-btn-loading').count()), 5000)
    await height.locator('.ant-form-item-explain').getByText('4–200').waitFor()
    // Nothing was saved: the draft is still the one the rollback wrote (saved once, saved before publishing, rolled back).
    await page.locator('[data-test=home-draft-version][data-version="3"]').waitFor()
    await shot(page, '57-home-invalid')
    // Put back, nothing is left to save.
    await input('prop-input-height').fill('16')
    await height.locator('.ant-form-item-explain').waitFor({ state: 'detached' })
    await page.locator('[data-test=home-unsaved]').waitFor({ state: 'detached' })

    // Someone else saves the draft meanwhile: saving is refused (409) and the page says to reload.
    const { draft } = await json('GET', '/api/v1/admin/content/home', undefined, adminToken)
    await json('PUT', '/api/v1/admin/content/home/draft', { version: draft.version, components: draft.components.map((c) => (c.type === 'spacer' ? { ...c, height: 32 } : c)) }, adminToken)
    await input('prop-input-height').fill('24')
    await page.click('[data-test=home-save]')
    await page.locator('[data-test=home-conflict]').waitFor()
    assert(await page.locator('[data-test=home-save]').isDisabled(), 'no saving over the other save')
    await shot(page, '58-home-conflict')
    await page.locator('[data-test=home-conflict] button').click()
    await page.locator('[data-test=home-conflict]').waitFor({ state: 'detached' })
    await page.locator(`[data-test=home-draft-version][data-version="${draft.version + 1}"]`).waitFor()
    await until('the other save to show', async () => (await rows.nth(3).locator('[data-test=component-summary]').innerText()).includes('32'), 5000)
    await page.locator('[data-test=home-unsaved]').waitFor({ state: 'detached' })

    // A tap in the app counts on the banner's row.
    await fetch(`${API}/api/v1/app/banners/${banner.id}/click`, { method: 'POST', headers: { authorization: `Bearer ${appToken}` } })
    await page.goto(`${BASE}/content/banners`)
    await bannerRow.locator('[data-test=banner-clicks]').getByText('1', { exact: true }).waitFor()
    await until('the banners page to settle', async () => api.settled(300) && loaded(bannerRow.locator('[data-test=banner-thumb] img')), 5000)
    await shot(page, '51-banners')
  })

  await step('customer service: questions by category, contacts and hours saved; a refused question shown at its field', async () => {
    const inView = (loc) => loc.evaluate((el) => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight })
    const input = (name, within = page) => within.locator(`input[data-test=${name}], [data-test=${name}] input`).first()
    const group = (name) => page.locator(`[data-test=faq-group][data-category="${name}"]`)
    const groupOrder = () => page.locator('[data-test=faq-group]').evaluateAll((els) => els.map((el) => el.dataset.category).join(','))
    const item = (g, i) => group(g).locator('[data-test=faq-item]').nth(i)
    const titles = (g) => group(g).locator('[data-test=faq-title]').allInnerTexts()
    await page.goto(`${BASE}/content/service`)
    await page.locator('[data-test=service-status][data-version="0"]').waitFor()
    // A category named when its field is left, then its questions, each answer previewed as typed.
    const addCategory = async (name) => {
      await page.click('[data-test=faq-add-category]')
      await input('faq-category', group('')).fill(name)
      await input('faq-category', group('')).press('Enter')
      await group(name).waitFor()
    }
    const fillFaq = async (it, question, answer) => {
      await input('faq-question', it).fill(question)
      await it.locator('textarea[data-test=faq-answer]').fill(answer)
    }
    await addCategory('支付')
    await fillFaq(item('支付', 0), '退款多久到账？', '<p>通常<b>几分钟</b>内原路退回。</p>')
    await item('支付', 0).frameLocator('[data-test=html-preview]').locator('b').getByText('几分钟').waitFor()
    await group('支付').locator('[data-test=faq-add]').click()
    await fillFaq(item('支付', 1), '可以用哪些方式支付？', '<p>微信支付。</p>')
    await addCategory('充值')
    await fillFaq(item('充值', 0), '充值失败怎么办？', '<p>系统会自动<b>全额退款</b>。</p>')
    // Reordered: the top-up category first, then the payment questions swapped.
    await group('充值').locator('[data-test=faq-group-up]').click()
    assert((await groupOrder()) === '充值,支付', `category moved up: ${await groupOrder()}`)
    await item('支付', 1).locator('[data-test=faq-up]').click()
    assert((await titles('支付')).join('|') === '可以用哪些方式支付？|退款多久到账？', `question moved up: ${await titles('支付')}`)
    // Two contacts (the second one WeChat) and the hours.
    const contact = (i) => page.locator('[data-test=contact-row]').nth(i)
    await page.click('[data-test=contact-add]')
    await input('contact-label', contact(0)).fill('客服热线')
    await input('contact-value', contact(0)).fill('+86 400 000 0000')
    await page.click('[data-test=contact-add]')
    await contact(1).locator('[data-test=contact-kind]').click()
    await page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option').getByText('微信', { exact: true }).click()
    await input('contact-label', contact(1)).fill('微信客服')
    await input('contact-value', contact(1)).fill('topup_help')
    await input('working-hours').fill('每天 9:00–21:00（北京时间）')
    await page.locator('[data-test=service-unsaved]').waitFor()
    await page.setViewportSize({ width: 1366, height: 1200 })
    await shot(page, '60-service-editor')
    await page.setViewportSize({ width: 1366, height: 820 })
    await page.click('[data-test=service-save]')
    await page.locator('[data-test=service-status][data-version="1"]').waitFor()
    await page.locator('[data-test=service-unsaved]').waitFor({ state: 'detached' })
    // The app gets it grouped, in this order.
    const { code } = await json('POST', '/sandbox/wechat/codes', {})
    const { token: appToken } = await json('POST', '/api/v1/app/auth/login', { code })
    const app = await json('GET', '/api/v1/app/service', undefined, appToken)
    assert(app.categories.map((c) => c.name).join(',') === '充值,支付'
      && app.categories[1].faqs.map((f) => f.question).join('|') === '可以用哪些方式支付？|退款多久到账？'
      && app.categories[0].faqs[0].answer_html.includes('<b>全额退款</b>')
      && app.contacts.map((c) => `${c.kind}:${c.label}:${c.value}`).join(',') === 'phone:客服热线:+86 400 000 0000,wechat:微信客服:topup_help'
      && app.working_hours === '每天 9:00–21:00（北京时间）', `the app's service page: ${JSON.stringify(app)}`)

    // A question with no text, sent fourth: refused, and the reason shown at that question's field.
    await group('支付').locator('[data-test=faq-add]').click()
    const blank = item('支付', 2)
    assert((await blank.getAttribute('data-index')) === '3', 'the new question is the fourth sent')
    await blank.locator('textarea[data-test=faq-answer]').fill('<p>没有问题的回答</p>')
    await blank.locator('[data-test=faq-toggle]').click()
    await blank.locator('[data-test=faq-answer]').waitFor({ state: 'detached' })
    await page.click('[data-test=service-save]')
    await blank.locator('[data-test=faq-field][data-field=question] .ant-form-item-explain').getByText('1–100', { exact: false }).waitFor()
    await blank.locator('[data-test=faq-error]').waitFor()
    await until('the refused field to be scrolled into view', () => inView(blank.locator('[data-test=faq-field][data-field=question]')), 5000)
    assert(await item('支付', 0).locator('[data-test=faq-error]').count() === 0, 'the other questions show no reason')
    await page.locator('[data-test=service-status][data-version="1"]').waitFor()
    await shot(page, '61-service-invalid')
    // Removed, nothing is left to save.
    await blank.locator('[data-test=faq-remove]').click()
    await page.locator('[data-test=service-unsaved]').waitFor({ state: 'detached' })
    const desk = await json('GET', '/api/v1/admin/content/service', undefined, adminToken)
    assert(desk.version === 1 && desk.faqs.length === 3, `nothing more was saved: ${JSON.stringify(desk)}`)
  })

  await step('agreements: recharge terms published, published again from its text, versions read', async () => {
    const input = (name) => page.locator(`input[data-test=${name}], [data-test=${name}] input`).first()
    await page.goto(`${BASE}/content/agreements`)
    const card = page.locator('[data-test=agreement-card][data-kind=recharge_terms]')
    await card.locator('[data-test=agreement-current]').getByText('未发布').waitFor()
    assert((await page.locator('[data-test=agreement-card]').count()) === 4, 'four agreements')
    await card.locator('[data-test=agreement-publish]').click()
    await page.locator('[data-test=agreement-recharge-note]').waitFor()
    await input('agreement-title-input').fill('充值服务协议')
    await page.locator('textarea[data-test=agreement-body]')
      .fill('<h3>退款</h3><p>充值失败将<b>全额退款</b>。</p><script>parent.document.title = "hacked"</script>')
    await page.frameLocator('.ant-modal [data-test=html-preview]').locator('b').getByText('全额退款').waitFor()
    assert((await page.title()) !== 'hacked', 'the preview runs no script')
    await input('agreement-summary').fill('首次发布')
    await page.setViewportSize({ width: 1366, height: 1000 })
    await shot(page, '62-agreement-publish')
    await page.setViewportSize({ width: 1366, height: 820 })
    await page.click('[data-test=agreement-publish-ok]')
    await page.locator('[data-test=agreement-publish-ok]').waitFor({ state: 'hidden' })
    await page.locator('[data-test=agreement-card][data-kind=recharge_terms][data-version="1"]').waitFor()
    await card.locator('[data-test=agreement-current]').getByText('版本 1').waitFor()
    await card.locator('[data-test=agreement-title]').getByText('充值服务协议').waitFor()
    // Every user is asked to accept it.
    const { code } = await json('POST', '/sandbox/wechat/codes', {})
    const { token: appToken } = await json('POST', '/api/v1/app/auth/login', { code })
    const terms = (await json('GET', '/api/v1/app/agreements', undefined, appToken)).find((a) => a.kind === 'recharge_terms')
    assert(terms && terms.version === 1 && terms.accepted_at === null && !terms.body_html.includes('<script'), `the app's recharge terms: ${JSON.stringify(terms)}`)
    // The next version starts from the current text (as the server cleaned it).
    await card.locator('[data-test=agreement-publish]').click()
    await until('the form to hold the current text', async () => (await input('agreement-title-input').inputValue()) === '充值服务协议'
      && (await page.locator('textarea[data-test=agreement-body]').inputValue()).includes('<b>全额退款</b>'), 5000)
    assert(!(await page.locator('textarea[data-test=agreement-body]').inputValue()).includes('<script'), 'prefilled with the cleaned text')
    await page.locator('textarea[data-test=agreement-body]').fill('<h3>退款</h3><p>充值失败将在<b>几分钟内</b>全额退款。</p>')
    await input('agreement-summary').fill('退款时间写明')
    await page.click('[data-test=agreement-publish-ok]')
    await page.locator('[data-test=agreement-card][data-kind=recharge_terms][data-version="2"]').waitFor()
    // Both versions, newest first, each with its text.
    await card.locator('[data-test=agreement-versions]').click()
    const drawer = page.locator('.ant-drawer-open')
    const version = (n) => drawer.locator(`[data-test=agreement-version][data-version="${n}"]`)
    await version(1).waitFor()
    assert((await drawer.locator('[data-test=agreement-version]').first().getAttribute('data-version')) === '2', 'version 2 first')
    await version(2).frameLocator('[data-test=html-preview]').locator('b').getByText('几分钟内').waitFor()
    await version(1).locator('.ant-collapse-header').click()
    await version(1).frameLocator('[data-test=html-preview]').locator('b').getByText('全额退款').waitFor()
    await version(1).getByText('首次发布').waitFor()
    await until('the drawer to open', async () => {
      const b = await page.locator('.ant-drawer-content-wrapper').boundingBox()
      return b && b.x + b.width <= 1366 && api.settled(300)
    }, 5000)
    await shot(page, '63-agreement-versions')
    await page.keyboard.press('Escape')
    await drawer.waitFor({ state: 'hidden' })
    const listed = await json('GET', '/api/v1/admin/content/agreements/recharge_terms/versions', undefined, adminToken)
    assert(listed.map((v) => v.number).join(',') === '2,1' && listed[0].summary === '退款时间写明', `versions: ${JSON.stringify(listed)}`)
  })

  await step('settings: timeout overridden and reset, embedded keys read-only, the site renamed and recoloured', async () => {
    const inView = (loc) => loc.evaluate((el) => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight })
    const group = (g) => page.locator(`[data-test=settings-group][data-group=${g}]`)
    // Quoted: a provider's keys hold a dot (`sandbox.client_id`).
    const key = (g, k) => group(g).locator(`[data-test=setting][data-key="${k}"]`)
    const setting = async (g, k) => (await json('GET', '/api/v1/admin/settings', undefined, adminToken)).find((x) => x.name === g).settings.find((s) => s.key === k)
    const primaryColour = (loc) => loc.evaluate((el) => getComputedStyle(el).backgroundColor)
    // Before: the site's colour on primary buttons.
    await page.goto(`${BASE}/content/agreements`)
    const publish = page.locator('[data-test=agreement-publish]').first()
    await publish.waitFor()
    assert((await primaryColour(publish)) === 'rgb(7, 193, 96)', `primary buttons in the configured site colour: ${await primaryColour(publish)}`)

    await page.goto(`${BASE}/system/settings`)
    const timeout = key('orders', 'pay_timeout_minutes')
    await timeout.locator('input').waitFor()
    assert((await timeout.locator('input').inputValue()) === '15', 'the configured timeout')
    await timeout.locator('input').fill('5')
    await group('orders').locator('[data-test=settings-unsaved]').waitFor()
    await group('orders').locator('[data-test=settings-save]').click()
    await timeout.locator('[data-test=setting-overridden]').waitFor()
    await timeout.locator('[data-test=setting-reset]').getByText('恢复为配置值（15）').waitFor()
    // Links are in the site's colour too, not Ant Design's blue.
    const linkColour = await timeout.locator('[data-test=setting-reset]').evaluate((el) => getComputedStyle(el).color)
    assert(linkColour === 'rgb(7, 193, 96)', `links in the site colour: ${linkColour}`)
    await group('orders').locator('[data-test=settings-unsaved]').waitFor({ state: 'detached' })
    const t5 = await setting('orders', 'pay_timeout_minutes')
    assert(t5.value === 5 && t5.overridden && t5.configured === 15, `the timeout is 5: ${JSON.stringify(t5)}`)
    const others = await setting('orders', 'max_unpaid_orders_per_user')
    assert(!others.overridden, 'only the changed key was sent')

    // The embedded mode fixes the mini-program's keys: shown, not editable, saying why.
    for (const k of ['app_id', 'app_secret']) {
      const row = key('mini_program', k)
      await row.locator('[data-test=setting-fixed][data-by=embedded]').getByText('嵌入模式下固定').waitFor()
      await row.locator('[data-test=setting-config-path]').getByText(`wechat.${k}`).waitFor()
      assert(await row.locator('input').first().isDisabled(), `${k} is read-only`)
    }
    await key('mini_program', 'app_secret').locator('[data-test=setting-secret-state]').getByText('已设置').waitFor()
    assert((await key('mini_program', 'app_secret').locator('input').first().inputValue()) === '', 'a secret is never shown')
    assert((await group('mini_program').locator('[data-test=settings-save]').count()) === 0, 'nothing to save in a fixed group')
    // The groups in the server's order, each titled in Chinese.
    const listed = await json('GET', '/api/v1/admin/settings', undefined, adminToken)
    const shownGroups = await page.locator('[data-test=settings-group]').evaluateAll((els) => els.map((el) => el.dataset.group))
    assert(shownGroups.join() === listed.map((g) => g.name).join(), `the groups in the server's order: ${shownGroups} vs ${listed.map((g) => g.name)}`)
    for (const [g, title] of [['payment', '支付'], ['providers', '第三方接口'], ['blacklist', '黑名单策略']]) {
      await group(g).locator('.ant-card-head-title').getByText(title, { exact: true }).waitFor()
    }
    await page.setViewportSize({ width: 1366, height: 1250 })
    await shot(page, '64-settings')
    await page.setViewportSize({ width: 1366, height: 820 })

    // WeChat Pay's merchant is the sandbox's in embedded mode: every key fixed; the private key a
    // text area that says it is set and never holds it.
    await key('payment', 'mchid').locator('[data-test=setting-label]').getByText('商户号', { exact: true }).waitFor()
    await key('payment', 'mchid').locator('[data-test=setting-fixed][data-by=embedded]').getByText('嵌入模式下固定').waitFor()
    for (const s of listed.find((g) => g.name === 'payment').settings) assert(s.fixed_by === 'embedded', `payment.${s.key} fixed: ${JSON.stringify(s)}`)
    assert((await group('payment').locator('[data-test=settings-save]').count()) === 0, 'nothing to save in the payment group')
    const privateKey = key('payment', 'merchant_private_key')
    await privateKey.locator('[data-test=setting-label]').getByText('商户 API 私钥', { exact: true }).waitFor()
    await privateKey.locator('[data-test=setting-secret-state]').getByText('已设置').waitFor()
    assert((await privateKey.locator('textarea').count()) === 1 && (await privateKey.locator('input').count()) === 0, 'the private key is typed into a text area')
    assert((await privateKey.locator('textarea').inputValue()) === '', 'the private key is never shown')
    assert(await privateKey.locator('textarea').isDisabled(), 'the private key is read-only')
    assert(!(await privateKey.textContent()).includes('PRIVATE KEY'), 'no trace of the key on the row')
    assert((await key('payment', 'apiv3_key').locator('input[type=password]').count()) === 1, 'a one-line secret stays a password input')
    const publicKey = key('payment', 'public_key').locator('textarea')
    assert((await publicKey.inputValue()).startsWith('-----BEGIN PUBLIC KEY-----'), 'the public key shown whole')
    const pkBox = await publicKey.boundingBox()
    assert(pkBox.height >= 80 && pkBox.height <= 260 && pkBox.width >= 440, `the public key's text area sized for a PEM: ${JSON.stringify(pkBox)}`)
    await until('the saved message to go', async () => (await page.locator('.ant-message-notice').count()) === 0, 6000)
    await group('payment').evaluate((el) => el.scrollIntoView({ block: 'start' }))
    await page.setViewportSize({ width: 1366, height: 1100 })
    await shot(page, '64b-settings-payment')
    await page.setViewportSize({ width: 1366, height: 820 })

    // Each provider's credentials, named after it; fixed in embedded mode too.
    const clientId = key('providers', 'sandbox.client_id')
    await clientId.locator('[data-test=setting-label]').getByText('sandbox：Client ID', { exact: true }).waitFor()
    await clientId.locator('[data-test=setting-fixed][data-by=embedded]').waitFor()
    await key('providers', 'sandbox.client_secret').locator('[data-test=setting-label]').getByText('sandbox：Client Secret', { exact: true }).waitFor()

    // The blacklist policy is editable: block after 3 refunded failures.
    const failedToBlock = key('blacklist', 'failed_topups_to_block')
    await failedToBlock.locator('[data-test=setting-label]').getByText('自动拉黑的失败次数', { exact: true }).waitFor()
    const blockConfigured = (await setting('blacklist', 'failed_topups_to_block')).configured
    assert(blockConfigured !== 3, `3 is a change: configured ${blockConfigured}`)
    assert((await failedToBlock.locator('input').inputValue()) === String(blockConfigured), 'the configured threshold')
    await failedToBlock.locator('input').fill('3')
    await group('blacklist').locator('[data-test=settings-unsaved]').waitFor()
    await group('blacklist').locator('[data-test=settings-save]').click()
    await failedToBlock.locator('[data-test=setting-overridden]').waitFor()
    await group('blacklist').locator('[data-test=settings-unsaved]').waitFor({ state: 'detached' })
    const b3 = await setting('blacklist', 'failed_topups_to_block')
    assert(b3.value === 3 && b3.overridden && b3.configured === blockConfigured, `the threshold is 3: ${JSON.stringify(b3)}`)
    assert(!(await setting('blacklist', 'auto_block_days')).overridden, 'only the threshold was sent')
    await group('blacklist').evaluate((el) => el.scrollIntoView({ block: 'center' }))
    await shot(page, '64c-settings-blacklist')

    // The site's name and colour: the title bar, the tab and the primary buttons follow.
    const NAME = 'E2E 话费'
    await key('site', 'name').locator('input').fill(NAME)
    await key('site', 'theme_colour').locator('input[data-test=colour-hex]').fill('#722ed1')
    const save = group('site').locator('[data-test=settings-save]')
    await save.click()
    await page.locator('[data-test=site-name]').getByText(NAME, { exact: true }).waitFor()
    await until('the tab title to name the site', async () => (await page.title()) === `系统设置 · ${NAME}`, 5000)
    const site = await json('GET', '/api/v1/site')
    assert(site.name === NAME && site.theme_colour === '#722ed1', `the site: ${JSON.stringify(site)}`)
    // A colour that is not one: refused at its field.
    await key('site', 'theme_colour').locator('input[data-test=colour-hex]').fill('紫色')
    await save.click()
    await key('site', 'theme_colour').locator('.ant-form-item-explain').getByText('#rrggbb', { exact: false }).waitFor()
    await until('the refused field to be scrolled into view', () => inView(key('site', 'theme_colour')), 5000)
    // Away from the pointer (a hovered button is lighter), the save button is in the new colour.
    await page.mouse.move(0, 0)
    await until('the save button in the new colour', async () => (await primaryColour(save)) === 'rgb(114, 46, 209)', 5000)
    await shot(page, '65-settings-invalid')
    await key('site', 'theme_colour').locator('input[data-test=colour-hex]').fill('#722ed1')
    await key('site', 'theme_colour').locator('.ant-form-item-explain').waitFor({ state: 'detached' })
    await group('site').locator('[data-test=settings-unsaved]').waitFor({ state: 'detached' })

    // The timeout back to the configured 15.
    await timeout.locator('[data-test=setting-reset]').click()
    const ok = page.locator('.ant-popconfirm-buttons .ant-btn-primary').filter({ visible: true })
    await ok.click()
    await timeout.locator('[data-test=setting-overridden]').waitFor({ state: 'detached' })
    assert((await timeout.locator('input').inputValue()) === '15', 'the input shows 15 again')
    const t15 = await setting('orders', 'pay_timeout_minutes')
    assert(t15.value === 15 && !t15.overridden, `the timeout is back to 15: ${JSON.stringify(t15)}`)
    // And the blacklist threshold back to the configured one.
    await until('the last confirmation to close', async () => (await ok.count()) === 0, 5000)
    await failedToBlock.locator('[data-test=setting-reset]').click()
    await ok.click()
    await failedToBlock.locator('[data-test=setting-overridden]').waitFor({ state: 'detached' })
    assert((await failedToBlock.locator('input').inputValue()) === String(blockConfigured), 'the input shows the configured threshold again')
    const bBack = await setting('blacklist', 'failed_topups_to_block')
    assert(bBack.value === blockConfigured && !bBack.overridden, `the threshold is back: ${JSON.stringify(bBack)}`)

    // Signed out, the sign-in page shows the site too.
    const guest = await browser.newContext({ viewport: { width: 1366, height: 820 } })
    const login = await guest.newPage()
    await login.goto(`${BASE}/login`)
    await login.locator('[data-test=login-site-name]').getByText(NAME, { exact: false }).waitFor()
    await until('the sign-in button in the site colour', async () => (await primaryColour(login.locator('[data-test=login-submit]'))) === 'rgb(114, 46, 209)', 5000)
    assert((await login.title()).endsWith(NAME), `the sign-in tab names the site: ${await login.title()}`)
    await shot(login, '66-login-site')
    await guest.close()
  })

  await step('every page renders', async () => {
    // Reached the way a user reaches them, from the side menu (the profile from the user menu), so
    // each page is checked once its own requests are answered rather than after reloading the app.
    const pages = [
      ['/order/recharges', '订单', '充值记录'], ['/payment/alerts', '支付', '支付告警'], ['/payment/reconciliations', '支付', '对账'],
      ['/catalog/countries', '商品', '国家'], ['/catalog/operators', '商品', '运营商'], ['/catalog/pricing', '商品', '定价'], ['/catalog/sync', '商品', '供应商同步'],
      ['/users/app-users', '用户', '小程序用户'], ['/users/blacklist', '用户', '黑名单'], ['/users/visitors', '用户', '访客统计'],
      ['/marketing/coupon-templates', '营销', '优惠券模板'], ['/marketing/coupons', '营销', '用户优惠券'],
      ['/marketing/membership-plans', '营销', '会员卡'], ['/marketing/members', '营销', '会员'], ['/marketing/membership-orders', '营销', '会员订单'],
      ['/content/banners', '内容', '广告'], ['/content/announcements', '内容', '公告'], ['/content/home', '内容', '首页装修'],
      ['/content/service', '内容', '客服中心'], ['/content/agreements', '内容', '协议管理'],
      ['/notify/templates', '通知', '消息模板'], ['/notify/deliveries', '通知', '发送记录'], ['/notify/alerts', '通知', '员工告警'],
      ['/system/menus', '系统', '菜单与权限'], ['/system/sessions', '系统', '在线员工'], ['/system/api-keys', '系统', 'API 密钥'],
      ['/system/settings', '系统', '系统设置'], ['/system/logs/login', '系统', '登录日志'], ['/system/logs/operations', '系统', '操作日志'], ['/system/logs/access', '系统', '访问日志'],
      ['/profile', null, '个人中心'],
    ]
    const menu = page.locator('[data-test=side-menu]')
    const content = page.locator('.ant-layout-content')
    for (const [path, group, label] of pages) {
      if (group) {
        const item = menu.locator('li.ant-menu-item').getByText(label, { exact: true })
        if (!(await item.isVisible())) await menu.locator('.ant-menu-submenu-title').getByText(group, { exact: true }).click()
        await item.click()
      } else {
        await page.hover('[data-test=user-menu]')
        await page.locator('.ant-dropdown').getByText(label, { exact: true }).click()
      }
      await page.waitForURL((u) => u.pathname === path)
      await page.locator('[data-test=breadcrumb]').getByText(label, { exact: true }).waitFor()
      await content.locator('.ant-table, .ant-card, .echarts').first().waitFor()
      await until(`${path} to finish loading`, async () => api.settled(300) && !(await content.locator('.ant-spin-spinning').count()))
      assert(!(await page.locator('[data-test=api-error]').isVisible()), `${path} shows no API error`)
      // Clicking far down the menu scrolled the window; the picture is of the page's top.
      await page.evaluate(() => window.scrollTo(0, 0))
      await shot(page, `20${path.replaceAll('/', '-')}`)
    }
  })

  await step('theme, language and quick jump', async () => {
    await page.goto(`${BASE}/home`)
    await page.click('[data-test=theme-toggle]')
    await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark')
    await page.hover('[data-test=lang-switch]')
    await page.click('[data-test=lang-en]')
    await page.locator('[data-test=side-menu]').getByText('System').waitFor()
    await page.reload()
    await page.locator('[data-test=side-menu]').getByText('System').waitFor()
    assert((await page.getAttribute('html', 'data-theme')) === 'dark', 'theme remembered after reload')
    await shot(page, '14-dark-english')
    await page.keyboard.press('Control+k')
    await page.locator('input[data-test=quick-jump-input], [data-test=quick-jump-input] input').first().fill('recharge')
    await page.keyboard.press('Enter')
    await page.waitForURL('**/order/recharges')
    await page.setViewportSize({ width: 820, height: 1100 })
    await page.goto(`${BASE}/order/orders`)
    await page.locator('[data-test=orders-table] [data-test=order-link]').first().waitFor()
    await shot(page, '15-tablet')
  })
} catch (e) {
  results.push({ name: 'setup', ok: false, error: e })
  console.log(`  ✗ setup\n    ${e.stack ?? e}\n${topupErr}`)
} finally {
  await cleanup()
}

const failed = results.filter((r) => !r.ok)
console.log('\nmeasured:')
console.log(`  login page: ${metrics.loginFiles ?? '?'} files, ${metrics.loginGzipBytes ?? '?'} B gzipped (${((metrics.loginGzipBytes ?? 0) / 1024).toFixed(1)} KiB), ${metrics.loginTransferredBytes ?? '?'} B transferred on the wire`)
console.log(`  reconciliation started → shown finished: ${metrics.reconcileMs ?? '?'} ms`)
console.log(`  navigation → orders table rendered: ${metrics.ordersTableMs ?? '?'} ms from the navigation's start (${metrics.ordersTableWallMs ?? '?'} ms from the test's goto)`)
console.log(`  whole run: ${((Date.now() - T0) / 1000).toFixed(1)} s, ${results.length - failed.length}/${results.length} steps passed; screenshots in test-results/`)
process.exit(failed.length ? 1 : 0)
