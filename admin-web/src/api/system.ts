import { api, unwrap } from './client'
import { clean } from './orders'
import type { AccessLog, ApiKeyState, ApiKeyView, CreatedApiKey, LoginLog, MenuNodeInput, MenuNodeView, NewApiKey, NewRole, NewStaffUser, OperationLog, Page, PageQuery, Role, SessionView, StaffUser } from './types'

export const usersApi = {
  list: (q: PageQuery & { q?: string; enabled?: boolean; role_id?: string }): Promise<Page<StaffUser>> =>
    unwrap(api.GET('/api/v1/admin/users', { params: { query: clean(q) } })),
  create: (body: NewStaffUser): Promise<StaffUser> => unwrap(api.POST('/api/v1/admin/users', { body })),
  update: (id: string, display_name: string): Promise<StaffUser> =>
    unwrap(api.PUT('/api/v1/admin/users/{id}', { params: { path: { id } }, body: { display_name } })),
  disable: (id: string): Promise<StaffUser> => unwrap(api.POST('/api/v1/admin/users/{id}/disable', { params: { path: { id } } })),
  enable: (id: string): Promise<StaffUser> => unwrap(api.POST('/api/v1/admin/users/{id}/enable', { params: { path: { id } } })),
  resetPassword: (id: string, password: string): Promise<StaffUser> =>
    unwrap(api.POST('/api/v1/admin/users/{id}/reset-password', { params: { path: { id } }, body: { password } })),
  unlock: (id: string): Promise<StaffUser> => unwrap(api.POST('/api/v1/admin/users/{id}/unlock', { params: { path: { id } } })),
  assignRoles: (id: string, role_ids: string[]): Promise<StaffUser> =>
    unwrap(api.PUT('/api/v1/admin/users/{id}/roles', { params: { path: { id } }, body: { role_ids } })),
}

export const rolesApi = {
  list: (q: PageQuery & { q?: string }): Promise<Page<Role>> => unwrap(api.GET('/api/v1/admin/roles', { params: { query: clean(q) } })),
  create: (body: NewRole): Promise<Role> => unwrap(api.POST('/api/v1/admin/roles', { body })),
  update: (id: string, body: { name: string; description?: string; enabled: boolean }): Promise<Role> =>
    unwrap(api.PUT('/api/v1/admin/roles/{id}', { params: { path: { id } }, body })),
  remove: (id: string) => unwrap(api.DELETE('/api/v1/admin/roles/{id}', { params: { path: { id } } })),
  setPermissions: (id: string, permissions: string[]): Promise<Role> =>
    unwrap(api.PUT('/api/v1/admin/roles/{id}/permissions', { params: { path: { id } }, body: { permissions } })),
}

export const menusApi = {
  tree: (): Promise<MenuNodeView[]> => unwrap(api.GET('/api/v1/admin/menus')),
  create: (body: MenuNodeInput) => unwrap(api.POST('/api/v1/admin/menus', { body })),
  update: (id: string, body: MenuNodeInput) => unwrap(api.PUT('/api/v1/admin/menus/{id}', { params: { path: { id } }, body })),
  remove: (id: string) => unwrap(api.DELETE('/api/v1/admin/menus/{id}', { params: { path: { id } } })),
}

export const sessionsApi = {
  list: (q: PageQuery & { username?: string }): Promise<Page<SessionView>> =>
    unwrap(api.GET('/api/v1/admin/sessions', { params: { query: clean(q) } })),
  revoke: (id: string): Promise<SessionView> => unwrap(api.DELETE('/api/v1/admin/sessions/{id}', { params: { path: { id } } })),
}

export const apiKeysApi = {
  list: (q: PageQuery & { state?: ApiKeyState }): Promise<Page<ApiKeyView>> =>
    unwrap(api.GET('/api/v1/admin/api-keys', { params: { query: clean(q) } })),
  create: (body: NewApiKey): Promise<CreatedApiKey> => unwrap(api.POST('/api/v1/admin/api-keys', { body })),
  revoke: (id: string): Promise<ApiKeyView> => unwrap(api.DELETE('/api/v1/admin/api-keys/{id}', { params: { path: { id } } })),
}

export type LogQuery = PageQuery & Record<string, string | number | undefined>

export const logsApi = {
  login: (q: LogQuery): Promise<Page<LoginLog>> => unwrap(api.GET('/api/v1/admin/logs/login', { params: { query: clean(q) } })),
  operations: (q: LogQuery): Promise<Page<OperationLog>> =>
    unwrap(api.GET('/api/v1/admin/logs/operations', { params: { query: clean(q) } })),
  access: (q: LogQuery): Promise<Page<AccessLog>> => unwrap(api.GET('/api/v1/admin/logs/access', { params: { query: clean(q) } })),
}
