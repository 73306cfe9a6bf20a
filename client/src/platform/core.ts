import type { Money, PayParams } from '../api/types'
import { ApiError, buildUrl, toApiError, type Transport } from '../api/http'

export type Target = 'h5' | 'mp-weixin'

/** What the user did on the payment sheet. */
export type PaymentOutcome = 'paid' | 'cancelled'

export interface PaymentInfo {
  amount: Money
  description: string
}

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
}

export interface Platform {
  target: Target
  /** A one-time login code (what `wx.login` gives). */
  loginCode(): Promise<string>
  /** Shows the payment sheet for a placed order. */
  requestPayment(params: PayParams, info: PaymentInfo): Promise<PaymentOutcome>
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
  }
}
