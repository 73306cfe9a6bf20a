import { apiBase, platform } from '../platform'
import { createClient, uniTransport } from './http'
import { createSession } from './session'
import type {
  AppOrder,
  AppUserView,
  CheckoutAnswer,
  CountryList,
  Detection,
  NewSavedNumber,
  OrderState,
  Page,
  PlanList,
  PlanType,
  SavedNumberView,
  UpdateAppProfile,
} from './types'

const TOKEN_KEY = 'topup.token'

export const session = createSession(apiBase, uniTransport, () => platform.loginCode(), {
  load() {
    const raw: unknown = uni.getStorageSync(TOKEN_KEY)
    if (typeof raw !== 'string' || !raw) return undefined
    try {
      const value = JSON.parse(raw) as { token?: unknown; expiresAt?: unknown }
      if (typeof value.token === 'string' && typeof value.expiresAt === 'number') {
        return { token: value.token, expiresAt: value.expiresAt }
      }
    } catch {
      // A damaged entry only costs a login.
    }
    return undefined
  },
  save(value) {
    if (value) uni.setStorageSync(TOKEN_KEY, JSON.stringify(value))
    else uni.removeStorageSync(TOKEN_KEY)
  },
})

const client = createClient(apiBase, uniTransport, session.auth)
const enc = encodeURIComponent

export const api = {
  countries: () => client.call<CountryList>('GET', '/api/v1/app/catalog/countries'),
  plans: (country: string, type?: PlanType) =>
    client.call<PlanList>('GET', '/api/v1/app/catalog/plans', { query: { country, type } }),
  detect: (phone: string, country?: string) =>
    client.call<Detection>('GET', '/api/v1/app/catalog/detect', {
      query: { phone, country: phone.startsWith('+') ? undefined : country },
    }),

  me: () => client.call<AppUserView>('GET', '/api/v1/app/me', { auth: true }),
  updateMe: (body: UpdateAppProfile) =>
    client.call<AppUserView>('PUT', '/api/v1/app/me', { auth: true, body }),
  numbers: () => client.call<SavedNumberView[]>('GET', '/api/v1/app/me/numbers', { auth: true }),
  addNumber: (body: NewSavedNumber) =>
    client.call<SavedNumberView>('POST', '/api/v1/app/me/numbers', { auth: true, body }),
  removeNumber: (id: string) =>
    client.call<unknown>('DELETE', `/api/v1/app/me/numbers/${enc(id)}`, { auth: true }),

  checkout: (planId: string, phone: string, idempotencyKey: string) =>
    client.call<CheckoutAnswer>('POST', '/api/v1/app/orders', {
      auth: true,
      body: { plan_id: planId, phone },
      headers: { 'Idempotency-Key': idempotencyKey },
    }),
  orders: (state: OrderState | undefined, page: number, pageSize: number) =>
    client.call<Page<AppOrder>>('GET', '/api/v1/app/orders', {
      auth: true,
      query: { state, page, page_size: pageSize },
    }),
  order: (orderNo: string) =>
    client.call<AppOrder>('GET', `/api/v1/app/orders/${enc(orderNo)}`, { auth: true }),
  cancel: (orderNo: string) =>
    client.call<AppOrder>('POST', `/api/v1/app/orders/${enc(orderNo)}/cancel`, { auth: true }),
  payAgain: (orderNo: string) =>
    client.call<CheckoutAnswer>('POST', `/api/v1/app/orders/${enc(orderNo)}/pay`, { auth: true }),
  refundRequest: (orderNo: string) =>
    client.call<unknown>('POST', `/api/v1/app/orders/${enc(orderNo)}/refund-request`, {
      auth: true,
      body: {},
    }),
}
