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
export type AppOrderStep = S['AppOrderStep']
export type AppOrderDelay = S['AppOrderDelay']
export type ErrorBody = S['ErrorBody']

/**
 * An order as the buyer sees it, with its steps so far (`timeline`). `delay` is set while the
 * recharge is delayed on the shop's side and the buyer may ask for the money back.
 */
export type AppOrder = S['AppOrder']

export interface Page<T> {
  items: T[]
  total: number
  /** Counting stopped at `total`: more match (my orders count one past the page). */
  total_capped: boolean
  page: number
  page_size: number
}

export type PlanType = 'airtime' | 'data'

export type CouponTerms = S['CouponTerms']
export type CouponScope = S['CouponScope']
export type CouponState = S['CouponState']
export type CouponValidity = S['Validity']
export type AppCoupon = S['AppCoupon']
export type ClaimableCoupon = S['ClaimableCoupon']
export type Quote = S['Quote']
export type QuoteCoupon = S['QuoteCoupon']
/** Why a coupon does not apply here; `code` is stable (`below_threshold`, `expired`, …). */
export type CouponReason = S['Unusable']

export type MembershipPlanView = S['MembershipPlanView']
export type MembershipStatus = S['MembershipStatus']
export type MembershipOverview = S['MembershipOverview']
export type MembershipOrderState = S['MembershipOrderState']
export type AppMembershipOrder = S['AppMembershipOrder']
export type BundleItem = S['BundleItem']
/** A placed membership order and what to pay it with (the same `wx.requestPayment` parameters). */
export type MembershipCheckout = Omit<S['MembershipCheckout'], 'order' | 'pay_params'> & {
  order: AppMembershipOrder
  pay_params: PayParams
}

/** What a subscribe message tells the user about. */
export type NoticeEvent = S['NoticeEvent']
export type SubscribableTemplate = S['SubscribableTemplate']
export type SubscribableList = S['SubscribableList']
/** The user's answer to the subscribe prompt, reported to the server (≤ 3 ids in all). */
export type SubscriptionChoice = S['SubscriptionChoice']

/** The published home page: its blocks top to bottom (version 0: nobody published one). */
export type AppHome = S['AppHome']
export type AppHomeBlock = S['AppHomeBlock']
export type AppBanner = S['AppBanner']
/** Where tapping a banner leads: nowhere, a page of the app, or a plan's purchase. */
export type BannerLink = S['BannerLink']
/** An announcement's line in the notice bar. */
export type AppNotice = S['AppNotice']
export type AppAnnouncement = S['AppAnnouncement']
export type AppAnnouncements = S['AppAnnouncements']

/** The customer service page: questions by category, ways to reach a person, working hours. */
export type AppService = S['AppService']
export type AppFaqCategory = S['AppFaqCategory']
export type AppFaq = S['AppFaq']
export type Contact = S['Contact']
export type ContactKind = S['ContactKind']
/** `user_agreement`, `privacy_policy`, `membership_terms`, `recharge_terms`. */
export type AgreementKind = S['AgreementKind']
/** An agreement's current version, with when this user accepted it (null: not yet). */
export type AppAgreement = S['AppAgreement']
