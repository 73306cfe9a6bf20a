import { ref } from 'vue'
import { interpolate } from './format'
import zhCN from './zh-CN'
import en from './en'

export type Locale = 'zh-CN' | 'en'
export type MessageKey = keyof typeof zhCN
export type Messages = Record<MessageKey, string>

const catalogs: Record<Locale, Messages> = { 'zh-CN': zhCN, en }
const STORAGE_KEY = 'topup.locale'

function initialLocale(): Locale {
  try {
    const saved: unknown = uni.getStorageSync(STORAGE_KEY)
    if (saved === 'en' || saved === 'zh-CN') return saved
  } catch {
    // Storage unavailable: the default language it is.
  }
  return 'zh-CN'
}

/** The current language; pages re-render when it changes. */
export const locale = ref<Locale>(initialLocale())

export function t(key: MessageKey, params?: Record<string, string | number>): string {
  const template = catalogs[locale.value][key] ?? catalogs['zh-CN'][key] ?? key
  return interpolate(template, params)
}

export function setLocale(next: Locale): void {
  locale.value = next
  try {
    uni.setStorageSync(STORAGE_KEY, next)
  } catch {
    // Not fatal: the language is also saved on the profile.
  }
  applyChrome()
}

/** The API's `language` (`zh` | `en`) ↔ our locale. */
export function localeFromLanguage(language: string): Locale {
  return language === 'en' ? 'en' : 'zh-CN'
}
export function languageFromLocale(value: Locale): 'zh' | 'en' {
  return value === 'en' ? 'en' : 'zh'
}

/** Tab bar labels live outside Vue's reach: set them on every language change. */
export function applyChrome(): void {
  const tabs: MessageKey[] = ['tab.home', 'tab.orders', 'tab.me']
  tabs.forEach((key, index) => {
    uni.setTabBarItem({ index, text: t(key), fail: () => undefined })
  })
}

/** Sets the navigation bar title of the current page. */
export function setTitle(key: MessageKey): void {
  uni.setNavigationBarTitle({ title: t(key), fail: () => undefined })
}
