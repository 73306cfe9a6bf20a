import type { RouteRecordRaw } from 'vue-router'

export default [
  { path: '/marketing/coupon-templates', name: 'coupon-templates', component: () => import('@/views/marketing/coupon-templates/index.vue'), meta: { title: 'menu.marketing.coupon-templates', permission: 'marketing:coupon-template:list' } },
  { path: '/marketing/coupons', name: 'coupons', component: () => import('@/views/marketing/coupons/index.vue'), meta: { title: 'menu.marketing.coupons', permission: 'marketing:coupon:list' } },
  { path: '/marketing/membership-plans', name: 'membership-plans', component: () => import('@/views/marketing/membership-plans/index.vue'), meta: { title: 'menu.marketing.membership-plans', permission: 'marketing:membership-plan:list' } },
  { path: '/marketing/members', name: 'members', component: () => import('@/views/marketing/members/index.vue'), meta: { title: 'menu.marketing.members', permission: 'marketing:member:list' } },
  { path: '/marketing/membership-orders', name: 'membership-orders', component: () => import('@/views/marketing/membership-orders/index.vue'), meta: { title: 'menu.marketing.membership-orders', permission: 'marketing:membership-order:list' } },
] satisfies RouteRecordRaw[]
