import { api, downloadWithToken, unwrap } from './client'
import type { NewReconciliation, Page, PageQuery, Reconciliation, ReconciliationSummary } from './types'

export const reconciliationsApi = {
  /** Runs, newest first. */
  list: (q: PageQuery): Promise<Page<ReconciliationSummary>> =>
    unwrap(api.GET('/api/v1/admin/reconciliations', { params: { query: q } })),
  /** Answers at once with the run `running`; read it again with `get` until it is not. */
  start: (body: NewReconciliation): Promise<Reconciliation> =>
    unwrap(api.POST('/api/v1/admin/reconciliations', { body })),
  get: (id: string): Promise<Reconciliation> =>
    unwrap(api.GET('/api/v1/admin/reconciliations/{id}', { params: { path: { id } } })),
  /** The run's discrepancies as CSV: `order_no,kind,order_state,detail`. */
  exportCsv: (id: string): Promise<void> =>
    downloadWithToken(`/api/v1/admin/reconciliations/${encodeURIComponent(id)}/export`, `reconciliation-${id}.csv`),
}
