import { uniTransport } from '../api/http'
import { openCashier } from './cashier'
import { createPlatform, type Platform, type Target, type WxApi } from './core'
import { openSubscribe } from './subscribe'

declare const wx: WxApi | undefined

/** Compile-time target: uni replaces `process.env.UNI_PLATFORM` in each build. */
export const target: Target = process.env.UNI_PLATFORM === 'h5' ? 'h5' : 'mp-weixin'

/** H5 is served by the API server itself; the mini-program needs the API's origin. */
export const apiBase: string =
  target === 'h5' ? '' : (import.meta.env.VITE_API_BASE ?? 'http://127.0.0.1:8080')

export const platform: Platform = createPlatform(target, {
  base: apiBase,
  transport: uniTransport,
  storage: {
    get: (key) => {
      const value: unknown = uni.getStorageSync(key)
      return typeof value === 'string' && value ? value : undefined
    },
    set: (key, value) => uni.setStorageSync(key, value),
  },
  wx: target === 'mp-weixin' && typeof wx !== 'undefined' ? wx : undefined,
  cashier: openCashier,
  subscribeSheet: openSubscribe,
})
