import { defineStore } from 'pinia'
import { ref } from 'vue'
import { siteApi } from '@/api/settings'
import type { Site } from '@/api/types'
import { DEFAULT_SITE, asSite } from '@/utils/site'

const KEY = 'topup.admin.site'

function remembered(): Site {
  try {
    return asSite(JSON.parse(localStorage.getItem(KEY) ?? 'null')) ?? { ...DEFAULT_SITE }
  } catch {
    return { ...DEFAULT_SITE }
  }
}

/**
 * The product's name, logo and colour (settings group `site`), for the sign-in page, the title
 * bar and the primary colour. The last copy is remembered so the console starts in its colours.
 */
export const useSite = defineStore('site', () => {
  const site = ref<Site>(remembered())

  /** Asks the server again (at start, and after the `site` settings are saved); a failure keeps what is shown. */
  async function refresh(): Promise<void> {
    try {
      const s = asSite(await siteApi.get())
      if (!s) return
      site.value = s
      localStorage.setItem(KEY, JSON.stringify(s))
    } catch {
      // The console keeps its remembered look; nothing else depends on it.
    }
  }
  return { site, refresh }
})
