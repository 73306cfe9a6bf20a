import { describe, expect, it } from 'vitest'
import { fenToYuanInput, formatFen, formatMoney, parseYuan, refundableFen } from '../money'

describe('money', () => {
  it('formats integer fen as yuan with two decimals', () => {
    expect(formatMoney({ amount: 3000, currency: 'CNY' })).toBe('¥30.00')
    expect(formatMoney({ amount: 5, currency: 'CNY' })).toBe('¥0.05')
    expect(formatMoney({ amount: 123456789, currency: 'CNY' })).toBe('¥1,234,567.89')
    expect(formatMoney({ amount: -150, currency: 'CNY' })).toBe('-¥1.50')
    expect(formatMoney({ amount: 5812, currency: 'PHP' })).toBe('58.12 PHP')
    expect(formatMoney(null)).toBe('—')
    expect(formatFen(1.5)).toBe('—')
  })

  it('parses what staff type in yuan into fen without floats', () => {
    expect(parseYuan('12')).toEqual({ ok: true, fen: 1200 })
    expect(parseYuan('12.5')).toEqual({ ok: true, fen: 1250 })
    expect(parseYuan(' 0.07 ')).toEqual({ ok: true, fen: 7 })
    // 0.1 + 0.2 style float errors cannot happen: 19.99 is exactly 1999 fen.
    expect(parseYuan('19.99')).toEqual({ ok: true, fen: 1999 })
    expect(parseYuan('1.234')).toEqual({ ok: false, reason: 'format' })
    expect(parseYuan('-1')).toEqual({ ok: false, reason: 'format' })
    expect(parseYuan('1e3')).toEqual({ ok: false, reason: 'format' })
    expect(parseYuan('1,000')).toEqual({ ok: false, reason: 'format' })
    expect(parseYuan('')).toEqual({ ok: false, reason: 'format' })
    expect(parseYuan('0.00')).toEqual({ ok: false, reason: 'positive' })
  })

  it('prefills inputs and computes what is still refundable', () => {
    expect(fenToYuanInput(123456)).toBe('1234.56')
    const total = { amount: 770, currency: 'CNY' }
    expect(refundableFen(total, [])).toBe(770)
    expect(refundableFen(total, [
      { amount: { amount: 150, currency: 'CNY' }, state: 'succeeded' },
      { amount: { amount: 100, currency: 'CNY' }, state: 'requested' },
      { amount: { amount: 500, currency: 'CNY' }, state: 'failed' },
    ])).toBe(520)
  })
})
