import type { AppOrder, OrderState } from '../api/types'
import type { MessageKey } from '../i18n'

/** States after which the order no longer changes by itself. */
const FINAL: ReadonlySet<OrderState> = new Set<OrderState>(['succeeded', 'refunded', 'closed'])

export function isFinal(order: AppOrder): boolean {
  return FINAL.has(order.state)
}

/** Delayed on the shop's side (held for staff: the provider's wallet or credentials). */
export function isHeld(order: AppOrder): boolean {
  return Boolean(order.delay) && !isFinal(order)
}

/**
 * Whether another page of my orders follows `loaded` orders. The list counts one past the
 * page asked for at most, so a capped total means more.
 */
export function hasMore(loaded: number, page: { total: number; total_capped: boolean }): boolean {
  return page.total_capped || loaded < page.total
}

/** A delayed order whose money the buyer may ask back now. */
export function canAskRefund(order: AppOrder): boolean {
  return isHeld(order) && order.delay?.refundable === true
}

export type Phase = 'unpaid' | 'processing' | 'delayed' | 'succeeded' | 'refunding' | 'refunded' | 'closed'

export function phaseOf(order: AppOrder): Phase {
  if (isHeld(order)) return 'delayed'
  switch (order.state) {
    case 'awaiting_payment':
      return 'unpaid'
    case 'paid':
    case 'recharging':
      return 'processing'
    case 'succeeded':
      return 'succeeded'
    case 'failed':
    case 'refunding':
      return 'refunding'
    case 'refunded':
      return 'refunded'
    case 'closed':
      return 'closed'
  }
}

export const STATE_KEYS: Record<OrderState, MessageKey> = {
  awaiting_payment: 'state.awaiting_payment',
  paid: 'state.paid',
  recharging: 'state.recharging',
  succeeded: 'state.succeeded',
  failed: 'state.failed',
  refunding: 'state.refunding',
  refunded: 'state.refunded',
  closed: 'state.closed',
}

/**
 * Why the money went back, as a message key: the latest of the steps that explain a refund.
 * A recharge that did not go through is the usual reason, and the one assumed when the
 * steps name none (or the order is not loaded yet).
 */
export function refundReason(order: AppOrder | null): MessageKey {
  for (const step of [...(order?.timeline ?? [])].reverse()) {
    if (step.code === 'recharge_failed') return 'result.reasonRechargeFailed'
    if (step.code === 'refund_requested') return 'result.reasonRequested'
    if (step.code === 'paid_after_close') return 'result.reasonPaidLate'
  }
  return 'result.reasonRechargeFailed'
}
