import createClient from 'openapi-fetch'
import type { paths } from './schema'
import { ApiError, networkError, toApiError } from './errors'
import { loadTokens, saveTokens, type Tokens } from './tokens'

/** Called when the session can no longer be used (refresh refused): the app signs out. */
let onSessionEnded: () => void = () => {}
export function setSessionEndedHandler(fn: () => void): void {
  onSessionEnded = fn
}

let refreshing: Promise<string | null> | null = null

/**
 * Exchanges the refresh token once for the whole app: concurrent 401s wait on the same
 * promise, because a refresh token works once and a reused one ends the session.
 */
export function refreshAccessToken(): Promise<string | null> {
  if (!refreshing) {
    refreshing = (async () => {
      const t = loadTokens()
      if (!t) return null
      try {
        const res = await fetch('/api/v1/admin/auth/refresh', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ refresh_token: t.refresh }),
        })
        if (!res.ok) return null
        const pair = (await res.json()) as { access_token: string; refresh_token: string }
        saveTokens({ access: pair.access_token, refresh: pair.refresh_token })
        return pair.access_token
      } catch {
        return null
      }
    })().finally(() => {
      refreshing = null
    })
  }
  return refreshing
}

async function isTokenExpired(res: Response): Promise<boolean> {
  if (res.status !== 401) return false
  try {
    const b = (await res.clone().json()) as { code?: string }
    return b.code === 'TOKEN_EXPIRED'
  } catch {
    return false
  }
}

/** fetch with the bearer token, one transparent refresh on TOKEN_EXPIRED, then the retry. */
export async function authFetch(input: Request): Promise<Response> {
  const retry = input.clone()
  const send = (req: Request, token: string | undefined) => {
    if (token) req.headers.set('authorization', `Bearer ${token}`)
    return fetch(req)
  }
  const tokens: Tokens | null = loadTokens()
  const res = await send(input, tokens?.access)
  if (!(await isTokenExpired(res))) return res
  const fresh = await refreshAccessToken()
  if (!fresh) {
    saveTokens(null)
    onSessionEnded()
    return res
  }
  return send(retry, fresh)
}

export const api = createClient<paths>({ baseUrl: '', fetch: authFetch })

interface FetchResult<T> {
  data?: T
  error?: unknown
  response: Response
}

/** Turns an openapi-fetch result into the data or a thrown ApiError. */
export async function unwrap<T>(p: Promise<FetchResult<T>>): Promise<T> {
  let r: FetchResult<T>
  try {
    r = await p
  } catch (e) {
    throw e instanceof ApiError ? e : networkError(e)
  }
  if (!r.response.ok) {
    if (r.response.status === 401) {
      const body = r.error as { code?: string } | undefined
      if (body?.code !== 'INVALID_CREDENTIALS' && body?.code !== 'ACCOUNT_LOCKED') onSessionEnded()
    }
    throw toApiError(r.response.status, r.error, r.response.headers.get('x-request-id'))
  }
  return r.data as T
}

/** Downloads a file from an authenticated GET (the export), keeping the bearer token off URLs. */
export async function downloadWithToken(url: string, fallbackName: string): Promise<void> {
  const res = await authFetch(new Request(url))
  if (!res.ok) {
    let body: unknown = null
    try {
      body = await res.json()
    } catch {
      body = null
    }
    throw toApiError(res.status, body, res.headers.get('x-request-id'))
  }
  const blob = await res.blob()
  const cd = res.headers.get('content-disposition') ?? ''
  const m = /filename="?([^";]+)"?/.exec(cd)
  const a = document.createElement('a')
  a.href = URL.createObjectURL(blob)
  a.download = m?.[1] ?? fallbackName
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000)
}
