import { describe, expect, it } from 'vitest'
import { bundleLines, bundleProblem, canRefundMembership } from '../membership'

describe('membership', () => {
  it('refunds paid orders and failed refunds only', () => {
    expect(canRefundMembership('paid')).toBe(true)
    expect(canRefundMembership('refund_failed')).toBe(true)
    for (const s of ['awaiting_payment', 'closed', 'refunding', 'refunded']) expect(canRefundMembership(s)).toBe(false)
  })

  it('checks a bundle as the server does', () => {
    expect(bundleProblem([])).toBeNull()
    expect(bundleProblem([{ template_id: 'a', count: 1 }, { template_id: 'b', count: 10 }])).toBeNull()
    expect(bundleProblem([{ template_id: undefined, count: 1 }])).toBe('template')
    expect(bundleProblem([{ template_id: 'a', count: 0 }])).toBe('count')
    expect(bundleProblem([{ template_id: 'a', count: 11 }])).toBe('count')
    expect(bundleProblem([{ template_id: 'a', count: 1.5 }])).toBe('count')
    expect(bundleProblem([{ template_id: 'a', count: null }])).toBe('count')
    expect(bundleProblem([{ template_id: 'a', count: 1 }, { template_id: 'a', count: 2 }])).toBe('duplicate')
    expect(bundleProblem(Array.from({ length: 11 }, (_, i) => ({ template_id: String(i), count: 1 })))).toBe('too_many')
  })

  it('names bundle lines, keeping unknown ids', () => {
    const names = new Map([['a', '¥5 off']])
    expect(bundleLines([{ template_id: 'a', count: 2 }, { template_id: 'zz', count: 1 }], names)).toEqual([
      { id: 'a', name: '¥5 off', count: 2, known: true },
      { id: 'zz', name: 'zz', count: 1, known: false },
    ])
  })
})
