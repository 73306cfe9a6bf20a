import type { RouteRecordRaw } from 'vue-router'

export default [
  { path: '/content/banners', name: 'content-banners', component: () => import('@/views/content/banners/index.vue'), meta: { title: 'menu.content.banners', permission: 'content:banner:list' } },
  { path: '/content/announcements', name: 'content-announcements', component: () => import('@/views/content/announcements/index.vue'), meta: { title: 'menu.content.announcements', permission: 'content:announcement:list' } },
  { path: '/content/home', name: 'content-home', component: () => import('@/views/content/home/index.vue'), meta: { title: 'menu.content.home', permission: 'content:home:view' } },
  { path: '/content/service', name: 'content-service', component: () => import('@/views/content/service/index.vue'), meta: { title: 'menu.content.service', permission: 'content:service:view' } },
  { path: '/content/agreements', name: 'content-agreements', component: () => import('@/views/content/agreements/index.vue'), meta: { title: 'menu.content.agreements', permission: 'content:agreement:list' } },
] satisfies RouteRecordRaw[]
