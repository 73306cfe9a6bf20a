// Helpers shared by the benchmark and browser-test scripts (plain Node, no dependencies).
import { spawn } from 'node:child_process'
import { appendFileSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'

/** A TCP port free on the loopback address now. */
export function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/**
 * Polls `check` every `everyMs` until it answers something truthy (which is returned) or
 * `timeoutMs` passes; a throwing check counts as "not yet" and its last error is reported.
 */
export async function until(what, check, timeoutMs = 20_000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs
  let last
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value) return value
    } catch (error) {
      last = error
    }
    await new Promise((r) => setTimeout(r, everyMs))
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`)
}

/** Runs `task(0)` … `task(count - 1)`, at most `workers` at a time, as users arriving together. */
export async function eachConcurrently(count, workers, task) {
  let next = 0
  const worker = async () => {
    for (let n = next++; n < count; n = next++) await task(n)
  }
  await Promise.all(Array.from({ length: workers }, worker))
}

/**
 * `topup serve` processes for a script: each on a free loopback port with errors-only logs,
 * answered once healthy; on exit every one is killed and every data dir made here removed.
 */
export function topupProcesses(bin) {
  const children = []
  const dirs = []
  process.on('exit', () => {
    for (const child of children) child.kill('SIGKILL')
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })
  process.on('SIGINT', () => process.exit(130))
  return {
    /** A fresh temporary data dir, removed at exit. */
    dataDir(prefix) {
      const dir = mkdtempSync(join(tmpdir(), prefix))
      dirs.push(dir)
      return dir
    },
    /**
     * An "outside world": a `topup serve` whose sandboxes play WeChat and the provider for
     * other processes. Answers its base URL and the environment a shop using it needs, with
     * the per-address limits meant for the public off (every simulated user comes from this
     * one address).
     */
    async serveWorld() {
      const dir = this.dataDir('topup-world-')
      const { base } = await this.serve(dir)
      const shopEnv = {
        TOPUP_SANDBOX__EXTERNAL_URL: base,
        TOPUP_SANDBOX__KEYS_DIR: join(dir, 'secrets'),
        TOPUP_APP__LOGIN_RATE_PER_MINUTE: '0',
        TOPUP_CATALOG__DETECT_LOOKUPS_PER_MINUTE: '0',
      }
      return { base, shopEnv }
    },
    /**
     * Starts `topup serve` on `dataDir`; answers its base URL and pid. With BENCH_LOG_DIR set,
     * its warnings and errors go to `<BENCH_LOG_DIR>/<data dir's name>.log`, kept after the run.
     */
    async serve(dataDir, env = {}) {
      const port = await freePort()
      const logDir = process.env.BENCH_LOG_DIR
      const log = logDir ? openSync(join(logDir, `${basename(dataDir)}.log`), 'a') : 'ignore'
      const child = spawn(bin, ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`], {
        env: { ...process.env, RUST_LOG: logDir ? 'warn' : 'error', ...env },
        stdio: ['ignore', log, log],
      })
      children.push(child)
      const base = `http://127.0.0.1:${port}`
      await until(`${base} to answer`, async () => (await fetch(`${base}/healthz`)).ok, 60_000)
      return { base, pid: child.pid }
    },
  }
}

/** RSS (MiB) and CPU seconds (user + system) of a process, from /proc. */
export function processUsage(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  const ticks = Number(stat[11]) + Number(stat[12])
  return { rss, cpu: ticks / 100 }
}

/** The machine's 1, 5 and 15 minute load averages, for the report. */
export function machineLoad() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
}

/**
 * One JSON request: answers the parsed body (null when empty); a status other than 2xx
 * throws an error carrying `status` and the start of the body.
 */
export async function requestJson(base, method, path, body, token) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  if (!res.ok) {
    const error = new Error(`${method} ${path} → ${res.status} ${text.slice(0, 200)}`)
    error.status = res.status
    throw error
  }
  return text ? JSON.parse(text) : null
}

/** Appends a row of the summary table (bench/summary.sh) to the file BENCH_ROWS, when set; as bench/lib.sh's bench_row. */
export function benchRow(what, rate, latency, cpu, rss) {
  if (!process.env.BENCH_ROWS) return
  appendFileSync(process.env.BENCH_ROWS, `| ${what} | ${rate} | ${latency} | ${cpu} | ${rss} |\n`)
}

/**
 * The first staff sign-in on a fresh data dir: as `admin` with the initial password, which the
 * server asks to change first, to `password`. Answers a function that signs in with it again
 * and answers the access token. `request` is `requestJson` or a wrapper of it that counts.
 */
export async function staffSignIn(base, dataDir, password, request = requestJson) {
  const initial = readFileSync(join(dataDir, 'initial-admin-password'), 'utf8').trim()
  const first = await request(base, 'POST', '/api/v1/admin/auth/login', { username: 'admin', password: initial })
  await request(base, 'PUT', '/api/v1/admin/auth/password', { old: initial, new: password }, first.access_token)
  return async () => (await request(base, 'POST', '/api/v1/admin/auth/login', { username: 'admin', password })).access_token
}
