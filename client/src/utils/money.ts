/** Money as the API sends it: integer minor units with an ISO-4217 currency. */
export interface Money {
  amount: number
  currency: string
}

// ISO-4217 minor-unit exponents that differ from the usual 2.
const EXPONENTS: Record<string, number> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0,
  UGX: 0, UYI: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
}

export function exponentOf(currency: string): number {
  return EXPONENTS[currency.toUpperCase()] ?? 2
}

/** Digits of a whole minor-unit amount as a decimal string, without floats. */
export function minorToDecimal(amount: number, exponent: number): string {
  if (!Number.isSafeInteger(amount)) {
    throw new RangeError(`amount is not a safe integer: ${amount}`)
  }
  const negative = amount < 0
  const digits = Math.abs(amount).toString()
  if (exponent === 0) {
    return (negative ? '-' : '') + groupThousands(digits)
  }
  const padded = digits.padStart(exponent + 1, '0')
  const whole = padded.slice(0, padded.length - exponent)
  const fraction = padded.slice(padded.length - exponent)
  return `${negative ? '-' : ''}${groupThousands(whole)}.${fraction}`
}

function groupThousands(whole: string): string {
  return whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}

/** `{amount: 3000, currency: "CNY"}` → `¥30.00`; other currencies keep their code: `PHP 58.12`. */
export function formatMoney(money: Money): string {
  const text = minorToDecimal(money.amount, exponentOf(money.currency))
  if (money.currency === 'CNY') {
    return text.startsWith('-') ? `-¥${text.slice(1)}` : `¥${text}`
  }
  return `${money.currency} ${text}`
}

/** Like `formatMoney`, without a zero fraction: `¥10`, `¥7.50` — for terms like `满¥10减¥5`. */
export function formatMoneyShort(money: Money): string {
  return formatMoney(money).replace(/\.0+$/, '')
}
