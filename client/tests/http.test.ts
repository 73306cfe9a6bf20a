import { describe, expect, it, vi } from 'vitest'
import { ApiError, createClient, NETWORK_ERROR, type RawRequest, type RawResponse } from '../src/api/http'
import { createSession } from '../src/api/session'

function server(handler: (req: RawRequest) => RawResponse) {
  const calls: RawRequest[] = []
  return {
    calls,
    transport: async (req: RawRequest) => {
      calls.push(req)
      return handler(req)
    },
  }
}

const expired = { statusCode: 401, data: { code: 'TOKEN_EXPIRED', message: 'token expired', request_id: 'r' } }

function tokenStore() {
  let value: { token: string; expiresAt: number } | undefined
  return { load: () => value, save: (v: typeof value) => (value = v) }
}

describe('client', () => {
  it('builds the query and sends JSON bodies', async () => {
    const { calls, transport } = server(() => ({ statusCode: 200, data: { ok: true } }))
    const client = createClient('http://h', transport)
    await client.call('GET', '/api/v1/app/catalog/detect', { query: { phone: '+639171234500', country: undefined } })
    expect(calls[0].url).toBe('http://h/api/v1/app/catalog/detect?phone=%2B639171234500')
    await client.call('POST', '/x', { body: { a: 1 }, headers: { 'Idempotency-Key': 'k1' } })
    expect(calls[1].header).toMatchObject({ 'content-type': 'application/json', 'Idempotency-Key': 'k1' })
  })

  it('turns the error JSON into an ApiError with the server’s message', async () => {
    const { transport } = server(() => ({
      statusCode: 400,
      data: { code: 'INVALID_PHONE', message: 'invalid phone number: 123', request_id: 'req-1' },
    }))
    const err = await createClient('', transport).call('GET', '/x').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ status: 400, code: 'INVALID_PHONE', message: 'invalid phone number: 123', requestId: 'req-1' })
  })

  it('names a network failure as such', async () => {
    const client = createClient('', async () => {
      throw new Error('request:fail timeout')
    })
    await expect(client.call('GET', '/x')).rejects.toMatchObject({ code: NETWORK_ERROR, status: 0 })
  })
})

describe('silent login and renewal', () => {
  it('logs in once for concurrent calls, renews on TOKEN_EXPIRED and retries once', async () => {
    let logins = 0
    let valid = ''
    const { calls, transport } = server((req) => {
      if (req.url === '/api/v1/app/auth/login') {
        logins += 1
        valid = `t${logins}`
        return { statusCode: 200, data: { token: valid, token_type: 'Bearer', expires_in: 3600, new_user: false, user: { id: 'u', nickname: '', language: 'en', created_at: '' } } }
      }
      return req.header.authorization === `Bearer ${valid}` ? { statusCode: 200, data: { who: valid } } : expired
    })
    const loginCode = vi.fn(async () => 'code')
    const session = createSession('', transport, loginCode, tokenStore())
    const client = createClient('', transport, session.auth)

    const [a, b] = await Promise.all([
      client.call<{ who: string }>('GET', '/me', { auth: true }),
      client.call<{ who: string }>('GET', '/me', { auth: true }),
    ])
    expect(a.who).toBe('t1')
    expect(b.who).toBe('t1')
    expect(logins).toBe(1)
    expect(session.user.value?.language).toBe('en')

    valid = 'server-rotated' // the held token is now refused
    const answer = await client.call<{ who: string }>('GET', '/me', { auth: true })
    expect(answer.who).toBe('t2')
    expect(logins).toBe(2)
    expect(calls.filter((c) => c.url === '/me')).toHaveLength(4)
  })

  it('gives up after one retry and shows the error', async () => {
    const { calls, transport } = server((req) =>
      req.url === '/api/v1/app/auth/login'
        ? { statusCode: 200, data: { token: 'x', token_type: 'Bearer', expires_in: 3600, new_user: false, user: { id: 'u', nickname: '', language: 'zh', created_at: '' } } }
        : { statusCode: 401, data: { code: 'UNAUTHORIZED', message: 'invalid app token; log in again', request_id: 'r' } },
    )
    const session = createSession('', transport, async () => 'code', tokenStore())
    const client = createClient('', transport, session.auth)
    await expect(client.call('GET', '/me', { auth: true })).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
    expect(calls.filter((c) => c.url === '/me')).toHaveLength(2)
  })

  it('logs in again before a stored token runs out', async () => {
    let now = 1_000_000
    const store = tokenStore()
    store.save({ token: 'old', expiresAt: now + 30_000 })
    const { transport } = server(() => ({ statusCode: 200, data: { token: 'new', token_type: 'Bearer', expires_in: 3600, new_user: false, user: { id: 'u', nickname: '', language: 'zh', created_at: '' } } }))
    const session = createSession('', transport, async () => 'code', store, () => now)
    expect(await session.auth.token()).toBe('new')
    now += 1000
    expect(await session.auth.token()).toBe('new')
    expect(store.load()?.expiresAt).toBe(1_000_000 + 3_600_000)
  })
})
