import type { RouteRecordRaw } from 'vue-router'

export default [
  { path: '/system/users', name: 'staff-users', component: () => import('@/views/system/users/index.vue'), meta: { title: 'menu.system.users', permission: 'system:user:list' } },
  { path: '/system/roles', name: 'roles', component: () => import('@/views/system/roles/index.vue'), meta: { title: 'menu.system.roles', permission: 'system:role:list' } },
  { path: '/system/menus', name: 'menus', component: () => import('@/views/system/menus/index.vue'), meta: { title: 'menu.system.menus', permission: 'system:menu:list' } },
  { path: '/system/sessions', name: 'sessions', component: () => import('@/views/system/sessions/index.vue'), meta: { title: 'menu.system.sessions', permission: 'system:session:list' } },
  { path: '/system/api-keys', name: 'api-keys', component: () => import('@/views/system/api-keys/index.vue'), meta: { title: 'menu.system.api-keys', permission: 'system:apikey:list' } },
  { path: '/system/settings', name: 'settings', component: () => import('@/views/system/settings/index.vue'), meta: { title: 'menu.system.settings', permission: 'system:setting:view' } },
  { path: '/system/logs/login', name: 'login-logs', component: () => import('@/views/system/logs/login.vue'), meta: { title: 'menu.system.login-logs', permission: 'system:login-log:list' } },
  { path: '/system/logs/operations', name: 'operation-logs', component: () => import('@/views/system/logs/operations.vue'), meta: { title: 'menu.system.operation-logs', permission: 'system:operation-log:list' } },
  { path: '/system/logs/access', name: 'access-logs', component: () => import('@/views/system/logs/access.vue'), meta: { title: 'menu.system.access-logs', permission: 'system:access-log:list' } },
] satisfies RouteRecordRaw[]
