import { api, unwrap } from './client'
import { clean } from './orders'
import type { CountryDoc, NewPlan, OperatorDoc, Page, PageQuery, PlanDoc, PlanPatch, PriceChange, PricingRules, PricingRulesUpdate, SyncReport } from './types'
import type { components } from './schema'

type S = components['schemas']

export const catalogApi = {
  countries: (q: PageQuery & { enabled?: boolean; q?: string }): Promise<Page<CountryDoc>> =>
    unwrap(api.GET('/api/v1/admin/catalog/countries', { params: { query: clean(q) } })),
  updateCountry: (id: string, body: S['CountryPatch']): Promise<CountryDoc> =>
    unwrap(api.PUT('/api/v1/admin/catalog/countries/{id}', { params: { path: { id } }, body })),
  enableCountries: (ids: string[], enabled: boolean) =>
    unwrap(api.POST('/api/v1/admin/catalog/countries/enabled', { body: { ids, enabled } })),
  operators: (q: PageQuery & { country?: string; enabled?: boolean; q?: string }): Promise<Page<OperatorDoc>> =>
    unwrap(api.GET('/api/v1/admin/catalog/operators', { params: { query: clean(q) } })),
  updateOperator: (id: string, body: S['OperatorPatch']): Promise<OperatorDoc> =>
    unwrap(api.PUT('/api/v1/admin/catalog/operators/{id}', { params: { path: { id } }, body })),
  enableOperators: (ids: string[], enabled: boolean) =>
    unwrap(api.POST('/api/v1/admin/catalog/operators/enabled', { body: { ids, enabled } })),
  plans: (q: PageQuery & { country?: string; operator?: string; type?: S['PlanType']; enabled?: boolean }): Promise<Page<PlanDoc>> =>
    unwrap(api.GET('/api/v1/admin/catalog/plans', { params: { query: clean(q) } })),
  updatePlan: (id: string, body: PlanPatch): Promise<PlanDoc> =>
    unwrap(api.PUT('/api/v1/admin/catalog/plans/{id}', { params: { path: { id } }, body })),
  createPlan: (body: NewPlan): Promise<PlanDoc> => unwrap(api.POST('/api/v1/admin/catalog/plans', { body })),
  deletePlan: (id: string) => unwrap(api.DELETE('/api/v1/admin/catalog/plans/{id}', { params: { path: { id } } })),
  enablePlans: (ids: string[], enabled: boolean) =>
    unwrap(api.POST('/api/v1/admin/catalog/plans/enabled', { body: { ids, enabled } })),
  pricing: (): Promise<PricingRules> => unwrap(api.GET('/api/v1/admin/catalog/pricing')),
  updatePricing: (body: PricingRulesUpdate) => unwrap(api.PUT('/api/v1/admin/catalog/pricing', { body })),
  priceChanges: (q: PageQuery & { plan?: string }): Promise<Page<PriceChange>> =>
    unwrap(api.GET('/api/v1/admin/catalog/price-changes', { params: { query: clean(q) } })),
  sync: () => unwrap(api.POST('/api/v1/admin/catalog/sync')),
  syncReports: (q: PageQuery): Promise<Page<SyncReport>> =>
    unwrap(api.GET('/api/v1/admin/catalog/sync-reports', { params: { query: q } })),
}
