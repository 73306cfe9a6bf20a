import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { authApi } from '@/api/auth'
import { loadTokens, saveTokens } from '@/api/tokens'
import type { Me, TokenPair } from '@/api/types'
import { buildNav, hasPermission, type MenuNode } from '@/utils/access'

const MUST_CHANGE = 'topup.admin.must-change'

export const useAuth = defineStore('auth', () => {
  const signedIn = ref(loadTokens() !== null)
  const mustChangePassword = ref(localStorage.getItem(MUST_CHANGE) === '1')
  const me = ref<Me | null>(null)

  const permissions = computed(() => new Set(me.value?.permissions ?? []))
  const nav = computed(() => buildNav((me.value?.menus ?? []) as MenuNode[]))

  function accept(pair: TokenPair) {
    saveTokens({ access: pair.access_token, refresh: pair.refresh_token })
    signedIn.value = true
    mustChangePassword.value = pair.must_change_password
    if (pair.must_change_password) localStorage.setItem(MUST_CHANGE, '1')
    else localStorage.removeItem(MUST_CHANGE)
    me.value = null
  }

  async function login(username: string, password: string) {
    accept(await authApi.login(username, password))
  }

  async function changePassword(old: string, next: string) {
    accept(await authApi.changePassword(old, next))
  }

  async function loadMe(): Promise<Me> {
    const m = await authApi.me()
    me.value = m
    mustChangePassword.value = m.user.must_change_password
    return m
  }

  /** Forgets the session locally (the server side is ended by logout()). */
  function clear() {
    saveTokens(null)
    localStorage.removeItem(MUST_CHANGE)
    signedIn.value = false
    mustChangePassword.value = false
    me.value = null
  }

  async function logout() {
    try {
      await authApi.logout()
    } catch {
      // The session may already be gone; signing out locally is what matters.
    }
    clear()
  }

  function can(code?: string | readonly string[] | null): boolean {
    return hasPermission(permissions.value, code)
  }

  return { signedIn, mustChangePassword, me, permissions, nav, login, changePassword, loadMe, clear, logout, can }
})
