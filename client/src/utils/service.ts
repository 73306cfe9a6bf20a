import type { AppFaqCategory, ContactKind } from '../api/types'

/** What tapping a contact does: call the number, copy the id or address, or open WeChat's chat. */
export type ContactAction = 'call' | 'copy' | 'chat'

export function contactAction(kind: ContactKind): ContactAction {
  switch (kind) {
    case 'phone':
      return 'call'
    case 'online':
      return 'chat'
    default:
      return 'copy'
  }
}

/** A phone number as `makePhoneCall` dials it: digits and a leading `+` only. */
export function dialable(value: string): string {
  const trimmed = value.trim()
  const digits = trimmed.replace(/[^\d]/g, '')
  return trimmed.startsWith('+') && digits ? `+${digits}` : digits
}

/** The categories that have a question, in the order staff wrote them. */
export function visibleCategories(categories: readonly AppFaqCategory[]): AppFaqCategory[] {
  return categories.filter((c) => c.faqs.length > 0)
}

/** A question's place on the page, as the key of its open state. */
export function faqKey(category: number, question: number): string {
  return `${category}.${question}`
}

/** The open questions after a tap on `key`: opened when closed, closed when open. */
export function toggled(open: readonly string[], key: string): string[] {
  return open.includes(key) ? open.filter((k) => k !== key) : [...open, key]
}

/** The same questions in the same places (open answers stay open across a refresh only then). */
export function sameQuestions(
  a: readonly AppFaqCategory[] | undefined,
  b: readonly AppFaqCategory[] | undefined,
): boolean {
  const shape = (list: readonly AppFaqCategory[] | undefined) =>
    visibleCategories(list ?? []).map((c) => [c.name, ...c.faqs.map((f) => f.question)].join('\u0000'))
  const [x, y] = [shape(a), shape(b)]
  return x.length === y.length && x.every((line, i) => line === y[i])
}
