import createClient from 'openapi-fetch'
import { api, unwrap } from './client'
import type { paths } from './schema'
import type { SettingValues, SettingsGroup, Site } from './types'

/** For the public endpoints: no token sent, so a stale session is neither refreshed nor ended by them. */
const publicApi = createClient<paths>({ baseUrl: '' })

export const settingsApi = {
  /** Every group with its keys: the value in force, the configuration's, and who fixed it. */
  list: (): Promise<SettingsGroup[]> => unwrap(api.GET('/api/v1/admin/settings')),
  /**
   * Changes some keys of `group` if nobody saved it since `version` (409 `CONFLICT` otherwise);
   * a null value returns its key to the configured one. Answers the group as saved.
   */
  update: (group: string, version: number, values: SettingValues): Promise<SettingsGroup> =>
    unwrap(api.PUT('/api/v1/admin/settings/{group}', { params: { path: { group } }, body: { version, values } })),
}

/** The product's name, logo and colour; public, so the sign-in page has them too. */
export const siteApi = {
  get: (): Promise<Site> => unwrap(publicApi.GET('/api/v1/site')),
}
