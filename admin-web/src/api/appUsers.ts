import { api, unwrap } from './client'
import { clean } from './orders'
import type { AppUser, BlacklistEntry, NewBlacklistEntry, Page, PageQuery, VisitorDay } from './types'
import type { components } from './schema'

export const appUsersApi = {
  list: (q: PageQuery & { q?: string; number?: string; status?: components['schemas']['AppUserStatus'] }): Promise<Page<AppUser>> =>
    unwrap(api.GET('/api/v1/admin/app-users', { params: { query: clean(q) } })),
  get: (id: string): Promise<AppUser> => unwrap(api.GET('/api/v1/admin/app-users/{id}', { params: { path: { id } } })),
  disable: (id: string): Promise<AppUser> =>
    unwrap(api.POST('/api/v1/admin/app-users/{id}/disable', { params: { path: { id } } })),
  enable: (id: string): Promise<AppUser> =>
    unwrap(api.POST('/api/v1/admin/app-users/{id}/enable', { params: { path: { id } } })),
  blacklist: (q: PageQuery & { kind?: components['schemas']['BlacklistKind']; value?: string; active?: boolean }): Promise<Page<BlacklistEntry>> =>
    unwrap(api.GET('/api/v1/admin/blacklist', { params: { query: clean(q) } })),
  addBlacklist: (body: NewBlacklistEntry): Promise<BlacklistEntry> => unwrap(api.POST('/api/v1/admin/blacklist', { body })),
  removeBlacklist: (id: string) => unwrap(api.DELETE('/api/v1/admin/blacklist/{id}', { params: { path: { id } } })),
  visitors: (from: string, to: string): Promise<VisitorDay[]> =>
    unwrap(api.GET('/api/v1/admin/visitors/daily', { params: { query: { from, to } } })),
}
