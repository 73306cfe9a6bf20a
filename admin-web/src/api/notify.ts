import { api, unwrap } from './client'
import { clean } from './orders'
import type { AlertDelivery, AlertDeliveryState, Delivery, DeliveryState, EventTemplate, NoticeCounts, NoticeEvent, NoticeRendered, NoticeTemplate, NoticeTemplateBody, Page, PageQuery, StaffAlertKind } from './types'

export interface DeliveryFilter {
  event?: NoticeEvent
  state?: DeliveryState
  user_id?: string
  order_no?: string
  /** Queued at or after (RFC 3339). */
  from?: string
  /** Queued before (RFC 3339). */
  to?: string
}

export interface AlertDeliveryFilter {
  state?: AlertDeliveryState
  kind?: StaffAlertKind
  alert_id?: string
}

export const notifyApi = {
  /** The five events in the order they happen, each with its template when one is set. */
  templates: async (): Promise<EventTemplate[]> => (await unwrap(api.GET('/api/v1/admin/notify/templates'))).items,
  putTemplate: (event: NoticeEvent, body: NoticeTemplateBody): Promise<NoticeTemplate> =>
    unwrap(api.PUT('/api/v1/admin/notify/templates/{event}', { params: { path: { event } }, body })),
  /** What the template would send for a made-up event; nothing is saved or sent. */
  preview: (event: NoticeEvent, body: NoticeTemplateBody): Promise<NoticeRendered> =>
    unwrap(api.POST('/api/v1/admin/notify/templates/{event}/preview', { params: { path: { event } }, body })),
  counts: async (): Promise<NoticeCounts[]> => (await unwrap(api.GET('/api/v1/admin/notify/counts'))).items,
  deliveries: (q: DeliveryFilter & PageQuery): Promise<Page<Delivery>> =>
    unwrap(api.GET('/api/v1/admin/notify/deliveries', { params: { query: clean(q) } })),
  resend: (id: string): Promise<Delivery> =>
    unwrap(api.POST('/api/v1/admin/notify/deliveries/{id}/resend', { params: { path: { id } } })),
  /** Staff alerts sent through the official account, newest first. */
  alerts: (q: AlertDeliveryFilter & PageQuery): Promise<Page<AlertDelivery>> =>
    unwrap(api.GET('/api/v1/admin/notify/alerts', { params: { query: clean(q) } })),
  /** Sends a test alert to every configured staff openid now; each delivery as it ended. */
  testAlert: async (): Promise<AlertDelivery[]> => (await unwrap(api.POST('/api/v1/admin/notify/alerts/test'))).items,
}

/** A template's editable fields, as PUT takes them (to change one, e.g. `enabled`, and send the rest unchanged). */
export function noticeTemplateBody(x: NoticeTemplate): NoticeTemplateBody {
  return {
    template_id: x.template_id, page: x.page, fields: x.fields.map((f) => ({ key: f.key, value: f.value })),
    miniprogram_state: x.miniprogram_state, lang: x.lang, enabled: x.enabled,
  }
}
