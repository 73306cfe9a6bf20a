import { describe, expect, it } from 'vitest'
import { costLines, formatPeriod, identityGap, parseTrigger, periodDays, periodProblem, presetDays, runStatus, utcDaysPeriod } from '../reconciliation'

describe('reconciliation', () => {
  it('turns whole UTC days into the period the server takes, the last day included', () => {
    expect(utcDaysPeriod('2026-12-05', '2026-12-05')).toEqual({ from: '2026-12-05T00:00:00Z', to: '2026-12-06T00:00:00Z' })
    expect(utcDaysPeriod('2026-11-30', '2026-12-31')).toEqual({ from: '2026-11-30T00:00:00Z', to: '2027-01-01T00:00:00Z' })
    expect(utcDaysPeriod('2028-02-28', '2028-02-29')).toEqual({ from: '2028-02-28T00:00:00Z', to: '2028-03-01T00:00:00Z' })
    expect(utcDaysPeriod('2026-12-06', '2026-12-05')).toBeNull()
    expect(utcDaysPeriod('2026-02-30', '2026-03-01')).toBeNull()
    expect(utcDaysPeriod('yesterday', '2026-12-05')).toBeNull()
  })

  it('counts days and refuses what the server would', () => {
    expect(periodDays('2026-12-01', '2026-12-01')).toBe(1)
    expect(periodDays('2026-12-01', '2026-12-31')).toBe(31)
    expect(periodProblem('2026-12-01', '2026-12-31')).toBeNull()
    expect(periodProblem('2026-12-01', '2027-01-01')).toBe('too_long')
    expect(periodProblem('2026-12-02', '2026-12-01')).toBe('order')
    // 31 days is at most 31 × 24 h between from and to, as the server checks.
    const p = utcDaysPeriod('2026-12-01', '2026-12-31')
    expect(p && (Date.parse(p.to) - Date.parse(p.from)) / 86_400_000).toBe(31)
  })

  it('offers yesterday, today and the last 7 days in UTC', () => {
    // 00:30 in Beijing on the 6th is still the 5th in UTC.
    const now = Date.parse('2026-12-05T16:30:00Z')
    expect(presetDays(now)).toEqual({
      yesterday: ['2026-12-04', '2026-12-04'],
      today: ['2026-12-05', '2026-12-05'],
      last7: ['2026-11-29', '2026-12-05'],
    })
    expect(presetDays(Date.parse('2027-01-01T00:00:00Z')).yesterday).toEqual(['2026-12-31', '2026-12-31'])
  })

  it('shows a period in UTC, whole days as dates', () => {
    expect(formatPeriod('2026-12-05T00:00:00Z', '2026-12-06T00:00:00Z')).toBe('2026-12-05 UTC')
    expect(formatPeriod('2026-12-01T00:00:00Z', '2026-12-08T00:00:00Z')).toBe('2026-12-01 – 2026-12-07 UTC')
    expect(formatPeriod('2026-12-05T08:00:00+08:00', '2026-12-06T08:00:00+08:00')).toBe('2026-12-05 UTC')
    expect(formatPeriod('2026-12-05T10:15:00Z', '2026-12-06T11:15:30.250Z')).toBe('2026-12-05 10:15 – 2026-12-06 11:15:30 UTC')
    expect(formatPeriod('nope', '2026-12-06T00:00:00Z')).toBe('nope – 2026-12-06T00:00:00Z')
  })

  it('maps a run to its tag', () => {
    expect(runStatus({ state: 'running', discrepancy_count: 0 })).toEqual({ key: 'running', color: 'processing', count: 0, error: null })
    expect(runStatus({ state: 'finished', discrepancy_count: 0 })).toEqual({ key: 'clean', color: 'success', count: 0, error: null })
    expect(runStatus({ state: 'finished', discrepancy_count: 3 })).toEqual({ key: 'discrepancies', color: 'error', count: 3, error: null })
    expect(runStatus({ state: 'failed', discrepancy_count: 0, error: 'store: disk full' })).toEqual({ key: 'failed', color: 'error', count: 0, error: 'store: disk full' })
    expect(runStatus({ state: 'failed', discrepancy_count: 0 }).error).toBeNull()
  })

  it('checks paid = delivered + refunded + in flight + unaccounted', () => {
    const t = { orders: 3, paid: 3000, delivered: 1500, refunded: 1000, in_flight: 300, unaccounted: 200, provider_cost: {} }
    expect(identityGap(t)).toBe(0)
    expect(identityGap({ ...t, paid: 3100 })).toBe(100)
  })

  it('names who started a run', () => {
    expect(parseTrigger('schedule')).toEqual({ kind: 'schedule', id: '' })
    expect(parseTrigger('cli')).toEqual({ kind: 'cli', id: '' })
    expect(parseTrigger('staff:01JDZ8Q7Y7E3K9V6S2M4T1R0PA')).toEqual({ kind: 'staff', id: '01JDZ8Q7Y7E3K9V6S2M4T1R0PA' })
    expect(parseTrigger('api')).toEqual({ kind: 'other', id: 'api' })
  })

  it('lists provider cost by currency', () => {
    expect(costLines({ USD: '1.20', PHP: '58.12' })).toEqual([{ currency: 'PHP', amount: '58.12' }, { currency: 'USD', amount: '1.20' }])
    expect(costLines({})).toEqual([])
  })
})
