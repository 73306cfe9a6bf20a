import { useI18n } from 'vue-i18n'

type Translate = (key: string) => string
type Exists = (key: string) => boolean

/** Keys safe to quote in a message path; anything else is shown under the server's name. */
const PLAIN_KEY = /^[\w.-]+$/

/**
 * The message path of a menu key. Menu keys are dotted (`order.orders`), and a bare
 * `nav.order.orders` would be read as nested objects (and miss, since `nav.order` is itself a
 * message), so the key is quoted as one segment: `nav['order.orders']`.
 */
export function menuMessageKey(key: string): string | null {
  return PLAIN_KEY.test(key) ? `nav['${key}']` : null
}

/** A menu's label: the translation of its key when there is one, otherwise its name as the server sent it. */
export function menuLabel(t: Translate, te: Exists, key: string, fallback: string): string {
  const path = menuMessageKey(key)
  return path && te(path) ? t(path) : fallback
}

/** Menu names come from the server in one language; known keys are translated, others shown as named. */
export function useMenuName() {
  const { t, te } = useI18n()
  return (key: string, fallback: string) => menuLabel(t, (k) => te(k), key, fallback)
}
