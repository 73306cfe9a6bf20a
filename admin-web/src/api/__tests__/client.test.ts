import { beforeEach, describe, expect, it, vi } from 'vitest'

// A Map-backed localStorage: the tests run in Node.
const store = new Map<string, string>()
vi.stubGlobal('localStorage', {
  getItem: (k: string) => store.get(k) ?? null,
  setItem: (k: string, v: string) => void store.set(k, v),
  removeItem: (k: string) => void store.delete(k),
})

const { authFetch, setSessionEndedHandler } = await import('../client')
const { loadTokens, saveTokens } = await import('../tokens')

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

describe('authFetch', () => {
  beforeEach(() => {
    store.clear()
    saveTokens({ access: 'old-access', refresh: 'rt-1' })
  })

  it('refreshes once for concurrent TOKEN_EXPIRED answers and retries each request', async () => {
    let refreshes = 0
    const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = input instanceof Request ? input : new Request(new URL(String(input), 'http://x'), init)
      const url = new URL(req.url)
      if (url.pathname === '/api/v1/admin/auth/refresh') {
        refreshes++
        const body = (await req.json()) as { refresh_token: string }
        expect(body.refresh_token).toBe('rt-1')
        await new Promise((r) => setTimeout(r, 10))
        return json(200, { access_token: 'new-access', refresh_token: 'rt-2', token_type: 'Bearer', expires_in: 1800, must_change_password: false })
      }
      if (req.headers.get('authorization') === 'Bearer old-access') return json(401, { code: 'TOKEN_EXPIRED', message: 'expired', request_id: 'r1' })
      return json(200, { path: url.pathname, body: req.method === 'POST' ? await req.text() : null })
    })
    vi.stubGlobal('fetch', fetchMock)

    const [a, b] = await Promise.all([
      authFetch(new Request('http://x/api/v1/admin/orders')),
      authFetch(new Request('http://x/api/v1/admin/roles', { method: 'POST', body: '{"code":"c"}' })),
    ])
    expect(refreshes).toBe(1)
    expect(await a.json()).toEqual({ path: '/api/v1/admin/orders', body: null })
    // The retried POST carries its body again.
    expect(await b.json()).toEqual({ path: '/api/v1/admin/roles', body: '{"code":"c"}' })
    expect(loadTokens()).toEqual({ access: 'new-access', refresh: 'rt-2' })
  })

  it('signs out when the refresh is refused', async () => {
    const ended = vi.fn()
    setSessionEndedHandler(ended)
    vi.stubGlobal('fetch', vi.fn(async (input: RequestInfo | URL) => {
      const req = input instanceof Request ? input : new Request(new URL(String(input), 'http://x'))
      if (new URL(req.url).pathname.endsWith('/refresh')) return json(401, { code: 'SESSION_REVOKED', message: 'no', request_id: 'r2' })
      return json(401, { code: 'TOKEN_EXPIRED', message: 'expired', request_id: 'r3' })
    }))
    const res = await authFetch(new Request('http://x/api/v1/admin/orders'))
    expect(res.status).toBe(401)
    expect(ended).toHaveBeenCalledTimes(1)
    expect(loadTokens()).toBeNull()
  })

  it('does not refresh on other 401s', async () => {
    const fetchMock = vi.fn(async () => json(401, { code: 'UNAUTHENTICATED', message: 'sign in', request_id: 'r4' }))
    vi.stubGlobal('fetch', fetchMock)
    const res = await authFetch(new Request('http://x/api/v1/admin/orders'))
    expect(res.status).toBe(401)
    expect(fetchMock).toHaveBeenCalledTimes(1)
  })
})
