import { createRouter, createWebHistory } from 'vue-router'
import { routes } from './routes'
import { useAuth } from '@/stores/auth'
import { decideRoute } from '@/utils/access'
import { useTabs } from '@/stores/tabs'
import { preloadPageCode } from './prefetch'

declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean
    title?: string
    permission?: string | string[]
  }
}

export const router = createRouter({ history: createWebHistory('/'), routes })

router.beforeEach(async (to) => {
  const auth = useAuth()
  if (auth.signedIn && !auth.me && !to.meta.public) {
    // The console is starting on this page: fetch its code while the session loads, instead
    // of after (the guard below may still turn it away; its code is public anyway).
    preloadPageCode(to.matched)
    try {
      await auth.loadMe()
    } catch {
      auth.clear()
    }
  }
  const d = decideRoute({
    path: to.path,
    fullPath: to.fullPath,
    isPublic: to.meta.public === true,
    permission: to.meta.permission,
    signedIn: auth.signedIn,
    mustChangePassword: auth.mustChangePassword,
    permissions: auth.permissions,
  })
  switch (d.kind) {
    case 'allow':
      return true
    case 'login':
      return { path: '/login', query: d.redirect && d.redirect !== '/' ? { redirect: d.redirect } : {} }
    case 'change-password':
      return { path: '/change-password' }
    case 'home':
      return { path: '/home' }
    case 'forbidden':
      // The URL stays what was asked for; the page says it is not allowed.
      return { name: 'forbidden', params: {}, query: { from: to.fullPath }, replace: true }
  }
})

router.afterEach((to) => {
  if (to.meta.public || to.name === 'change-password' || to.name === 'not-found' || to.name === 'forbidden') return
  useTabs().open({ path: to.path, title: to.meta.title ?? String(to.name ?? to.path) })
})
