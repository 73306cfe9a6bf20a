import { parsePhoneNumberFromString } from 'libphonenumber-js/min'

/** `+639171234500` → `+63 917 123 4500`; anything unparsable (masked numbers) is returned as is. */
export function formatPhone(raw: string | null | undefined): string {
  if (!raw) return '—'
  const parsed = parsePhoneNumberFromString(raw)
  if (!parsed || !parsed.isPossible()) return raw
  return parsed.formatInternational()
}
