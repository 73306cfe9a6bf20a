import { api, unwrap } from './client'
import type { SearchResults } from './types'

export const searchApi = {
  /**
   * Orders, mini-program users, plans and console pages matching `q` (1–100 characters) at
   * once; a kind the caller may not see is absent, personal data masked as on its page.
   * `signal` lets a newer search cancel this one.
   */
  search: (q: string, signal?: AbortSignal): Promise<SearchResults> =>
    unwrap(api.GET('/api/v1/admin/search', { params: { query: { q } }, signal })),
}
