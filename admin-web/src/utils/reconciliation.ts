/** Reconciliation periods and states as the console shows them, kept free of Vue so they test in isolation. */
import type { NewReconciliation, ReconciliationState, ReconciliationTotals } from '@/api/types'

/** The longest period one run covers (the server refuses more). */
export const MAX_DAYS = 31

const DAY_MS = 86_400_000
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/

/** The start of UTC day `YYYY-MM-DD`, in ms; null when it is not a calendar day. */
function dayStart(day: string): number | null {
  const m = DAY.exec(day)
  if (!m) return null
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))
  return utcDay(ms) === day ? ms : null
}

/** The UTC calendar day of an instant, `YYYY-MM-DD`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

/** How many days `first`..`last` covers, both included (0 when `last` is before `first` or either is no day). */
export function periodDays(first: string, last: string): number {
  const a = dayStart(first)
  const b = dayStart(last)
  if (a === null || b === null || b < a) return 0
  return (b - a) / DAY_MS + 1
}

export type PeriodProblem = 'order' | 'too_long'

/** What the server would refuse in the UTC days `first`..`last`, or null. */
export function periodProblem(first: string, last: string): PeriodProblem | null {
  const n = periodDays(first, last)
  if (n === 0) return 'order'
  return n > MAX_DAYS ? 'too_long' : null
}

/**
 * The whole UTC days `first`..`last` (both included) as the body the server takes: from the
 * first day's midnight (inclusive) to the midnight after the last day (exclusive).
 */
export function utcDaysPeriod(first: string, last: string): NewReconciliation | null {
  const a = dayStart(first)
  const b = dayStart(last)
  if (a === null || b === null || b < a) return null
  return { from: `${first}T00:00:00Z`, to: `${utcDay(b + DAY_MS)}T00:00:00Z` }
}

export type PresetKey = 'yesterday' | 'today' | 'last7'

/** The periods offered next to the picker, as UTC days at `now`; yesterday is the default (the scheduled run's period). */
export function presetDays(now: number): Record<PresetKey, [string, string]> {
  const today = utcDay(now)
  const yesterday = utcDay(now - DAY_MS)
  return { yesterday: [yesterday, yesterday], today: [today, today], last7: [utcDay(now - 6 * DAY_MS), today] }
}

function minutes(ms: number): string {
  const iso = new Date(ms).toISOString()
  return iso.slice(17, 19) === '00' ? iso.slice(0, 16).replace('T', ' ') : iso.slice(0, 19).replace('T', ' ')
}

/**
 * A run's period `[from, to)` in UTC: whole days as dates, the last one included
 * (`2026-12-05 UTC`, `2026-12-01 – 2026-12-07 UTC`), otherwise the instants to the minute.
 */
export function formatPeriod(from: string, to: string): string {
  const a = Date.parse(from)
  const b = Date.parse(to)
  if (Number.isNaN(a) || Number.isNaN(b)) return `${from} – ${to}`
  if (a % DAY_MS === 0 && b % DAY_MS === 0 && b > a) {
    const first = utcDay(a)
    const last = utcDay(b - DAY_MS)
    return first === last ? `${first} UTC` : `${first} – ${last} UTC`
  }
  return `${minutes(a)} – ${minutes(b)} UTC`
}

export type RunStatusKey = 'running' | 'clean' | 'discrepancies' | 'failed'

/** A run's state tag: its colour, the message key under `reconcile.status` and what it names. */
export interface RunStatus {
  key: RunStatusKey
  color: 'processing' | 'success' | 'error'
  count: number
  error: string | null
}

export function runStatus(run: { state: ReconciliationState; discrepancy_count: number; error?: string | null }): RunStatus {
  const count = run.discrepancy_count
  switch (run.state) {
    case 'running':
      return { key: 'running', color: 'processing', count, error: null }
    case 'failed':
      return { key: 'failed', color: 'error', count, error: run.error ?? null }
    case 'finished':
      return count === 0 ? { key: 'clean', color: 'success', count, error: null } : { key: 'discrepancies', color: 'error', count, error: null }
  }
}

/** `paid − (delivered + refunded + in flight + unaccounted)`: 0 when the report balances, as the server guarantees. */
export function identityGap(t: ReconciliationTotals): number {
  return t.paid - (t.delivered + t.refunded + t.in_flight + t.unaccounted)
}

export type TriggerKind = 'schedule' | 'cli' | 'staff' | 'other'

/** Who started a run: `schedule`, `cli` or `staff:<id>`; anything else is shown as sent. */
export function parseTrigger(trigger: string): { kind: TriggerKind; id: string } {
  if (trigger === 'schedule' || trigger === 'cli') return { kind: trigger, id: '' }
  if (trigger.startsWith('staff:')) return { kind: 'staff', id: trigger.slice('staff:'.length) }
  return { kind: 'other', id: trigger }
}

/** Provider cost per currency, sorted by currency, for display. */
export function costLines(cost: Record<string, string>): { currency: string; amount: string }[] {
  return Object.entries(cost)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([currency, amount]) => ({ currency, amount }))
}
