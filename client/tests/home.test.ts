import { describe, expect, it } from 'vitest'
import type { AppHomeBlock, AppPlan } from '../src/api/types'
import pages from '../src/pages.json'
import {
  PLAIN_LAYOUT,
  TAB_PAGES,
  assetUrl,
  bannerTarget,
  carouselIntervalMs,
  findPlan,
  fitImages,
  flagOf,
  gridColumns,
  layoutOf,
  markRead,
  pageNavigation,
  planOnPage,
  sortAnnouncements,
  spacerHeight,
} from '../src/utils/home'
import { belongsElsewhere } from '../src/utils/phone'

function plan(id: string, country = 'PH'): AppPlan {
  return {
    id,
    type: 'airtime',
    country,
    operator: { id: 'op', name: 'Globe', type: 'airtime' },
    title_zh: `套餐${id}`,
    title_en: `Plan ${id}`,
    face_value: { amount: 5812, currency: 'PHP' },
    price: { amount: 770, currency: 'CNY' },
    tags: [],
  }
}

const banner: AppHomeBlock = { type: 'banner_carousel', interval_seconds: 5, banners: [] }
const rich: AppHomeBlock = { type: 'rich_text', html: '<p>x</p>' }
const spacer: AppHomeBlock = { type: 'spacer', height: 16 }

describe('layoutOf', () => {
  it('splits the blocks around the one top-up form', () => {
    const layout = layoutOf([banner, { type: 'topup_form' }, rich, spacer])
    expect(layout.before).toEqual([banner])
    expect(layout.after).toEqual([rich, spacer])
  })

  it('is the form alone for an unpublished page', () => {
    expect(layoutOf([{ type: 'topup_form' }])).toEqual(PLAIN_LAYOUT)
  })

  it('puts everything above the form when none is sent, ignores a second one', () => {
    expect(layoutOf([banner, rich])).toEqual({ before: [banner, rich], after: [] })
    expect(layoutOf([{ type: 'topup_form' }, rich, { type: 'topup_form' }, spacer])).toEqual({
      before: [],
      after: [rich, spacer],
    })
  })

  it('skips block kinds it does not know', () => {
    const future = { type: 'video', url: 'x' } as unknown as AppHomeBlock
    expect(layoutOf([future, { type: 'topup_form' }, future, rich])).toEqual({ before: [], after: [rich] })
  })
})

describe('links', () => {
  it('opens tab pages with switchTab and without their query', () => {
    expect(pageNavigation('/pages/me/index')).toEqual({ url: '/pages/me/index', tab: true })
    expect(pageNavigation('/pages/orders/index?state=paid')).toEqual({ url: '/pages/orders/index', tab: true })
  })

  it('opens other pages with navigateTo, query kept, leading slash added', () => {
    expect(pageNavigation('/pages/membership/index')).toEqual({ url: '/pages/membership/index', tab: false })
    expect(pageNavigation('pages/coupons/center?from=banner')).toEqual({
      url: '/pages/coupons/center?from=banner',
      tab: false,
    })
  })

  it('refuses what is not a page path', () => {
    for (const path of ['https://evil.example/pages/x', '', '/', '/other/x', '/pages/../x', 'javascript:alert(1)']) {
      expect(pageNavigation(path), path).toBeUndefined()
    }
  })

  it('knows the tab pages pages.json declares', () => {
    expect([...TAB_PAGES].sort()).toEqual(pages.tabBar.list.map((t) => `/${t.pagePath}`).sort())
  })

  it('turns a banner link into what a tap does', () => {
    expect(bannerTarget({ kind: 'none' })).toEqual({ kind: 'none' })
    expect(bannerTarget({ kind: 'page', path: '/pages/membership/index' })).toEqual({
      kind: 'page',
      navigation: { url: '/pages/membership/index', tab: false },
    })
    expect(bannerTarget({ kind: 'page', path: 'https://x.example' })).toEqual({ kind: 'none' })
    expect(bannerTarget({ kind: 'plan', plan_id: 'P1' })).toEqual({ kind: 'plan', planId: 'P1' })
    expect(bannerTarget(undefined)).toEqual({ kind: 'none' })
  })
})

describe('assetUrl', () => {
  it('keeps http(s) addresses and joins server paths to the API origin', () => {
    expect(assetUrl('https://cdn.example/a.png', 'http://api')).toBe('https://cdn.example/a.png')
    expect(assetUrl('http://cdn.example/a.png', '')).toBe('http://cdn.example/a.png')
    expect(assetUrl('/h5/static/a.png', '')).toBe('/h5/static/a.png')
    expect(assetUrl('/h5/static/a.png', 'https://api.example/')).toBe('https://api.example/h5/static/a.png')
    expect(assetUrl('//cdn.example/a.png', '')).toBe('https://cdn.example/a.png')
  })
})

describe('block properties', () => {
  it('keeps the carousel turn, grid columns and spacer height within bounds', () => {
    expect(carouselIntervalMs(4)).toBe(4000)
    expect(carouselIntervalMs(0)).toBe(5000)
    expect(carouselIntervalMs(1)).toBe(2000)
    expect(carouselIntervalMs(99)).toBe(30000)
    expect(gridColumns(4)).toBe(4)
    expect(gridColumns(0)).toBe(4)
    expect(gridColumns(2)).toBe(3)
    expect(gridColumns(9)).toBe(5)
    expect(spacerHeight(16)).toBe(16)
    expect(spacerHeight(-3)).toBe(0)
    expect(spacerHeight(500)).toBe(200)
  })

  it('draws flags from country codes', () => {
    expect(flagOf('PH')).toBe('🇵🇭')
    expect(flagOf('th')).toBe('🇹🇭')
    expect(flagOf('PHL')).toBe('')
  })

  it('keeps pictures of staff HTML within the width', () => {
    expect(fitImages('<p>a<img src="x.png"><IMG src="y"></p>')).toBe(
      '<p>a<img style="max-width:100%;height:auto;display:block" src="x.png"><img style="max-width:100%;height:auto;display:block" src="y"></p>',
    )
    expect(fitImages('<p>no pictures</p>')).toBe('<p>no pictures</p>')
  })
})

describe('plans a banner leads to', () => {
  it('finds a plan the page shows', () => {
    const layout = layoutOf([{ type: 'topup_form' }, { type: 'hot_plans', title: '', plans: [plan('A'), plan('B')] }])
    expect(planOnPage(layout, 'B')?.id).toBe('B')
    expect(planOnPage(layout, 'C')).toBeUndefined()
  })

  it('asks the countries in turn and stops at the first match', async () => {
    const asked: string[] = []
    const found = await findPlan(
      'T2',
      async () => [{ code: 'PH' }, { code: 'TH' }, { code: 'VN' }],
      async (country) => {
        asked.push(country)
        return country === 'TH' ? [plan('T1', 'TH'), plan('T2', 'TH')] : [plan(`${country}1`, country)]
      },
    )
    expect(found?.country).toBe('TH')
    expect(asked).toEqual(['PH', 'TH'])
    expect(await findPlan('none', async () => [{ code: 'PH' }], async () => [])).toBeUndefined()
  })
})

describe('announcements', () => {
  const at = (day: number) => `2026-12-0${day}T08:00:00Z`
  const items = [
    { id: 'old', pinned: false, published_at: at(1), read: false },
    { id: 'pin-old', pinned: true, published_at: at(2), read: true },
    { id: 'new', pinned: false, published_at: at(5), read: false },
    { id: 'pin-new', pinned: true, published_at: at(4), read: false },
  ]

  it('shows pinned first, then newest first', () => {
    expect(sortAnnouncements(items).map((i) => i.id)).toEqual(['pin-new', 'pin-old', 'new', 'old'])
  })

  it('marks one read and counts the rest', () => {
    const after = markRead(items, 'new')
    expect(after.items.find((i) => i.id === 'new')?.read).toBe(true)
    expect(after.unread).toBe(2)
    expect(markRead(after.items, 'new').unread).toBe(2)
    expect(items.find((i) => i.id === 'new')?.read).toBe(false)
  })
})

describe('belongsElsewhere', () => {
  it('tells a typed international number of another country', () => {
    expect(belongsElsewhere('+639171234500', '+66')).toBe(true)
    expect(belongsElsewhere('+639171234500', '+63')).toBe(false)
    expect(belongsElsewhere('09171234500', '+66')).toBe(false)
    expect(belongsElsewhere('+639171234500', null)).toBe(false)
    expect(belongsElsewhere('', '+66')).toBe(false)
  })
})
