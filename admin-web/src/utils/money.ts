/** Money as the API sends it: integer minor units (fen for CNY) with a currency. */
export interface Money {
  amount: number
  currency: string
}

const SYMBOLS: Record<string, string> = { CNY: '¥', USD: '$', EUR: '€' }

/** Formats integer minor units as major units with two decimals, grouping thousands. */
export function formatFen(fen: number): string {
  if (!Number.isSafeInteger(fen)) return '—'
  const neg = fen < 0
  const abs = Math.abs(fen)
  const yuan = Math.floor(abs / 100)
  const cents = abs % 100
  const grouped = String(yuan).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return `${neg ? '-' : ''}${grouped}.${String(cents).padStart(2, '0')}`
}

/** `{amount: 3000, currency: 'CNY'}` → `¥30.00`; unknown currencies keep their code. */
export function formatMoney(m: Money | null | undefined): string {
  if (!m) return '—'
  const sym = SYMBOLS[m.currency]
  const body = formatFen(m.amount)
  if (sym) return body.startsWith('-') ? `-${sym}${body.slice(1)}` : `${sym}${body}`
  return `${body} ${m.currency}`
}

export type YuanParse = { ok: true; fen: number } | { ok: false; reason: 'format' | 'positive' | 'too_large' }

/**
 * Parses what staff type in yuan ("12", "12.5", "12.50") into fen without floats.
 * More than two decimals, signs, exponents or separators are refused.
 */
export function parseYuan(input: string): YuanParse {
  const s = input.trim()
  const m = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(s)
  if (!m) return { ok: false, reason: 'format' }
  const whole = Number(m[1])
  const frac = Number((m[2] ?? '').padEnd(2, '0'))
  const fen = whole * 100 + frac
  if (!Number.isSafeInteger(fen)) return { ok: false, reason: 'too_large' }
  if (fen <= 0) return { ok: false, reason: 'positive' }
  return { ok: true, fen }
}

/** fen → "12.50" for prefilling inputs. */
export function fenToYuanInput(fen: number): string {
  return formatFen(fen).replace(/,/g, '')
}

/** What is still refundable: the total less every refund not failed. */
export function refundableFen(total: Money, refunds: { amount: Money; state: string }[]): number {
  let left = total.amount
  for (const r of refunds) if (r.state !== 'failed') left -= r.amount.amount
  return Math.max(0, left)
}
