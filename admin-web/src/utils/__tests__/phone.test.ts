import { describe, expect, it } from 'vitest'
import { formatPhone } from '../phone'

describe('formatPhone', () => {
  it('formats E.164 numbers internationally', () => {
    expect(formatPhone('+639171234500')).toBe('+63 917 123 4500')
    expect(formatPhone('+8613800138000')).toBe('+86 138 0013 8000')
  })
  it('leaves masked or invalid text alone', () => {
    expect(formatPhone('+63917****500')).toBe('+63917****500')
    expect(formatPhone('')).toBe('—')
    expect(formatPhone(null)).toBe('—')
  })
})
