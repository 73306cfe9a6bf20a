import { describe, expect, it } from 'vitest'
import { createMemoryHistory, createRouter } from 'vue-router'
import { permittedPageLoaders } from '../prefetch'

const page = (name: string) => () => Promise.resolve({ name })

function router() {
  return createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/login', component: page('login'), meta: { public: true } },
      { path: '/home', component: page('home') },
      { path: '/order/orders', component: page('orders'), meta: { permission: 'order:order:list' } },
      { path: '/users/roles', component: page('roles'), meta: { permission: 'system:role:list' } },
      { path: '/both', component: page('both'), meta: { permission: ['order:order:list', 'system:role:list'] } },
    ],
  })
}

describe('permittedPageLoaders', () => {
  it('loads only the pages the permissions open', async () => {
    const loaders = permittedPageLoaders(router().getRoutes(), new Set(['order:order:list']))
    const loaded = await Promise.all(loaders.map((load) => load()))
    expect(loaded).toEqual([{ name: 'orders' }])
  })

  it('never the public pages, and all guarded ones for a holder of every code', async () => {
    const loaders = permittedPageLoaders(router().getRoutes(), new Set(['order:order:list', 'system:role:list']))
    const names = (await Promise.all(loaders.map((load) => load()))).map((p) => (p as { name: string }).name).sort()
    expect(names).toEqual(['both', 'orders', 'roles'])
  })
})
