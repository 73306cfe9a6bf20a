import { shallowRef } from 'vue'
import type { PaymentInfo } from './core'

interface Pending extends PaymentInfo {
  resolve: (pay: boolean) => void
}

/** The sandbox cashier sheet's open request, shown by `CashierSheet` (H5 only). */
export const cashierRequest = shallowRef<Pending | null>(null)

export function openCashier(info: PaymentInfo): Promise<boolean> {
  cashierRequest.value?.resolve(false)
  return new Promise((resolve) => {
    cashierRequest.value = { ...info, resolve }
  })
}

export function answerCashier(pay: boolean): void {
  const pending = cashierRequest.value
  cashierRequest.value = null
  pending?.resolve(pay)
}
