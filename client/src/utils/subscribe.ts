import type { NoticeEvent, SubscribableList, SubscribableTemplate, SubscriptionChoice } from '../api/types'
import type { SubscribeInfo, SubscribeResult } from '../platform/core'
import { MAX_SUBSCRIBE } from '../platform/core'

/** The notices a top-up's payment may lead to: one prompt holds all three. */
export const PAY_EVENTS: NoticeEvent[] = ['payment_succeeded', 'recharge_succeeded', 'recharge_failed_refunded']
/** The notice a refund request leads to. */
export const REFUND_EVENTS: NoticeEvent[] = ['refund_succeeded']

export interface SubscriberDeps {
  /** `GET /api/v1/app/subscriptions/templates`. */
  templates(): Promise<SubscribableList>
  /** `POST /api/v1/app/subscriptions`. */
  record(choice: SubscriptionChoice): Promise<unknown>
  /** The platform's prompt (`wx.requestSubscribeMessage` or the H5 sandbox sheet). */
  prompt(templateIds: string[], info: SubscribeInfo): Promise<SubscribeResult>
  /** What the user would be told about, in their language. */
  title(event: NoticeEvent): string
  /** How long the templates may take when not fetched yet (then no prompt this time). */
  templatesWithinMs?: number
  /** How long reporting the answer may hold up what comes next. */
  recordWithinMs?: number
  log?: (message: string, err?: unknown) => void
}

export interface Subscriber {
  /** Fetches the templates ahead of the tap (kept for the session). */
  prefetch(): void
  /**
   * Prompts for the templates of `events` and reports the answer; undefined when there was
   * nothing to ask. Never rejects and never waits on the network for long: the caller goes on
   * to pay (or ask for a refund) whatever happens here. Call it first thing in a tap handler:
   * with the templates already fetched, the prompt opens before anything is awaited.
   */
  ask(events: NoticeEvent[]): Promise<SubscribeResult | undefined>
}

/** Resolves with the promise's value, or undefined once `ms` have passed. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(undefined), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (err: unknown) => {
        clearTimeout(timer)
        reject(err)
      },
    )
  })
}

export function createSubscriber(deps: SubscriberDeps): Subscriber {
  const log = deps.log ?? ((message: string, err?: unknown) => console.warn(`[subscribe] ${message}`, err ?? ''))
  let cached: SubscribableTemplate[] | undefined
  let loading: Promise<SubscribableTemplate[]> | undefined

  function load(): Promise<SubscribableTemplate[]> {
    if (cached) return Promise.resolve(cached)
    loading ??= deps
      .templates()
      .then((list) => {
        cached = list.items
        return list.items
      })
      .finally(() => {
        loading = undefined
      })
    return loading
  }

  return {
    prefetch() {
      load().catch((err: unknown) => log('templates not loaded', err))
    },

    async ask(events) {
      try {
        // Already fetched: no await before the prompt, so it still counts as the user's tap.
        const templates = cached ?? (await within(load(), deps.templatesWithinMs ?? 5_000))
        if (!templates) {
          log('templates took too long; not asking this time')
          return undefined
        }
        const chosen = events
          .map((event) => templates.find((t) => t.event === event))
          .filter((t): t is SubscribableTemplate => t !== undefined)
          .slice(0, MAX_SUBSCRIBE)
        if (!chosen.length) return undefined
        const result = await deps.prompt(
          chosen.map((t) => t.template_id),
          { titles: chosen.map((t) => deps.title(t.event)) },
        )
        if (result.accepted.length || result.rejected.length) {
          const recorded = deps.record({ accepted: result.accepted, rejected: result.rejected })
          await within(recorded, deps.recordWithinMs ?? 5_000).catch((err: unknown) =>
            log('answer not recorded', err),
          )
        }
        return result
      } catch (err) {
        log('prompt failed', err)
        return undefined
      }
    },
  }
}
