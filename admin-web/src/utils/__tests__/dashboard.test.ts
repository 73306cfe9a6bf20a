import { describe, expect, it } from 'vitest'
import type { DashboardSlice } from '@/api/types'
import {
  OTHER_KEY, compactNumber, customProblem, dashboardQuery, escapeHtml, fenToYuan, formatDecimal, formatOffset, formatRate,
  regionName, stateRows, topSlices,
} from '../dashboard'

const slice = (key: string, orders: number, paid: number): DashboardSlice => ({ key, label: key, orders, paid_orders: orders, paid_amount: paid })

describe('dashboard', () => {
  it('asks for a preset range as is and for a custom one only once its days are acceptable', () => {
    expect(dashboardQuery('today')).toEqual({ range: 'today' })
    expect(dashboardQuery('30d', ['2026-01-01', '2026-01-02'])).toEqual({ range: '30d' })
    expect(dashboardQuery('custom', ['2026-11-01', '2026-11-30'])).toEqual({ range: 'custom', from: '2026-11-01', to: '2026-11-30' })
    expect(dashboardQuery('custom', null)).toBeNull()
    expect(dashboardQuery('custom', ['2026-11-30', '2026-11-01'])).toBeNull()
  })

  it('refuses what the server would in a custom range: at most 366 days, both included', () => {
    expect(customProblem(null)).toBe('required')
    expect(customProblem(['', '2026-01-01'])).toBe('required')
    expect(customProblem(['2026-01-02', '2026-01-01'])).toBe('order')
    expect(customProblem(['2026-01-01', '2026-01-01'])).toBeNull()
    // 2028 is a leap year: 366 days from its first day end on its last.
    expect(customProblem(['2028-01-01', '2028-12-31'])).toBeNull()
    expect(customProblem(['2027-12-31', '2028-12-31'])).toBe('too_long')
  })

  it('formats rates, offsets, decimals and axis numbers', () => {
    expect(formatRate(0.981)).toBe('98.1%')
    expect(formatRate(1)).toBe('100.0%')
    expect(formatRate(null)).toBe('—')
    expect(formatRate(undefined)).toBe('—')
    expect(formatOffset(480)).toBe('UTC+8')
    expect(formatOffset(330)).toBe('UTC+5:30')
    expect(formatOffset(-180)).toBe('UTC-3')
    expect(formatOffset(0)).toBe('UTC')
    expect(formatDecimal('1520.40')).toBe('1,520.40')
    expect(formatDecimal('1234567')).toBe('1,234,567')
    expect(formatDecimal('-1000.5')).toBe('-1,000.5')
    expect(formatDecimal('n/a')).toBe('n/a')
    expect(fenToYuan(72100)).toBe(721)
    expect(fenToYuan(1999)).toBe(19.99)
    expect(compactNumber(21105, 'en')).toBe('21.1K')
    expect(compactNumber(21105, 'zh-CN')).toBe('2.1万')
  })

  it('keeps the largest slices and sums the rest into one', () => {
    const s = [slice('a', 1, 500), slice('b', 9, 100), slice('c', 3, 300), slice('d', 2, 200)]
    expect(topSlices(s, 4, 'paid_amount').map((x) => x.key)).toEqual(['a', 'c', 'd', 'b'])
    expect(topSlices(s, 4, 'orders').map((x) => x.key)).toEqual(['b', 'c', 'd', 'a'])
    const top = topSlices(s, 3, 'paid_amount')
    expect(top.map((x) => x.key)).toEqual(['a', 'c', OTHER_KEY])
    expect(top[2]).toMatchObject({ orders: 11, paid_orders: 11, paid_amount: 300 })
    // The input is left as it was.
    expect(s.map((x) => x.key)).toEqual(['a', 'b', 'c', 'd'])
    expect(topSlices([], 5, 'orders')).toEqual([])
  })

  it('lists states in the order an order goes through them, with their shares', () => {
    const rows = stateRows([
      { state: 'closed', orders: 1 }, { state: 'succeeded', orders: 6 }, { state: 'refunded', orders: 0 }, { state: 'awaiting_payment', orders: 1 },
    ])
    expect(rows.map((r) => r.state)).toEqual(['awaiting_payment', 'succeeded', 'closed'])
    expect(rows.map((r) => r.share)).toEqual([0.125, 0.75, 0.125])
    expect(stateRows([])).toEqual([])
  })

  it('names countries in the console language and escapes tooltip text', () => {
    expect(regionName('PH', 'en')).toBe('Philippines')
    expect(regionName('PH', 'zh-CN')).toBe('菲律宾')
    expect(regionName('unknown', 'en')).toBe('unknown')
    expect(escapeHtml('<b>A & "B"</b>')).toBe('&lt;b&gt;A &amp; &quot;B&quot;&lt;/b&gt;')
  })
})
