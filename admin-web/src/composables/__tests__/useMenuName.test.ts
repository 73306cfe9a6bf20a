import { describe, expect, it } from 'vitest'
import { createI18n } from 'vue-i18n'
import zhCN from '@/locales/zh-CN'
import en from '@/locales/en'
import { menuLabel, menuMessageKey } from '../useMenuName'

function labeller(locale: 'zh-CN' | 'en') {
  const i18n = createI18n({ legacy: false, locale, fallbackLocale: 'zh-CN', missingWarn: false, fallbackWarn: false, messages: { 'zh-CN': zhCN, en } })
  const { t, te } = i18n.global
  return (key: string, fallback: string) => menuLabel((k) => t(k), (k) => te(k), key, fallback)
}

describe('menu names', () => {
  it('translates directories and the dotted keys of their pages', () => {
    const zh = labeller('zh-CN')
    expect(zh('order', 'Orders')).toBe('订单')
    expect(zh('order.orders', 'Orders')).toBe('订单')
    expect(zh('order.recharges', 'Recharges')).toBe('充值记录')
    expect(zh('users.app-users', 'App users')).toBe('小程序用户')
    expect(zh('system.login-logs', 'Login logs')).toBe('登录日志')
    expect(zh('marketing.coupon-templates', 'Coupon templates')).toBe('优惠券模板')
    expect(zh('marketing.membership-orders', 'Membership orders')).toBe('会员订单')
    expect(zh('notify', 'Notifications')).toBe('通知')
    expect(zh('notify.templates', 'Message templates')).toBe('消息模板')
    expect(zh('notify.deliveries', 'Delivery log')).toBe('发送记录')
    expect(zh('content.service', 'Customer service')).toBe('客服中心')
    expect(zh('content.agreements', 'Agreements')).toBe('协议管理')
    expect(zh('system.settings', 'Settings')).toBe('系统设置')
    const enLabel = labeller('en')
    expect(enLabel('order.recharges', '充值记录')).toBe('Recharge log')
    expect(enLabel('system', '系统')).toBe('System')
  })

  it('shows unknown or unusual keys under the name the server sent', () => {
    const zh = labeller('zh-CN')
    expect(zh('order.custom', 'Custom page')).toBe('Custom page')
    expect(zh("odd'key", 'Odd')).toBe('Odd')
    expect(zh('', 'Unnamed')).toBe('Unnamed')
    expect(menuMessageKey("a']b")).toBeNull()
  })

  it('has the same menu keys in both languages', () => {
    expect(Object.keys(en.nav).sort()).toEqual(Object.keys(zhCN.nav).sort())
  })
})
