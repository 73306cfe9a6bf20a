import { describe, expect, it } from 'vitest'
import { buildNav, decideRoute, flattenNav, hasPermission, navTrail, type MenuNode } from '../access'

const node = (p: Partial<MenuNode> & Pick<MenuNode, 'key' | 'kind'>): MenuNode => ({
  id: p.key, name: p.key, order: 0, visible: true, children: [], permission: null, path: null, icon: null, ...p,
})

const tree: MenuNode[] = [
  node({ key: 'system', kind: 'directory', order: 900, path: '/system', children: [
    node({ key: 'system.users', kind: 'menu', path: '/system/users', permission: 'system:user:list', children: [
      node({ key: 'system.users.create', kind: 'button', permission: 'system:user:create' }),
    ] }),
  ] }),
  node({ key: 'order', kind: 'directory', order: 200, path: '/order', children: [
    node({ key: 'order.recharges', kind: 'menu', order: 20, path: '/order/recharges' }),
    node({ key: 'order.orders', kind: 'menu', order: 10, path: '/order/orders' }),
    node({ key: 'order.hidden', kind: 'menu', order: 30, path: '/order/hidden', visible: false }),
  ] }),
  node({ key: 'empty', kind: 'directory', order: 50, path: '/empty' }),
]

describe('permissions', () => {
  it('needs every listed code and no wildcard', () => {
    const held = new Set(['order:order:list', 'order:order:refund'])
    expect(hasPermission(held, 'order:order:list')).toBe(true)
    expect(hasPermission(held, ['order:order:list', 'order:order:refund'])).toBe(true)
    expect(hasPermission(held, ['order:order:list', 'order:order:export'])).toBe(false)
    expect(hasPermission(held, 'order:*')).toBe(false)
    expect(hasPermission(held, undefined)).toBe(true)
    expect(hasPermission([], 'system:user:list')).toBe(false)
  })
})

describe('menu building', () => {
  it('orders siblings, drops buttons, hidden nodes and empty directories', () => {
    const nav = buildNav(tree)
    expect(nav.map((n) => n.key)).toEqual(['order', 'system'])
    expect(nav[0]?.children.map((n) => n.key)).toEqual(['order.orders', 'order.recharges'])
    expect(nav[1]?.children[0]?.children).toEqual([])
  })
  it('flattens leaves for quick jump and finds breadcrumb trails', () => {
    const nav = buildNav(tree)
    expect(flattenNav(nav).map((e) => e.path)).toEqual(['/order/orders', '/order/recharges', '/system/users'])
    expect(navTrail(nav, '/system/users').map((n) => n.key)).toEqual(['system', 'system.users'])
    expect(navTrail(nav, '/nowhere')).toEqual([])
  })
})

describe('route guard', () => {
  const base = { path: '/order/orders', fullPath: '/order/orders?phone=1', isPublic: false, permission: 'order:order:list', signedIn: true, mustChangePassword: false, permissions: new Set(['order:order:list']) }
  it('sends the signed-out to login with a redirect back', () => {
    expect(decideRoute({ ...base, signedIn: false })).toEqual({ kind: 'login', redirect: '/order/orders?phone=1' })
  })
  it('holds a must-change-password user on the change form', () => {
    expect(decideRoute({ ...base, mustChangePassword: true })).toEqual({ kind: 'change-password' })
    expect(decideRoute({ ...base, mustChangePassword: true, path: '/change-password', permission: undefined })).toEqual({ kind: 'allow' })
    expect(decideRoute({ ...base, mustChangePassword: true, path: '/login', isPublic: true })).toEqual({ kind: 'change-password' })
  })
  it('forbids pages outside one’s permissions and allows the rest', () => {
    expect(decideRoute(base)).toEqual({ kind: 'allow' })
    expect(decideRoute({ ...base, path: '/system/users', permission: 'system:user:list' })).toEqual({ kind: 'forbidden' })
    expect(decideRoute({ ...base, path: '/home', permission: undefined })).toEqual({ kind: 'allow' })
  })
  it('sends a signed-in user away from the login page', () => {
    expect(decideRoute({ ...base, path: '/login', isPublic: true })).toEqual({ kind: 'home' })
    expect(decideRoute({ ...base, signedIn: false, path: '/login', isPublic: true })).toEqual({ kind: 'allow' })
  })
})
