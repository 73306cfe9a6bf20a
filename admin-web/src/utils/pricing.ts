/** Exact decimal arithmetic for the price preview: decimal strings as BigInt fractions. */

interface Frac {
  n: bigint
  d: bigint
}

export function parseDecimal(s: string): Frac | null {
  const m = /^\s*(-?)(\d+)(?:\.(\d+))?\s*$/.exec(s)
  if (!m) return null
  const frac = m[3] ?? ''
  const n = BigInt(`${m[2]}${frac}`) * (m[1] ? -1n : 1n)
  return { n, d: 10n ** BigInt(frac.length) }
}

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b
  return q * b === a || a < 0n ? q : q + 1n
}

/**
 * The retail price in fen the rules give: cost × fx × (1 + markup), rounded up to whole
 * fen, then up to a multiple of the step. Null when an input is not a decimal.
 */
export function previewFen(cost: string, fx: string, markup: string, stepFen: number): number | null {
  const c = parseDecimal(cost)
  const f = parseDecimal(fx)
  const m = parseDecimal(markup)
  if (!c || !f || !m || !Number.isSafeInteger(stepFen) || stepFen <= 0) return null
  // (1 + markup) = (m.d + m.n) / m.d ; yuan → fen × 100
  const num = c.n * f.n * (m.d + m.n) * 100n
  const den = c.d * f.d * m.d
  const fen = ceilDiv(num, den)
  const step = BigInt(stepFen)
  const stepped = ceilDiv(fen, step) * step
  const out = Number(stepped)
  return Number.isSafeInteger(out) ? out : null
}

/** Which markup applies: the operator's, else the country's, else the global one. */
export function markupFor(rules: { markup: string; country_markups: Record<string, string>; operator_markups: Record<string, string> }, country: string, operatorId: string): string {
  return rules.operator_markups[operatorId] ?? rules.country_markups[country] ?? rules.markup
}

/** A plan's provider cost as a decimal string, whatever the provider's field name. */
export function costValue(cost: Record<string, unknown>): string | null {
  for (const k of ['value', 'amount']) {
    const v = cost[k]
    if (typeof v === 'string') return v
    if (typeof v === 'number' && Number.isFinite(v)) return String(v)
  }
  return null
}
