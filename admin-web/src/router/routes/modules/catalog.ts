import type { RouteRecordRaw } from 'vue-router'

export default [
  { path: '/catalog/countries', name: 'countries', component: () => import('@/views/catalog/countries/index.vue'), meta: { title: 'menu.catalog.countries', permission: 'catalog:country:list' } },
  { path: '/catalog/operators', name: 'operators', component: () => import('@/views/catalog/operators/index.vue'), meta: { title: 'menu.catalog.operators', permission: 'catalog:operator:list' } },
  { path: '/catalog/plans', name: 'plans', component: () => import('@/views/catalog/plans/index.vue'), meta: { title: 'menu.catalog.plans', permission: 'catalog:plan:list' } },
  { path: '/catalog/pricing', name: 'pricing', component: () => import('@/views/catalog/pricing/index.vue'), meta: { title: 'menu.catalog.pricing', permission: 'catalog:pricing:view' } },
  { path: '/catalog/sync', name: 'sync', component: () => import('@/views/catalog/sync/index.vue'), meta: { title: 'menu.catalog.sync', permission: 'catalog:sync:list' } },
] satisfies RouteRecordRaw[]
