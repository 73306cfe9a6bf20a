import type { RouteRecordRaw } from 'vue-router'

export default [
  { path: '/order/orders', name: 'orders', component: () => import('@/views/order/orders/index.vue'), meta: { title: 'menu.order.orders', permission: 'order:order:list' } },
  { path: '/order/recharges', name: 'recharges', component: () => import('@/views/order/recharges/index.vue'), meta: { title: 'menu.order.recharges', permission: 'order:recharge:list' } },
  { path: '/payment/alerts', name: 'payment-alerts', component: () => import('@/views/payment/alerts/index.vue'), meta: { title: 'menu.payment.alerts', permission: 'payment:alert:list' } },
  { path: '/payment/reconciliations', name: 'payment-reconciliations', component: () => import('@/views/payment/reconciliations/index.vue'), meta: { title: 'menu.payment.reconciliations', permission: 'finance:reconcile:view' } },
] satisfies RouteRecordRaw[]
