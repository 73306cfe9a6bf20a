/** Message-template and delivery rules the console needs, kept free of Vue so they test in isolation. */

import type { AlertDeliveryState, DeliveryState, NoticeCounts, NoticeEvent, StaffAlertKind } from '@/api/types'

/** The events, in the order they happen (the server lists them so too). */
export const NOTICE_EVENTS: readonly NoticeEvent[] = ['payment_succeeded', 'recharge_succeeded', 'recharge_failed_refunded', 'refund_succeeded', 'membership_activated']
export const DELIVERY_STATES: readonly DeliveryState[] = ['queued', 'sending', 'sent', 'skipped', 'failed']
/** Staff alerts: what raised them, and what became of each message. */
export const ALERT_KINDS: readonly StaffAlertKind[] = ['payment', 'held_order', 'reconciliation', 'test']
export const ALERT_STATES: readonly AlertDeliveryState[] = ['queued', 'sending', 'sent', 'not_delivered', 'failed']

/** A template message's values in the template's order (`thing1`, `character_string2`, `time3`). */
export function dataLine(data: Record<string, string>): string {
  const order = (key: string) => Number(/\d+$/.exec(key)?.[0] ?? Number.MAX_SAFE_INTEGER)
  return Object.keys(data).sort((a, b) => order(a) - order(b)).map((k) => data[k]).join(' · ')
}

/** Why a staff alert was not (yet) delivered, with WeChat's errcode unless the reason names it. */
export function alertError(d: { error?: string | null; errcode?: number | null }): string {
  if (!d.error) return '—'
  return d.errcode != null && !d.error.includes(String(d.errcode)) ? `${d.errcode}: ${d.error}` : d.error
}

/** How many of a test alert's messages went out. */
export function sentCount(deliveries: readonly { state: AlertDeliveryState }[]): number {
  return deliveries.filter((d) => d.state === 'sent').length
}
/** What WeChat's `miniprogram_state` and `lang` take. */
export const MINIPROGRAM_STATES = ['developer', 'trial', 'formal'] as const
export const TEMPLATE_LANGS = ['zh_CN', 'en_US', 'zh_HK', 'zh_TW'] as const
/** The server's bounds: 1 to 20 keys, a value of at most 200 characters, an id of at most 64. */
export const TEMPLATE_LIMITS = { fields: 20, value: 200, templateId: 64, page: 256 } as const

/** Only a message that failed, or was skipped, can be sent again. */
export function canResend(state: string): boolean {
  return state === 'failed' || state === 'skipped'
}

/** A form-level field the server names (`template_id`, `page`, `fields`, …) and why. */
export type FormErrors = Partial<Record<string, string>>
/** The reasons for one row of `fields`, by the part of it the server named. */
export interface RowError {
  key?: string
  value?: string
}

/** `details.fields` of a VALIDATION_FAILED answer, split into form fields and rows of `fields` (by index). */
export interface TemplateErrors {
  form: FormErrors
  rows: Map<number, RowError>
}

const ROW_PATH = /^fields\[(\d+)\]\.(key|value)$/

/** Splits the server's field paths (`fields[2].value`, `template_id`) onto rows and form fields. */
export function splitTemplateErrors(fields: Readonly<Record<string, readonly string[]>>): TemplateErrors {
  const out: TemplateErrors = { form: {}, rows: new Map() }
  for (const [path, reasons] of Object.entries(fields)) {
    const reason = reasons.join('; ')
    const m = ROW_PATH.exec(path)
    if (m) {
      const index = Number(m[1])
      const part = m[2] as keyof RowError
      out.rows.set(index, { ...out.rows.get(index), [part]: reason })
    } else {
      out.form[path] = reason
    }
  }
  return out
}

/** `text` with `insert` put in place of `text[start, end)`, and where the caret goes after it. */
export function insertText(text: string, start: number | null, end: number | null, insert: string): { text: string; caret: number } {
  const from = clamp(start ?? text.length, 0, text.length)
  const to = clamp(end ?? from, from, text.length)
  return { text: text.slice(0, from) + insert + text.slice(to), caret: from + insert.length }
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n))
}

export interface CountFigures {
  sent: number
  skipped: number
  failed: number
  queued: number
}

/** What an event's template came to: its current template id's counts (zero when it has none yet). */
export function countsFor(counts: readonly NoticeCounts[], event: NoticeEvent, templateId: string | undefined): CountFigures {
  const zero: CountFigures = { sent: 0, skipped: 0, failed: 0, queued: 0 }
  if (!templateId) return zero
  const c = counts.find((x) => x.event === event && x.template_id === templateId)
  return c ? { sent: c.sent, skipped: c.skipped, failed: c.failed, queued: c.queued } : zero
}

/** One row of the field editor; `id` keeps a row's inputs (and its errors) when one above it is removed. */
export interface FieldRow {
  id: number
  key: string
  value: string
}

/** Errors of a template as the form shows them: form fields by name, rows by their `id`. */
export interface FormTemplateErrors {
  form: FormErrors
  rows: Map<number, RowError>
}

/**
 * The server's field errors put on the rows they name: `ids` are the rows' ids in the order
 * they were sent, so an answer still lands on its row after rows above it were removed. A row
 * index the request did not have is reported against `fields`.
 */
export function templateErrorsByRow(fields: Readonly<Record<string, readonly string[]>>, ids: readonly number[]): FormTemplateErrors {
  const split = splitTemplateErrors(fields)
  const out: FormTemplateErrors = { form: { ...split.form }, rows: new Map() }
  for (const [index, err] of split.rows) {
    const id = ids[index]
    if (id === undefined) out.form.fields = [out.form.fields, err.key, err.value].filter(Boolean).join('; ')
    else out.rows.set(id, err)
  }
  return out
}
