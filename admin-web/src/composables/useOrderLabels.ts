import { useI18n } from 'vue-i18n'
import type { TimelineEvent } from '@/api/types'

/** A recharge attempt's outcome classes (`outcome_class` in the recharge log), with a tag colour. */
export const OUTCOME_COLOURS: Record<string, string> = {
  succeeded: 'success',
  pending: 'processing',
  ambiguous: 'processing',
  failed_retryable: 'warning',
  precondition: 'warning',
  failed_final: 'error',
}

/**
 * Words for the codes an order carries: its timeline steps, price line kinds, recharge actions
 * and outcome classes. A code the console has no words for shows as it is (an entry written
 * before its step had a code shows its stored phrase).
 */
export function useOrderLabels() {
  const { t, te } = useI18n()
  const known = (key: string, raw: string) => (te(key) ? t(key) : raw)
  return {
    step: (event: TimelineEvent) => (event.code ? t(`order.steps.${event.code}`) : event.what),
    lineKind: (kind: string) => known(`order.lineKinds.${kind}`, kind),
    action: (action: string) => known(`order.actions.${action}`, action),
    /** `SUCCEEDED` (an attempt's outcome) and `succeeded` (the log's class) alike. */
    outcome: (outcomeClass: string) => known(`order.outcomes.${outcomeClass.toLowerCase()}`, outcomeClass),
    outcomeColour: (outcomeClass: string) => OUTCOME_COLOURS[outcomeClass.toLowerCase()] ?? 'default',
  }
}
