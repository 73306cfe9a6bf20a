import { describe, expect, it } from 'vitest'
import { formatPhone, looksComplete, maskPhone, normalizePhone } from '../src/utils/phone'

describe('phone', () => {
  it('keeps + and digits of what was typed', () => {
    expect(normalizePhone(' +63 917-123 4500 ')).toBe('+639171234500')
    expect(normalizePhone('(0917) 123 4500')).toBe('09171234500')
    expect(normalizePhone('0063 917 123 4500')).toBe('+639171234500')
    expect(normalizePhone('')).toBe('')
  })

  it('asks the server only about plausible lengths', () => {
    expect(looksComplete('+6391')).toBe(false)
    expect(looksComplete('+639171234500')).toBe(true)
    expect(looksComplete('+1234567890123456')).toBe(false)
  })

  it('groups a number after its calling code', () => {
    expect(formatPhone('+639171234500', '+63')).toBe('+63 917 123 4500')
    expect(formatPhone('+6281234567890', '+62')).toBe('+62 812 3456 7890')
    expect(formatPhone('+639171234500', '+91')).toBe('+639171234500')
    expect(formatPhone('09171234500')).toBe('091 7123 4500')
    expect(formatPhone('+12025550123', '+1')).toBe('+1 202 555 0123')
  })

  it('masks the middle', () => {
    expect(maskPhone('+639171234500')).toBe('+63917•••4500')
  })
})
