import type { components } from './schema'

type S = components['schemas']

export type Money = S['Money']
export type AppCountry = S['AppCountry']
export type AppPlan = S['AppPlan']
export type AppOperator = S['AppOperator']
export type Detection = S['Detection']
export type CountryList = S['CountryList']
export type PlanList = S['PlanList']
export type PriceLine = S['PriceLine']
export type Language = S['Language']
export type AppLoginResponse = S['AppLoginResponse']
export type AppUserView = S['AppUserView']
export type UpdateAppProfile = S['UpdateAppProfile']
export type SavedNumberView = S['SavedNumberView']
export type NewSavedNumber = S['NewSavedNumber']
export type OrderState = S['OrderState']
/** The `wx.requestPayment` parameters (the document types them as a free-form object). */
export interface PayParams {
  timeStamp: string
  nonceStr: string
  package: string
  signType: string
  paySign: string
}
export type CheckoutAnswer = Omit<S['CheckoutAnswer'], 'order' | 'pay_params'> & {
  order: AppOrder
  pay_params?: PayParams | null
}
export type TimelineEvent = S['TimelineEvent']
export type AppOrderDelay = S['AppOrderDelay']
export type ErrorBody = S['ErrorBody']

/**
 * An order as the buyer sees it. `timeline` is read when the server sends it (the buyer's
 * view may gain it); the pages cope with its absence. `delay` is set while the recharge is
 * delayed on the shop's side and the buyer may ask for the money back.
 */
export type AppOrder = S['AppOrder'] & {
  timeline?: TimelineEvent[]
}

export interface Page<T> {
  items: T[]
  total: number
  page: number
  page_size: number
}

export type PlanType = 'airtime' | 'data'
