import { describe, expect, it } from 'vitest'
import type { Setting, SettingsGroup } from '@/api/types'
import { changedValues, draftOf, isColour, secretIsSet, settingErrors, shownValue } from '../settings'

const setting = (key: string, kind: Setting['kind'], value: unknown, extra: Partial<Setting> = {}): Setting => ({
  key, kind, value, configured: value, overridden: false, fixed_by: null, description: '', config_path: `g.${key}`, ...extra,
})
const group: SettingsGroup = {
  name: 'g', title: 'G', version: 3, updated_at: null, updated_by: null,
  settings: [
    setting('timeout', { type: 'integer', min: 1, max: 120 }, 15),
    setting('name', { type: 'text', max: 40, required: true }, 'Topup'),
    setting('colour', { type: 'colour' }, '#07c160'),
    setting('secret', { type: 'secret', max: 128 }, { set: true }),
    setting('fixed', { type: 'text', max: 10, required: false }, 'x', { fixed_by: 'config_file' }),
    setting('fixed_secret', { type: 'secret', max: 10 }, { set: false }, { fixed_by: 'embedded' }),
  ],
}

describe('what a save sends', () => {
  it('starts from the values in force, secrets left out', () => {
    expect(draftOf(group)).toEqual({ timeout: 15, name: 'Topup', colour: '#07c160', fixed: 'x' })
  })

  it('sends nothing when nothing changed', () => {
    expect(changedValues(group, draftOf(group), {})).toEqual({})
    expect(changedValues(group, draftOf(group), { secret: '' })).toEqual({})
  })

  it('sends only the changed keys and the secrets typed', () => {
    const draft = { ...draftOf(group), timeout: 5, colour: '#ff0000' }
    expect(changedValues(group, draft, { secret: 's3cret' })).toEqual({ timeout: 5, colour: '#ff0000', secret: 's3cret' })
  })

  it('never sends fixed keys, nor an emptied number', () => {
    const draft = { ...draftOf(group), fixed: 'changed', timeout: null }
    expect(changedValues(group, draft, { fixed_secret: 'typed' })).toEqual({})
  })

  it('sends a value changed back to what is in force as nothing', () => {
    expect(changedValues(group, { ...draftOf(group), name: 'Topup' }, {})).toEqual({})
  })
})

describe("the server's reasons", () => {
  it('puts values.KEY on the key and keeps the rest', () => {
    const e = settingErrors({ 'values.colour': ['a colour as #rrggbb'], 'values.nope': ['unknown key'], version: ['bad'] }, ['colour', 'name'])
    expect(e.keys).toEqual({ colour: 'a colour as #rrggbb' })
    expect(e.other).toEqual(['values.nope: unknown key', 'version: bad'])
  })
})

describe('values', () => {
  it('tells colours, secrets and what to show', () => {
    expect(isColour('#07c160')).toBe(true)
    expect(isColour('#07C16')).toBe(false)
    expect(isColour('red')).toBe(false)
    expect(secretIsSet({ set: true })).toBe(true)
    expect(secretIsSet({ set: false })).toBe(false)
    expect(secretIsSet('x')).toBe(false)
    expect(shownValue({ type: 'integer', min: 1, max: 2 }, 15)).toEqual({ kind: 'text', text: '15' })
    expect(shownValue({ type: 'url' }, '')).toEqual({ kind: 'empty' })
    expect(shownValue({ type: 'secret', max: 1 }, { set: true })).toEqual({ kind: 'secret', set: true })
  })
})
