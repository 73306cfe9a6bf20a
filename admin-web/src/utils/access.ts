/** Permission checks and navigation building, kept free of Vue so they test in isolation. */

export interface MenuNode {
  id: string
  key: string
  kind: 'directory' | 'menu' | 'button'
  name: string
  permission?: string | null
  path?: string | null
  icon?: string | null
  order: number
  visible: boolean
  children: MenuNode[]
}

export interface NavItem {
  key: string
  name: string
  path: string
  icon: string | null
  children: NavItem[]
}

/** Super administrators hold every code explicitly, so no wildcard is honoured. */
export function hasPermission(held: ReadonlySet<string> | readonly string[], need?: string | readonly string[] | null): boolean {
  if (!need || (Array.isArray(need) && need.length === 0)) return true
  const set = held instanceof Set ? held : new Set(held as readonly string[])
  const list = typeof need === 'string' ? [need] : need
  return list.every((c) => set.has(c))
}

/**
 * Builds the side navigation from the server's menu tree: buttons and hidden nodes are
 * dropped, siblings ordered by `order`, and directories left empty disappear.
 */
export function buildNav(nodes: readonly MenuNode[]): NavItem[] {
  const out: NavItem[] = []
  const sorted = [...nodes].sort((a, b) => a.order - b.order || a.name.localeCompare(b.name))
  for (const n of sorted) {
    if (n.kind === 'button' || !n.visible) continue
    const children = buildNav(n.children ?? [])
    if (n.kind === 'directory' && children.length === 0) continue
    if (n.kind === 'menu' && !n.path) continue
    out.push({ key: n.key, name: n.name, path: n.path ?? `/${n.key}`, icon: n.icon ?? null, children })
  }
  return out
}

/** Every openable page (leaf) of the navigation, with its trail of names, for quick jump. */
export function flattenNav(items: readonly NavItem[], trail: string[] = []): { key: string; path: string; trail: string[] }[] {
  const out: { key: string; path: string; trail: string[] }[] = []
  for (const it of items) {
    const t = [...trail, it.key]
    if (it.children.length) out.push(...flattenNav(it.children, t))
    else out.push({ key: it.key, path: it.path, trail: t })
  }
  return out
}

/** Trail of nav keys from the root to the item whose path is `path` (for breadcrumbs). */
export function navTrail(items: readonly NavItem[], path: string): NavItem[] {
  for (const it of items) {
    if (it.path === path) return [it]
    const sub = navTrail(it.children, path)
    if (sub.length) return [it, ...sub]
  }
  return []
}

export type GuardDecision =
  | { kind: 'allow' }
  | { kind: 'login'; redirect: string }
  | { kind: 'change-password' }
  | { kind: 'home' }
  | { kind: 'forbidden' }

export interface GuardInput {
  path: string
  fullPath: string
  isPublic: boolean
  permission?: string | readonly string[] | null
  signedIn: boolean
  mustChangePassword: boolean
  permissions: ReadonlySet<string>
}

/** The route guard's whole decision, as a pure function. */
export function decideRoute(i: GuardInput): GuardDecision {
  if (i.isPublic) {
    if (i.signedIn && i.path === '/login') return i.mustChangePassword ? { kind: 'change-password' } : { kind: 'home' }
    return { kind: 'allow' }
  }
  if (!i.signedIn) return { kind: 'login', redirect: i.fullPath }
  if (i.mustChangePassword) return i.path === '/change-password' ? { kind: 'allow' } : { kind: 'change-password' }
  if (!hasPermission(i.permissions, i.permission)) return { kind: 'forbidden' }
  return { kind: 'allow' }
}
