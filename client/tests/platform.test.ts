import { describe, expect, it, vi } from 'vitest'
import type { RawRequest, RawResponse } from '../src/api/http'
import type { PayParams } from '../src/api/types'
import { createPlatform, SANDBOX_OPENID_KEY, sortAnswers, type SubscribeAnswer, type WxApi } from '../src/platform/core'

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

const TEMPLATES = ['sbx-payment-succeeded', 'sbx-recharge-succeeded', 'sbx-recharge-failed']

describe('requestSubscribe in h5: the sandbox sheet plays the WeChat prompt', () => {
  function h5(allow: boolean | 'no-sheet', answer: (req: RawRequest) => RawResponse, openid = 'o_browser') {
    const server = fakeServer(answer)
    const { map, storage } = memoryStorage()
    if (openid) map.set(SANDBOX_OPENID_KEY, openid)
    const sheet = vi.fn(async () => allow === true)
    const platform = createPlatform('h5', {
      base: '',
      transport: server.transport,
      storage,
      subscribeSheet: allow === 'no-sheet' ? undefined : sheet,
    })
    return { platform, sheet, calls: server.calls }
  }
  const sandboxAnswers = (req: RawRequest): RawResponse => {
    const body = req.data as { template_ids: string[]; decision: string }
    const data: Record<string, string> = { errMsg: 'requestSubscribeMessage:ok' }
    for (const id of body.template_ids) data[id] = body.decision === 'accept' ? 'accept' : 'reject'
    return { statusCode: 200, data }
  }

  it('Allow sends the accept decision with the stored openid', async () => {
    const { platform, sheet, calls } = h5(true, sandboxAnswers)
    const info = { titles: ['支付成功通知', '充值成功通知', '充值失败退款通知'] }
    expect(await platform.requestSubscribe(TEMPLATES, info)).toEqual({ accepted: TEMPLATES, rejected: [] })
    expect(sheet).toHaveBeenCalledWith(TEMPLATES, info)
    expect(calls).toHaveLength(1)
    expect(calls[0]).toMatchObject({
      url: '/sandbox/wechat/subscriptions',
      method: 'POST',
      data: { openid: 'o_browser', template_ids: TEMPLATES, decision: 'accept' },
    })
  })

  it('Not now sends the reject decision and answers all rejected', async () => {
    const { platform, calls } = h5(false, sandboxAnswers)
    expect(await platform.requestSubscribe(TEMPLATES)).toEqual({ accepted: [], rejected: TEMPLATES })
    expect(calls[0].data).toMatchObject({ decision: 'reject' })
  })

  it('keeps the sandbox’s per-template answer (a filtered template is rejected)', async () => {
    const { platform } = h5(true, () => ({
      statusCode: 200,
      data: { errMsg: 'requestSubscribeMessage:ok', 'sbx-payment-succeeded': 'accept', nope: 'filter' },
    }))
    expect(await platform.requestSubscribe(['sbx-payment-succeeded', 'nope'])).toEqual({
      accepted: ['sbx-payment-succeeded'],
      rejected: ['nope'],
    })
  })

  it('asks about three templates at most, and nothing when given none', async () => {
    const { platform, sheet, calls } = h5(true, sandboxAnswers)
    const four = [...TEMPLATES, 'sbx-refund-succeeded']
    expect(await platform.requestSubscribe(four)).toEqual({ accepted: TEMPLATES, rejected: [] })
    expect((calls[0].data as { template_ids: string[] }).template_ids).toEqual(TEMPLATES)
    expect(await platform.requestSubscribe([])).toEqual({ accepted: [], rejected: [] })
    expect(sheet).toHaveBeenCalledTimes(1)
  })

  it('never throws: a refused or failed sandbox call answers all rejected', async () => {
    const refused = h5(true, () => ({ statusCode: 400, data: { errMsg: 'requestSubscribeMessage:fail unknown user' } }))
    await expect(refused.platform.requestSubscribe(TEMPLATES)).resolves.toEqual({ accepted: [], rejected: TEMPLATES })
    const server = fakeServer(() => ({ statusCode: 200, data: {} }))
    server.transport.mockRejectedValueOnce(new Error('offline'))
    const offline = createPlatform('h5', {
      base: '',
      transport: server.transport,
      storage: { get: () => 'o_browser', set: () => undefined },
      subscribeSheet: async () => true,
    })
    await expect(offline.requestSubscribe(TEMPLATES)).resolves.toEqual({ accepted: [], rejected: TEMPLATES })
  })

  it('without an openid or a sheet nothing is allowed and the sandbox is not told', async () => {
    const noOpenid = h5(true, sandboxAnswers, '')
    expect(await noOpenid.platform.requestSubscribe(TEMPLATES)).toEqual({ accepted: [], rejected: TEMPLATES })
    expect(noOpenid.calls).toHaveLength(0)
    const noSheet = h5('no-sheet', sandboxAnswers)
    expect(await noSheet.platform.requestSubscribe(TEMPLATES)).toEqual({ accepted: [], rejected: TEMPLATES })
    expect(noSheet.calls[0].data).toMatchObject({ decision: 'reject' })
  })
})

describe('requestSubscribe in mp-weixin: wx.requestSubscribeMessage', () => {
  function subscribingWx(outcome: { ok: SubscribeAnswer } | { fail: string } | 'throws') {
    const seen: { tmplIds?: string[] } = {}
    const wx: WxApi = {
      login: ({ success }) => success({ code: 'wx-code' }),
      requestPayment: ({ success }) => success(),
      requestSubscribeMessage: ({ tmplIds, success, fail }) => {
        seen.tmplIds = tmplIds
        if (outcome === 'throws') throw new Error('not supported')
        if ('fail' in outcome) fail({ errMsg: outcome.fail })
        else success(outcome.ok)
      },
    }
    return { wx, seen }
  }
  function mp(wx: WxApi | undefined) {
    const server = fakeServer(() => ({ statusCode: 500, data: null }))
    const sheet = vi.fn(async () => true)
    const platform = createPlatform('mp-weixin', {
      base: 'https://api',
      transport: server.transport,
      storage: memoryStorage().storage,
      wx,
      subscribeSheet: sheet,
    })
    return { platform, sheet, calls: server.calls }
  }

  it('counts accept as accepted and reject, ban, filter as rejected', async () => {
    const four = [...TEMPLATES, 'sbx-refund-succeeded']
    const { wx, seen } = subscribingWx({
      ok: {
        errMsg: 'requestSubscribeMessage:ok',
        'sbx-payment-succeeded': 'accept',
        'sbx-recharge-succeeded': 'ban',
        'sbx-recharge-failed': 'filter',
      },
    })
    const { platform, sheet, calls } = mp(wx)
    expect(await platform.requestSubscribe(four)).toEqual({
      accepted: ['sbx-payment-succeeded'],
      rejected: ['sbx-recharge-succeeded', 'sbx-recharge-failed'],
    })
    expect(seen.tmplIds).toEqual(TEMPLATES)
    expect(sheet).not.toHaveBeenCalled()
    expect(calls).toHaveLength(0)
  })

  it('calls wx at once, before anything is awaited (it must run within the tap)', () => {
    const { wx, seen } = subscribingWx({ ok: { errMsg: 'requestSubscribeMessage:ok' } })
    void mp(wx).platform.requestSubscribe(['sbx-refund-succeeded'])
    expect(seen.tmplIds).toEqual(['sbx-refund-succeeded'])
  })

  it('never throws: a failed, throwing or missing API answers all rejected', async () => {
    const all = { accepted: [], rejected: TEMPLATES }
    const tapOnly = subscribingWx({ fail: 'requestSubscribeMessage:fail can only be invoked by user TAP gesture.' })
    await expect(mp(tapOnly.wx).platform.requestSubscribe(TEMPLATES)).resolves.toEqual(all)
    await expect(mp(subscribingWx('throws').wx).platform.requestSubscribe(TEMPLATES)).resolves.toEqual(all)
    const old: WxApi = { login: () => undefined, requestPayment: () => undefined }
    await expect(mp(old).platform.requestSubscribe(TEMPLATES)).resolves.toEqual(all)
    await expect(mp(undefined).platform.requestSubscribe(TEMPLATES)).resolves.toEqual(all)
  })

  it('sorts answers per template id', () => {
    expect(sortAnswers(['a', 'b', 'c', 'd'], { a: 'accept', b: 'reject', c: 'ban' })).toEqual({
      accepted: ['a'],
      rejected: ['b', 'c', 'd'],
    })
  })
})
