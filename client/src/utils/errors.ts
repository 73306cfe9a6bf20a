import { ApiError, NETWORK_ERROR } from '../api/http'
import { t, type MessageKey } from '../i18n'
import zhCN from '../i18n/zh-CN'

/** The wait a `RATE_LIMITED` answer asks for, in seconds (at least 1). */
function retryAfter(details: unknown): number {
  const seconds =
    typeof details === 'object' && details !== null && 'retry_after_seconds' in details
      ? Number((details as { retry_after_seconds: unknown }).retry_after_seconds)
      : NaN
  return Number.isFinite(seconds) && seconds >= 1 ? Math.ceil(seconds) : 1
}

function codeKey(code: string): MessageKey | undefined {
  const key = `error.code.${code}`
  return key in zhCN ? (key as MessageKey) : undefined
}

/**
 * What to tell the user about a failed call: in their language for the codes a buyer meets
 * (limits, blocks, a wrong number), otherwise the server's own message.
 */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === NETWORK_ERROR) return t('error.network')
    const key = codeKey(err.code)
    if (key) return t(key, { seconds: retryAfter(err.details) })
    return err.message || t('error.unknown')
  }
  if (err instanceof Error && err.message) return err.message
  return t('error.unknown')
}

export function errorCode(err: unknown): string | undefined {
  return err instanceof ApiError ? err.code : undefined
}

export function toastError(err: unknown): void {
  uni.showToast({ title: errorMessage(err), icon: 'none', duration: 3000 })
}
