import { api, downloadWithToken, unwrap } from './client'
import type { Order, OrderState, Page, PageQuery, PaymentAlert, RechargeLogEntry } from './types'

export interface OrderFilter {
  state?: OrderState
  type?: string
  country?: string
  operator?: string
  phone?: string
  user?: string
  from?: string
  to?: string
  min_amount?: number
  max_amount?: number
  held?: boolean
  sort?: string
}

function clean<T extends object>(q: T): T {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '') out[k] = v
  return out as T
}

export const ordersApi = {
  list: (q: OrderFilter & PageQuery): Promise<Page<Order>> =>
    unwrap(api.GET('/api/v1/admin/orders', { params: { query: clean(q) } })),
  get: (orderNo: string): Promise<Order> =>
    unwrap(api.GET('/api/v1/admin/orders/{order_no}', { params: { path: { order_no: orderNo } } })),
  /** `fen` omitted refunds everything still refundable. */
  refund: (orderNo: string, reason: string, fen?: number): Promise<Order> =>
    unwrap(
      api.POST('/api/v1/admin/orders/{order_no}/refund', {
        params: { path: { order_no: orderNo } },
        body: fen === undefined ? { reason } : { reason, amount: { amount: fen, currency: 'CNY' } },
      }),
    ),
  retry: (orderNo: string): Promise<Order> =>
    unwrap(api.POST('/api/v1/admin/orders/{order_no}/retry', { params: { path: { order_no: orderNo } } })),
  exportCsv: (q: OrderFilter): Promise<void> => {
    const params = new URLSearchParams()
    for (const [k, v] of Object.entries(clean(q))) params.set(k, String(v))
    const qs = params.toString()
    return downloadWithToken(`/api/v1/admin/orders/export${qs ? `?${qs}` : ''}`, 'orders.csv')
  },
  recharges: (q: PageQuery & { order_no?: string; provider?: string; outcome?: string; from?: string; to?: string }): Promise<Page<RechargeLogEntry>> =>
    unwrap(api.GET('/api/v1/admin/recharges', { params: { query: clean(q) } })),
}

export const paymentsApi = {
  alerts: (q: PageQuery): Promise<Page<PaymentAlert>> =>
    unwrap(api.GET('/api/v1/admin/payments/alerts', { params: { query: q } })),
}

export { clean }
