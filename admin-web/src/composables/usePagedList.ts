import { reactive, ref, shallowRef } from 'vue'
import type { TablePaginationConfig } from 'ant-design-vue'
import { ApiError, networkError } from '@/api/errors'
import type { Page, PageQuery } from '@/api/types'
import { i18n } from '@/locales'

/**
 * One server-paged list: loading, error, paging and a reload, so every table behaves the
 * same (empty state from the table, error state from ApiErrorAlert).
 */
export function usePagedList<T, F extends object>(fetcher: (q: F & PageQuery) => Promise<Page<T>>, filter: F, pageSize = 20) {
  const items = shallowRef<T[]>([])
  const total = ref(0)
  // The server stopped counting at `total`: more match than that.
  const totalCapped = ref(false)
  const loading = ref(false)
  const error = ref<ApiError | null>(null)
  const paging = reactive({ page: 1, page_size: pageSize })
  let seq = 0

  async function load() {
    const mine = ++seq
    loading.value = true
    error.value = null
    try {
      const r = await fetcher({ ...filter, page: paging.page, page_size: paging.page_size })
      if (mine !== seq) return
      items.value = r.items
      total.value = r.total
      totalCapped.value = r.total_capped
    } catch (e) {
      if (mine !== seq) return
      items.value = []
      error.value = e instanceof ApiError ? e : networkError(e)
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  /** Reloads the page shown without the loading state (for following rows that change by themselves). */
  async function refresh() {
    const mine = ++seq
    try {
      const r = await fetcher({ ...filter, page: paging.page, page_size: paging.page_size })
      if (mine !== seq) return
      items.value = r.items
      total.value = r.total
      totalCapped.value = r.total_capped
    } catch {
      // The next refresh or load tries again; a passing failure is not worth replacing the rows.
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  function search() {
    paging.page = 1
    return load()
  }

  function pagination(): TablePaginationConfig {
    return {
      current: paging.page,
      pageSize: paging.page_size,
      total: total.value,
      showSizeChanger: true,
      pageSizeOptions: ['10', '20', '50', '100'],
      showTotal: (n: number) => {
        const shown = n.toLocaleString(i18n.global.locale.value)
        return i18n.global.t(totalCapped.value ? 'common.totalCapped' : 'common.total', { n: shown })
      },
    }
  }

  function onPage(p: TablePaginationConfig) {
    paging.page = p.current ?? 1
    paging.page_size = p.pageSize ?? pageSize
  }

  return { items, total, totalCapped, loading, error, paging, load, refresh, search, pagination, onPage }
}
