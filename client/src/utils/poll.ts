/**
 * Calls `tick` now and again after each answer until it returns true or `stop()` is called.
 * Failed ticks back off (a flaky network should not be hammered) but keep going.
 */
export function poll(tick: () => Promise<boolean>, intervalMs: number, maxIntervalMs = 10_000) {
  let stopped = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let delay = intervalMs

  async function run(): Promise<void> {
    if (stopped) return
    let done = false
    try {
      done = await tick()
      delay = intervalMs
    } catch {
      delay = Math.min(delay * 2, maxIntervalMs)
    }
    if (!done && !stopped) timer = setTimeout(() => void run(), delay)
  }

  void run()
  return {
    stop(): void {
      stopped = true
      if (timer) clearTimeout(timer)
    },
  }
}
