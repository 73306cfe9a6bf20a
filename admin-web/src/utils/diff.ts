/** Field-level differences between two JSON snapshots, for the operation log. */
export interface FieldDiff {
  path: string
  before: unknown
  after: unknown
}

function flatten(v: unknown, prefix: string, out: Map<string, unknown>) {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const entries = Object.entries(v as Record<string, unknown>)
    if (entries.length === 0 && prefix) out.set(prefix, {})
    for (const [k, x] of entries) flatten(x, prefix ? `${prefix}.${k}` : k, out)
  } else if (prefix) {
    out.set(prefix, v)
  } else {
    out.set('(value)', v)
  }
}

export function diffSnapshots(before: unknown, after: unknown): FieldDiff[] {
  const a = new Map<string, unknown>()
  const b = new Map<string, unknown>()
  if (before !== undefined && before !== null) flatten(before, '', a)
  if (after !== undefined && after !== null) flatten(after, '', b)
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort()
  const out: FieldDiff[] = []
  for (const k of keys) {
    const x = a.get(k)
    const y = b.get(k)
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push({ path: k, before: x, after: y })
  }
  return out
}
