import { api, unwrap } from './client'
import type { Me, TokenPair } from './types'

export const authApi = {
  login: (username: string, password: string): Promise<TokenPair> =>
    unwrap(api.POST('/api/v1/admin/auth/login', { body: { username, password } })),
  changePassword: (old: string, next: string): Promise<TokenPair> =>
    unwrap(api.PUT('/api/v1/admin/auth/password', { body: { old, new: next } })),
  me: (): Promise<Me> => unwrap(api.GET('/api/v1/admin/auth/me')),
  logout: (): Promise<unknown> => unwrap(api.POST('/api/v1/admin/auth/logout')),
}
