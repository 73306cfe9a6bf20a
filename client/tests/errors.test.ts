import { beforeEach, describe, expect, it, vi } from 'vitest'

describe('errorMessage', () => {
  beforeEach(() => {
    vi.resetModules()
    vi.stubGlobal('uni', {
      getStorageSync: () => '',
      setStorageSync: vi.fn(),
      setTabBarItem: vi.fn(),
      setNavigationBarTitle: vi.fn(),
    })
  })

  it('speaks the buyer’s language for limits, with the wait', async () => {
    const { ApiError } = await import('../src/api/http')
    const { errorMessage } = await import('../src/utils/errors')
    const i18n = await import('../src/i18n')
    const limited = new ApiError(429, {
      code: 'RATE_LIMITED',
      message: 'too many checkouts; retry in 42 s',
      request_id: 'r1',
      details: { retry_after_seconds: 42 },
    })
    expect(errorMessage(limited)).toBe('操作太频繁，请 42 秒后再试')
    i18n.setLocale('en')
    expect(errorMessage(limited)).toBe('Too many tries, please wait 42 s')
    const unpaid = new ApiError(409, { code: 'ORDER_LIMIT_REACHED', message: 'at most 3 unpaid orders', request_id: 'r2' })
    expect(errorMessage(unpaid)).toContain('unpaid')
  })

  it('shows the server’s message for codes it has no words for', async () => {
    const { ApiError } = await import('../src/api/http')
    const { errorMessage } = await import('../src/utils/errors')
    const odd = new ApiError(409, { code: 'ORDER_STATE_CONFLICT', message: 'order is succeeded; cancel is not possible', request_id: 'r3' })
    expect(errorMessage(odd)).toBe('order is succeeded; cancel is not possible')
  })
})
