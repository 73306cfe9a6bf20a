import { describe, expect, it } from 'vitest'
import { ApiError } from '../src/api/http'
import type { AppAgreement } from '../src/api/types'
import pages from '../src/pages.json'
import {
  AGREEMENT_KINDS,
  isAgreementKind,
  isStaleVersion,
  isUnpublished,
  markAccepted,
  requiredAgreement,
  sortAgreements,
} from '../src/utils/agreements'
import { formatDate } from '../src/utils/time'

function agreement(kind: AppAgreement['kind'], version = 1, accepted_at: string | null = null): AppAgreement {
  return {
    kind,
    version,
    title: kind,
    body_html: '<p>x</p>',
    summary: '',
    published_at: '2026-03-01T08:00:00Z',
    accepted_at,
  }
}

describe('requiredAgreement', () => {
  it('reads the kind and version of AGREEMENT_REQUIRED', () => {
    const err = new ApiError(409, {
      code: 'AGREEMENT_REQUIRED',
      message: 'please read and accept the Recharge terms first',
      request_id: 'r1',
      details: { kind: 'recharge_terms', version: 2 },
    })
    expect(requiredAgreement(err)).toEqual({ kind: 'recharge_terms', version: 2 })
  })

  it('falls back to the recharge terms when the details are missing or odd', () => {
    const bare = new ApiError(409, { code: 'AGREEMENT_REQUIRED', message: 'x', request_id: '' })
    expect(requiredAgreement(bare)).toEqual({ kind: 'recharge_terms', version: undefined })
    const odd = new ApiError(409, {
      code: 'AGREEMENT_REQUIRED',
      message: 'x',
      request_id: '',
      details: { kind: 'cookie_policy', version: 'two' },
    })
    expect(requiredAgreement(odd)).toEqual({ kind: 'recharge_terms', version: undefined })
    const privacy = new ApiError(409, {
      code: 'AGREEMENT_REQUIRED',
      message: 'x',
      request_id: '',
      details: { kind: 'privacy_policy', version: 3 },
    })
    expect(requiredAgreement(privacy)).toEqual({ kind: 'privacy_policy', version: 3 })
  })

  it('is undefined for every other failure', () => {
    expect(requiredAgreement(new ApiError(409, { code: 'ORDER_LIMIT_REACHED', message: 'x', request_id: '' }))).toBeUndefined()
    expect(requiredAgreement(new Error('AGREEMENT_REQUIRED'))).toBeUndefined()
    expect(requiredAgreement(undefined)).toBeUndefined()
  })
})

describe('accept failures', () => {
  it('tells a newer version (409 CONFLICT) from the rest', () => {
    expect(isStaleVersion(new ApiError(409, { code: 'CONFLICT', message: 'x', request_id: '' }))).toBe(true)
    expect(isStaleVersion(new ApiError(409, { code: 'AGREEMENT_REQUIRED', message: 'x', request_id: '' }))).toBe(false)
    expect(isStaleVersion(new ApiError(500, { code: 'CONFLICT', message: 'x', request_id: '' }))).toBe(false)
    expect(isStaleVersion(new Error('CONFLICT'))).toBe(false)
  })

  it('tells an unpublished agreement (404)', () => {
    expect(isUnpublished(new ApiError(404, { code: 'NOT_FOUND', message: 'x', request_id: '' }))).toBe(true)
    expect(isUnpublished(new ApiError(0, { code: 'NETWORK_ERROR', message: 'x', request_id: '' }))).toBe(false)
  })
})

describe('agreement kinds', () => {
  it('knows the four kinds and nothing else', () => {
    expect(AGREEMENT_KINDS).toHaveLength(4)
    for (const kind of AGREEMENT_KINDS) expect(isAgreementKind(kind)).toBe(true)
    expect(isAgreementKind('cookie_policy')).toBe(false)
    expect(isAgreementKind(undefined)).toBe(false)
    expect(isAgreementKind(['recharge_terms'])).toBe(false)
  })

  it('lists them in the page order, unknown kinds last', () => {
    const sorted = sortAgreements([
      agreement('membership_terms'),
      agreement('recharge_terms'),
      { ...agreement('user_agreement'), kind: 'future_kind' as AppAgreement['kind'] },
      agreement('privacy_policy'),
      agreement('user_agreement'),
    ])
    expect(sorted.map((a) => a.kind)).toEqual([
      'user_agreement',
      'privacy_policy',
      'recharge_terms',
      'membership_terms',
      'future_kind',
    ])
  })
})

describe('markAccepted', () => {
  it('marks the version shown, and only it', () => {
    const at = '2026-03-02T09:00:00Z'
    expect(markAccepted(agreement('recharge_terms', 2), 2, at).accepted_at).toBe(at)
    expect(markAccepted(agreement('recharge_terms', 3), 2, at).accepted_at).toBeNull()
  })

  it('keeps an earlier acceptance time', () => {
    const earlier = agreement('recharge_terms', 2, '2026-03-01T10:00:00Z')
    expect(markAccepted(earlier, 2, '2026-03-02T09:00:00Z')).toBe(earlier)
  })
})

describe('formatDate', () => {
  it('shows the day in local time, the value itself when unreadable', () => {
    const local = new Date(2026, 2, 5, 23, 30)
    expect(formatDate(local.toISOString())).toBe('2026-03-05')
    expect(formatDate('soon')).toBe('soon')
  })
})

describe('pages', () => {
  it('has the service and agreement pages', () => {
    const paths = pages.pages.map((p) => p.path)
    expect(paths).toContain('pages/service/index')
    expect(paths).toContain('pages/agreements/index')
    expect(paths).toContain('pages/agreements/detail')
  })
})
