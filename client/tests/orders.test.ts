import { describe, expect, it } from 'vitest'
import type { AppOrder } from '../src/api/types'
import { canAskRefund, hasMore, isFinal, phaseOf, refundReason } from '../src/utils/orders'

function order(patch: Partial<AppOrder>): AppOrder {
  return {
    order_no: '01',
    state: 'recharging',
    phone: '+639171234500',
    plan: { plan_id: 'p', kind: 'airtime', country: 'PH', operator_name: 'Globe', title: 'PHP 58.12' },
    price_lines: [],
    total: { amount: 770, currency: 'CNY' },
    created_at: '2026-12-05T00:00:00Z',
    pay_deadline: '2026-12-05T00:15:00Z',
    refunds: [],
    timeline: [],
    ...patch,
  } as AppOrder
}

describe('order phases', () => {
  it('shows a held order as delayed until it settles', () => {
    const delay = { since: '2026-12-05T00:01:00Z', code: 'provider_unavailable', message: 'delayed', refundable: true }
    expect(phaseOf(order({ state: 'recharging', delay }))).toBe('delayed')
    expect(canAskRefund(order({ state: 'recharging', delay }))).toBe(true)
    expect(canAskRefund(order({ state: 'recharging', delay: { ...delay, refundable: false } }))).toBe(false)
    expect(canAskRefund(order({ state: 'recharging' }))).toBe(false)
    expect(phaseOf(order({ state: 'refunded', delay }))).toBe('refunded')
    expect(phaseOf(order({ state: 'failed' }))).toBe('refunding')
    expect(phaseOf(order({ state: 'awaiting_payment' }))).toBe('unpaid')
  })

  it('knows which states are final', () => {
    expect(isFinal(order({ state: 'succeeded' }))).toBe(true)
    expect(isFinal(order({ state: 'refunding' }))).toBe(false)
  })

  it('takes the refund reason from the latest step that explains it', () => {
    const steps = (...codes: AppOrder['timeline'][number]['code'][]) =>
      codes.map((code, i) => ({ at: `2026-12-05T00:0${i}:00Z`, code }))
    const declined = order({
      state: 'refunded',
      timeline: steps('order_placed', 'paid', 'recharge_started', 'recharge_failed', 'automatic_refund_requested', 'refunded'),
    })
    expect(refundReason(declined)).toBe('result.reasonRechargeFailed')
    const asked = order({ state: 'refunded', timeline: steps('order_placed', 'paid', 'held', 'refund_requested', 'refunded') })
    expect(refundReason(asked)).toBe('result.reasonRequested')
    const late = order({ state: 'refunded', timeline: steps('order_placed', 'closed_unpaid', 'paid_after_close', 'refunded') })
    expect(refundReason(late)).toBe('result.reasonPaidLate')
    // Without a step that says why: the usual reason.
    expect(refundReason(order({ state: 'refunded' }))).toBe('result.reasonRechargeFailed')
  })
})

describe('my orders list', () => {
  it('offers more while the total is capped or not yet reached, and ends on an exact total', () => {
    expect(hasMore(20, { total: 20, total_capped: true })).toBe(true)
    expect(hasMore(20, { total: 25, total_capped: false })).toBe(true)
    expect(hasMore(25, { total: 25, total_capped: false })).toBe(false)
    expect(hasMore(0, { total: 0, total_capped: false })).toBe(false)
  })
})
