import type { components } from './schema'

type S = components['schemas']
export type Order = S['AdminOrder']
export type OrderState = S['OrderState']
export type OrderRefund = S['OrderRefund']
export type RechargeLogEntry = S['RechargeLogEntry']
export type PaymentAlert = S['PaymentAlert']
export type CountryDoc = S['CountryDoc']
export type OperatorDoc = S['OperatorDoc']
export type PlanDoc = S['PlanDoc']
export type PlanPatch = S['PlanPatch']
export type NewPlan = S['NewPlan']
export type PricingRules = S['PricingRules']
export type PricingRulesUpdate = S['PricingRulesUpdate']
export type PriceChange = S['PriceChange']
export type SyncReport = S['SyncReport']
export type AppUser = S['AppUserAdminView']
export type BlacklistEntry = S['BlacklistEntryView']
export type NewBlacklistEntry = S['NewBlacklistEntry']
export type VisitorDay = S['VisitorDay']
export type StaffUser = S['StaffUserView']
export type NewStaffUser = S['NewStaffUser']
export type Role = S['RoleView']
export type NewRole = S['NewRole']
export type MenuNodeView = S['MenuNodeView']
export type MenuNodeInput = S['MenuNodeInput']
export type SessionView = S['SessionView']
export type ApiKeyView = S['ApiKeyView']
export type ApiKeyState = S['ApiKeyState']
export type NewApiKey = S['NewApiKey']
export type CreatedApiKey = S['CreatedApiKey']
export type LoginLog = S['LoginLog']
export type OperationLog = S['OperationLog']
export type AccessLog = S['AccessLog']
export type Me = S['Me']
export type TokenPair = S['TokenPair']
export type Money = S['Money']
export type CouponTemplate = S['CouponTemplateView']
export type CouponTemplateBody = S['CouponTemplateBody']
export type CouponTerms = S['CouponTerms']
export type CouponScope = S['CouponScope']
export type CouponValidity = S['Validity']
export type CouponKind = S['DiscountKind']
export type CouponChannel = S['Channel']
export type CouponState = S['CouponState']
export type CouponView = S['CouponView']
export type IssueResult = S['IssueReport']
export type PlanType = S['PlanType']
export type MembershipPlan = S['MembershipPlanView']
export type MembershipPlanBody = S['MembershipPlanBody']
export type BundleItem = S['BundleItem']
export type Member = S['MemberView']
export type MembershipOrder = S['MembershipOrderView']
export type MembershipOrderState = S['MembershipOrderState']
export type MembershipRefund = S['MembershipRefund']

/** Every list answers this shape. */
export interface Page<T> {
  items: T[]
  total: number
  page: number
  page_size: number
}

export interface PageQuery {
  page: number
  page_size: number
}
