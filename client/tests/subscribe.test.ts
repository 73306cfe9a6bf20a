import { describe, expect, it, vi } from 'vitest'
import type { NoticeEvent, SubscribableList, SubscriptionChoice } from '../src/api/types'
import type { SubscribeInfo, SubscribeResult } from '../src/platform/core'
import { createSubscriber, PAY_EVENTS, REFUND_EVENTS, type SubscriberDeps } from '../src/utils/subscribe'

const LIST: SubscribableList = {
  items: [
    { event: 'payment_succeeded', template_id: 'sbx-payment-succeeded' },
    { event: 'recharge_succeeded', template_id: 'sbx-recharge-succeeded' },
    { event: 'recharge_failed_refunded', template_id: 'sbx-recharge-failed' },
    { event: 'refund_succeeded', template_id: 'sbx-refund-succeeded' },
    { event: 'membership_activated', template_id: 'sbx-membership-activated' },
  ],
}

function setup(overrides: Partial<SubscriberDeps> = {}) {
  const recorded: SubscriptionChoice[] = []
  const prompt = vi.fn(
    async (ids: string[], _info: SubscribeInfo): Promise<SubscribeResult> => ({ accepted: ids, rejected: [] }),
  )
  const templates = vi.fn(async (): Promise<SubscribableList> => LIST)
  const deps: SubscriberDeps = {
    templates,
    record: async (choice) => {
      recorded.push(choice)
    },
    prompt,
    title: (event: NoticeEvent) => `title:${event}`,
    log: () => undefined,
    ...overrides,
  }
  return { subscriber: createSubscriber(deps), prompt, templates, recorded }
}

describe('the subscribe prompt before paying', () => {
  it('asks for the three payment notices and reports the answer', async () => {
    const { subscriber, prompt, recorded } = setup()
    const result = await subscriber.ask(PAY_EVENTS)
    const ids = ['sbx-payment-succeeded', 'sbx-recharge-succeeded', 'sbx-recharge-failed']
    expect(result).toEqual({ accepted: ids, rejected: [] })
    expect(prompt).toHaveBeenCalledWith(ids, {
      titles: ['title:payment_succeeded', 'title:recharge_succeeded', 'title:recharge_failed_refunded'],
    })
    expect(recorded).toEqual([{ accepted: ids, rejected: [] }])
  })

  it('fetches the templates once per session', async () => {
    const { subscriber, templates } = setup()
    subscriber.prefetch()
    await subscriber.ask(PAY_EVENTS)
    await subscriber.ask(REFUND_EVENTS)
    expect(templates).toHaveBeenCalledTimes(1)
  })

  it('opens the prompt synchronously once the templates are fetched (within the tap)', async () => {
    const { subscriber, prompt } = setup()
    subscriber.prefetch()
    await Promise.resolve()
    await Promise.resolve()
    await new Promise((r) => setTimeout(r, 0))
    void subscriber.ask(REFUND_EVENTS)
    expect(prompt).toHaveBeenCalledWith(['sbx-refund-succeeded'], { titles: ['title:refund_succeeded'] })
  })

  it('skips the prompt silently when there are no templates', async () => {
    const { subscriber, prompt, recorded } = setup({ templates: async () => ({ items: [] }) })
    expect(await subscriber.ask(PAY_EVENTS)).toBeUndefined()
    expect(prompt).not.toHaveBeenCalled()
    expect(recorded).toHaveLength(0)
  })

  it('asks only about the events that have a template', async () => {
    const { subscriber, prompt } = setup({
      templates: async () => ({ items: [{ event: 'recharge_succeeded', template_id: 't2' }] }),
    })
    await subscriber.ask(PAY_EVENTS)
    expect(prompt).toHaveBeenCalledWith(['t2'], { titles: ['title:recharge_succeeded'] })
  })

  it('goes on when the templates cannot be fetched, and tries again next time', async () => {
    const templates = vi.fn<() => Promise<SubscribableList>>().mockRejectedValueOnce(new Error('offline'))
    templates.mockResolvedValue(LIST)
    const { subscriber, prompt } = setup({ templates })
    expect(await subscriber.ask(PAY_EVENTS)).toBeUndefined()
    expect(prompt).not.toHaveBeenCalled()
    expect(await subscriber.ask(REFUND_EVENTS)).toEqual({ accepted: ['sbx-refund-succeeded'], rejected: [] })
  })

  it('never blocks payment: a failed or hanging report is let go', async () => {
    const failing = setup({ record: async () => Promise.reject(new Error('500')) })
    await expect(failing.subscriber.ask(PAY_EVENTS)).resolves.toBeDefined()

    vi.useFakeTimers()
    try {
      const hanging = setup({ record: () => new Promise(() => undefined), recordWithinMs: 3_000 })
      let done = false
      const asked = hanging.subscriber.ask(REFUND_EVENTS).then(() => (done = true))
      await vi.advanceTimersByTimeAsync(2_900)
      expect(done).toBe(false)
      await vi.advanceTimersByTimeAsync(200)
      await asked
      expect(done).toBe(true)
    } finally {
      vi.useRealTimers()
    }
  })

  it('never blocks payment: slow templates mean no prompt this time', async () => {
    vi.useFakeTimers()
    try {
      const { subscriber, prompt } = setup({
        templates: () => new Promise(() => undefined),
        templatesWithinMs: 2_000,
      })
      const asked = subscriber.ask(PAY_EVENTS)
      await vi.advanceTimersByTimeAsync(2_001)
      expect(await asked).toBeUndefined()
      expect(prompt).not.toHaveBeenCalled()
    } finally {
      vi.useRealTimers()
    }
  })

  it('never throws, even when the prompt does', async () => {
    const { subscriber, recorded } = setup({ prompt: async () => Promise.reject(new Error('boom')) })
    await expect(subscriber.ask(PAY_EVENTS)).resolves.toBeUndefined()
    expect(recorded).toHaveLength(0)
  })

  it('reports rejections too', async () => {
    const { subscriber, recorded } = setup({ prompt: async (ids) => ({ accepted: [], rejected: ids }) })
    await subscriber.ask(REFUND_EVENTS)
    expect(recorded).toEqual([{ accepted: [], rejected: ['sbx-refund-succeeded'] }])
  })
})
