import type { RouteRecordRaw } from 'vue-router'
import order from './modules/order'
import catalog from './modules/catalog'
import users from './modules/users'
import marketing from './modules/marketing'
import notify from './modules/notify'
import content from './modules/content'
import system from './modules/system'

export const moduleRoutes: RouteRecordRaw[] = [...order, ...catalog, ...users, ...marketing, ...content, ...notify, ...system]

export const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('@/views/_core/Login.vue'), meta: { public: true, title: 'auth.login' } },
  { path: '/change-password', name: 'change-password', component: () => import('@/views/_core/ChangePassword.vue'), meta: { title: 'auth.changePassword' } },
  {
    path: '/',
    component: () => import('@/layouts/BasicLayout.vue'),
    redirect: '/home',
    children: [
      { path: '/home', name: 'home', component: () => import('@/views/dashboard/Home.vue'), meta: { title: 'menu.home' } },
      { path: '/profile', name: 'profile', component: () => import('@/views/_core/Profile.vue'), meta: { title: 'menu.profile' } },
      { path: '/403', name: 'forbidden', component: () => import('@/views/_core/Forbidden.vue'), meta: { title: 'error.forbiddenTitle' } },
      ...moduleRoutes,
      { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('@/views/_core/NotFound.vue'), meta: { title: 'error.notFoundTitle' } },
    ],
  },
]
