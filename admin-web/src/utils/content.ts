/** Content rules the console needs (home page components, their errors, display windows), kept free of Vue so they test in isolation. */

import type { HomeComponent, HomeComponentType } from '@/api/types'

/** The kinds, in the order the palette offers them. */
export const COMPONENT_TYPES: readonly HomeComponentType[] = [
  'topup_form', 'banner_carousel', 'notice_bar', 'country_grid', 'hot_plans', 'coupon_entry', 'membership_entry', 'rich_text', 'spacer',
]
/** The server's bound on one page. */
export const MAX_COMPONENTS = 30

/** How a property is edited. */
export type PropInput = 'text' | 'number' | 'countries' | 'plans' | 'html' | 'columns'
export interface PropSpec {
  prop: string
  input: PropInput
  /** Bounds as the server checks them: characters for text, the value for numbers, items for lists. */
  min?: number
  max?: number
}

const ENTRY: readonly PropSpec[] = [{ prop: 'title', input: 'text', min: 1, max: 20 }, { prop: 'subtitle', input: 'text', max: 40 }]

/** Each kind's properties, in the order the form shows them. */
export const COMPONENT_PROPS: Readonly<Record<HomeComponentType, readonly PropSpec[]>> = {
  topup_form: [],
  banner_carousel: [{ prop: 'position', input: 'text', min: 1, max: 20 }, { prop: 'interval_seconds', input: 'number', min: 2, max: 30 }],
  notice_bar: [{ prop: 'limit', input: 'number', min: 1, max: 10 }],
  country_grid: [{ prop: 'title', input: 'text', max: 20 }, { prop: 'countries', input: 'countries', min: 1, max: 24 }, { prop: 'columns', input: 'columns', min: 3, max: 5 }],
  hot_plans: [{ prop: 'title', input: 'text', max: 20 }, { prop: 'plan_ids', input: 'plans', min: 1, max: 20 }],
  coupon_entry: ENTRY,
  membership_entry: ENTRY,
  rich_text: [{ prop: 'html', input: 'html', max: 20_000 }],
  spacer: [{ prop: 'height', input: 'number', min: 4, max: 200 }],
}

/** The texts a new card or rich text starts with (in the language staff work in). */
export interface StarterTexts {
  couponTitle: string
  couponSubtitle: string
  membershipTitle: string
  membershipSubtitle: string
  richText: string
}

/** A new component of `type` with the server's defaults (lists start empty: staff choose). */
export function newComponent(type: HomeComponentType, texts: StarterTexts): HomeComponent {
  switch (type) {
    case 'topup_form': return { type }
    case 'banner_carousel': return { type, position: 'home', interval_seconds: 5 }
    case 'notice_bar': return { type, limit: 3 }
    case 'country_grid': return { type, title: '', countries: [], columns: 4 }
    case 'hot_plans': return { type, title: '', plan_ids: [] }
    case 'coupon_entry': return { type, title: texts.couponTitle, subtitle: texts.couponSubtitle }
    case 'membership_entry': return { type, title: texts.membershipTitle, subtitle: texts.membershipSubtitle }
    case 'rich_text': return { type, html: texts.richText }
    case 'spacer': return { type, height: 16 }
  }
}

/** Whether one more component of `type` may be added to `list`. */
export function canAdd(list: readonly HomeComponent[], type: HomeComponentType): boolean {
  if (list.length >= MAX_COMPONENTS) return false
  return type !== 'topup_form' || !list.some((c) => c.type === 'topup_form')
}

/** A property's value, read by name (the form is driven by COMPONENT_PROPS). */
export function propValue(c: HomeComponent, prop: string): unknown {
  return (c as Readonly<Record<string, unknown>>)[prop]
}

/** `c` with `prop` set to `value` (a new object: the list's items are replaced, never changed in place). */
export function withProp(c: HomeComponent, prop: string, value: unknown): HomeComponent {
  return { ...c, [prop]: value } as HomeComponent
}

/** `list` with the item at `from` moved so that it ends up at index `to`. */
export function moveItem<T>(list: readonly T[], from: number, to: number): T[] {
  const out = [...list]
  if (from < 0 || from >= out.length) return out
  const [item] = out.splice(from, 1) as [T]
  out.splice(Math.max(0, Math.min(to, out.length)), 0, item)
  return out
}

/** Where an item dragged from `from` lands when dropped on row `over`, before or after it. */
export function dropIndex(from: number, over: number, after: boolean): number {
  const slot = over + (after ? 1 : 0)
  return from < slot ? slot - 1 : slot
}

/** A property's reasons, by property name (`countries[2]` is reported against `countries`). */
export type PropErrors = Readonly<Record<string, string>>

/** `details.fields` of a refused page, put on the components (by their keys) and the page as a whole. */
export interface PageErrors {
  /** Reasons about the whole page (`components`: none or two top-up forms, too many), or a place no longer in the list. */
  page: string[]
  items: Map<number, PropErrors>
}

const COMPONENT_PATH = /^components\[(\d+)\]\.([A-Za-z_]+)(?:\[\d+\])?$/

/**
 * Puts the server's field paths (`components[2].height`, `components`) on the components they
 * name. `keys` are the components' keys in the order they were sent, so an answer still lands on
 * its component after the list was reordered.
 */
export function componentErrors(fields: Readonly<Record<string, readonly string[]>>, keys: readonly number[]): PageErrors {
  const out: PageErrors = { page: [], items: new Map() }
  for (const [path, reasons] of Object.entries(fields)) {
    const reason = reasons.join('; ')
    const m = COMPONENT_PATH.exec(path)
    const key = m ? keys[Number(m[1])] : undefined
    if (m && key !== undefined) {
      const prop = m[2] as string
      const had = out.items.get(key) ?? {}
      out.items.set(key, { ...had, [prop]: had[prop] ? `${had[prop]}; ${reason}` : reason })
    } else {
      out.page.push(path === 'components' ? reason : `${path}: ${reason}`)
    }
  }
  return out
}

/** Whether users see something with this window now. */
export type WindowState = 'showing' | 'scheduled' | 'ended' | 'disabled'

export function windowState(enabled: boolean, startsAt: string | null | undefined, endsAt: string | null | undefined, now: number): WindowState {
  if (!enabled) return 'disabled'
  if (startsAt && Date.parse(startsAt) > now) return 'scheduled'
  if (endsAt && Date.parse(endsAt) <= now) return 'ended'
  return 'showing'
}

/** Whether an image address is one the server takes: http(s), or a path on it. */
export function isImageUrl(url: string): boolean {
  const u = url.trim()
  return (/^https?:\/\/\S+$/.test(u) || /^\/\S*$/.test(u)) && !/["<]/.test(u)
}
