/** The Ctrl+K box's results, kept free of Vue so they test in isolation. */
import type { AppUserHit, OrderHit, PageHit, PlanHit, SearchResults } from '@/api/types'

/** Shortest and longest text sent to the server's search (the server refuses over 100). */
export const SEARCH_MIN = 2
export const SEARCH_MAX = 100

/** Where choosing a result goes, as a vue-router location. */
export interface Target {
  path: string
  query?: Record<string, string>
}

/** A console page in the box; a page of the side menu is labelled with its trail of names. */
export interface PageEntry {
  key: string
  path: string
  label: string
}

export type SearchItem =
  | { kind: 'page'; id: string; to: Target; page: PageEntry }
  | { kind: 'order'; id: string; to: Target; hit: OrderHit }
  | { kind: 'user'; id: string; to: Target; hit: AppUserHit }
  | { kind: 'plan'; id: string; to: Target; hit: PlanHit }

export type SearchKind = SearchItem['kind']

export interface SearchGroup {
  kind: SearchKind
  items: SearchItem[]
}

/** The typed text as the server is asked for it (trimmed), or null when too short or too long to ask. */
export function searchText(raw: string): string | null {
  const s = raw.trim()
  const n = [...s].length
  return n >= SEARCH_MIN && n <= SEARCH_MAX ? s : null
}

/** The instant local match: every page whose label or path holds the text (all pages for none). */
export function matchPages(entries: readonly PageEntry[], raw: string): PageEntry[] {
  const q = raw.trim().toLowerCase()
  return q ? entries.filter((e) => e.label.toLowerCase().includes(q) || e.path.includes(q)) : [...entries]
}

const normPath = (p: string) => p.replace(/\/+$/, '') || '/'

/**
 * The local matches, then the server's pages not among them (one entry per path), each made
 * an entry by `resolve` (which labels it as the side menu does when it knows the page).
 */
export function mergePages(local: readonly PageEntry[], server: readonly PageHit[], resolve: (hit: PageHit) => PageEntry): PageEntry[] {
  const out = [...local]
  const seen = new Set(local.map((p) => normPath(p.path)))
  for (const hit of server) {
    const path = normPath(hit.path)
    if (seen.has(path)) continue
    seen.add(path)
    out.push(resolve(hit))
  }
  return out
}

/** The orders page opens the drawer of `?order_no=`. */
export function orderTarget(orderNo: string): Target {
  return { path: '/order/orders', query: { order_no: orderNo } }
}

/** Masked personal data (`abc****xyz`) cannot be searched for. */
export function isMasked(s: string): boolean {
  return s.includes('*')
}

/**
 * The users page opens the user of `?id=` and searches `?q=`: the openid when shown in full,
 * else the nickname (a masked openid matches nothing).
 */
export function userTarget(hit: AppUserHit): Target {
  const query: Record<string, string> = { id: hit.id }
  const q = isMasked(hit.openid) ? hit.nickname.trim() : hit.openid
  if (q) query.q = q
  return { path: '/users/app-users', query }
}

/** The plans page filters by `?country=` (its `?operator=` wants an id, which a hit lacks). */
export function planTarget(hit: PlanHit): Target {
  return { path: '/catalog/plans', query: { country: hit.country } }
}

/** A plan's title in the console's language, else in the other. */
export function planTitle(hit: PlanHit, locale: string): string {
  return locale === 'en' ? hit.title_en || hit.title_zh : hit.title_zh || hit.title_en
}

/** The box's groups in order (pages, orders, users, plans), empty ones left out. */
export function buildGroups(pages: readonly PageEntry[], results: SearchResults | null): SearchGroup[] {
  const groups: SearchGroup[] = []
  const push = (kind: SearchKind, items: SearchItem[]) => {
    if (items.length) groups.push({ kind, items })
  }
  push('page', pages.map((page) => ({ kind: 'page', id: `page:${page.path}`, to: { path: page.path }, page })))
  push('order', (results?.orders ?? []).map((hit) => ({ kind: 'order', id: `order:${hit.order_no}`, to: orderTarget(hit.order_no), hit })))
  push('user', (results?.app_users ?? []).map((hit) => ({ kind: 'user', id: `user:${hit.id}`, to: userTarget(hit), hit })))
  push('plan', (results?.plans ?? []).map((hit) => ({ kind: 'plan', id: `plan:${hit.id}`, to: planTarget(hit), hit })))
  return groups
}

/**
 * Where the highlight goes when the list changes under it (the server's results arrive after
 * the pages matched at once): on the same item if it is still there, else on the first. An
 * index kept as it was would point at another item, and Enter would open that one.
 */
export function keepHighlight(before: readonly SearchItem[], after: readonly SearchItem[], active: number): number {
  const was = before[active]
  if (!was) return 0
  const now = after.findIndex((item) => item.kind === was.kind && item.id === was.id)
  return now >= 0 ? now : 0
}
