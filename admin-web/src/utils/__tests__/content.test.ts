import { describe, expect, it } from 'vitest'
import { COMPONENT_PROPS, COMPONENT_TYPES, canAdd, componentErrors, dropIndex, isImageUrl, moveItem, newComponent, propValue, windowState, withProp } from '../content'
import type { HomeComponent } from '@/api/types'

const texts = { couponTitle: 'Coupons', couponSubtitle: 'Claim', membershipTitle: 'Gold', membershipSubtitle: '2% off', richText: '<p>Hi</p>' }

describe('home page components', () => {
  it('starts each kind with its defaults and describes every property', () => {
    expect(newComponent('spacer', texts)).toEqual({ type: 'spacer', height: 16 })
    expect(newComponent('banner_carousel', texts)).toEqual({ type: 'banner_carousel', position: 'home', interval_seconds: 5 })
    expect(newComponent('coupon_entry', texts)).toEqual({ type: 'coupon_entry', title: 'Coupons', subtitle: 'Claim' })
    for (const type of COMPONENT_TYPES) {
      const c = newComponent(type, texts)
      expect(c.type).toBe(type)
      for (const spec of COMPONENT_PROPS[type]) expect(propValue(c, spec.prop), `${type}.${spec.prop}`).not.toBeUndefined()
    }
  })

  it('sets a property on a copy', () => {
    const c: HomeComponent = { type: 'spacer', height: 16 }
    const d = withProp(c, 'height', 40)
    expect(d).toEqual({ type: 'spacer', height: 40 })
    expect(c).toEqual({ type: 'spacer', height: 16 })
  })

  it('allows one top-up form and at most 30 components', () => {
    const form: HomeComponent = { type: 'topup_form' }
    expect(canAdd([], 'topup_form')).toBe(true)
    expect(canAdd([form], 'topup_form')).toBe(false)
    expect(canAdd([form], 'spacer')).toBe(true)
    expect(canAdd(Array.from({ length: 30 }, () => ({ type: 'spacer', height: 8 }) as HomeComponent), 'spacer')).toBe(false)
  })

  it('moves an item, and drops it before or after a row', () => {
    expect(moveItem(['a', 'b', 'c', 'd'], 0, 2)).toEqual(['b', 'c', 'a', 'd'])
    expect(moveItem(['a', 'b', 'c', 'd'], 3, 0)).toEqual(['d', 'a', 'b', 'c'])
    expect(moveItem(['a', 'b'], 5, 0)).toEqual(['a', 'b'])
    // Dragging row 0 onto the lower half of row 2 puts it after c; onto its upper half, before c.
    expect(moveItem(['a', 'b', 'c', 'd'], 0, dropIndex(0, 2, true))).toEqual(['b', 'c', 'a', 'd'])
    expect(moveItem(['a', 'b', 'c', 'd'], 0, dropIndex(0, 2, false))).toEqual(['b', 'a', 'c', 'd'])
    expect(moveItem(['a', 'b', 'c', 'd'], 3, dropIndex(3, 1, false))).toEqual(['a', 'd', 'b', 'c'])
    expect(moveItem(['a', 'b', 'c', 'd'], 3, dropIndex(3, 1, true))).toEqual(['a', 'b', 'd', 'c'])
    expect(moveItem(['a', 'b', 'c'], 1, dropIndex(1, 1, true))).toEqual(['a', 'b', 'c'])
  })
})

describe('component errors', () => {
  it('lands each error on the component sent at its index, by property', () => {
    const e = componentErrors({
      'components[2].height': ['4–200'],
      'components[0].countries[3]': ['a two-letter ISO country code'],
      'components[0].columns': ['3–5'],
      components: ['the page needs exactly one topup_form'],
    }, [11, 12, 17])
    expect(e.items.get(17)).toEqual({ height: '4–200' })
    expect(e.items.get(11)).toEqual({ countries: 'a two-letter ISO country code', columns: '3–5' })
    expect(e.items.has(12)).toBe(false)
    expect(e.page).toEqual(['the page needs exactly one topup_form'])
  })

  it('keeps what it cannot place as a page error', () => {
    const e = componentErrors({ 'components[5].height': ['4–200'], 'version': ['bad'] }, [1, 2])
    expect(e.items.size).toBe(0)
    expect(e.page).toEqual(['components[5].height: 4–200', 'version: bad'])
    expect(componentErrors({ 'components[0].title': ['a', 'b'] }, [9]).items.get(9)).toEqual({ title: 'a; b' })
  })
})

describe('display windows', () => {
  const now = Date.parse('2026-06-01T12:00:00Z')
  it('says whether users see it now', () => {
    expect(windowState(true, null, null, now)).toBe('showing')
    expect(windowState(false, null, null, now)).toBe('disabled')
    expect(windowState(true, '2026-06-02T00:00:00Z', null, now)).toBe('scheduled')
    expect(windowState(true, null, '2026-06-01T12:00:00Z', now)).toBe('ended')
    expect(windowState(true, '2026-05-01T00:00:00Z', '2026-07-01T00:00:00Z', now)).toBe('showing')
  })

  it('accepts the image addresses the server does', () => {
    expect(isImageUrl('https://cdn.example/a.png')).toBe(true)
    expect(isImageUrl('/static/a.png')).toBe(true)
    expect(isImageUrl('ftp://x/a.png')).toBe(false)
    expect(isImageUrl('https://x/a b.png')).toBe(false)
    expect(isImageUrl('/a"onerror.png')).toBe(false)
  })
})
