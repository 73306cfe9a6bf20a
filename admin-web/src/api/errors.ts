/** Every failed API call becomes one of these, carrying the server's error body. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly requestId: string | null
  readonly details: unknown

  constructor(status: number, code: string, message: string, requestId: string | null, details?: unknown) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.requestId = requestId
    this.details = details
  }

  /** `details.fields.<name>: [reason]` of a VALIDATION_FAILED answer, flattened. */
  fieldErrors(): Record<string, string[]> {
    const d = this.details as { fields?: Record<string, unknown> } | undefined
    const out: Record<string, string[]> = {}
    if (d && d.fields && typeof d.fields === 'object') {
      for (const [k, v] of Object.entries(d.fields)) out[k] = Array.isArray(v) ? v.map(String) : [String(v)]
    }
    return out
  }
}

interface ErrorBodyLike {
  code?: unknown
  message?: unknown
  request_id?: unknown
  details?: unknown
}

export function toApiError(status: number, body: unknown, headerRequestId: string | null): ApiError {
  const b = (body && typeof body === 'object' ? body : {}) as ErrorBodyLike
  const code = typeof b.code === 'string' ? b.code : `HTTP_${status}`
  const message = typeof b.message === 'string' ? b.message : `HTTP ${status}`
  const rid = typeof b.request_id === 'string' ? b.request_id : headerRequestId
  return new ApiError(status, code, message, rid, b.details)
}

export function networkError(e: unknown): ApiError {
  return new ApiError(0, 'NETWORK_ERROR', e instanceof Error ? e.message : String(e), null)
}
