import type {
  AppCoupon,
  CouponReason,
  CouponState,
  CouponTerms,
  CouponValidity,
  Money,
  PriceLine,
  QuoteCoupon,
} from '../api/types'
import { locale, t, type MessageKey } from '../i18n'
import { formatMoney, formatMoneyShort } from './money'
import { formatTime } from './time'

/** `percent_off` 12 → `8.8` (折, tenths of the price paid); 10 → `9`; 25 → `7.5`. */
export function zhe(percentOff: number): string {
  const paid = 100 - Math.round(percentOff)
  const whole = Math.floor(paid / 10)
  const tenth = paid % 10
  return tenth === 0 ? String(whole) : `${whole}.${tenth}`
}

function hasThreshold(terms: CouponTerms): boolean {
  return terms.threshold.amount > 0
}

/** The figure a percentage is told with: 折 in Chinese (`8.8`), the percent off in English (`12`). */
function percentFigure(terms: CouponTerms): string {
  const percent = terms.percent_off ?? 0
  return locale.value === 'en' ? String(percent) : zhe(percent)
}

/** The coupon's value in a few characters, for the big figure on a ticket: `¥5`, `8.8折` / `12% off`. */
export function couponValue(terms: CouponTerms): string {
  if (terms.kind === 'percent_off') return t('coupon.percentOff', { value: percentFigure(terms) })
  return terms.amount_off ? formatMoneyShort(terms.amount_off) : ''
}

/**
 * The terms in words: `满¥10减¥5`, `立减¥5`, `8.8折 最多减¥5`, `满¥10享8.8折 最多减¥5`
 * (English: `¥5 off orders from ¥10`, `12% off, up to ¥5`).
 */
export function termsText(terms: CouponTerms): string {
  if (terms.kind === 'percent_off') {
    const params = { value: percentFigure(terms), threshold: formatMoneyShort(terms.threshold) }
    const base = hasThreshold(terms)
      ? t('coupon.percentOffFrom', params)
      : t('coupon.percentOff', params)
    return terms.max_discount
      ? `${base}${t('coupon.maxDiscount', { max: formatMoneyShort(terms.max_discount) })}`
      : base
  }
  const params = {
    off: terms.amount_off ? formatMoneyShort(terms.amount_off) : '',
    threshold: formatMoneyShort(terms.threshold),
  }
  return hasThreshold(terms) ? t('coupon.amountOffFrom', params) : t('coupon.amountOff', params)
}

const KIND_KEYS: Record<string, MessageKey> = {
  airtime: 'home.airtime',
  data: 'home.data',
}

/** Where the coupon applies, or '' when anywhere: `仅限话费 · PH`. */
export function scopeText(terms: CouponTerms): string {
  const { kinds = [], countries = [], operator_ids = [], plan_ids = [] } = terms.scope ?? {}
  const parts: string[] = []
  if (kinds.length) parts.push(kinds.map((k) => (KIND_KEYS[k] ? t(KIND_KEYS[k]) : k)).join('/'))
  if (countries.length) parts.push(countries.join('/'))
  if (operator_ids.length) parts.push(t('coupon.scopeOperators'))
  if (plan_ids.length) parts.push(t('coupon.scopePlans'))
  return parts.length ? t('coupon.scopeOnly', { scope: parts.join(' · ') }) : ''
}

/** A template's validity before claiming: a fixed window, or so many days from the claim. */
export function validityText(validity: CouponValidity): string {
  if (validity.kind === 'days_after_claim') return t('coupon.daysAfterClaim', { days: validity.days })
  return t('coupon.window', { from: formatTime(validity.from), to: formatTime(validity.to) })
}

/** A claimed coupon's window: its end once it has begun (`有效期至 …`), both ends before. */
export function windowText(
  coupon: Pick<AppCoupon, 'valid_from' | 'valid_to'>,
  now: number = Date.now(),
): string {
  const from = new Date(coupon.valid_from).getTime()
  if (Number.isFinite(from) && from > now) {
    return t('coupon.window', { from: formatTime(coupon.valid_from), to: formatTime(coupon.valid_to) })
  }
  return t('coupon.until', { to: formatTime(coupon.valid_to) })
}

const REASON_KEYS: Record<string, MessageKey> = {
  not_yet_valid: 'coupon.reason.not_yet_valid',
  expired: 'coupon.reason.expired',
  out_of_scope: 'coupon.reason.out_of_scope',
  in_use: 'coupon.reason.in_use',
  used: 'coupon.reason.used',
  no_saving: 'coupon.reason.no_saving',
}

/** Why a coupon does not apply: `差 ¥3.00 可用`, or the reason's own words (the server's for a new code). */
export function reasonText(reason: CouponReason | null | undefined): string {
  if (!reason) return ''
  if (reason.code === 'below_threshold') {
    return reason.shortfall
      ? t('coupon.reason.shortfall', { amount: formatMoney(reason.shortfall) })
      : t('coupon.reason.below_threshold')
  }
  const key = REASON_KEYS[reason.code]
  return key ? t(key) : reason.message
}

export const COUPON_STATE_KEYS: Record<CouponState, MessageKey> = {
  unused: 'coupon.state.unused',
  locked: 'coupon.state.locked',
  used: 'coupon.state.used',
  expired: 'coupon.state.expired',
  withdrawn: 'coupon.state.withdrawn',
}

/** The quote option for a coupon id, when it is usable. */
export function usableOption(options: QuoteCoupon[], id: string | null): QuoteCoupon | undefined {
  if (!id) return undefined
  return options.find((o) => o.coupon.id === id && o.usable)
}

/** Price lines and total for a choice: the quote's base lines, then the coupon's line. */
export function pricedWith(
  baseLines: PriceLine[],
  base: Money,
  option: QuoteCoupon | undefined,
): { lines: PriceLine[]; total: Money } {
  const discount = option?.discount?.amount ?? 0
  if (!option || discount <= 0) return { lines: baseLines, total: base }
  return {
    lines: [
      ...baseLines,
      { kind: 'coupon', label: option.coupon.name, amount: { amount: -discount, currency: base.currency } },
    ],
    total: { amount: base.amount - discount, currency: base.currency },
  }
}

/** Usable ones first, the biggest saving first; then the rest as the server listed them. */
export function sortOptions(options: QuoteCoupon[]): QuoteCoupon[] {
  return options
    .map((o, index) => ({ o, index }))
    .sort((a, b) => {
      if (a.o.usable !== b.o.usable) return a.o.usable ? -1 : 1
      const saving = (b.o.discount?.amount ?? 0) - (a.o.discount?.amount ?? 0)
      return saving !== 0 ? saving : a.index - b.index
    })
    .map(({ o }) => o)
}

/** The short condition under a ticket's figure: `满¥10可用` / `无门槛`. */
export function conditionText(terms: CouponTerms): string {
  return hasThreshold(terms)
    ? t('coupon.condFrom', { threshold: formatMoneyShort(terms.threshold) })
    : t('coupon.condNone')
}
