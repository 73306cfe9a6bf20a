import { createI18n } from 'vue-i18n'
import zhCN from './zh-CN'
import en from './en'

function initialLocale(): 'zh-CN' | 'en' {
  try {
    const raw = localStorage.getItem('topup.admin.preferences')
    if (raw && (JSON.parse(raw) as { locale?: string }).locale === 'en') return 'en'
  } catch {
    // Unreadable preferences fall back to the default language.
  }
  return 'zh-CN'
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN, en },
})
