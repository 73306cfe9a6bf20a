// The checkout of topup written as a typical Node.js service would write it: Express,
// better-sqlite3 (WAL), jsonwebtoken, libphonenumber-js and undici, one worker process per
// core (node:cluster) on one SQLite file. It exists only to be measured against topup's own
// checkout (bench/express.sh): same request, same outside world (a `topup serve` playing
// WeChat Pay and Reloadly), the same work per checkout:
//
//   the bearer token checked (HS256) and its user read, the user's openid not blacklisted;
//   the body validated (plan, E.164 number of the plan's country);
//   the number's operator asked of the provider (OAuth token cached) and matched to the plan;
//   the number not blacklisted, and under its per-day limit of paid orders;
//   the order and its payment written in one transaction (a unique open slot per user and
//   number, so one unpaid order per number);
//   the JSAPI prepay at WeChat Pay, signed (SHA256-RSA2048) and its answer's signature
//   verified; the prepay id stored;
//   the mini-program's payment parameters signed (paySign) and answered.
//
// What it leaves out, so that it is the cheaper of the two: idempotency keys, member prices
// and coupons, terms acceptance, the rate limiter, the order timeline and the dashboard's
// counters, visits, access logs and tracing.
//
//   PORT=18190 WORLD=http://127.0.0.1:18091 KEYS=<world data dir>/secrets \
//   DATA=/tmp/express WORKERS=2 node server.mjs
//
// On start the primary writes DATA/tokens (one bearer token per line) and DATA/plan (the plan
// id to order), then forks the workers.

import cluster from 'node:cluster'
import crypto from 'node:crypto'
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import express from 'express'
import jwt from 'jsonwebtoken'
import { parsePhoneNumberFromString } from 'libphonenumber-js'
import { Agent, request } from 'undici'

const PORT = Number(process.env.PORT ?? 18190)
const WORLD = process.env.WORLD ?? 'http://127.0.0.1:18091'
const DATA = process.env.DATA ?? '/tmp/express-baseline'
const WORKERS = Number(process.env.WORKERS ?? availableParallelism())
const USERS = Number(process.env.USERS ?? 64)
const keys = JSON.parse(readFileSync(join(process.env.KEYS, 'wechat_pay_sandbox_keys.json'), 'utf8'))

// The sandbox's merchant and mini-program (crates/app/src/integrations.rs).
const APP_ID = 'wx0000sandbox0000'
const MCHID = '1900000109'
const PROVIDER = {
  client_id: 'sandbox-client-id',
  client_secret: 'sandbox-client-secret',
  grant_type: 'client_credentials',
  audience: 'https://topups-sandbox.reloadly.com',
}
const PAY_TIMEOUT_MS = 15 * 60_000
const MAX_PAID_PER_NUMBER_PER_DAY = 5

function open() {
  const db = new Database(join(DATA, 'shop.db'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('busy_timeout = 5000')
  return db
}

function schema(db) {
  db.exec(`
    CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, openid TEXT UNIQUE NOT NULL,
      status TEXT NOT NULL, token_version INTEGER NOT NULL, created_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS plans (id TEXT PRIMARY KEY, operator_id TEXT NOT NULL,
      country TEXT NOT NULL, title TEXT NOT NULL, face_value INTEGER NOT NULL,
      face_currency TEXT NOT NULL, price_fen INTEGER NOT NULL, on_sale INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS blacklist (kind TEXT NOT NULL, value TEXT NOT NULL,
      PRIMARY KEY (kind, value));
    CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, user_id TEXT NOT NULL,
      openid TEXT NOT NULL, phone TEXT NOT NULL, country TEXT NOT NULL, plan TEXT NOT NULL,
      total_fen INTEGER NOT NULL, state TEXT NOT NULL, open_slot TEXT UNIQUE,
      pay_deadline INTEGER NOT NULL, paid_at INTEGER, created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS orders_user ON orders (user_id, created_at);
    CREATE INDEX IF NOT EXISTS orders_phone ON orders (phone, paid_at);
    CREATE INDEX IF NOT EXISTS orders_state ON orders (state, created_at);
    CREATE TABLE IF NOT EXISTS payments (out_trade_no TEXT PRIMARY KEY, order_id TEXT NOT NULL,
      amount_fen INTEGER NOT NULL, state TEXT NOT NULL, prepay_id TEXT,
      created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS payments_order ON payments (order_id);
    CREATE INDEX IF NOT EXISTS payments_state ON payments (state, created_at);
  `)
}

async function json(method, url, { headers = {}, body } = {}, dispatcher) {
  const response = await request(url, { method, headers, body, dispatcher })
  const text = await response.body.text()
  return { status: response.statusCode, headers: response.headers, text }
}

/** The users, their tokens and one plan of the operator the sandbox detects for +63917…. */
async function prepare(secret) {
  mkdirSync(DATA, { recursive: true })
  const db = open()
  schema(db)
  const token = JSON.parse((await json('POST', `${WORLD}/sandbox/reloadly/auth/oauth/token`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(PROVIDER),
  })).text).access_token
  const detected = JSON.parse((await json('GET',
    `${WORLD}/sandbox/reloadly/topups/operators/auto-detect/phone/%2B639171234500/countries/PH`,
    { headers: { authorization: `Bearer ${token}`, accept: 'application/com.reloadly.topups-v1+json' } },
  )).text)
  const planId = crypto.randomUUID()
  db.prepare('INSERT INTO plans VALUES (?, ?, ?, ?, ?, ?, ?, 1)').run(planId,
    String(detected.operatorId ?? detected.id), 'PH', `${detected.name} 100 PHP`, 10_000, 'PHP', 1_500)
  const insert = db.prepare("INSERT INTO users VALUES (?, ?, 'active', 0, ?)")
  const tokens = []
  for (let n = 0; n < USERS; n++) {
    const id = crypto.randomUUID()
    insert.run(id, `express-${n}-${crypto.randomBytes(6).toString('hex')}`, Date.now())
    tokens.push(jwt.sign({ sub: id, ver: 0 }, secret, { algorithm: 'HS256', expiresIn: '2h' }))
  }
  writeFileSync(join(DATA, 'tokens'), tokens.join('\n') + '\n')
  writeFileSync(join(DATA, 'plan'), planId)
  db.close()
}

class HttpError extends Error {
  constructor(status, code, message, fields) {
    super(message)
    Object.assign(this, { status, code, fields })
  }
}

function serve(secret) {
  const db = open()
  // Idle connections are dropped before the sandbox drops them (actix-web closes a connection
  // idle for 5 s): a request written on a connection the server is closing fails with
  // "other side closed", and a busy event loop learns of the close late.
  const dispatcher = new Agent({ connections: 64, keepAliveTimeout: 4_000, keepAliveMaxTimeout: 4_000 })
  const merchantKey = crypto.createPrivateKey(keys.merchant_private_key_pem)
  const platformKey = crypto.createPublicKey(keys.platform_public_key_pem)
  const statements = {
    user: db.prepare('SELECT id, openid, status, token_version FROM users WHERE id = ?'),
    plan: db.prepare('SELECT * FROM plans WHERE id = ? AND on_sale = 1'),
    blocked: db.prepare(
      "SELECT 1 FROM blacklist WHERE (kind = 'phone' AND value = ?) OR (kind = 'openid' AND value = ?) LIMIT 1"),
    paidToday: db.prepare('SELECT count(*) AS n FROM orders WHERE phone = ? AND paid_at > ?'),
    order: db.prepare(`INSERT INTO orders (id, user_id, openid, phone, country, plan, total_fen,
      state, open_slot, pay_deadline, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, 'awaiting_payment', ?, ?, ?, ?)`),
    payment: db.prepare(
      "INSERT INTO payments VALUES (?, ?, ?, 'prepaying', NULL, ?, ?)"),
    prepaid: db.prepare(
      "UPDATE payments SET prepay_id = ?, state = 'awaiting_payment', updated_at = ? WHERE out_trade_no = ?"),
  }
  const place = db.transaction((order, now) => {
    statements.order.run(order.id, order.user_id, order.openid, order.phone, order.country,
      JSON.stringify(order.plan), order.total_fen, `${order.user_id}:${order.phone}`,
      now + PAY_TIMEOUT_MS, now, now)
    statements.payment.run(order.id, order.id, order.total_fen, now, now)
  })

  let providerToken = null
  async function providerAuthorization() {
    if (!providerToken || providerToken.expires < Date.now()) {
      const answer = await json('POST', `${WORLD}/sandbox/reloadly/auth/oauth/token`, {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(PROVIDER),
      }, dispatcher)
      const body = JSON.parse(answer.text)
      providerToken = { value: body.access_token, expires: Date.now() + (body.expires_in - 60) * 1000 }
    }
    return `Bearer ${providerToken.value}`
  }

  async function detect(e164, country) {
    const answer = await json('GET',
      `${WORLD}/sandbox/reloadly/topups/operators/auto-detect/phone/${encodeURIComponent(e164)}/countries/${country}`,
      { headers: { authorization: await providerAuthorization(), accept: 'application/com.reloadly.topups-v1+json' } },
      dispatcher)
    if (answer.status === 404) return null
    if (answer.status !== 200) throw new HttpError(502, 'PROVIDER_UNAVAILABLE', `provider answered ${answer.status}`)
    const body = JSON.parse(answer.text)
    return String(body.operatorId ?? body.id)
  }

  const nonce = () => crypto.randomBytes(16).toString('hex')
  const sign = (message) => crypto.sign('sha256', Buffer.from(message), merchantKey).toString('base64')

  async function prepay(order) {
    const path = '/sandbox/wechat/pay/v3/pay/transactions/jsapi'
    const body = JSON.stringify({
      appid: APP_ID,
      mchid: MCHID,
      description: order.plan.title,
      out_trade_no: order.id,
      time_expire: new Date(Date.now() + PAY_TIMEOUT_MS).toISOString().replace(/\.\d+Z$/, '+00:00'),
      notify_url: `http://127.0.0.1:${PORT}/api/v1/pay/wechat/notify`,
      amount: { total: order.total_fen, currency: 'CNY' },
      payer: { openid: order.openid },
    })
    const timestamp = Math.floor(Date.now() / 1000).toString()
    const nonceStr = nonce()
    const signature = sign(`POST\n${path}\n${timestamp}\n${nonceStr}\n${body}\n`)
    const answer = await json('POST', `${WORLD}${path}`, {
      headers: {
        authorization: `WECHATPAY2-SHA256-RSA2048 mchid="${MCHID}",nonce_str="${nonceStr}",signature="${signature}",timestamp="${timestamp}",serial_no="${keys.merchant_serial_no}"`,
        accept: 'application/json',
        'content-type': 'application/json',
        'user-agent': 'express-baseline/1',
      },
      body,
    }, dispatcher)
    const h = answer.headers
    const signed = `${h['wechatpay-timestamp']}\n${h['wechatpay-nonce']}\n${answer.text}\n`
    if (h['wechatpay-serial'] !== keys.platform_public_key_id ||
        !crypto.verify('sha256', Buffer.from(signed), platformKey, Buffer.from(h['wechatpay-signature'] ?? '', 'base64'))) {
      throw new HttpError(502, 'PAYMENT_UNAVAILABLE', 'the answer of WeChat Pay is not signed by it')
    }
    if (answer.status !== 200) throw new HttpError(502, 'PAYMENT_UNAVAILABLE', `WeChat Pay answered ${answer.status}`)
    return JSON.parse(answer.text).prepay_id
  }

  function authenticate(req) {
    const header = req.get('authorization') ?? ''
    if (!header.startsWith('Bearer ')) throw new HttpError(401, 'UNAUTHENTICATED', 'sign in first')
    let claims
    try {
      claims = jwt.verify(header.slice(7), secret, { algorithms: ['HS256'] })
    } catch {
      throw new HttpError(401, 'UNAUTHENTICATED', 'the token is not valid; log in again')
    }
    const user = statements.user.get(claims.sub)
    if (!user || user.token_version !== claims.ver) throw new HttpError(401, 'UNAUTHENTICATED', 'log in again')
    if (user.status !== 'active' || statements.blocked.get('', user.openid)) {
      throw new HttpError(403, 'USER_BLOCKED', 'this account is blocked')
    }
    return user
  }

  const app = express()
  app.disable('x-powered-by')
  app.use(express.json({ limit: '16kb' }))

  app.post('/api/v1/app/orders', async (req, res, next) => {
    try {
      const user = authenticate(req)
      const { plan_id: planId, phone } = req.body ?? {}
      const fields = {}
      if (typeof planId !== 'string' || planId.length === 0) fields.plan_id = 'required'
      if (typeof phone !== 'string' || phone.length === 0) fields.phone = 'required'
      const plan = fields.plan_id ? null : statements.plan.get(planId)
      if (!fields.plan_id && !plan) fields.plan_id = 'no such plan on sale'
      const number = plan && typeof phone === 'string' ? parsePhoneNumberFromString(phone, plan.country) : undefined
      if (plan && !fields.phone && (!number || !number.isValid() || number.country !== plan.country)) {
        fields.phone = `not a valid number of ${plan.country}`
      }
      if (Object.keys(fields).length > 0) throw new HttpError(400, 'VALIDATION_FAILED', 'check the fields', fields)
      const e164 = number.number
      const operator = await detect(e164, plan.country)
      if (operator !== null && operator !== plan.operator_id) {
        throw new HttpError(422, 'OPERATOR_MISMATCH', 'the number belongs to another operator')
      }
      if (statements.blocked.get(e164, '')) throw new HttpError(403, 'NUMBER_BLOCKED', 'this number cannot be topped up')
      if (statements.paidToday.get(e164, Date.now() - 86_400_000).n >= MAX_PAID_PER_NUMBER_PER_DAY) {
        throw new HttpError(429, 'NUMBER_LIMIT', 'too many top-ups of this number today')
      }
      const now = Date.now()
      const order = {
        id: crypto.randomUUID().replaceAll('-', ''),
        user_id: user.id,
        openid: user.openid,
        phone: e164,
        country: plan.country,
        plan: { id: plan.id, operator_id: plan.operator_id, title: plan.title,
          face_value: { amount: plan.face_value, currency: plan.face_currency } },
        total_fen: plan.price_fen,
      }
      try {
        place(order, now)
      } catch (error) {
        if (error.code === 'SQLITE_CONSTRAINT_UNIQUE') {
          throw new HttpError(409, 'ORDER_OPEN', 'this number has an unpaid order already')
        }
        throw error
      }
      const prepayId = await prepay(order)
      statements.prepaid.run(prepayId, Date.now(), order.id)
      const timeStamp = Math.floor(Date.now() / 1000).toString()
      const nonceStr = nonce()
      const pkg = `prepay_id=${prepayId}`
      res.status(201).json({
        order_no: order.id,
        state: 'awaiting_payment',
        total: { amount: order.total_fen, currency: 'CNY' },
        pay_deadline: new Date(now + PAY_TIMEOUT_MS).toISOString(),
        payment: {
          appId: APP_ID, timeStamp, nonceStr, package: pkg, signType: 'RSA',
          paySign: sign(`${APP_ID}\n${timeStamp}\n${nonceStr}\n${pkg}\n`),
        },
      })
    } catch (error) {
      next(error)
    }
  })

  app.use((error, req, res, _next) => {
    if (error instanceof HttpError) {
      // Rare in a benchmark and each one fails it: say which, for `bench/express.sh` to show.
      console.error(`${error.status} ${error.code}: ${error.message}`)
      res.status(error.status).json({
        code: error.code, message: error.message, ...(error.fields ? { details: { fields: error.fields } } : {}),
      })
    } else {
      console.error(error)
      res.status(500).json({ code: 'INTERNAL', message: 'internal error' })
    }
  })

  app.listen(PORT, '127.0.0.1')
}

if (cluster.isPrimary) {
  const secret = crypto.randomBytes(64).toString('base64')
  await prepare(secret)
  for (let n = 0; n < WORKERS; n++) cluster.fork({ JWT_SECRET: secret })
  let ready = 0
  cluster.on('listening', () => {
    if (++ready === WORKERS) console.log(`listening on http://127.0.0.1:${PORT} with ${WORKERS} workers`)
  })
  cluster.on('exit', (worker, code) => {
    if (code !== 0) console.error(`worker ${worker.process.pid} stopped: ${code}`)
  })
} else {
  serve(process.env.JWT_SECRET)
}
