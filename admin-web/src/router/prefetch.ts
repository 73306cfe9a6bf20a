import type { RouteRecordNormalized, Router } from 'vue-router'
import { hasPermission } from '@/utils/access'

type Loader = () => Promise<unknown>

/** A route's lazy page loader (`component: () => import(…)`), if it has one. */
function pageLoader(route: RouteRecordNormalized): Loader | undefined {
  const component = route.components?.default
  return typeof component === 'function' ? (component as Loader) : undefined
}

/** The lazy page loaders of the routes `permissions` open (the public and fallback ones left out). */
export function permittedPageLoaders(routes: readonly RouteRecordNormalized[], permissions: ReadonlySet<string>): Loader[] {
  const loaders: Loader[] = []
  for (const route of routes) {
    if (route.meta.public || !route.meta.permission) continue
    if (!hasPermission(permissions, route.meta.permission)) continue
    const load = pageLoader(route)
    if (load) loaders.push(load)
  }
  return loaders
}

/**
 * A while after the console's first page is shown, loads the code of every page the user may
 * open, one page per idle period, so opening one from the menu waits only for its data. The
 * pause keeps it out of the way of the first page's own code and data; routes stay split, and
 * the login page never loads them.
 */
export function prefetchPermittedPages(router: Router, permissions: ReadonlySet<string>): void {
  const queue = permittedPageLoaders(router.getRoutes(), permissions)
  // Every browser the console supports has requestIdleCallback except Safari before 18.
  const idle = (run: () => void) =>
    typeof window.requestIdleCallback === 'function' ? window.requestIdleCallback(run, { timeout: 5000 }) : setTimeout(run, 200)
  const next = () => {
    const load = queue.shift()
    if (!load) return
    load().then(
      () => idle(next),
      // A page that fails to load now is loaded again when opened; go on with the rest.
      () => idle(next),
    )
  }
  void router.isReady().then(() => setTimeout(() => idle(next), FIRST_PAGE_PAUSE_MS))
}

const FIRST_PAGE_PAUSE_MS = 1500

/** Starts loading the code of `matched` routes' lazy pages now; the router reuses the modules. */
export function preloadPageCode(matched: readonly RouteRecordNormalized[]): void {
  for (const route of matched) void pageLoader(route)?.().catch(() => undefined)
}
