import { onMounted, ref, shallowRef, type ShallowRef } from 'vue'
import { ApiError, networkError } from '@/api/errors'

/**
 * A page's data fetched on mount: `data` (starting as `initial`), whether it is loading, and
 * the error to show (an API error, or the network's). `load` fetches again (refresh, retry).
 */
export function useLoaded<T>(fetch: () => Promise<T>, initial: T) {
  const data = shallowRef(initial) as ShallowRef<T>
  const loading = ref(false)
  const error = ref<ApiError | null>(null)
  async function load() {
    loading.value = true
    error.value = null
    try {
      data.value = await fetch()
    } catch (e) {
      error.value = e instanceof ApiError ? e : networkError(e)
    } finally {
      loading.value = false
    }
  }
  onMounted(load)
  return { data, loading, error, load }
}
