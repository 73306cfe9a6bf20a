import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { effectScope, nextTick, ref } from 'vue'
import type { SearchResults } from '@/api/types'
import { useGlobalSearch } from '../useGlobalSearch'

const answer = (q: string): SearchResults => ({ q, orders: [], app_users: [], plans: [], pages: [] })

/** A fetcher whose answers the test releases, recording what it was asked. */
function controlled() {
  const calls: { q: string; signal: AbortSignal; resolve: (r: SearchResults) => void; reject: (e: unknown) => void }[] = []
  const fetcher = (q: string, signal: AbortSignal) =>
    new Promise<SearchResults>((resolve, reject) => calls.push({ q, signal, resolve, reject }))
  return { calls, fetcher }
}

function setup(fetcher: (q: string, s: AbortSignal) => Promise<SearchResults>) {
  const text = ref('')
  const scope = effectScope()
  const s = scope.run(() => useGlobalSearch(() => text.value, fetcher, 250))
  if (!s) throw new Error('no scope')
  return { text, s, scope }
}

async function type(text: { value: string }, v: string) {
  text.value = v
  await nextTick()
}

describe('global search', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('asks once the typing pauses, and not for one character', async () => {
    const { calls, fetcher } = controlled()
    const { text, s } = setup(fetcher)
    await type(text, 'a')
    vi.advanceTimersByTime(1000)
    expect(calls).toHaveLength(0)
    expect(s.loading.value).toBe(false)
    await type(text, '91')
    vi.advanceTimersByTime(100)
    await type(text, '917')
    vi.advanceTimersByTime(100)
    await type(text, '9171 ')
    expect(s.loading.value).toBe(true)
    vi.advanceTimersByTime(249)
    expect(calls).toHaveLength(0)
    vi.advanceTimersByTime(1)
    expect(calls.map((c) => c.q)).toEqual(['9171'])
    calls[0]?.resolve(answer('9171'))
    await vi.runAllTimersAsync()
    expect(s.results.value?.q).toBe('9171')
    expect(s.loading.value).toBe(false)
  })

  it('cancels the request before and never shows an older answer', async () => {
    const { calls, fetcher } = controlled()
    const { text, s } = setup(fetcher)
    await type(text, 'old')
    vi.advanceTimersByTime(250)
    await type(text, 'new')
    expect(calls[0]?.signal.aborted).toBe(true)
    expect(s.results.value).toBeNull()
    vi.advanceTimersByTime(250)
    calls[0]?.resolve(answer('old'))
    await vi.runAllTimersAsync()
    expect(s.results.value).toBeNull()
    expect(s.loading.value).toBe(true)
    calls[1]?.resolve(answer('new'))
    await vi.runAllTimersAsync()
    expect(s.results.value?.q).toBe('new')
    // Text too short again clears the results at once.
    await type(text, 'n')
    expect(s.results.value).toBeNull()
  })

  it('says when the search failed, and stops when its scope ends', async () => {
    const { calls, fetcher } = controlled()
    const { text, s, scope } = setup(fetcher)
    await type(text, 'boom')
    vi.advanceTimersByTime(250)
    calls[0]?.reject(new Error('down'))
    await vi.runAllTimersAsync()
    expect(s.failed.value).toBe(true)
    expect(s.loading.value).toBe(false)
    await type(text, 'again')
    expect(s.failed.value).toBe(false)
    scope.stop()
    vi.advanceTimersByTime(1000)
    expect(calls).toHaveLength(1)
  })
})
