// Helpers shared by the benchmark and browser-test scripts (plain Node, no dependencies).
import { createServer } from 'node:net'

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
