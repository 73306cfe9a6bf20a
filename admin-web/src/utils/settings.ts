/** The settings page's rules (what an edit sends, where the server's reasons go), kept free of Vue so they test in isolation. */

import type { Setting, SettingKind, SettingValue, SettingValues, SettingsGroup } from '@/api/types'

/** What an input holds: null when a number input is emptied. */
export type DraftValue = string | number | boolean | null
/** The keys' values as edited (secrets aside: they are typed, never shown). */
export type Draft = Record<string, DraftValue>

/** What a secret's value says: only whether one is set. */
export function secretIsSet(v: SettingValue | DraftValue | undefined): boolean {
  return typeof v === 'object' && v !== null && v.set === true
}

/** Whether staff may change the key here (the configuration file, the environment or the embedded mode may fix it). */
export const editable = (s: Setting): boolean => !s.fixed_by

/** The inputs' starting values: each key's value in force; secrets start empty. */
export function draftOf(group: SettingsGroup): Draft {
  const out: Draft = {}
  for (const s of group.settings) {
    if (s.kind.type !== 'secret') out[s.key] = typeof s.value === 'object' ? null : s.value
  }
  return out
}

const same = (a: DraftValue, b: SettingValue) => a === b || JSON.stringify(a) === JSON.stringify(b)

/**
 * The `values` of a save: the keys whose input differs from the value in force, and the secrets
 * typed into (a secret left empty is kept). Fixed keys and emptied numbers are never sent.
 */
export function changedValues(group: SettingsGroup, draft: Readonly<Draft>, secrets: Readonly<Record<string, string>>): SettingValues {
  const out: SettingValues = {}
  for (const s of group.settings) {
    if (!editable(s)) continue
    if (s.kind.type === 'secret') {
      const typed = secrets[s.key] ?? ''
      if (typed !== '') out[s.key] = typed
      continue
    }
    if (!(s.key in draft)) continue
    const v = draft[s.key]
    if (v === null || v === undefined) continue
    if (!same(v, s.value)) out[s.key] = v
  }
  return out
}

/** `details.fields` of a refused save: `values.KEY` by key, anything else as it came. */
export interface SettingErrors {
  keys: Record<string, string>
  other: string[]
}

const VALUE_PATH = /^values\.(.+)$/

export function settingErrors(fields: Readonly<Record<string, readonly string[]>>, keys: readonly string[]): SettingErrors {
  const out: SettingErrors = { keys: {}, other: [] }
  for (const [path, reasons] of Object.entries(fields)) {
    const reason = reasons.join('; ')
    const key = VALUE_PATH.exec(path)?.[1]
    if (key !== undefined && keys.includes(key)) out.keys[key] = out.keys[key] ? `${out.keys[key]}; ${reason}` : reason
    else out.other.push(`${path}: ${reason}`)
  }
  return out
}

/**
 * Where a key's label and help are among the messages (under `system.settings.keys`). A key made
 * per item of the configuration (`<provider>.<field>`, e.g. `sandbox.client_id`) has one message per
 * field for all items, `<group>.<field>`, given the item as `{provider}`; split at the last `.`.
 */
export interface KeyMessages {
  /** The key's own messages, `<group>.<key>` (for a per-item key too, should one be written for it). */
  own: string
  /** For a per-item key: the field's messages and what they interpolate. */
  perItem: { path: string; params: { provider: string } } | null
}

export function keyMessages(group: string, key: string): KeyMessages {
  const own = `${group}.${key}`
  const dot = key.lastIndexOf('.')
  if (dot <= 0 || dot === key.length - 1) return { own, perItem: null }
  return { own, perItem: { path: `${group}.${key.slice(dot + 1)}`, params: { provider: key.slice(0, dot) } } }
}

/** Whether `v` is a colour as the server takes it. */
export function isColour(v: string): boolean {
  return /^#[0-9a-fA-F]{6}$/.test(v)
}

/** A value to show in a sentence ("reset to configured (15)"): secrets say whether one is set, empty text says so. */
export type ShownValue = { kind: 'text'; text: string } | { kind: 'empty' } | { kind: 'secret'; set: boolean }

export function shownValue(kind: SettingKind, v: SettingValue | DraftValue | undefined): ShownValue {
  if (kind.type === 'secret') return { kind: 'secret', set: secretIsSet(v) }
  if (v === null || v === undefined || v === '') return { kind: 'empty' }
  return { kind: 'text', text: typeof v === 'string' ? v : JSON.stringify(v) }
}
