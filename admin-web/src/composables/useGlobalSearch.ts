import { onScopeDispose, ref, shallowRef, watch } from 'vue'
import type { SearchResults } from '@/api/types'
import { searchText } from '@/utils/search'

export type SearchFetcher = (q: string, signal: AbortSignal) => Promise<SearchResults>

/**
 * The server's search for what is typed: asked `delay` ms after the text last changed (and
 * only for 2–100 characters), the request before cancelled, and an answer for older text
 * never shown. `results` are always for the text as it is now, or null.
 */
export function useGlobalSearch(text: () => string, fetcher: SearchFetcher, delay = 250) {
  const results = shallowRef<SearchResults | null>(null)
  const loading = ref(false)
  const failed = ref(false)
  let timer: ReturnType<typeof setTimeout> | undefined
  let inflight: AbortController | null = null
  let seq = 0

  function cancel() {
    seq++
    clearTimeout(timer)
    timer = undefined
    inflight?.abort()
    inflight = null
    loading.value = false
  }

  async function run(q: string, mine: number) {
    const ctrl = new AbortController()
    inflight = ctrl
    try {
      const r = await fetcher(q, ctrl.signal)
      if (mine === seq) results.value = r
    } catch {
      if (mine === seq) failed.value = true
    } finally {
      if (mine === seq) {
        loading.value = false
        inflight = null
      }
    }
  }

  watch(
    () => searchText(text()),
    (q) => {
      cancel()
      results.value = null
      failed.value = false
      if (!q) return
      loading.value = true
      const mine = seq
      timer = setTimeout(() => void run(q, mine), delay)
    },
  )
  onScopeDispose(cancel)

  return { results, loading, failed, cancel }
}
