/**
 * Fills `{name}` placeholders. Done here rather than by a message compiler because the
 * mp-weixin runtime's compiler leaves placeholders unformatted, silently.
 * `{{` and `}}` stand for literal braces; a placeholder without a value stays visible.
 */
export function interpolate(template: string, params?: Record<string, string | number>): string {
  return template.replace(/\{\{|\}\}|\{(\w+)\}/g, (match: string, name?: string) => {
    if (match === '{{') return '{'
    if (match === '}}') return '}'
    if (name !== undefined && params && Object.prototype.hasOwnProperty.call(params, name)) {
      return String(params[name])
    }
    return match
  })
}
