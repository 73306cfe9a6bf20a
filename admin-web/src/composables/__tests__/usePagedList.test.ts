import { describe, expect, it } from 'vitest'
import { i18n } from '@/locales'
import { usePagedList } from '@/composables/usePagedList'

describe('usePagedList', () => {
  it.each([
    { total: 42, capped: false, zh: '共 42 条', en: '42 in all' },
    // The server stopped counting: at least this many.
    { total: 10000, capped: true, zh: '共 10,000+ 条', en: '10,000+ in all' },
  ])('says how many rows there are in all, in the console language ($en)', async ({ total, capped, zh, en }) => {
    const list = usePagedList(async () => ({ items: ['a', 'b'], total, total_capped: capped, page: 1, page_size: 20 }), {})
    await list.load()
    const pager = list.pagination()
    expect(pager.total).toBe(total)
    i18n.global.locale.value = 'zh-CN'
    expect(pager.showTotal?.(total, [1, 20])).toBe(zh)
    i18n.global.locale.value = 'en'
    expect(pager.showTotal?.(total, [1, 20])).toBe(en)
    i18n.global.locale.value = 'zh-CN'
  })
})
