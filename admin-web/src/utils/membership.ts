/** Membership rules the console checks before the server does, kept free of Vue so they test in isolation. */

/** The server's bounds for a plan. */
export const PLAN_LIMITS = { days: 3660, discount: 50, bundleItems: 10, bundleCount: 10, name: 40, benefits: 500, reason: 80 } as const

/** A membership order can be refunded from these states (a failed refund may be asked for again). */
const REFUNDABLE = new Set(['paid', 'refund_failed'])
export function canRefundMembership(state: string): boolean {
  return REFUNDABLE.has(state)
}

/** One bundle row as typed: a template not yet picked, or a count not yet entered, is undefined. */
export interface BundleDraft {
  template_id?: string
  count?: number | null
}

/** A bundle row in a form; `key` keeps a row's inputs when one above it is removed. */
export interface BundleRow {
  key: number
  template_id?: string
  count?: number
}

export type BundleProblem = 'template' | 'count' | 'duplicate' | 'too_many'

/** The first thing wrong with a bundle as typed, or null when the server would take it. */
export function bundleProblem(rows: readonly BundleDraft[]): BundleProblem | null {
  if (rows.length > PLAN_LIMITS.bundleItems) return 'too_many'
  const seen = new Set<string>()
  for (const r of rows) {
    if (!r.template_id) return 'template'
    const c = r.count
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 1 || c > PLAN_LIMITS.bundleCount) return 'count'
    if (seen.has(r.template_id)) return 'duplicate'
    seen.add(r.template_id)
  }
  return null
}

/** A bundle's lines with the templates' names; an unknown (or unlisted) template keeps its id. */
export function bundleLines(bundle: readonly { template_id: string; count: number }[], names: ReadonlyMap<string, string>): { id: string; name: string; count: number; known: boolean }[] {
  return bundle.map((b) => {
    const name = names.get(b.template_id)
    return { id: b.template_id, name: name ?? b.template_id, count: b.count, known: name !== undefined }
  })
}
