import { describe, expect, it, vi } from 'vitest'
import type { RawRequest, RawResponse } from '../src/api/http'
import type { PayParams } from '../src/api/types'
import { createPlatform, SANDBOX_OPENID_KEY, type WxApi } from '../src/platform/core'

const PARAMS: PayParams = {
  timeStamp: '1796432189',
  nonceStr: 'DA737BF7',
  package: 'prepay_id=wx2026120508',
  signType: 'RSA',
  paySign: 'c2lnbg==',
}
const INFO = { amount: { amount: 770, currency: 'CNY' }, description: 'PHP 58.12 · +639171234500' }

function fakeServer(answer: (req: RawRequest) => RawResponse) {
  const calls: RawRequest[] = []
  const transport = vi.fn(async (req: RawRequest) => {
    calls.push(req)
    return answer(req)
  })
  return { calls, transport }
}

function memoryStorage() {
  const map = new Map<string, string>()
  return { map, storage: { get: (k: string) => map.get(k), set: (k: string, v: string) => map.set(k, v) } }
}

describe('h5: the embedded sandbox stands in for WeChat', () => {
  it('gets a login code from the sandbox and stays the same user', async () => {
    let n = 0
    const { calls, transport } = fakeServer(() => ({
      statusCode: 201,
      data: { code: `code-${++n}`, openid: 'o_browser' },
    }))
    const { map, storage } = memoryStorage()
    const platform = createPlatform('h5', { base: '', transport, storage })

    expect(await platform.loginCode()).toBe('code-1')
    expect(calls[0]).toMatchObject({ url: '/sandbox/wechat/codes', method: 'POST', data: {} })
    expect(map.get(SANDBOX_OPENID_KEY)).toBe('o_browser')

    expect(await platform.loginCode()).toBe('code-2')
    expect(calls[1].data).toEqual({ openid: 'o_browser' })
  })

  it('pays through the cashier sheet and confirms the prepay id', async () => {
    const { calls, transport } = fakeServer(() => ({ statusCode: 200, data: {} }))
    const cashier = vi.fn(async () => true)
    const platform = createPlatform('h5', { base: 'http://x', transport, storage: memoryStorage().storage, cashier })

    expect(await platform.requestPayment(PARAMS, INFO)).toBe('paid')
    expect(cashier).toHaveBeenCalledWith(INFO)
    expect(calls).toHaveLength(1)
    expect(calls[0]).toMatchObject({
      url: 'http://x/sandbox/wechat/pay/confirm',
      method: 'POST',
      data: { prepay_id: 'wx2026120508' },
    })
  })

  it('confirms nothing when the user cancels', async () => {
    const { calls, transport } = fakeServer(() => ({ statusCode: 200, data: {} }))
    const platform = createPlatform('h5', {
      base: '',
      transport,
      storage: memoryStorage().storage,
      cashier: async () => false,
    })
    expect(await platform.requestPayment(PARAMS, INFO)).toBe('cancelled')
    expect(calls).toHaveLength(0)
  })

  it('reports the sandbox’s own error', async () => {
    const { transport } = fakeServer(() => ({
      statusCode: 404,
      data: { code: 'PREPAY_NOT_FOUND', message: 'no such prepay id', request_id: 'r1' },
    }))
    const platform = createPlatform('h5', {
      base: '',
      transport,
      storage: memoryStorage().storage,
      cashier: async () => true,
    })
    await expect(platform.requestPayment(PARAMS, INFO)).rejects.toMatchObject({
      code: 'PREPAY_NOT_FOUND',
      message: 'no such prepay id',
    })
  })
})

describe('mp-weixin: the real wx APIs', () => {
  function fakeWx(pay: 'ok' | 'cancel' | 'fail') {
    const seen: { payment?: unknown } = {}
    const wx: WxApi = {
      login: ({ success }) => success({ code: 'wx-code' }),
      requestPayment: (options) => {
        const { success, fail, ...params } = options
        seen.payment = params
        if (pay === 'ok') success()
        else fail({ errMsg: pay === 'cancel' ? 'requestPayment:fail cancel' : 'requestPayment:fail no permission' })
      },
    }
    return { wx, seen }
  }

  it('logs in with wx.login and never calls the sandbox', async () => {
    const { calls, transport } = fakeServer(() => ({ statusCode: 500, data: null }))
    const platform = createPlatform('mp-weixin', {
      base: 'https://api',
      transport,
      storage: memoryStorage().storage,
      wx: fakeWx('ok').wx,
    })
    expect(await platform.loginCode()).toBe('wx-code')
    expect(calls).toHaveLength(0)
  })

  it('hands the pay params to wx.requestPayment unchanged', async () => {
    const { wx, seen } = fakeWx('ok')
    const cashier = vi.fn(async () => true)
    const { calls, transport } = fakeServer(() => ({ statusCode: 500, data: null }))
    const platform = createPlatform('mp-weixin', {
      base: '',
      transport,
      storage: memoryStorage().storage,
      wx,
      cashier,
    })
    expect(await platform.requestPayment(PARAMS, INFO)).toBe('paid')
    expect(seen.payment).toEqual(PARAMS)
    expect(cashier).not.toHaveBeenCalled()
    expect(calls).toHaveLength(0)
  })

  it('tells a cancel from a failure', async () => {
    const base = { base: '', transport: fakeServer(() => ({ statusCode: 200, data: null })).transport, storage: memoryStorage().storage }
    await expect(createPlatform('mp-weixin', { ...base, wx: fakeWx('cancel').wx }).requestPayment(PARAMS, INFO)).resolves.toBe('cancelled')
    await expect(createPlatform('mp-weixin', { ...base, wx: fakeWx('fail').wx }).requestPayment(PARAMS, INFO)).rejects.toThrow('no permission')
  })
})
