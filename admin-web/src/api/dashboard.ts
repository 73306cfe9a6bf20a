import { api, unwrap } from './client'
import type { Dashboard } from './types'

/** The periods the dashboard offers; each but `custom` ends today (in the server's day offset). */
export type DashboardRange = 'today' | 'yesterday' | '7d' | '30d' | 'custom'

/** `from`/`to` (`YYYY-MM-DD`, both included) only with `range: 'custom'`. */
export interface DashboardQuery {
  range: DashboardRange
  from?: string
  to?: string
}

export const dashboardApi = {
  /**
   * The home page's figures over a range of days: totals, a per-day trend, breakdowns and
   * what needs attention now. The order figures follow the orders within a few seconds.
   */
  get: (q: DashboardQuery, signal?: AbortSignal): Promise<Dashboard> =>
    unwrap(api.GET('/api/v1/admin/dashboard', { params: { query: q }, signal })),
}
