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
  }
}

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
    await page.locator('[data-test=stat-today]').waitFor()
    await page.locator('[data-test=side-menu]').getByText('系统').waitFor()
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
    await page.locator('[data-test=order-timeline]').getByText('recharged').waitFor()
    await shot(page, '05-order-drawer')
    await page.click('[data-test=order-refund]')
    const amount = page.locator('input[data-test=refund-amount], [data-test=refund-amount] input').first()
    await amount.fill('1.234')
    await page.locator('input[data-test=refund-reason], [data-test=refund-reason] input').first().fill('e2e partial refund')
    await page.getByRole('button', { name: '提交退款' }).click()
    await page.getByText('请输入金额，最多两位小数').waitFor()
    await amount.fill('1.50')
    await page.getByRole('button', { name: '提交退款' }).click()
    await page.locator('[data-test=order-timeline]').getByText('refund requested').waitFor()
    await page.locator('[data-test=order-timeline]').getByText('1.50 CNY: e2e partial refund').waitFor()
    await page.locator('[data-test=order-refunds]').getByText('¥1.50').waitFor()
    await shot(page, '06-order-refunded')
    const o = await json('GET', `/api/v1/admin/orders/${orderNo}`, undefined, adminToken)
    assert(o.refunds.length === 1 && o.refunds[0].amount.amount === 150, `refund of 150 fen recorded, got ${JSON.stringify(o.refunds)}`)
    await page.keyboard.press('Escape')
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

  await step('every page renders', async () => {
    // Reached the way a user reaches them, from the side menu (the profile from the user menu), so
    // each page is checked once its own requests are answered rather than after reloading the app.
    const pages = [
      ['/order/recharges', '订单', '充值记录'], ['/payment/alerts', '支付', '支付告警'],
      ['/catalog/countries', '商品', '国家'], ['/catalog/operators', '商品', '运营商'], ['/catalog/pricing', '商品', '定价'], ['/catalog/sync', '商品', '供应商同步'],
      ['/users/app-users', '用户', '小程序用户'], ['/users/blacklist', '用户', '黑名单'], ['/users/visitors', '用户', '访客统计'],
      ['/system/menus', '系统', '菜单与权限'], ['/system/sessions', '系统', '在线员工'], ['/system/api-keys', '系统', 'API 密钥'],
      ['/system/logs/login', '系统', '登录日志'], ['/system/logs/operations', '系统', '操作日志'], ['/system/logs/access', '系统', '访问日志'],
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
console.log(`  navigation → orders table rendered: ${metrics.ordersTableMs ?? '?'} ms from the navigation's start (${metrics.ordersTableWallMs ?? '?'} ms from the test's goto)`)
console.log(`  whole run: ${((Date.now() - T0) / 1000).toFixed(1)} s, ${results.length - failed.length}/${results.length} steps passed; screenshots in test-results/`)
process.exit(failed.length ? 1 : 0)
