import { onBeforeUnmount, ref, shallowRef, watch, type Ref } from 'vue'
import { contentApi } from '@/api/content'
import { ApiError, networkError } from '@/api/errors'
import type { AppHome } from '@/api/types'
import type { EditorItem } from './useHomeEditor'

const PREVIEW_DELAY_MS = 400

/**
 * The page as the app would get it, asked for again a moment after each edit (only the latest
 * answer counts). A refused page goes to `refused` with the keys it was sent with; the last good
 * page stays, marked stale.
 */
export function useHomePreview(items: Ref<readonly EditorItem[]>, refused: (e: ApiError, keys: readonly number[]) => boolean, accepted: () => void) {
  const home = shallowRef<AppHome | null>(null)
  const loading = ref(false)
  const stale = ref(false)
  const failure = ref<ApiError | null>(null)
  let seq = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let controller: AbortController | undefined

  async function run() {
    const mine = ++seq
    const keys = items.value.map((i) => i.key)
    const components = items.value.map((i) => i.component)
    controller?.abort()
    controller = new AbortController()
    loading.value = true
    try {
      const r = await contentApi.preview(components, controller.signal)
      if (mine !== seq) return
      home.value = r
      stale.value = false
      failure.value = null
      accepted()
    } catch (e) {
      if (mine !== seq) return
      const x = e instanceof ApiError ? e : networkError(e)
      stale.value = true
      failure.value = refused(x, keys) ? null : x
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  function schedule() {
    clearTimeout(timer)
    if (!items.value.length) return
    loading.value = true
    timer = setTimeout(() => void run(), PREVIEW_DELAY_MS)
  }

  watch(() => JSON.stringify(items.value.map((i) => i.component)), schedule)
  onBeforeUnmount(() => {
    clearTimeout(timer)
    controller?.abort()
    seq++
  })

  return { home, loading, stale, failure, refresh: run }
}
