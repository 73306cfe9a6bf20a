import { describe, expect, it } from 'vitest'
import { DEFAULT_SITE, asSite, documentTitle, initial } from '../site'

describe('site', () => {
  it('takes a remembered site only when it is whole', () => {
    expect(asSite({ name: 'Acme', logo_url: '/logo.png', theme_colour: '#ff0000' })).toEqual({ name: 'Acme', logo_url: '/logo.png', theme_colour: '#ff0000' })
    expect(asSite({ name: 'Acme', logo_url: '', theme_colour: 'red' })?.theme_colour).toBe(DEFAULT_SITE.theme_colour)
    expect(asSite({ name: ' ', logo_url: '', theme_colour: '#ff0000' })).toBeNull()
    expect(asSite({ name: 'Acme' })).toBeNull()
    expect(asSite(null)).toBeNull()
    expect(asSite('Acme')).toBeNull()
  })

  it('titles the tab by page and product', () => {
    expect(documentTitle('Orders', 'Acme')).toBe('Orders · Acme')
    expect(documentTitle('', 'Acme')).toBe('Acme')
  })

  it('abbreviates the name to its first character', () => {
    expect(initial(' acme')).toBe('A')
    expect(initial('话费充值')).toBe('话')
    expect(initial('')).toBe('')
  })
})
