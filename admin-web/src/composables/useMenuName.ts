import { useI18n } from 'vue-i18n'

/** Menu names come from the server in one language; known keys are translated, others shown as named. */
export function useMenuName() {
  const { t, te } = useI18n()
  return (key: string, fallback: string) => (te(`nav.${key}`) ? t(`nav.${key}`) : fallback)
}
