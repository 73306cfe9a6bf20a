import type { AppAnnouncement, AppHomeBlock, AppPlan, BannerLink } from '../api/types'

/** The blocks this client knows how to show; a newer server's others are skipped. */
const KNOWN = new Set<string>([
  'topup_form',
  'banner_carousel',
  'notice_bar',
  'country_grid',
  'hot_plans',
  'coupon_entry',
  'membership_entry',
  'rich_text',
  'spacer',
])

/** A block the page shows around the top-up form (never the form itself). */
export type DecorBlock = Exclude<AppHomeBlock, { type: 'topup_form' }>

export interface HomeLayout {
  /** Blocks above the top-up form, top to bottom. */
  before: DecorBlock[]
  /** Blocks below it. */
  after: DecorBlock[]
}

/** Today's page: the top-up form alone (before anyone publishes, or when the call fails). */
export const PLAIN_LAYOUT: HomeLayout = { before: [], after: [] }

/**
 * The published blocks split around the one top-up form. The form itself is never part of
 * the lists: the page keeps a single instance of it whatever arrives, so a number being typed
 * survives a refresh. Without a form (the server always sends one) the blocks go above it;
 * a second form is ignored; unknown block kinds are dropped.
 */
export function layoutOf(blocks: readonly AppHomeBlock[]): HomeLayout {
  const before: DecorBlock[] = []
  const after: DecorBlock[] = []
  let seenForm = false
  for (const block of blocks) {
    if (!block || typeof block !== 'object' || !KNOWN.has(block.type)) continue
    if (block.type === 'topup_form') {
      seenForm = true
      continue
    }
    ;(seenForm ? after : before).push(block)
  }
  return { before, after }
}

/** The pages of the tab bar: reached with `switchTab`, which takes no query. */
export const TAB_PAGES: readonly string[] = ['/pages/home/index', '/pages/orders/index', '/pages/me/index']

export interface PageNavigation {
  url: string
  tab: boolean
}

/**
 * How to open a page a banner names (`/pages/membership/index`, `pages/me/index?x=1`): its
 * address and whether it is a tab page. `undefined` for anything that is not a page path.
 */
export function pageNavigation(path: string): PageNavigation | undefined {
  const trimmed = path.trim()
  const withSlash = trimmed.startsWith('/') ? trimmed : `/${trimmed}`
  if (!/^\/pages\/[\w-]+(\/[\w-]+)*(\?.*)?$/.test(withSlash)) return undefined
  const bare = withSlash.split('?')[0]
  if (TAB_PAGES.includes(bare)) return { url: bare, tab: true }
  return { url: withSlash, tab: false }
}

/** What tapping a banner does. */
export type BannerTarget =
  | { kind: 'none' }
  | { kind: 'page'; navigation: PageNavigation }
  | { kind: 'plan'; planId: string }

export function bannerTarget(link: BannerLink | null | undefined): BannerTarget {
  if (!link) return { kind: 'none' }
  if (link.kind === 'page') {
    const navigation = pageNavigation(link.path)
    return navigation ? { kind: 'page', navigation } : { kind: 'none' }
  }
  if (link.kind === 'plan' && link.plan_id) return { kind: 'plan', planId: link.plan_id }
  return { kind: 'none' }
}

/**
 * An image address as the app can load it: http(s) as is, a path on the API server joined to
 * its origin (`''` in H5, which is served by that server).
 */
export function assetUrl(url: string, base: string): string {
  if (/^https?:\/\//i.test(url)) return url
  if (url.startsWith('//')) return `https:${url}`
  if (url.startsWith('/')) return base.replace(/\/+$/, '') + url
  return url
}

/** The carousel's turn in ms: the block's seconds kept within 2–30, 5 when unset. */
export function carouselIntervalMs(seconds: number | null | undefined): number {
  if (!seconds || !Number.isFinite(seconds) || seconds <= 0) return 5000
  return Math.round(Math.min(30, Math.max(2, seconds)) * 1000)
}

/** A grid's column count kept within 3–5, 4 when unset. */
export function gridColumns(columns: number | null | undefined): number {
  if (!columns || !Number.isFinite(columns)) return 4
  return Math.min(5, Math.max(3, Math.round(columns)))
}

/** A spacer's height kept within 0–200 px. */
export function spacerHeight(height: number | null | undefined): number {
  if (!height || !Number.isFinite(height) || height < 0) return 0
  return Math.min(200, Math.round(height))
}

/** A plan shown somewhere on the page (a hot-plans block), by id. */
export function planOnPage(layout: HomeLayout, planId: string): AppPlan | undefined {
  for (const block of [...layout.before, ...layout.after]) {
    if (block.type !== 'hot_plans') continue
    const plan = block.plans.find((p) => p.id === planId)
    if (plan) return plan
  }
  return undefined
}

/** Pinned first, then newest first (what the server sends; kept if it ever does not). */
export function sortAnnouncements<T extends Pick<AppAnnouncement, 'pinned' | 'published_at'>>(
  items: readonly T[],
): T[] {
  const time = (value: string) => {
    const ms = Date.parse(value)
    return Number.isNaN(ms) ? 0 : ms
  }
  return [...items].sort(
    (a, b) => Number(b.pinned) - Number(a.pinned) || time(b.published_at) - time(a.published_at),
  )
}

/** The list with one announcement marked read, and how many stay unread. */
export function markRead<T extends Pick<AppAnnouncement, 'id' | 'read'>>(
  items: readonly T[],
  id: string,
): { items: T[]; unread: number } {
  const next = items.map((item) => (item.id === id && !item.read ? { ...item, read: true } : item))
  return { items: next, unread: next.filter((item) => !item.read).length }
}

/**
 * A plan by id when the page does not show it (a banner leading to a plan): the catalog has
 * no look-up by id, so each country's plans are asked in turn, stopping at the first match.
 */
export async function findPlan(
  planId: string,
  countries: () => Promise<readonly { code: string }[]>,
  plansOf: (country: string) => Promise<readonly AppPlan[]>,
): Promise<AppPlan | undefined> {
  for (const country of await countries()) {
    const plan = (await plansOf(country.code)).find((p) => p.id === planId)
    if (plan) return plan
  }
  return undefined
}

/** `PH` → 🇵🇭 (regional indicator letters); '' for anything but two letters. */
export function flagOf(code: string): string {
  if (!/^[A-Za-z]{2}$/.test(code)) return ''
  return String.fromCodePoint(...[...code.toUpperCase()].map((c) => 0x1f1e6 + c.charCodeAt(0) - 65))
}

/** Staff HTML for `rich-text`: pictures kept within the block's width. */
export function fitImages(html: string): string {
  return html.replace(/<img\b/gi, '<img style="max-width:100%;height:auto;display:block"')
}
