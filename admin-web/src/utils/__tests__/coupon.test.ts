import { describe, expect, it } from 'vitest'
import { discountFen, parseYuanOrZero, zheOf } from '../coupon'

const cny = (amount: number) => ({ amount, currency: 'CNY' })

describe('coupon discount', () => {
  it('takes an amount off at or above the threshold only', () => {
    const terms = { kind: 'amount_off' as const, amount_off: cny(500), threshold: cny(1000) }
    expect(discountFen(terms, 5000)).toBe(500)
    expect(discountFen(terms, 1000)).toBe(500)
    expect(discountFen(terms, 999)).toBe(0)
  })

  it('takes a floored percentage, at most the cap', () => {
    const terms = { kind: 'percent_off' as const, percent_off: 12, max_discount: cny(300), threshold: cny(0) }
    expect(discountFen(terms, 1000)).toBe(120)
    expect(discountFen(terms, 1999)).toBe(239) // 239.88 floored
    expect(discountFen(terms, 5000)).toBe(300)
    expect(discountFen({ ...terms, max_discount: null }, 5000)).toBe(600)
  })

  it('always leaves one fen to pay', () => {
    expect(discountFen({ kind: 'amount_off', amount_off: cny(1000), threshold: cny(0) }, 800)).toBe(799)
    expect(discountFen({ kind: 'percent_off', percent_off: 99, threshold: cny(0) }, 1)).toBe(0)
    expect(discountFen({ kind: 'amount_off', amount_off: cny(100), threshold: cny(0) }, 0)).toBe(0)
  })

  it('reads a threshold in yuan, empty or zero meaning none', () => {
    expect(parseYuanOrZero('')).toEqual({ ok: true, fen: 0 })
    expect(parseYuanOrZero('0.00')).toEqual({ ok: true, fen: 0 })
    expect(parseYuanOrZero('10')).toEqual({ ok: true, fen: 1000 })
    expect(parseYuanOrZero('9.99')).toEqual({ ok: true, fen: 999 })
    expect(parseYuanOrZero('1.234')).toEqual({ ok: false, reason: 'format' })
  })

  it('names a percentage the Chinese way', () => {
    expect(zheOf(12)).toBe('8.8')
    expect(zheOf(50)).toBe('5')
    expect(zheOf(5)).toBe('9.5')
  })
})
