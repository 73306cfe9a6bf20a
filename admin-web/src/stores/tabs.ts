import { defineStore } from 'pinia'
import { ref } from 'vue'

export interface Tab {
  path: string
  title: string
}

/** The open pages shown as tabs above the content. Home is always first and cannot close. */
export const useTabs = defineStore('tabs', () => {
  const tabs = ref<Tab[]>([{ path: '/home', title: 'menu.home' }])
  function open(t: Tab) {
    if (!tabs.value.some((x) => x.path === t.path)) tabs.value.push(t)
  }
  function close(path: string): string | null {
    const i = tabs.value.findIndex((x) => x.path === path)
    if (i <= 0) return null
    tabs.value.splice(i, 1)
    return tabs.value[Math.min(i, tabs.value.length - 1)]?.path ?? '/home'
  }
  function reset() {
    tabs.value = [{ path: '/home', title: 'menu.home' }]
  }
  return { tabs, open, close, reset }
})
