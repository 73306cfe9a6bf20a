import { shallowRef } from 'vue'
import type { SubscribeInfo } from './core'

interface Pending {
  templateIds: string[]
  /** One line per template: what the user would be told about. */
  titles: string[]
  resolve: (allow: boolean) => void
}

/** The sandbox subscribe sheet's open request, shown by `SubscribeSheet` (H5 only). */
export const subscribeRequest = shallowRef<Pending | null>(null)

export function openSubscribe(templateIds: string[], info?: SubscribeInfo): Promise<boolean> {
  subscribeRequest.value?.resolve(false)
  return new Promise((resolve) => {
    const titles = templateIds.map((id, index) => info?.titles[index] || id)
    subscribeRequest.value = { templateIds, titles, resolve }
  })
}

export function answerSubscribe(allow: boolean): void {
  const pending = subscribeRequest.value
  subscribeRequest.value = null
  pending?.resolve(allow)
}
