import { api, unwrap } from './client'
import { clean } from './orders'
import type {
  CouponChannel, CouponState, CouponTemplate, CouponTemplateBody, CouponView, IssueResult, Member, MembershipOrder, MembershipOrderState,
  MembershipPlan, MembershipPlanBody, Page, PageQuery,
} from './types'

export const marketingApi = {
  templates: (q: PageQuery & { channel?: CouponChannel; enabled?: boolean }): Promise<Page<CouponTemplate>> =>
    unwrap(api.GET('/api/v1/admin/marketing/coupon-templates', { params: { query: clean(q) } })),
  template: (id: string): Promise<CouponTemplate> =>
    unwrap(api.GET('/api/v1/admin/marketing/coupon-templates/{id}', { params: { path: { id } } })),
  createTemplate: (body: CouponTemplateBody): Promise<CouponTemplate> =>
    unwrap(api.POST('/api/v1/admin/marketing/coupon-templates', { body })),
  updateTemplate: (id: string, body: CouponTemplateBody): Promise<CouponTemplate> =>
    unwrap(api.PUT('/api/v1/admin/marketing/coupon-templates/{id}', { params: { path: { id } }, body })),
  issue: (id: string, userIds: string[]): Promise<IssueResult> =>
    unwrap(api.POST('/api/v1/admin/marketing/coupon-templates/{id}/issue', { params: { path: { id } }, body: { user_ids: userIds } })),
  coupons: (q: PageQuery & { template_id?: string; user_id?: string; state?: CouponState }): Promise<Page<CouponView>> =>
    unwrap(api.GET('/api/v1/admin/marketing/coupons', { params: { query: clean(q) } })),
  membershipPlans: (): Promise<MembershipPlan[]> =>
    unwrap(api.GET('/api/v1/admin/marketing/membership-plans')),
  createMembershipPlan: (body: MembershipPlanBody): Promise<MembershipPlan> =>
    unwrap(api.POST('/api/v1/admin/marketing/membership-plans', { body })),
  updateMembershipPlan: (id: string, body: MembershipPlanBody): Promise<MembershipPlan> =>
    unwrap(api.PUT('/api/v1/admin/marketing/membership-plans/{id}', { params: { path: { id } }, body })),
  members: (q: PageQuery & { active?: boolean }): Promise<Page<Member>> =>
    unwrap(api.GET('/api/v1/admin/marketing/members', { params: { query: clean(q) } })),
  membershipOrders: (q: PageQuery & { state?: MembershipOrderState; user_id?: string }): Promise<Page<MembershipOrder>> =>
    unwrap(api.GET('/api/v1/admin/marketing/membership-orders', { params: { query: clean(q) } })),
  refundMembershipOrder: (id: string, reason: string): Promise<MembershipOrder> =>
    unwrap(api.POST('/api/v1/admin/marketing/membership-orders/{id}/refund', { params: { path: { id } }, body: { reason } })),
}

/** Every coupon template (the list pages at most 100 a time), for pickers and names. */
export async function allTemplates(q: { channel?: CouponChannel; enabled?: boolean } = {}): Promise<CouponTemplate[]> {
  const out: CouponTemplate[] = []
  for (let page = 1; ; page++) {
    const r = await marketingApi.templates({ ...q, page, page_size: 100 })
    out.push(...r.items)
    if (!r.items.length || out.length >= r.total) return out
  }
}

/** A template's editable fields, as PUT takes them (to change one, e.g. `enabled`, and send the rest unchanged). */
export function templateBody(t: CouponTemplate): CouponTemplateBody {
  return {
    name: t.name, description: t.description, terms: t.terms, validity: t.validity,
    total_stock: t.total_stock ?? null, per_user_limit: t.per_user_limit, channel: t.channel, enabled: t.enabled,
  }
}

/** A membership plan's editable fields, as PUT takes them (to change one, e.g. `enabled`, and send the rest unchanged). */
export function membershipPlanBody(p: MembershipPlan): MembershipPlanBody {
  return {
    name: p.name, duration_days: p.duration_days ?? null, price: p.price, discount_percent: p.discount_percent,
    bundle: p.bundle.map((b) => ({ template_id: b.template_id, count: b.count })), enabled: p.enabled, sort: p.sort, benefits: p.benefits,
  }
}
