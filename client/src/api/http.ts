import type { ErrorBody } from './types'

/** Every failed call, with the server's message (or ours when the network failed). */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly requestId?: string
  readonly details?: unknown

  constructor(status: number, body: ErrorBody) {
    super(body.message)
    this.name = 'ApiError'
    this.status = status
    this.code = body.code
    this.requestId = body.request_id || undefined
    this.details = body.details
  }
}

export const NETWORK_ERROR = 'NETWORK_ERROR'

export interface RawRequest {
  url: string
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  data?: unknown
  header: Record<string, string>
}

export interface RawResponse {
  statusCode: number
  data: unknown
}

/** Sends one request; rejects only when no answer came back. */
export type Transport = (request: RawRequest) => Promise<RawResponse>

export const uniTransport: Transport = (request) =>
  new Promise((resolve, reject) => {
    uni.request({
      url: request.url,
      method: request.method,
      // uni sends `data` on GET as a query string: only bodies go here.
      data: request.data as string | AnyObject | ArrayBuffer | undefined,
      header: request.header,
      timeout: 15000,
      success: (res) => resolve({ statusCode: res.statusCode, data: res.data }),
      fail: (err) => reject(new Error(err.errMsg || 'request failed')),
    })
  })

function isErrorBody(value: unknown): value is ErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  )
}

export function toApiError(response: RawResponse): ApiError {
  if (isErrorBody(response.data)) {
    return new ApiError(response.statusCode, response.data)
  }
  return new ApiError(response.statusCode, {
    code: `HTTP_${response.statusCode}`,
    message: `HTTP ${response.statusCode}`,
    request_id: '',
  })
}

export type Query = Record<string, string | number | undefined | null>

export function buildUrl(base: string, path: string, query?: Query): string {
  const parts: string[] = []
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
  }
  return base + path + (parts.length ? `?${parts.join('&')}` : '')
}

/** Codes after which a fresh silent login is worth one retry. */
const RELOGIN_CODES = new Set(['TOKEN_EXPIRED', 'UNAUTHORIZED'])

export interface CallOptions {
  query?: Query
  body?: unknown
  headers?: Record<string, string>
  /** Send the app token (and renew it once on 401). */
  auth?: boolean
}

export interface Auth {
  /** A token, logging in first when there is none. */
  token(): Promise<string>
  /** Forgets a token the server refused and logs in again. */
  renew(refused: string): Promise<string>
}

export interface Client {
  call<T>(method: RawRequest['method'], path: string, options?: CallOptions): Promise<T>
}

export function createClient(base: string, transport: Transport, auth?: Auth): Client {
  async function send(
    method: RawRequest['method'],
    path: string,
    options: CallOptions,
    token?: string,
  ): Promise<RawResponse> {
    const header: Record<string, string> = { ...(options.headers ?? {}) }
    if (options.body !== undefined) header['content-type'] = 'application/json'
    if (token) header.authorization = `Bearer ${token}`
    try {
      return await transport({
        url: buildUrl(base, path, options.query),
        method,
        data: options.body,
        header,
      })
    } catch (err) {
      throw new ApiError(0, {
        code: NETWORK_ERROR,
        message: err instanceof Error ? err.message : String(err),
        request_id: '',
      })
    }
  }

  return {
    async call<T>(method: RawRequest['method'], path: string, options: CallOptions = {}) {
      let token: string | undefined
      if (options.auth && auth) token = await auth.token()
      let response = await send(method, path, options, token)
      if (response.statusCode === 401 && options.auth && auth && token) {
        const code = isErrorBody(response.data) ? response.data.code : ''
        if (RELOGIN_CODES.has(code)) {
          token = await auth.renew(token)
          response = await send(method, path, options, token)
        }
      }
      if (response.statusCode < 200 || response.statusCode >= 300) {
        throw toApiError(response)
      }
      return response.data as T
    },
  }
}
