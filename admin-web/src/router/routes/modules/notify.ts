import type { RouteRecordRaw } from 'vue-router'

export default [
  { path: '/notify/templates', name: 'notify-templates', component: () => import('@/views/notify/templates/index.vue'), meta: { title: 'menu.notify.templates', permission: 'notify:template:list' } },
  { path: '/notify/deliveries', name: 'notify-deliveries', component: () => import('@/views/notify/deliveries/index.vue'), meta: { title: 'menu.notify.deliveries', permission: 'notify:delivery:list' } },
  { path: '/notify/alerts', name: 'notify-alerts', component: () => import('@/views/notify/alerts/index.vue'), meta: { title: 'menu.notify.alerts', permission: 'notify:alert:list' } },
] satisfies RouteRecordRaw[]
