import { describe, expect, it } from 'vitest'
import { ALERT_STATES, alertError, canResend, dataLine, countsFor, insertText, sentCount, splitTemplateErrors, templateErrorsByRow } from '../notice'

describe('message templates', () => {
  it('puts the server’s field errors on rows and form fields', () => {
    const e = splitTemplateErrors({ 'fields[2].value': ['at most 5 Chinese characters'], 'fields[0].key': ['used twice'], template_id: ['1 to 64 visible ASCII characters'], fields: ['1 to 20 keys'] })
    expect(e.rows.get(2)).toEqual({ value: 'at most 5 Chinese characters' })
    expect(e.rows.get(0)).toEqual({ key: 'used twice' })
    expect(e.rows.has(1)).toBe(false)
    expect(e.form).toEqual({ template_id: '1 to 64 visible ASCII characters', fields: '1 to 20 keys' })
    expect(splitTemplateErrors({ 'fields[1].key': ['a'], 'fields[1].value': ['b', 'c'] }).rows.get(1)).toEqual({ key: 'a', value: 'b; c' })
    // Anything not shaped like a row stays a form error, under its own name.
    expect(splitTemplateErrors({ 'fields[x].value': ['?'] }).form).toEqual({ 'fields[x].value': '?' })
  })

  it('inserts a placeholder at the caret, over a selection, or at the end', () => {
    expect(insertText('订单 已到账', 3, 3, '{order_no}')).toEqual({ text: '订单 {order_no}已到账', caret: 13 })
    expect(insertText('abcdef', 1, 4, '{x}')).toEqual({ text: 'a{x}ef', caret: 4 })
    expect(insertText('abc', null, null, '{x}')).toEqual({ text: 'abc{x}', caret: 6 })
    expect(insertText('abc', 10, 2, '{x}')).toEqual({ text: 'abc{x}', caret: 6 })
    expect(insertText('', 0, 0, '{plan}')).toEqual({ text: '{plan}', caret: 6 })
  })

  it('sends again only failed or skipped messages', () => {
    expect(canResend('failed')).toBe(true)
    expect(canResend('skipped')).toBe(true)
    for (const s of ['queued', 'sending', 'sent']) expect(canResend(s)).toBe(false)
  })

  it('counts the current template of an event', () => {
    const counts = [
      { event: 'recharge_succeeded' as const, template_id: 'old', sent: 9, skipped: 9, failed: 9, queued: 9 },
      { event: 'recharge_succeeded' as const, template_id: 'sbx', sent: 3, skipped: 2, failed: 1, queued: 0 },
    ]
    expect(countsFor(counts, 'recharge_succeeded', 'sbx')).toEqual({ sent: 3, skipped: 2, failed: 1, queued: 0 })
    expect(countsFor(counts, 'payment_succeeded', 'sbx')).toEqual({ sent: 0, skipped: 0, failed: 0, queued: 0 })
    expect(countsFor(counts, 'recharge_succeeded', undefined)).toEqual({ sent: 0, skipped: 0, failed: 0, queued: 0 })
  })
})

describe('template errors by row', () => {
  it('lands each error on the row that was sent at its index', () => {
    const e = templateErrorsByRow({ 'fields[1].value': ['at most 5 Chinese characters'], page: ['an unclosed {'] }, [7, 9, 12])
    expect([...e.rows.entries()]).toEqual([[9, { value: 'at most 5 Chinese characters' }]])
    expect(e.form).toEqual({ page: 'an unclosed {' })
    expect(templateErrorsByRow({ 'fields[3].key': ['used twice'] }, [1]).form).toEqual({ fields: 'used twice' })
  })
})

describe('staff alerts', () => {
  it('counts the messages of a test alert that went out', () => {
    expect(sentCount([{ state: 'sent' }, { state: 'not_delivered' }, { state: 'sent' }, { state: 'queued' }])).toBe(2)
    expect(sentCount([])).toBe(0)
  })

  it('shows the values in the template order and the errcode once', () => {
    expect(dataLine({ time3: '2026-03-01 16:00', thing1: '未知支付', character_string2: 'T1' })).toBe('未知支付 · T1 · 2026-03-01 16:00')
    expect(alertError({ error: 'does not follow the official account (43004)', errcode: 43004 })).toBe('does not follow the official account (43004)')
    expect(alertError({ error: 'WeChat is busy', errcode: -1 })).toBe('-1: WeChat is busy')
    expect(alertError({ error: null, errcode: null })).toBe('—')
  })

  it('knows every state the server answers', () => {
    expect(ALERT_STATES).toEqual(['queued', 'sending', 'sent', 'not_delivered', 'failed'])
  })
})
