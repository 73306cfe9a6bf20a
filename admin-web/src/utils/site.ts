/** The product's name, logo and colour as the console uses them, kept free of Vue so they test in isolation. */

import type { Site } from '@/api/types'
import { isColour } from './settings'

/** What the console shows before the server has answered once. */
export const DEFAULT_SITE: Readonly<Site> = { name: 'Topup', logo_url: '', theme_colour: '#1677ff' }

/** `raw` as a site, when it is one the console can show (a remembered copy may be anything). */
export function asSite(raw: unknown): Site | null {
  if (!raw || typeof raw !== 'object') return null
  const r = raw as Record<string, unknown>
  if (typeof r.name !== 'string' || !r.name.trim() || typeof r.logo_url !== 'string' || typeof r.theme_colour !== 'string') return null
  return { name: r.name, logo_url: r.logo_url, theme_colour: isColour(r.theme_colour) ? r.theme_colour : DEFAULT_SITE.theme_colour }
}

/** The browser tab's title: the page, then the product. */
export function documentTitle(page: string, site: string): string {
  return page ? `${page} · ${site}` : site
}

/** What the collapsed menu shows when there is no logo: the name's first character. */
export function initial(name: string): string {
  return [...name.trim()][0]?.toUpperCase() ?? ''
}
