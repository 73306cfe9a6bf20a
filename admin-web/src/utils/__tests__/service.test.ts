import { describe, expect, it } from 'vitest'
import { groupFaqs, insertIndex, listErrors, moveCategory, moveWithinCategory, renameCategory, type Keyed } from '../service'

interface F { category: string; question: string }
const f = (category: string, question: string): F => ({ category, question })
const keyed = (list: F[]): Keyed<F>[] => list.map((item, i) => ({ key: i + 10, item }))
const LIST = [f('Pay', 'p1'), f('Other', 'o1'), f(' Pay ', 'p2'), f('Refund', 'r1'), f('Other', 'o2')]
const questions = (list: readonly F[]) => list.map((x) => x.question).join(',')

describe('questions by category', () => {
  it('groups in first-appearance order, as the app does, trimming names', () => {
    const groups = groupFaqs(keyed(LIST))
    expect(groups.map((g) => g.category)).toEqual(['Pay', 'Other', 'Refund'])
    expect(groups[0]?.entries.map((e) => [e.index, e.key, e.item.question])).toEqual([[0, 10, 'p1'], [2, 12, 'p2']])
    expect(groupFaqs([])).toEqual([])
  })

  it('moves a question past its neighbour in the same category only', () => {
    expect(questions(moveWithinCategory(LIST, 2, -1))).toBe('p2,o1,p1,r1,o2')
    expect(questions(moveWithinCategory(LIST, 1, 1))).toBe('p1,o2,p2,r1,o1')
    // No neighbour of its category that way: unchanged.
    expect(questions(moveWithinCategory(LIST, 0, -1))).toBe('p1,o1,p2,r1,o2')
    expect(questions(moveWithinCategory(LIST, 3, 1))).toBe('p1,o1,p2,r1,o2')
    expect(questions(moveWithinCategory(LIST, 9, 1))).toBe('p1,o1,p2,r1,o2')
  })

  it('moves a whole category among the others, keeping keys and the order inside', () => {
    const down = moveCategory(keyed(LIST), 'Pay', 1)
    expect(questions(down.map((k) => k.item))).toBe('o1,o2,p1,p2,r1')
    expect(down.map((k) => k.key)).toEqual([11, 14, 10, 12, 13])
    expect(questions(moveCategory(keyed(LIST), 'Refund', -1).map((k) => k.item))).toBe('p1,p2,r1,o1,o2')
    // Past either end: only gathered.
    expect(questions(moveCategory(keyed(LIST), 'Pay', -1).map((k) => k.item))).toBe('p1,p2,o1,o2,r1')
  })

  it('adds a question after the last of its category', () => {
    expect(insertIndex(LIST, 'Pay')).toBe(3)
    expect(insertIndex(LIST, 'Other')).toBe(5)
    expect(insertIndex(LIST, 'New')).toBe(5)
  })

  it('renames a category for all of its questions', () => {
    expect(renameCategory(LIST, 'Pay', 'Payment').map((x) => x.category)).toEqual(['Payment', 'Other', 'Payment', 'Refund', 'Other'])
  })
})

describe("the server's reasons", () => {
  it('puts faqs[i].x and contacts[i].x on the items sent at i, by key', () => {
    const e = listErrors(
      { 'faqs[3].question': ['1–100 characters'], 'faqs[3].answer_html': ['must not be empty'], 'contacts[0].label': ['1–20 characters'], working_hours: ['0–100 characters'] },
      { faqs: [7, 8, 9, 4], contacts: [2] },
    )
    expect(e.items.faqs?.get(4)).toEqual({ question: '1–100 characters', answer_html: 'must not be empty' })
    expect(e.items.faqs?.size).toBe(1)
    expect(e.items.contacts?.get(2)).toEqual({ label: '1–20 characters' })
    expect(e.rest).toEqual({ working_hours: '0–100 characters' })
  })

  it('keeps whole-list reasons and items no longer there as they came', () => {
    const e = listErrors({ faqs: ['at most 100 questions'], 'faqs[5].question': ['x'], 'other[0].y': ['z'] }, { faqs: [1, 2] })
    expect(e.items.faqs?.size).toBe(0)
    expect(e.rest).toEqual({ faqs: 'at most 100 questions', 'faqs[5].question': 'x', 'other[0].y': 'z' })
  })
})
