import { afterEach, describe, expect, it, vi } from 'vitest'
import { createI18n } from 'vue-i18n'
import zhCN from '@/locales/zh-CN'
import en from '@/locales/en'
// The API document, as text: the codes the console must have words for.
import specText from '../../../../openapi/openapi.json?raw'

type Tree = { [k: string]: string | Tree }

function paths(tree: Tree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([k, v]) => {
    // Dotted keys (menu keys) are quoted as one segment, as the console reads them.
    const p = prefix ? (k.includes('.') ? `${prefix}['${k}']` : `${prefix}.${k}`) : k
    return typeof v === 'string' ? [p] : paths(v, p)
  })
}

describe('messages', () => {
  afterEach(() => vi.restoreAllMocks())

  it('all compile in both languages (a bare @ or | would not)', () => {
    const problems: unknown[] = []
    vi.spyOn(console, 'error').mockImplementation((...a) => problems.push(a))
    vi.spyOn(console, 'warn').mockImplementation((...a) => problems.push(a))
    for (const locale of ['zh-CN', 'en'] as const) {
      const i18n = createI18n({ legacy: false, locale, missingWarn: false, fallbackWarn: false, messages: { 'zh-CN': zhCN, en } })
      for (const p of paths(locale === 'en' ? (en as Tree) : (zhCN as Tree))) i18n.global.t(p, {})
    }
    expect(problems).toEqual([])
  })

  it('word every timeline step the API names, in both languages', () => {
    const spec = JSON.parse(specText) as {
      components: { schemas: { TimelineCode: { enum: string[] } } }
    }
    const codes = spec.components.schemas.TimelineCode.enum
    expect(codes.length).toBeGreaterThan(20)
    for (const messages of [zhCN, en]) {
      expect(Object.keys(messages.order.steps).sort()).toEqual([...codes].sort())
    }
  })
})
