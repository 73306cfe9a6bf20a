import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { AppMembershipOrder, PriceLine } from '../src/api/types'

const cny = (amount: number) => ({ amount, currency: 'CNY' })

function order(extra: Partial<AppMembershipOrder> = {}): AppMembershipOrder {
  return {
    id: 'm1',
    plan_id: 'p1',
    plan_name: 'Gold',
    amount: cny(990),
    state: 'awaiting_payment',
    created_at: '2026-01-01T00:00:00Z',
    paid_at: null,
    granted: false,
    granted_until: null,
    ...extra,
  }
}

describe('membership words', () => {
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

  it('tells the discount as 折 the way shoppers say it', async () => {
    const { memberZhe } = await import('../src/utils/membership')
    expect(memberZhe(2)).toBe('98')
    expect(memberZhe(5)).toBe('95')
    expect(memberZhe(12)).toBe('88')
    expect(memberZhe(10)).toBe('9')
    expect(memberZhe(20)).toBe('8')
    expect(memberZhe(50)).toBe('5')
    expect(memberZhe(1)).toBe('99')
  })

  it('says the discount in Chinese and in English, nothing without one', async () => {
    const i18n = await import('../src/i18n')
    const { discountText } = await import('../src/utils/membership')
    expect(discountText(2)).toBe('充值享 98 折')
    expect(discountText(10)).toBe('充值享 9 折')
    expect(discountText(0)).toBe('')
    i18n.setLocale('en')
    expect(discountText(2)).toBe('2% off every top-up')
    expect(discountText(15)).toBe('15% off every top-up')
    expect(discountText(0)).toBe('')
  })

  it('says how long a plan lasts', async () => {
    const i18n = await import('../src/i18n')
    const { durationText } = await import('../src/utils/membership')
    expect(durationText(30)).toBe('30 天')
    expect(durationText(1)).toBe('1 天')
    expect(durationText(365)).toBe('1 年')
    expect(durationText(730)).toBe('2 年')
    expect(durationText(400)).toBe('400 天')
    expect(durationText(null)).toBe('终身')
    expect(durationText(undefined)).toBe('终身')
    i18n.setLocale('en')
    expect(durationText(30)).toBe('30 days')
    expect(durationText(1)).toBe('1 day')
    expect(durationText(365)).toBe('1 year')
    expect(durationText(1095)).toBe('3 years')
    expect(durationText(null)).toBe('Lifetime')
  })

  it('says when a membership ends, has ended, or that it never does', async () => {
    const i18n = await import('../src/i18n')
    const { endsText } = await import('../src/utils/membership')
    const { formatTime } = await import('../src/utils/time')
    const ends = '2026-02-04T08:30:00Z'
    expect(endsText({ active: true, ends_at: ends })).toBe(`有效期至 ${formatTime(ends)}`)
    expect(endsText({ active: false, ends_at: ends })).toBe(`已于 ${formatTime(ends)} 到期`)
    expect(endsText({ active: true, ends_at: null })).toBe('终身有效')
    i18n.setLocale('en')
    expect(endsText({ active: true, ends_at: ends })).toBe(`Valid until ${formatTime(ends)}`)
    expect(endsText({ active: false, ends_at: ends })).toBe(`Expired on ${formatTime(ends)}`)
    expect(endsText({ active: true, ends_at: null })).toBe('Valid for life')
  })

  it('counts the monthly coupon bundle', async () => {
    const { bundleCount, bundleText } = await import('../src/utils/membership')
    expect(bundleCount([])).toBe(0)
    expect(bundleText([])).toBe('')
    expect(bundleText(null)).toBe('')
    const bundle = [
      { template_id: 'a', count: 2 },
      { template_id: 'b', count: 1 },
    ]
    expect(bundleCount(bundle)).toBe(3)
    expect(bundleText(bundle)).toBe('开通即送 3 张优惠券，之后每 30 天再送')
  })

  it('follows an order until it is paid and granted', async () => {
    const { isSettled, progressOf, progressText } = await import('../src/utils/membership')
    const { formatTime } = await import('../src/utils/time')
    expect(progressOf(order())).toBe('confirming')
    expect(progressOf(order({ state: 'paid' }))).toBe('granting')
    const until = '2026-02-04T08:30:00Z'
    const done = order({ state: 'paid', granted: true, granted_until: until })
    expect(progressOf(done)).toBe('done')
    expect(progressText(done)).toBe(`Gold 会员已开通，有效期至 ${formatTime(until)}`)
    expect(progressText(order({ state: 'paid', granted: true }))).toBe('Gold 会员已开通，终身有效')
    expect(progressOf(order({ state: 'closed' }))).toBe('closed')
    expect(progressText(order({ state: 'closed' }))).toBe('订单已关闭，未扣款')
    expect(progressOf(order({ state: 'refunded', granted: true }))).toBe('refunded')
    expect(isSettled('confirming')).toBe(false)
    expect(isSettled('granting')).toBe(false)
    for (const settled of ['done', 'closed', 'refunding', 'refunded', 'refund_failed'] as const) {
      expect(isSettled(settled)).toBe(true)
    }
  })

  it('labels the price lines by kind', async () => {
    const i18n = await import('../src/i18n')
    const { lineLabel } = await import('../src/utils/priceLines')
    const line = (kind: string, label: string): PriceLine => ({ kind, label, amount: cny(-100) })
    expect(lineLabel(line('base', '50 PHP'))).toBe('50 PHP')
    expect(lineLabel(line('membership', 'Gold'))).toBe('会员折扣 · Gold')
    expect(lineLabel(line('coupon', '满10减5'))).toBe('优惠券 · 满10减5')
    expect(lineLabel(line('future', 'Something'))).toBe('Something')
    i18n.setLocale('en')
    expect(lineLabel(line('membership', 'Gold'))).toBe('Member discount · Gold')
  })
})
