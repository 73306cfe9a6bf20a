import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { CouponTerms, QuoteCoupon } from '../src/api/types'

const cny = (amount: number) => ({ amount, currency: 'CNY' })
const anywhere = { kinds: [], countries: [], operator_ids: [], plan_ids: [] }

function amountOff(off: number, threshold = 0): CouponTerms {
  return { kind: 'amount_off', amount_off: cny(off), percent_off: null, max_discount: null, threshold: cny(threshold), scope: anywhere }
}
function percentOff(percent: number, max: number | null = null, threshold = 0): CouponTerms {
  return {
    kind: 'percent_off',
    amount_off: null,
    percent_off: percent,
    max_discount: max === null ? null : cny(max),
    threshold: cny(threshold),
    scope: anywhere,
  }
}

function option(id: string, usable: boolean, discount: number | null, extra: Partial<QuoteCoupon> = {}): QuoteCoupon {
  return {
    coupon: {
      id,
      template_id: 't',
      name: `券${id}`,
      description: '',
      terms: amountOff(500, 1000),
      state: 'unused',
      valid_from: '2026-01-01T00:00:00Z',
      valid_to: '2026-02-01T00:00:00Z',
      claimed_at: '2026-01-01T00:00:00Z',
      order_no: null,
      discount: null,
    },
    usable,
    discount: discount === null ? null : cny(discount),
    reason: null,
    ...extra,
  }
}

describe('coupon words', () => {
  const storage = new Map<string, unknown>()
  beforeEach(() => {
    storage.clear()
    vi.resetModules()
    vi.stubGlobal('uni', {
      getStorageSync: (k: string) => storage.get(k) ?? '',
      setStorageSync: (k: string, v: unknown) => storage.set(k, v),
      setTabBarItem: vi.fn(),
      setNavigationBarTitle: vi.fn(),
    })
  })

  it('tells 折 from the percent off', async () => {
    const { zhe } = await import('../src/utils/coupons')
    expect(zhe(12)).toBe('8.8')
    expect(zhe(10)).toBe('9')
    expect(zhe(25)).toBe('7.5')
    expect(zhe(5)).toBe('9.5')
    expect(zhe(1)).toBe('9.9')
    expect(zhe(99)).toBe('0.1')
    expect(zhe(50)).toBe('5')
  })

  it('says the terms in Chinese', async () => {
    const { termsText, couponValue, conditionText } = await import('../src/utils/coupons')
    expect(termsText(amountOff(500, 1000))).toBe('满¥10减¥5')
    expect(termsText(amountOff(250))).toBe('立减¥2.50')
    expect(termsText(percentOff(12, 500))).toBe('8.8折 最多减¥5')
    expect(termsText(percentOff(12))).toBe('8.8折')
    expect(termsText(percentOff(20, 1000, 3000))).toBe('满¥30享8折 最多减¥10')
    expect(couponValue(amountOff(500, 1000))).toBe('¥5')
    expect(couponValue(percentOff(12, 500))).toBe('8.8折')
    expect(conditionText(amountOff(500, 1000))).toBe('满¥10可用')
    expect(conditionText(amountOff(500))).toBe('无门槛')
  })

  it('says the terms in English', async () => {
    const i18n = await import('../src/i18n')
    i18n.setLocale('en')
    const { termsText, couponValue } = await import('../src/utils/coupons')
    expect(termsText(amountOff(500, 1000))).toBe('¥5 off orders from ¥10')
    expect(termsText(amountOff(500))).toBe('¥5 off')
    expect(termsText(percentOff(12, 500))).toBe('12% off, up to ¥5')
    expect(termsText(percentOff(20, null, 3000))).toBe('20% off orders from ¥30')
    expect(couponValue(percentOff(12))).toBe('12% off')
  })

  it('names the scope only when it is limited', async () => {
    const { scopeText } = await import('../src/utils/coupons')
    expect(scopeText(amountOff(500))).toBe('')
    expect(scopeText({ ...amountOff(500), scope: undefined })).toBe('')
    expect(scopeText({ ...amountOff(500), scope: { countries: ['PH'] } })).toBe('仅限PH')
    expect(scopeText({ ...amountOff(500), scope: { ...anywhere, kinds: ['airtime'], countries: ['PH'] } })).toBe(
      '仅限话费 · PH',
    )
  })

  it('says why a coupon does not apply', async () => {
    const { reasonText } = await import('../src/utils/coupons')
    expect(reasonText({ code: 'below_threshold', message: 'below', shortfall: cny(300) })).toBe('差 ¥3.00 可用')
    expect(reasonText({ code: 'expired', message: 'expired' })).toBe('已过期')
    expect(reasonText({ code: 'not_yet_valid', message: 'x' })).toBe('未到使用时间')
    expect(reasonText({ code: 'out_of_scope', message: 'x' })).toBe('不适用于此套餐')
    expect(reasonText({ code: 'in_use', message: 'x' })).toBe('已被未支付的订单占用')
    // A code this client does not know yet: the server's own words.
    expect(reasonText({ code: 'used', message: 'x' })).toBe('已使用')
    expect(reasonText({ code: 'new_reason', message: 'server words' })).toBe('server words')
    expect(reasonText(null)).toBe('')
    const i18n = await import('../src/i18n')
    i18n.setLocale('en')
    expect(reasonText({ code: 'below_threshold', message: 'below', shortfall: cny(300) })).toBe('¥3.00 more to use')
  })

  it('tells validity windows', async () => {
    const { validityText } = await import('../src/utils/coupons')
    expect(validityText({ kind: 'days_after_claim', days: 7 })).toBe('领取后 7 天内有效')
    expect(validityText({ kind: 'fixed', from: 'a', to: 'b' })).toBe('a 至 b')
  })

  it('tells a held coupon its end, and its start while it has not begun', async () => {
    const { windowText } = await import('../src/utils/coupons')
    const { formatTime } = await import('../src/utils/time')
    const coupon = { valid_from: '2026-01-01T00:00:00Z', valid_to: '2026-02-01T00:00:00Z' }
    const to = formatTime(coupon.valid_to)
    expect(windowText(coupon, Date.parse('2026-01-15T00:00:00Z'))).toBe(`有效期至 ${to}`)
    expect(windowText(coupon, Date.parse('2025-12-15T00:00:00Z'))).toBe(
      `${formatTime(coupon.valid_from)} 至 ${to}`,
    )
  })
})

describe('pricing a choice', () => {
  beforeEach(() => {
    vi.resetModules()
    vi.stubGlobal('uni', { getStorageSync: () => '', setStorageSync: vi.fn() })
  })

  it('adds the coupon line and takes it off the total', async () => {
    const { pricedWith, usableOption } = await import('../src/utils/coupons')
    const base = [{ kind: 'base', label: 'Globe 100', amount: cny(1500) }]
    const options = [option('a', true, 500), option('b', false, null)]
    const priced = pricedWith(base, cny(1500), usableOption(options, 'a'))
    expect(priced.lines).toEqual([...base, { kind: 'coupon', label: '券a', amount: cny(-500) }])
    expect(priced.total).toEqual(cny(1000))
    // Not usable, unknown, or no coupon: the base price.
    expect(pricedWith(base, cny(1500), usableOption(options, 'b')).total).toEqual(cny(1500))
    expect(pricedWith(base, cny(1500), usableOption(options, 'zz')).lines).toEqual(base)
    expect(pricedWith(base, cny(1500), usableOption(options, null)).total).toEqual(cny(1500))
  })

  it('lists usable coupons first, the biggest saving first', async () => {
    const { sortOptions } = await import('../src/utils/coupons')
    const sorted = sortOptions([option('x', false, null), option('s', true, 100), option('b', true, 500)])
    expect(sorted.map((o) => o.coupon.id)).toEqual(['b', 's', 'x'])
  })
})
