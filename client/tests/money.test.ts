import { describe, expect, it } from 'vitest'
import { exponentOf, formatMoney, formatMoneyShort, minorToDecimal } from '../src/utils/money'

describe('formatMoney', () => {
  it('shows CNY fen as yuan with the ¥ sign', () => {
    expect(formatMoney({ amount: 3000, currency: 'CNY' })).toBe('¥30.00')
    expect(formatMoney({ amount: 770, currency: 'CNY' })).toBe('¥7.70')
    expect(formatMoney({ amount: 5, currency: 'CNY' })).toBe('¥0.05')
    expect(formatMoney({ amount: 0, currency: 'CNY' })).toBe('¥0.00')
  })

  it('groups thousands and keeps the sign of discounts', () => {
    expect(formatMoney({ amount: 123456789, currency: 'CNY' })).toBe('¥1,234,567.89')
    expect(formatMoney({ amount: -500, currency: 'CNY' })).toBe('-¥5.00')
  })

  it('uses each currency’s own minor unit for face values', () => {
    expect(formatMoney({ amount: 5812, currency: 'PHP' })).toBe('PHP 58.12')
    expect(formatMoney({ amount: 2051400, currency: 'IDR' })).toBe('IDR 20,514.00')
    expect(formatMoney({ amount: 1500, currency: 'JPY' })).toBe('JPY 1,500')
    expect(formatMoney({ amount: 1500, currency: 'KWD' })).toBe('KWD 1.500')
    expect(formatMoney({ amount: 150000, currency: 'VND' })).toBe('VND 150,000')
  })

  it('never goes through floating point', () => {
    // 0.1 + 0.2 style errors would show here.
    expect(minorToDecimal(30, 2)).toBe('0.30')
    expect(minorToDecimal(9007199254740991, 2)).toBe('90,071,992,547,409.91')
    expect(() => minorToDecimal(1.5, 2)).toThrow(RangeError)
  })

  it('knows the exponents', () => {
    expect(exponentOf('cny')).toBe(2)
    expect(exponentOf('JPY')).toBe(0)
    expect(exponentOf('BHD')).toBe(3)
  })

  it('drops a zero fraction in short form (coupon terms)', () => {
    expect(formatMoneyShort({ amount: 1000, currency: 'CNY' })).toBe('¥10')
    expect(formatMoneyShort({ amount: 750, currency: 'CNY' })).toBe('¥7.50')
    expect(formatMoneyShort({ amount: 5, currency: 'CNY' })).toBe('¥0.05')
    expect(formatMoneyShort({ amount: -500, currency: 'CNY' })).toBe('-¥5')
    expect(formatMoneyShort({ amount: 500, currency: 'JPY' })).toBe('JPY 500')
  })
})
