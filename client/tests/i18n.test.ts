import { beforeEach, describe, expect, it, vi } from 'vitest'
import en from '../src/i18n/en'
import { interpolate } from '../src/i18n/format'
import zhCN from '../src/i18n/zh-CN'

describe('interpolate', () => {
  it('fills named placeholders', () => {
    expect(interpolate('Pay {amount} with WeChat', { amount: '¥7.70' })).toBe('Pay ¥7.70 with WeChat')
    expect(interpolate('有效期 {days} 天', { days: 30 })).toBe('有效期 30 天')
    expect(interpolate('{a}{b}{a}', { a: 1, b: 2 })).toBe('121')
  })

  it('leaves a placeholder without a value visible rather than blank', () => {
    expect(interpolate('Reason: {reason}')).toBe('Reason: {reason}')
    expect(interpolate('Reason: {reason}', { other: 'x' })).toBe('Reason: {reason}')
  })

  it('does not re-read values as templates', () => {
    expect(interpolate('{a}', { a: '{b}', b: 'no' })).toBe('{b}')
  })

  it('reads doubled braces as literal ones', () => {
    expect(interpolate('{{x}} = {x}', { x: 1 })).toBe('{x} = 1')
  })
})

function placeholders(template: string): string[] {
  return [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()
}

describe('catalogs', () => {
  it('have the same keys and the same placeholders in every language', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(zhCN).sort())
    for (const key of Object.keys(zhCN) as (keyof typeof zhCN)[]) {
      expect(placeholders(en[key]), key).toEqual(placeholders(zhCN[key]))
      expect(en[key].trim(), key).not.toBe('')
    }
  })
})

describe('t', () => {
  const storage = new Map<string, unknown>()
  beforeEach(() => {
    storage.clear()
    vi.resetModules()
    vi.stubGlobal('uni', {
      getStorageSync: (k: string) => storage.get(k) ?? '',
      setStorageSync: (k: string, v: unknown) => storage.set(k, v),
      setTabBarItem: vi.fn(),
      setNavigationBarTitle: vi.fn(),
    })
  })

  it('speaks zh-CN by default, switches to English and remembers it', async () => {
    const i18n = await import('../src/i18n')
    expect(i18n.t('checkout.pay', { amount: '¥7.70' })).toBe('微信支付 ¥7.70')
    i18n.setLocale('en')
    expect(i18n.t('checkout.pay', { amount: '¥7.70' })).toBe('Pay ¥7.70 with WeChat')
    expect(storage.get('topup.locale')).toBe('en')
    vi.resetModules()
    const again = await import('../src/i18n')
    expect(again.locale.value).toBe('en')
  })

  it('sets the page title and the tab bar again when the language changes', async () => {
    const i18n = await import('../src/i18n')
    const titles = vi.mocked(uni.setNavigationBarTitle)
    const tabs = vi.mocked(uni.setTabBarItem)
    i18n.setTabPageTitle('title.orders')
    expect(titles).toHaveBeenLastCalledWith(expect.objectContaining({ title: '我的订单' }))
    expect(tabs.mock.calls.map(([item]) => item.text)).toEqual(['充值', '订单', '我的'])
    // The profile's language arrives after the page showed (the login at launch).
    i18n.setLocale('en')
    expect(titles).toHaveBeenLastCalledWith(expect.objectContaining({ title: 'My orders' }))
    expect(tabs.mock.calls.slice(3).map(([item]) => item.text)).toEqual(['Top up', 'Orders', 'Me'])
    // A title that is data stays as it is.
    i18n.setTitleText('User agreement v3')
    i18n.setLocale('zh-CN')
    expect(titles).toHaveBeenLastCalledWith(expect.objectContaining({ title: 'User agreement v3' }))
  })

  it('maps the profile language both ways', async () => {
    const i18n = await import('../src/i18n')
    expect(i18n.localeFromLanguage('en')).toBe('en')
    expect(i18n.localeFromLanguage('zh')).toBe('zh-CN')
    expect(i18n.languageFromLocale('zh-CN')).toBe('zh')
  })
})
