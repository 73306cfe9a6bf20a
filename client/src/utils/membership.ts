import type { AppMembershipOrder, BundleItem, MembershipStatus } from '../api/types'
import { locale, t } from '../i18n'
import { formatTime } from './time'

/**
 * A membership's percent off as shoppers say it in Chinese: the share paid, two digits unless
 * the second is 0 — 2 → `98` (98 折), 12 → `88`, 10 → `9`, 50 → `5`.
 */
export function memberZhe(percentOff: number): string {
  const paid = 100 - Math.round(percentOff)
  return paid % 10 === 0 ? String(paid / 10) : String(paid)
}

/** `充值享 98 折` / `2% off every top-up`; '' when the plan gives no discount. */
export function discountText(percentOff: number): string {
  if (!(percentOff > 0)) return ''
  const value = locale.value === 'en' ? String(Math.round(percentOff)) : memberZhe(percentOff)
  return t('membership.discount', { value })
}

/** How long a plan lasts: `30 天`, `1 年` (whole years of 365 days), `终身` for null. */
export function durationText(days: number | null | undefined): string {
  if (days === null || days === undefined) return t('membership.forLife')
  if (days >= 365 && days % 365 === 0) {
    const years = days / 365
    return years === 1 ? t('membership.oneYear') : t('membership.years', { years })
  }
  return days === 1 ? t('membership.oneDay') : t('membership.days', { days })
}

/** When a membership ends: `有效期至 …`, `终身有效`, or `已于 … 到期` once it has. */
export function endsText(status: Pick<MembershipStatus, 'active' | 'ends_at'>): string {
  if (!status.ends_at) return t('membership.lifetime')
  return status.active
    ? t('membership.endsAt', { time: formatTime(status.ends_at) })
    : t('membership.endedAt', { time: formatTime(status.ends_at) })
}

/** The coupons a plan gives each time (at purchase, then every 30 days). */
export function bundleCount(bundle: BundleItem[] | null | undefined): number {
  return (bundle ?? []).reduce((sum, item) => sum + Math.max(0, item.count), 0)
}

/** `开通即送 3 张优惠券，之后每 30 天再送`; '' without a bundle. */
export function bundleText(bundle: BundleItem[] | null | undefined): string {
  const count = bundleCount(bundle)
  return count > 0 ? t('membership.bundle', { count }) : ''
}

/** Where a paid-for membership order is, as the buyer follows it. */
export type MembershipProgress =
  | 'confirming'
  | 'granting'
  | 'done'
  | 'closed'
  | 'refunding'
  | 'refunded'
  | 'refund_failed'

export function progressOf(order: Pick<AppMembershipOrder, 'state' | 'granted'>): MembershipProgress {
  switch (order.state) {
    case 'awaiting_payment':
      // Paid on the sheet; the payment's notification has not reached the server yet.
      return 'confirming'
    case 'paid':
      return order.granted ? 'done' : 'granting'
    case 'closed':
    case 'refunding':
    case 'refunded':
    case 'refund_failed':
      return order.state
  }
}

/** Following the order stops here (`done`, or a state it will not leave by itself soon). */
export function isSettled(progress: MembershipProgress): boolean {
  return progress !== 'confirming' && progress !== 'granting'
}

/** What to tell the buyer about their order's progress. */
export function progressText(
  order: Pick<AppMembershipOrder, 'state' | 'granted' | 'granted_until' | 'plan_name'>,
): string {
  const progress = progressOf(order)
  switch (progress) {
    case 'done':
      return order.granted_until
        ? t('membership.progress.doneUntil', { name: order.plan_name, time: formatTime(order.granted_until) })
        : t('membership.progress.doneLifetime', { name: order.plan_name })
    case 'confirming':
      return t('membership.progress.confirming')
    case 'granting':
      return t('membership.progress.granting')
    case 'closed':
      return t('membership.progress.closed')
    case 'refunding':
      return t('membership.progress.refunding')
    case 'refunded':
      return t('membership.progress.refunded')
    case 'refund_failed':
      return t('membership.progress.refund_failed')
  }
}
