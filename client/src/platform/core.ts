import type { Money, PayParams } from '../api/types'
import { ApiError, buildUrl, toApiError, type Transport } from '../api/http'

export type Target = 'h5' | 'mp-weixin'

/** What the user did on the payment sheet. */
export type PaymentOutcome = 'paid' | 'cancelled'

export interface PaymentInfo {
  amount: Money
  description: string
}

/** The user's answer to a subscribe-message prompt, by template id. */
export interface SubscribeResult {
  accepted: string[]
  rejected: string[]
}

/** What the H5 sandbox sheet lists: one title per template id, in the same order. */
export interface SubscribeInfo {
  titles: string[]
}

/** What `wx.requestSubscribeMessage` answers: one result per template id beside `errMsg`. */
export type SubscribeAnswer = Record<string, string>

/** WeChat shows at most three templates in one prompt. */
export const MAX_SUBSCRIBE = 3

/** The few `wx` APIs the app needs (mp-weixin only). */
export interface WxApi {
  login(options: {
    success: (res: { code: string }) => void
    fail: (err: { errMsg: string }) => void
  }): void
  requestPayment(
    options: PayParams & {
      success: () => void
      fail: (err: { errMsg: string }) => void
    },
  ): void
  /** Base library 2.4.4 and later. */
  requestSubscribeMessage?(options: {
    tmplIds: string[]
    success: (res: SubscribeAnswer) => void
    fail: (err: { errMsg: string }) => void
  }): void
}

export interface KeyValue {
  get(key: string): string | undefined
  set(key: string, value: string): void
}

export interface PlatformDeps {
  /** API origin: '' in H5 (the page's own origin), the configured one in mp-weixin. */
  base: string
  transport: Transport
  storage: KeyValue
  wx?: WxApi
  /** H5 only: the sandbox cashier sheet; resolves true when the user taps Pay. */
  cashier?: (info: PaymentInfo) => Promise<boolean>
  /** H5 only: the sandbox subscribe sheet; resolves true when the user taps Allow. */
  subscribeSheet?: (templateIds: string[], info?: SubscribeInfo) => Promise<boolean>
}

export interface Platform {
  target: Target
  /** A one-time login code (what `wx.login` gives). */
  loginCode(): Promise<string>
  /** Shows the payment sheet for a placed order. */
  requestPayment(params: PayParams, info: PaymentInfo): Promise<PaymentOutcome>
  /**
   * Asks the user to allow subscribe messages (`wx.requestSubscribeMessage`; at most three
   * templates, the rest are ignored). Must run from a tap. Never rejects: a failed prompt
   * answers every template as rejected.
   */
  requestSubscribe(templateIds: string[], info?: SubscribeInfo): Promise<SubscribeResult>
}

/** The same browser stays the same sandbox user across visits. */
export const SANDBOX_OPENID_KEY = 'topup.sandbox.openid'

export function prepayIdOf(params: PayParams): string {
  const prefix = 'prepay_id='
  if (!params.package.startsWith(prefix)) {
    throw new Error(`unexpected pay package: ${params.package}`)
  }
  return params.package.slice(prefix.length)
}

function isCancel(errMsg: string): boolean {
  return /cancel/i.test(errMsg)
}

/**
 * Sorts WeChat's per-template answers: `accept` is accepted; `reject`, `ban`, `filter` (and
 * anything else, or no answer) rejected.
 */
export function sortAnswers(templateIds: string[], answer: SubscribeAnswer | undefined): SubscribeResult {
  const result: SubscribeResult = { accepted: [], rejected: [] }
  for (const id of templateIds) {
    if (answer?.[id] === 'accept') result.accepted.push(id)
    else result.rejected.push(id)
  }
  return result
}

/** The ids to prompt for: distinct, non-empty, at most three. */
function promptIds(templateIds: string[]): string[] {
  return [...new Set(templateIds.filter((id) => id))].slice(0, MAX_SUBSCRIBE)
}

export function createPlatform(target: Target, deps: PlatformDeps): Platform {
  async function post<T>(path: string, body: unknown): Promise<T> {
    let response
    try {
      response = await deps.transport({
        url: buildUrl(deps.base, path),
        method: 'POST',
        data: body,
        header: { 'content-type': 'application/json' },
      })
    } catch (err) {
      throw new ApiError(0, {
        code: 'NETWORK_ERROR',
        message: err instanceof Error ? err.message : String(err),
        request_id: '',
      })
    }
    if (response.statusCode < 200 || response.statusCode >= 300) throw toApiError(response)
    return response.data as T
  }

  if (target === 'h5') {
    return {
      target,
      async loginCode() {
        const openid = deps.storage.get(SANDBOX_OPENID_KEY)
        const answer = await post<{ code: string; openid: string }>(
          '/sandbox/wechat/codes',
          openid ? { openid } : {},
        )
        deps.storage.set(SANDBOX_OPENID_KEY, answer.openid)
        return answer.code
      },
      async requestPayment(params, info) {
        const prepayId = prepayIdOf(params)
        const confirmed = deps.cashier ? await deps.cashier(info) : false
        if (!confirmed) return 'cancelled'
        await post('/sandbox/wechat/pay/confirm', { prepay_id: prepayId })
        return 'paid'
      },
      async requestSubscribe(templateIds, info) {
        const ids = promptIds(templateIds)
        if (!ids.length) return { accepted: [], rejected: [] }
        try {
          const allow = deps.subscribeSheet ? await deps.subscribeSheet(ids, info) : false
          const openid = deps.storage.get(SANDBOX_OPENID_KEY)
          if (!openid) return sortAnswers(ids, undefined)
          const answer = await post<SubscribeAnswer>('/sandbox/wechat/subscriptions', {
            openid,
            template_ids: ids,
            decision: allow ? 'accept' : 'reject',
          })
          return sortAnswers(ids, answer)
        } catch {
          return sortAnswers(ids, undefined)
        }
      },
    }
  }

  const wx = deps.wx
  return {
    target,
    loginCode() {
      return new Promise((resolve, reject) => {
        if (!wx) return reject(new Error('wx is not available'))
        wx.login({
          success: (res) => resolve(res.code),
          fail: (err) => reject(new Error(err.errMsg)),
        })
      })
    },
    requestPayment(params) {
      return new Promise((resolve, reject) => {
        if (!wx) return reject(new Error('wx is not available'))
        wx.requestPayment({
          timeStamp: params.timeStamp,
          nonceStr: params.nonceStr,
          package: params.package,
          signType: params.signType,
          paySign: params.paySign,
          success: () => resolve('paid'),
          fail: (err) => (isCancel(err.errMsg) ? resolve('cancelled') : reject(new Error(err.errMsg))),
        })
      })
    },
    requestSubscribe(templateIds) {
      const ids = promptIds(templateIds)
      return new Promise((resolve) => {
        if (!wx?.requestSubscribeMessage || !ids.length) return resolve(sortAnswers(ids, undefined))
        try {
          // Called straight from the tap (no await before it): WeChat refuses it otherwise.
          wx.requestSubscribeMessage({
            tmplIds: ids,
            success: (res) => resolve(sortAnswers(ids, res)),
            fail: () => resolve(sortAnswers(ids, undefined)),
          })
        } catch {
          // An old base library without the API, or one that throws: nothing was allowed.
          resolve(sortAnswers(ids, undefined))
        }
      })
    },
  }
}
