import { apiBase, platform } from '../platform'
import { createClient, uniTransport } from './http'
import { createSession } from './session'
import type {
  AgreementKind,
  AppAgreement,
  AppAnnouncements,
  AppCoupon,
  AppHome,
  AppMembershipOrder,
  AppOrder,
  AppService,
  AppUserView,
  CheckoutAnswer,
  ClaimableCoupon,
  CountryList,
  CouponState,
  Detection,
  MembershipCheckout,
  MembershipOverview,
  NewSavedNumber,
  OrderState,
  Page,
  PlanList,
  PlanType,
  Quote,
  SavedNumberView,
  SubscribableList,
  SubscriptionChoice,
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

  quote: (planId: string, phone: string) =>
    client.call<Quote>('GET', '/api/v1/app/checkout/quote', {
      auth: true,
      query: { plan_id: planId, phone },
    }),
  checkout: (planId: string, phone: string, idempotencyKey: string, couponId?: string | null) =>
    client.call<CheckoutAnswer>('POST', '/api/v1/app/orders', {
      auth: true,
      body: couponId ? { plan_id: planId, phone, coupon_id: couponId } : { plan_id: planId, phone },
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
  claimable: () =>
    client.call<ClaimableCoupon[]>('GET', '/api/v1/app/coupons/claimable', { auth: true }),
  claim: (templateId: string) =>
    client.call<AppCoupon>('POST', '/api/v1/app/coupons/claim', {
      auth: true,
      body: { template_id: templateId },
    }),
  coupons: (state: CouponState, page: number, pageSize: number) =>
    client.call<Page<AppCoupon>>('GET', '/api/v1/app/coupons', {
      auth: true,
      query: { state, page, page_size: pageSize },
    }),

  membership: () => client.call<MembershipOverview>('GET', '/api/v1/app/membership', { auth: true }),
  buyMembership: (planId: string) =>
    client.call<MembershipCheckout>('POST', '/api/v1/app/membership/orders', {
      auth: true,
      body: { plan_id: planId },
    }),
  membershipOrder: (id: string) =>
    client.call<AppMembershipOrder>('GET', `/api/v1/app/membership/orders/${enc(id)}`, { auth: true }),

  refundRequest: (orderNo: string) =>
    client.call<unknown>('POST', `/api/v1/app/orders/${enc(orderNo)}/refund-request`, {
      auth: true,
      body: {},
    }),

  home: () => client.call<AppHome>('GET', '/api/v1/app/home', { auth: true }),
  bannerClick: (id: string) =>
    client.call<unknown>('POST', `/api/v1/app/banners/${enc(id)}/click`, { auth: true }),
  announcements: () =>
    client.call<AppAnnouncements>('GET', '/api/v1/app/announcements', { auth: true }),
  readAnnouncement: (id: string) =>
    client.call<unknown>('POST', `/api/v1/app/announcements/${enc(id)}/read`, { auth: true }),

  service: () => client.call<AppService>('GET', '/api/v1/app/service', { auth: true }),
  agreements: () => client.call<AppAgreement[]>('GET', '/api/v1/app/agreements', { auth: true }),
  /** 404 `NOT_FOUND` while none of that kind is published. */
  agreement: (kind: AgreementKind) =>
    client.call<AppAgreement>('GET', `/api/v1/app/agreements/${enc(kind)}`, { auth: true }),
  /** 204; 409 `CONFLICT` when `version` is no longer the current one (fetch it again). */
  acceptAgreement: (kind: AgreementKind, version: number) =>
    client.call<unknown>('POST', `/api/v1/app/agreements/${enc(kind)}/accept`, {
      auth: true,
      body: { version },
    }),

  subscriptionTemplates: () =>
    client.call<SubscribableList>('GET', '/api/v1/app/subscriptions/templates', { auth: true }),
  recordSubscriptions: (body: SubscriptionChoice) =>
    client.call<unknown>('POST', '/api/v1/app/subscriptions', { auth: true, body }),
}
