import { describe, expect, it } from 'vitest'
import { createI18n } from 'vue-i18n'
import type { Setting, SettingsGroup } from '@/api/types'
import zhCN from '@/locales/zh-CN'
import en from '@/locales/en'
import { changedValues, draftOf, isColour, keyMessages, secretIsSet, settingErrors, shownValue } from '../settings'

const setting = (key: string, kind: Setting['kind'], value: Setting['value'], extra: Partial<Setting> = {}): Setting => ({
  key, kind, value, configured: value, overridden: false, fixed_by: null, description: '', config_path: `g.${key}`, ...extra,
})
const group: SettingsGroup = {
  name: 'g', title: 'G', version: 3, updated_at: null, updated_by: null,
  settings: [
    setting('timeout', { type: 'integer', min: 1, max: 120 }, 15),
    setting('name', { type: 'text', max: 40, required: true, multiline: false }, 'Topup'),
    setting('colour', { type: 'colour' }, '#07c160'),
    setting('secret', { type: 'secret', max: 128, multiline: false }, { set: true }),
    setting('pem', { type: 'secret', max: 8000, multiline: true }, { set: true }),
    setting('fixed', { type: 'text', max: 10, required: false, multiline: false }, 'x', { fixed_by: 'config_file' }),
    setting('fixed_secret', { type: 'secret', max: 10, multiline: false }, { set: false }, { fixed_by: 'embedded' }),
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

  it('sends a multi-line secret as typed, line breaks and all', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n'
    expect(changedValues(group, draftOf(group), { pem })).toEqual({ pem })
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

  it('puts every refused key at its own field at once', () => {
    const e = settingErrors(
      {
        'values.apiv3_key': ['must be exactly 32 characters'],
        'values.merchant_private_key': ['not a PEM private key'],
        'values.sandbox.client_id': ['must not be empty'],
      },
      ['mchid', 'apiv3_key', 'merchant_private_key', 'sandbox.client_id'],
    )
    expect(e.keys).toEqual({
      apiv3_key: 'must be exactly 32 characters',
      merchant_private_key: 'not a PEM private key',
      'sandbox.client_id': 'must not be empty',
    })
    expect(e.other).toEqual([])
  })

  it('joins several reasons for one key', () => {
    expect(settingErrors({ 'values.apiv3_key': ['too short', 'not ASCII'] }, ['apiv3_key']).keys).toEqual({ apiv3_key: 'too short; not ASCII' })
  })
})

describe("a key's label", () => {
  it('is the key itself, or per field for a key made per provider', () => {
    expect(keyMessages('payment', 'mchid')).toEqual({ own: 'payment.mchid', perItem: null })
    expect(keyMessages('providers', 'sandbox.client_id')).toEqual({ own: 'providers.sandbox.client_id', perItem: { path: 'providers.client_id', params: { provider: 'sandbox' } } })
    // Split at the last dot: a provider's name may hold one.
    expect(keyMessages('providers', 'acme.eu.client_secret').perItem).toEqual({ path: 'providers.client_secret', params: { provider: 'acme.eu' } })
    expect(keyMessages('g', '.x').perItem).toBeNull()
    expect(keyMessages('g', 'x.').perItem).toBeNull()
  })

  it('names the provider in both languages', () => {
    for (const [locale, want] of [['zh-CN', 'reloadly：Client ID'], ['en', 'reloadly: Client ID']] as const) {
      const { t, te } = createI18n({ legacy: false, locale, messages: { 'zh-CN': zhCN, en } }).global
      const m = keyMessages('providers', 'reloadly.client_id')
      expect(te(`system.settings.keys.${m.own}.label`)).toBe(false)
      expect(t(`system.settings.keys.${m.perItem?.path}.label`, m.perItem?.params ?? {})).toBe(want)
    }
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
    expect(shownValue({ type: 'secret', max: 1, multiline: true }, { set: true })).toEqual({ kind: 'secret', set: true })
  })
})
