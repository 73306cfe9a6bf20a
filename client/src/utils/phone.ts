/** What the user typed, reduced to what the API accepts: `+` and digits only. */
export function normalizePhone(input: string): string {
  const trimmed = input.trim()
  const plus = trimmed.startsWith('+') || trimmed.startsWith('00')
  const digits = trimmed.replace(/\D/g, '')
  if (plus) {
    return '+' + (trimmed.startsWith('00') ? digits.slice(2) : digits)
  }
  return digits
}

export function isInternational(phone: string): boolean {
  return phone.startsWith('+')
}

/** Long enough to be worth asking the server about (E.164 allows up to 15 digits). */
export function looksComplete(phone: string): boolean {
  const digits = phone.replace(/\D/g, '')
  return digits.length >= 8 && digits.length <= 15
}

/**
 * A number for display, grouped after its calling code when known:
 * `+639171234500` with `+63` → `+63 917 123 4500`.
 */
export function formatPhone(phone: string, callingCode?: string): string {
  if (!phone.startsWith('+')) {
    return groupNational(phone)
  }
  const code = callingCode && phone.startsWith(callingCode) ? callingCode : ''
  if (!code) {
    return phone
  }
  return `${code} ${groupNational(phone.slice(code.length))}`
}

// A 3-digit lead (area or mobile prefix), then groups of four from the end.
function groupNational(digits: string): string {
  if (digits.length <= 4) {
    return digits
  }
  const lead = digits.slice(0, 3)
  const groups: string[] = []
  let rest = digits.slice(3)
  while (rest.length > 4) {
    groups.unshift(rest.slice(-4))
    rest = rest.slice(0, -4)
  }
  if (rest) groups.unshift(rest)
  return [lead, ...groups].join(' ')
}

/** Hides the middle of a number in lists: `+63 917 ••• 4500`. */
export function maskPhone(phone: string): string {
  if (phone.length < 8) {
    return phone
  }
  return `${phone.slice(0, 6)}•••${phone.slice(-4)}`
}

/**
 * Whether a typed international number is for another country than the one with
 * `callingCode` (`+639…` is not a `+66` number). National numbers and unknown codes never are.
 */
export function belongsElsewhere(phone: string, callingCode?: string | null): boolean {
  if (!isInternational(phone) || !callingCode) return false
  const code = normalizePhone(callingCode)
  return isInternational(code) && code.length > 1 && !phone.startsWith(code)
}
