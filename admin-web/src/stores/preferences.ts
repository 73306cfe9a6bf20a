import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import { useSite } from './site'

export type Theme = 'light' | 'dark'
export type Locale = 'zh-CN' | 'en'

const KEY = 'topup.admin.preferences'
export const PRIMARY_COLORS = ['#1677ff', '#722ed1', '#13c2c2', '#52c41a', '#fa8c16', '#eb2f96'] as const

interface Stored {
  theme: Theme
  locale: Locale
  /** A colour this browser's user chose over the site's; null follows the site. */
  ownPrimary: string | null
}

function load(): Stored {
  const d: Stored = { theme: 'light', locale: 'zh-CN', ownPrimary: null }
  try {
    const raw = localStorage.getItem(KEY)
    if (!raw) return d
    const v = JSON.parse(raw) as Partial<Stored>
    return {
      theme: v.theme === 'dark' ? 'dark' : 'light',
      locale: v.locale === 'en' ? 'en' : 'zh-CN',
      // Stored under a new name: the colour remembered before the site had one (always set) is not a choice.
      ownPrimary: typeof v.ownPrimary === 'string' && /^#[0-9a-f]{6}$/i.test(v.ownPrimary) ? v.ownPrimary : null,
    }
  } catch {
    return d
  }
}

/** Theme, language and an own primary colour, remembered in localStorage; `primary` is the colour in force. */
export const usePreferences = defineStore('preferences', () => {
  const init = load()
  const site = useSite()
  const theme = ref<Theme>(init.theme)
  const locale = ref<Locale>(init.locale)
  const ownPrimary = ref<string | null>(init.ownPrimary)
  /** The site's colour (settings group `site`) unless this user chose another. */
  const primary = computed(() => ownPrimary.value ?? site.site.theme_colour)
  watch([theme, locale, ownPrimary], () => {
    localStorage.setItem(KEY, JSON.stringify({ theme: theme.value, locale: locale.value, ownPrimary: ownPrimary.value }))
    document.documentElement.dataset.theme = theme.value
    document.documentElement.lang = locale.value
  }, { immediate: true })
  function toggleTheme() {
    theme.value = theme.value === 'dark' ? 'light' : 'dark'
  }
  return { theme, locale, ownPrimary, primary, toggleTheme }
})
