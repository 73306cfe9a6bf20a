/** Where the token pair lives between page loads. */
const KEY = 'topup.admin.tokens'

export interface Tokens {
  access: string
  refresh: string
}

export function loadTokens(): Tokens | null {
  try {
    const raw = localStorage.getItem(KEY)
    if (!raw) return null
    const v = JSON.parse(raw) as Partial<Tokens>
    return typeof v.access === 'string' && typeof v.refresh === 'string' ? { access: v.access, refresh: v.refresh } : null
  } catch {
    return null
  }
}

export function saveTokens(t: Tokens | null): void {
  if (t) localStorage.setItem(KEY, JSON.stringify(t))
  else localStorage.removeItem(KEY)
}
