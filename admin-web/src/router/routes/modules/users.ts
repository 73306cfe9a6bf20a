import type { RouteRecordRaw } from 'vue-router'

export default [
  { path: '/users/app-users', name: 'app-users', component: () => import('@/views/users/app-users/index.vue'), meta: { title: 'menu.users.app-users', permission: 'user:app_user:list' } },
  { path: '/users/blacklist', name: 'blacklist', component: () => import('@/views/users/blacklist/index.vue'), meta: { title: 'menu.users.blacklist', permission: 'user:blacklist:list' } },
  { path: '/users/visitors', name: 'visitors', component: () => import('@/views/users/visitors/index.vue'), meta: { title: 'menu.users.visitors', permission: 'user:visitor:list' } },
] satisfies RouteRecordRaw[]
