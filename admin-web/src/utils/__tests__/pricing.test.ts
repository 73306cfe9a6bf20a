import { describe, expect, it } from 'vitest'
import { diffSnapshots } from '../diff'
import { costValue, markupFor, previewFen } from '../pricing'

describe('price preview', () => {
  it('computes cost × fx × (1 + markup), up to whole fen, then up to the step', () => {
    // 1 USD × 7.1 × 1.08 = 7.668 yuan = 766.8 fen → 767 → step 10 → 770
    expect(previewFen('1', '7.1', '0.08', 10)).toBe(770)
    expect(previewFen('1', '7.1', '0.08', 1)).toBe(767)
    expect(previewFen('2.5', '7', '0', 10)).toBe(1750)
    expect(previewFen('x', '7', '0', 10)).toBeNull()
    expect(previewFen('1', '7', '0', 0)).toBeNull()
  })
  it('picks the operator markup, else the country one, else the global one', () => {
    const rules = { markup: '0.08', country_markups: { PH: '0.1' }, operator_markups: { op1: '0.2' } }
    expect(markupFor(rules, 'PH', 'op1')).toBe('0.2')
    expect(markupFor(rules, 'PH', 'op2')).toBe('0.1')
    expect(markupFor(rules, 'ID', 'op2')).toBe('0.08')
    expect(costValue({ value: '1.5', currency: 'USD' })).toBe('1.5')
    expect(costValue({})).toBeNull()
  })
})

describe('operation log diff', () => {
  it('lists changed, added and removed fields by path', () => {
    const d = diffSnapshots({ name: 'a', staff: { enabled: true, sort: 1 }, gone: 1 }, { name: 'a', staff: { enabled: false, sort: 1 }, added: 'x' })
    expect(d).toEqual([
      { path: 'added', before: undefined, after: 'x' },
      { path: 'gone', before: 1, after: undefined },
      { path: 'staff.enabled', before: true, after: false },
    ])
    expect(diffSnapshots(null, null)).toEqual([])
  })
})
