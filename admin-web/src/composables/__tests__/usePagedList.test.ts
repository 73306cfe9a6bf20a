import { describe, expect, it } from 'vitest'
import { i18n } from '@/locales'
import { usePagedList } from '@/composables/usePagedList'

describe('usePagedList', () => {
  it('says how many rows there are in all, in the console language', async () => {
    const list = usePagedList(async () => ({ items: ['a', 'b'], total: 42, total_capped: false, page: 1, page_size: 20 }), {})
    await list.load()
    const pager = list.pagination()
    expect(pager.total).toBe(42)
    i18n.global.locale.value = 'zh-CN'
    expect(pager.showTotal?.(42, [1, 20])).toBe('共 42 条')
    i18n.global.locale.value = 'en'
    expect(pager.showTotal?.(42, [1, 20])).toBe('42 in all')
    i18n.global.locale.value = 'zh-CN'
  })

  it('says "at least" when the server stopped counting', async () => {
    const list = usePagedList(async () => ({ items: ['a'], total: 10000, total_capped: true, page: 1, page_size: 20 }), {})
    await list.load()
    const pager = list.pagination()
    expect(pager.total).toBe(10000)
    i18n.global.locale.value = 'zh-CN'
    expect(pager.showTotal?.(10000, [1, 20])).toBe('共 10,000+ 条')
    i18n.global.locale.value = 'en'
    expect(pager.showTotal?.(10000, [1, 20])).toBe('10,000+ in all')
    i18n.global.locale.value = 'zh-CN'
  })
})
