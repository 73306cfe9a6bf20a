import { defineStore } from 'pinia'
import { ref, watch } from 'vue'

export type Theme = 'light' | 'dark'
export type Locale = 'zh-CN' | 'en'

const KEY = 'topup.admin.preferences'
export const PRIMARY_COLORS = ['#1677ff', '#722ed1', '#13c2c2', '#52c41a', '#fa8c16', '#eb2f96'] as const

interface Stored {
  theme: Theme
  locale: Locale
  primary: string
}

function load(): Stored {
  const d: Stored = { theme: 'light', locale: 'zh-CN', primary: PRIMARY_COLORS[0] }
  try {
    const raw = localStorage.getItem(KEY)
    if (!raw) return d
    const v = JSON.parse(raw) as Partial<Stored>
    return {
      theme: v.theme === 'dark' ? 'dark' : 'light',
      locale: v.locale === 'en' ? 'en' : 'zh-CN',
      primary: typeof v.primary === 'string' && /^#[0-9a-f]{6}$/i.test(v.primary) ? v.primary : d.primary,
    }
  } catch {
    return d
  }
}

/** Theme, language and primary colour, remembered in localStorage. */
export const usePreferences = defineStore('preferences', () => {
  const init = load()
  const theme = ref<Theme>(init.theme)
  const locale = ref<Locale>(init.locale)
  const primary = ref<string>(init.primary)
  watch([theme, locale, primary], () => {
    localStorage.setItem(KEY, JSON.stringify({ theme: theme.value, locale: locale.value, primary: primary.value }))
    document.documentElement.dataset.theme = theme.value
    document.documentElement.lang = locale.value
  }, { immediate: true })
  function toggleTheme() {
    theme.value = theme.value === 'dark' ? 'light' : 'dark'
  }
  return { theme, locale, primary, toggleTheme }
})
