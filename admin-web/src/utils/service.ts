/** The customer service page's rules (questions by category, contacts, the server's reasons), kept free of Vue so they test in isolation. */

import type { ContactKind } from '@/api/types'

/** The server's bounds (characters, or items for the lists). */
export const MAX_FAQS = 100
export const MAX_CONTACTS = 10
export const FAQ_MAX = { category: 20, question: 100, answer_html: 5000 } as const
export const CONTACT_MAX = { label: 20, value: 100 } as const
export const WORKING_HOURS_MAX = 100
export const CONTACT_KINDS: readonly ContactKind[] = ['phone', 'wechat', 'email', 'online']

/** An item of an edited list; `key` follows it through moves, so the server's answer by index lands on it. */
export interface Keyed<T> {
  key: number
  item: T
}

interface HasCategory {
  category: string
}

/** How a category is compared: the server trims what it saves. */
export const categoryName = (c: string): string => c.trim()

export interface FaqGroup<T> {
  category: string
  /** The group's questions in list order, with their place in the whole list. */
  entries: { index: number; key: number; item: T }[]
}

/** The questions grouped by category, groups in first-appearance order: as the app shows them. */
export function groupFaqs<T extends HasCategory>(list: readonly Keyed<T>[]): FaqGroup<T>[] {
  const groups = new Map<string, FaqGroup<T>>()
  list.forEach(({ key, item }, index) => {
    const name = categoryName(item.category)
    let g = groups.get(name)
    if (!g) {
      g = { category: name, entries: [] }
      groups.set(name, g)
    }
    g.entries.push({ index, key, item })
  })
  return [...groups.values()]
}

/**
 * The list with the question at `index` swapped with its neighbour in the same category
 * (`dir` -1: the one above, 1: the one below); unchanged when there is none.
 */
export function moveWithinCategory<T extends HasCategory>(list: readonly T[], index: number, dir: -1 | 1): T[] {
  const out = [...list]
  const here = out[index]
  if (!here) return out
  const name = categoryName(here.category)
  for (let j = index + dir; j >= 0 && j < out.length; j += dir) {
    const other = out[j] as T
    if (categoryName(other.category) === name) {
      out[index] = other
      out[j] = here
      break
    }
  }
  return out
}

/**
 * The list with the group of `category` moved one place among the groups (`dir` -1: up, 1: down).
 * The result lists each group's questions together, in their order.
 */
export function moveCategory<T extends HasCategory>(list: readonly Keyed<T>[], category: string, dir: -1 | 1): Keyed<T>[] {
  const groups = groupFaqs(list)
  const at = groups.findIndex((g) => g.category === categoryName(category))
  const to = at + dir
  if (at >= 0 && to >= 0 && to < groups.length) {
    const [g] = groups.splice(at, 1) as [FaqGroup<T>]
    groups.splice(to, 0, g)
  }
  return groups.flatMap((g) => g.entries.map(({ key, item }) => ({ key, item })))
}

/** Where a new question of `category` goes: after that category's last question, or at the end. */
export function insertIndex<T extends HasCategory>(list: readonly T[], category: string): number {
  const name = categoryName(category)
  for (let i = list.length - 1; i >= 0; i--) if (categoryName((list[i] as T).category) === name) return i + 1
  return list.length
}

/** The list with every question of category `from` moved to category `to`. */
export function renameCategory<T extends HasCategory>(list: readonly T[], from: string, to: string): T[] {
  const name = categoryName(from)
  return list.map((f) => (categoryName(f.category) === name ? { ...f, category: to } : f))
}

/** A field's reasons, by field name. */
export type FieldReasons = Readonly<Record<string, string>>

/** `details.fields` of a refused save: on the list items they name (by key), and the rest by path. */
export interface ListErrors {
  /** For each list (`faqs`), its items' reasons by key and field. */
  items: Record<string, Map<number, FieldReasons>>
  /** Reasons not about one item: `working_hours`, a whole list (`faqs`: too many), or an item no longer there. */
  rest: Record<string, string>
}

const ITEM_PATH = /^([A-Za-z_]+)\[(\d+)\]\.([A-Za-z_]+)(?:\[\d+\])?$/

/**
 * Puts the server's field paths (`faqs[3].question`, `contacts[0].label`) on the items they name.
 * `lists` gives, for each list, its items' keys in the order they were sent, so a reason lands
 * on its item even if the list was reordered while saving.
 */
export function listErrors(fields: Readonly<Record<string, readonly string[]>>, lists: Readonly<Record<string, readonly number[]>>): ListErrors {
  const out: ListErrors = { items: {}, rest: {} }
  for (const name of Object.keys(lists)) out.items[name] = new Map()
  for (const [path, reasons] of Object.entries(fields)) {
    const reason = reasons.join('; ')
    const m = ITEM_PATH.exec(path)
    const list = m ? out.items[m[1] as string] : undefined
    const key = m && list ? lists[m[1] as string]?.[Number(m[2])] : undefined
    if (m && list && key !== undefined) {
      const field = m[3] as string
      const had = list.get(key) ?? {}
      list.set(key, { ...had, [field]: had[field] ? `${had[field]}; ${reason}` : reason })
    } else {
      out.rest[path] = out.rest[path] ? `${out.rest[path]}; ${reason}` : reason
    }
  }
  return out
}
