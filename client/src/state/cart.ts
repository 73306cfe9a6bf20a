import { shallowRef } from 'vue'
import type { AppCountry, AppPlan, Detection } from '../api/types'

/** What the home page hands to checkout. */
export interface Cart {
  plan: AppPlan
  phone: string
  country: AppCountry
  operatorName?: string
  /** One key per cart, so a retried tap never places a second order. */
  idempotencyKey: string
}

export const cart = shallowRef<Cart | null>(null)

export function newKey(): string {
  const random = Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0')
  return `${Date.now().toString(36)}-${random}`
}

export function fillCart(plan: AppPlan, detection: Detection): void {
  cart.value = {
    plan,
    phone: detection.phone,
    country: detection.country,
    operatorName: detection.operator?.name ?? plan.operator.name,
    idempotencyKey: newKey(),
  }
}

const LAST_PHONE = 'topup.lastPhone'

export function lastPhone(): string {
  const value: unknown = uni.getStorageSync(LAST_PHONE)
  return typeof value === 'string' ? value : ''
}

export function rememberPhone(phone: string): void {
  uni.setStorageSync(LAST_PHONE, phone)
}
