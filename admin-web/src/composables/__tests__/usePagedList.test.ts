import { describe, expect, it } from 'vitest'
import { i18n } from '@/locales'
import { usePagedList } from '@/composables/usePagedList'

describe('usePagedList', () => {
  it('says how many rows there are in all, in the console language', async () => {
    const list = usePagedList(async () => ({ items: ['a', 'b'], total: 42, page: 1, page_size: 20 }), {})
    await list.load()
    const pager = list.pagination()
    expect(pager.total).toBe(42)
    i18n.global.locale.value = 'zh-CN'
    expect(pager.showTotal?.(42, [1, 20])).toBe('共 42 条')
    i18n.global.locale.value = 'en'
    expect(pager.showTotal?.(42, [1, 20])).toBe('42 in all')
    i18n.global.locale.value = 'zh-CN'
  })
})
