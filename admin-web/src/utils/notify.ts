import { message, notification } from 'ant-design-vue'
import { ApiError } from '@/api/errors'
import { i18n } from '@/locales'

/** Shows a failed call with the server's message and request id, so staff can quote it. */
export function showError(e: unknown): void {
  const t = i18n.global.t
  if (e instanceof ApiError) {
    notification.error({
      message: e.message,
      description: `${e.code}${e.requestId ? ` · ${t('common.requestId')}: ${e.requestId}` : ''}`,
      duration: 8,
    })
  } else {
    notification.error({ message: e instanceof Error ? e.message : String(e) })
  }
}

export function showOk(text: string): void {
  void message.success(text)
}
