import { describe, expect, it } from 'vitest'
import type { AppFaqCategory } from '../src/api/types'
import {
  contactAction,
  dialable,
  faqKey,
  sameQuestions,
  toggled,
  visibleCategories,
} from '../src/utils/service'

const faq = (question: string) => ({ question, answer_html: `<p>${question}</p>` })

describe('contactAction', () => {
  it('calls phones, copies WeChat ids and addresses, chats online', () => {
    expect(contactAction('phone')).toBe('call')
    expect(contactAction('wechat')).toBe('copy')
    expect(contactAction('email')).toBe('copy')
    expect(contactAction('online')).toBe('chat')
  })
})

describe('dialable', () => {
  it('keeps digits and a leading plus', () => {
    expect(dialable('400-820 8820')).toBe('4008208820')
    expect(dialable(' +86 (21) 6888-0000 ')).toBe('+862168880000')
    expect(dialable('ext. 12')).toBe('12')
    expect(dialable('+')).toBe('')
  })
})

describe('questions', () => {
  const categories: AppFaqCategory[] = [
    { name: '充值', faqs: [faq('多久到账？'), faq('充错号码怎么办？')] },
    { name: '空的', faqs: [] },
    { name: '退款', faqs: [faq('多久退回？')] },
  ]

  it('hides categories without a question, in staff order', () => {
    expect(visibleCategories(categories).map((c) => c.name)).toEqual(['充值', '退款'])
  })

  it('opens and closes a question on a tap, others staying as they are', () => {
    const a = faqKey(0, 1)
    const b = faqKey(1, 0)
    expect(a).not.toBe(b)
    let open: string[] = []
    open = toggled(open, a)
    open = toggled(open, b)
    expect(open).toEqual([a, b])
    open = toggled(open, a)
    expect(open).toEqual([b])
  })

  it('knows when the questions moved', () => {
    expect(sameQuestions(categories, structuredClone(categories))).toBe(true)
    // An empty category changes nothing on the page.
    expect(sameQuestions(categories, categories.filter((c) => c.faqs.length))).toBe(true)
    const reordered = [categories[2], categories[0]]
    expect(sameQuestions(categories, reordered)).toBe(false)
    const renamed = [{ ...categories[0], faqs: [faq('多久到账？'), faq('别的问题')] }, categories[2]]
    expect(sameQuestions(categories, renamed)).toBe(false)
    expect(sameQuestions(undefined, [])).toBe(true)
    expect(sameQuestions(undefined, categories)).toBe(false)
  })
})
