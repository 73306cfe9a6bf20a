/** The home dashboard's ranges, breakdowns and number formats, kept free of Vue so they test in isolation. */
import type { DashboardQuery, DashboardRange } from '@/api/dashboard'
import type { DashboardSlice, OrderState, StateCount } from '@/api/types'
import { periodDays } from './reconciliation'

/** The ranges offered, in the switcher's order. */
export const RANGES: readonly DashboardRange[] = ['today', 'yesterday', '7d', '30d', 'custom']

/** The longest custom range the server takes, in days (both ends included). */
export const MAX_CUSTOM_DAYS = 366

export type CustomProblem = 'required' | 'order' | 'too_long'

/** What the server would refuse in the custom days `from`..`to` (`YYYY-MM-DD`), or null. */
export function customProblem(days: readonly [string, string] | null | undefined): CustomProblem | null {
  if (!days || !days[0] || !days[1]) return 'required'
  const n = periodDays(days[0], days[1])
  if (n === 0) return 'order'
  return n > MAX_CUSTOM_DAYS ? 'too_long' : null
}

/** The query for `range`; a custom range only once its days are acceptable (null until then). */
export function dashboardQuery(range: DashboardRange, days?: readonly [string, string] | null): DashboardQuery | null {
  if (range !== 'custom') return { range }
  if (customProblem(days) || !days) return null
  return { range, from: days[0], to: days[1] }
}

/** Fen as yuan for a chart axis (display only: money shown as text goes through formatMoney). */
export function fenToYuan(fen: number): number {
  return fen / 100
}

/** `0.981` → `98.1%`; no rate (nothing ended in the range) → `—`. */
export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '—'
  return `${(rate * 100).toFixed(1)}%`
}

/** The day offset the server counts days in: `480` → `UTC+8`, `330` → `UTC+5:30`, `0` → `UTC`. */
export function formatOffset(minutes: number): string {
  if (!Number.isInteger(minutes) || minutes === 0) return 'UTC'
  const sign = minutes < 0 ? '-' : '+'
  const abs = Math.abs(minutes)
  const h = Math.floor(abs / 60)
  const m = abs % 60
  return `UTC${sign}${h}${m ? `:${String(m).padStart(2, '0')}` : ''}`
}

/** A decimal string from the server (`"1520.40"`) with its thousands grouped; anything else as it came. */
export function formatDecimal(s: string): string {
  const m = /^(-?)(\d+)(\.\d+)?$/.exec(s.trim())
  if (!m) return s
  return `${m[1]}${m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${m[3] ?? ''}`
}

/** Axis labels: `21105` → `2.1万` / `21.1K` in the console's language. */
export function compactNumber(n: number, locale: string): string {
  try {
    return new Intl.NumberFormat(locale, { notation: 'compact', maximumFractionDigits: 1 }).format(n)
  } catch {
    return String(n)
  }
}

export type SliceMetric = 'paid_amount' | 'orders'

/** The key of the slice that gathers the smaller ones. */
export const OTHER_KEY = '__other'

/**
 * The `max` largest slices by `metric`; when there are more, the largest `max - 1` and one
 * `OTHER_KEY` slice summing the rest, so a chart never has more than `max` parts.
 */
export function topSlices(slices: readonly DashboardSlice[], max: number, metric: SliceMetric): DashboardSlice[] {
  const sorted = [...slices].sort((a, b) => b[metric] - a[metric] || b.orders - a.orders)
  if (sorted.length <= max) return sorted
  const keep = sorted.slice(0, Math.max(0, max - 1))
  const other: DashboardSlice = { key: OTHER_KEY, label: OTHER_KEY, orders: 0, paid_orders: 0, paid_amount: 0 }
  for (const s of sorted.slice(keep.length)) {
    other.orders += s.orders
    other.paid_orders += s.paid_orders
    other.paid_amount += s.paid_amount
  }
  return [...keep, other]
}

/** An order's states in the order it goes through them. */
export const STATE_ORDER: readonly OrderState[] = ['awaiting_payment', 'paid', 'recharging', 'succeeded', 'failed', 'refunding', 'refunded', 'closed']

export interface StateRow {
  state: OrderState
  orders: number
  /** Of all orders in the range, 0..1. */
  share: number
}

/** The per-state counts in lifecycle order, without empty states, each with its share of the whole. */
export function stateRows(counts: readonly StateCount[]): StateRow[] {
  const total = counts.reduce((n, c) => n + c.orders, 0)
  const rank = (s: OrderState) => {
    const i = STATE_ORDER.indexOf(s)
    return i < 0 ? STATE_ORDER.length : i
  }
  return counts
    .filter((c) => c.orders > 0)
    .sort((a, b) => rank(a.state) - rank(b.state))
    .map((c) => ({ state: c.state, orders: c.orders, share: total ? c.orders / total : 0 }))
}

/** A country's name in `locale` from its ISO code (`PH` → `菲律宾`), or the code when unknown. */
export function regionName(code: string, locale: string): string {
  if (!/^[A-Z]{2}$/.test(code)) return code
  try {
    const name = new Intl.DisplayNames([locale], { type: 'region' }).of(code)
    return name && name !== code ? name : code
  } catch {
    return code
  }
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Text made safe for a chart tooltip's HTML (labels such as operator names come from providers). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c)
}
