/** Coupon arithmetic for the console, kept free of Vue so it tests in isolation. */
import { parseYuan, type Money, type YuanParse } from './money'

/** The part of a coupon's terms that decides its discount. */
export interface DiscountTerms {
  kind: 'amount_off' | 'percent_off'
  amount_off?: Money | null
  percent_off?: number | null
  max_discount?: Money | null
  threshold: Money
}

/**
 * What the coupon takes off a base price, in fen, by the server's rule: nothing below the
 * threshold; amount_off takes its amount; percent_off takes floor(base × percent / 100), at
 * most max_discount; either way at least 1 fen stays payable.
 */
export function discountFen(terms: DiscountTerms, baseFen: number): number {
  if (!Number.isSafeInteger(baseFen) || baseFen <= 0 || baseFen < terms.threshold.amount) return 0
  let off = 0
  if (terms.kind === 'amount_off') {
    off = terms.amount_off?.amount ?? 0
  } else {
    const pct = terms.percent_off ?? 0
    off = Math.floor((baseFen * pct) / 100)
    if (terms.max_discount) off = Math.min(off, terms.max_discount.amount)
  }
  return Math.max(0, Math.min(off, baseFen - 1))
}

/** Like parseYuan, but empty or zero is allowed and means 0 fen (a threshold of none). */
export function parseYuanOrZero(input: string): YuanParse {
  if (/^\s*(0+(\.0{1,2})?)?\s*$/.test(input)) return { ok: true, fen: 0 }
  return parseYuan(input)
}

/** The whole percent off as the Chinese 折 number: 12 → "8.8", 50 → "5". */
export function zheOf(percentOff: number): string {
  return String((100 - percentOff) / 10)
}
