import { ApiError, NETWORK_ERROR } from '../api/http'
import { t } from '../i18n'

/** What to tell the user about a failed call: the server's own message when there is one. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === NETWORK_ERROR) return t('error.network')
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
