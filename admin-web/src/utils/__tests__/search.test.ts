import { describe, expect, it } from 'vitest'
import type { PageHit, SearchResults } from '@/api/types'
import {
  buildGroups, isMasked, keepHighlight, matchPages, mergePages, orderTarget, planTarget, planTitle, searchText, userTarget, type PageEntry,
  type SearchItem,
} from '../search'

const pages: PageEntry[] = [
  { key: 'home', path: '/home', label: 'Home' },
  { key: 'order.orders', path: '/order/orders', label: 'Orders / Orders' },
  { key: 'order.recharges', path: '/order/recharges', label: 'Orders / Recharge log' },
  { key: 'payment.alerts', path: '/payment/alerts', label: 'Payments / Payment alerts' },
]
const resolve = (h: PageHit): PageEntry => ({ key: h.key ?? h.path, path: h.path, label: `server:${h.title}` })

const hit = {
  order_no: '01M94P65E9VNJGSF04XNNSASVV', state: 'succeeded' as const, phone: '+63917****500', total: { amount: 770, currency: 'CNY' as const },
  plan_title: 'PHP 58.12', created_at: '2026-12-06T03:26:00Z', matched: 'phone',
}

describe('search text', () => {
  it('asks the server for 2 to 100 characters, trimmed', () => {
    expect(searchText('')).toBeNull()
    expect(searchText(' a ')).toBeNull()
    expect(searchText(' ab ')).toBe('ab')
    expect(searchText('订单')).toBe('订单')
    expect(searchText('x'.repeat(100))).toBe('x'.repeat(100))
    expect(searchText('x'.repeat(101))).toBeNull()
    // Characters, not UTF-16 units, as the server counts them.
    expect(searchText('😀'.repeat(100))).toBe('😀'.repeat(100))
  })
})

describe('pages', () => {
  it('matches labels and paths locally, everything for no text', () => {
    expect(matchPages(pages, '')).toEqual(pages)
    expect(matchPages(pages, 'RECHARGE').map((p) => p.path)).toEqual(['/order/recharges'])
    expect(matchPages(pages, '/payment').map((p) => p.path)).toEqual(['/payment/alerts'])
    expect(matchPages(pages, 'nothing')).toEqual([])
  })

  it('adds the server pages not matched locally, once each, after the local ones', () => {
    const local = matchPages(pages, 'recharge')
    const merged = mergePages(local, [
      { key: 'order.recharges', title: '充值记录', path: '/order/recharges/' },
      { key: 'payment.alerts', title: '支付告警', path: '/payment/alerts' },
      { key: null, title: 'Hidden', path: '/hidden' },
      { key: 'payment.alerts', title: '支付告警', path: '/payment/alerts' },
    ], resolve)
    expect(merged).toEqual([
      pages[2],
      { key: 'payment.alerts', path: '/payment/alerts', label: 'server:支付告警' },
      { key: '/hidden', path: '/hidden', label: 'server:Hidden' },
    ])
    expect(mergePages(local, [], resolve)).toEqual(local)
  })
})

describe('targets', () => {
  it('opens an order on the orders page', () => {
    expect(orderTarget(hit.order_no)).toEqual({ path: '/order/orders', query: { order_no: hit.order_no } })
  })

  it('opens a user by id, searching the openid when shown in full, else the nickname', () => {
    expect(userTarget({ id: 'u1', nickname: 'Ann', openid: 'oAbcdefghijk123' }))
      .toEqual({ path: '/users/app-users', query: { id: 'u1', q: 'oAbcdefghijk123' } })
    expect(userTarget({ id: 'u1', nickname: ' Ann ', openid: 'oAb****123' }))
      .toEqual({ path: '/users/app-users', query: { id: 'u1', q: 'Ann' } })
    expect(userTarget({ id: 'u1', nickname: '', openid: '****' })).toEqual({ path: '/users/app-users', query: { id: 'u1' } })
    expect(isMasked('+63917****500')).toBe(true)
    expect(isMasked('+639171234500')).toBe(false)
  })

  it("filters plans by the plan's country, titled in the console's language", () => {
    const plan = { id: 'p1', title_zh: '菲律宾话费', title_en: 'PH airtime', country: 'PH', operator: 'Globe' }
    expect(planTarget(plan)).toEqual({ path: '/catalog/plans', query: { country: 'PH' } })
    expect(planTitle(plan, 'en')).toBe('PH airtime')
    expect(planTitle(plan, 'zh-CN')).toBe('菲律宾话费')
    expect(planTitle({ ...plan, title_en: '' }, 'en')).toBe('菲律宾话费')
    expect(planTitle({ ...plan, title_zh: '' }, 'zh-CN')).toBe('PH airtime')
  })
})

describe('groups', () => {
  it('lists pages, orders, users and plans in that order, leaving out empty and absent kinds', () => {
    const results: SearchResults = {
      q: '9171234500',
      orders: [hit],
      app_users: [],
      plans: null,
      pages: [],
    }
    const groups = buildGroups([pages[1] as PageEntry], results)
    expect(groups.map((g) => g.kind)).toEqual(['page', 'order'])
    expect(groups.flatMap((g) => g.items).map((i) => [i.id, i.to])).toEqual([
      ['page:/order/orders', { path: '/order/orders' }],
      [`order:${hit.order_no}`, { path: '/order/orders', query: { order_no: hit.order_no } }],
    ])
    expect(buildGroups([], null)).toEqual([])
    const all = buildGroups([], {
      q: 'glo', pages: [],
      app_users: [{ id: 'u1', nickname: 'Glo', openid: 'oAbcdefghijk123' }],
      plans: [{ id: 'p1', title_zh: '话费', title_en: 'Airtime', country: 'PH', operator: 'Globe' }],
    })
    expect(all.map((g) => [g.kind, g.items[0]?.id])).toEqual([['user', 'user:u1'], ['plan', 'plan:p1']])
  })
})

describe('highlight', () => {
  it('stays on the item it was on when results arrive above it, else goes to the first', () => {
    const page = (key: string): SearchItem => ({ kind: 'page', id: key, to: { path: `/${key}` }, page: { key, path: `/${key}`, label: key } })
    const before = [page('a'), page('b'), page('c')]
    const after = [page('x'), page('y'), page('a'), page('b'), page('c')]
    expect(keepHighlight(before, after, 1)).toBe(3)
    expect(keepHighlight(before, [page('x')], 1)).toBe(0)
    expect(keepHighlight([], after, 0)).toBe(0)
  })
})
