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

/** The title key of the page on screen, so that a change of language can set it again. */
let titleKey: MessageKey | null = null

/**
 * Tab bar labels and the navigation bar title live outside Vue's reach: set on every language
 * change, and by each tab page as it shows (at launch there is no tab bar to set yet).
 */
export function applyChrome(): void {
  const tabs: MessageKey[] = ['tab.home', 'tab.orders', 'tab.me']
  tabs.forEach((key, index) => {
    uni.setTabBarItem({ index, text: t(key), fail: () => undefined })
  })
  if (titleKey) uni.setNavigationBarTitle({ title: t(titleKey), fail: () => undefined })
}

/** Sets the navigation bar title of the current page, in the current language from now on. */
export function setTitle(key: MessageKey): void {
  titleKey = key
  uni.setNavigationBarTitle({ title: t(key), fail: () => undefined })
}

/** A tab page as it shows: its title, and the tab bar's labels in the current language. */
export function setTabPageTitle(key: MessageKey): void {
  titleKey = key
  applyChrome()
}

/** Sets a title that is data, not a message (an agreement's own title). */
export function setTitleText(title: string): void {
  titleKey = null
  uni.setNavigationBarTitle({ title, fail: () => undefined })
}
