//! The orders module's `Coupons` and `Members` ports filled with marketing; marketing's
//! `LockHolders` port filled with orders, and its `MembershipPayments` with WeChat Pay (under
//! their own `biz_type`, whose events move membership orders).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use topup_core::{Money, Timestamp};
use topup_marketing::{
    LockHolders, MarketingError, MarketingService, MembershipPayments, Purchase, Settlement,
};
use topup_orders::{
    CouponDiscount, CouponFate, Coupons, MemberDiscount, Members, OrdersError, OrdersService,
    PlanSnapshot,
};
use topup_payment::{NewPayment, NewRefund, PaymentError, PaymentService};

use super::PaymentOwner;

/// Checkout's coupons: locked for an order, then used or returned as the order decides.
pub struct MarketingCoupons(pub Arc<MarketingService>);

fn orders_error(error: MarketingError) -> OrdersError {
    match error {
        MarketingError::NotUsable { code, message } => {
            OrdersError::CouponNotUsable { code, message }
        }
        MarketingError::NotFound(_) => OrdersError::CouponNotUsable {
            code: "not_found".into(),
            message: "no such coupon of yours".into(),
        },
        MarketingError::Store(store) => OrdersError::Store(store),
        other => OrdersError::Dependency {
            port: "coupons",
            cause: other.to_string(),
        },
    }
}

#[async_trait]
impl Coupons for MarketingCoupons {
    async fn lock(
        &self,
        coupon_id: &str,
        user_id: &str,
        order_no: &str,
        plan: &PlanSnapshot,
        base: Money,
    ) -> Result<CouponDiscount, OrdersError> {
        let purchase = Purchase {
            plan_id: plan.plan_id.clone(),
            kind: plan.kind.as_str().to_owned(),
            country: plan.country.to_string(),
            operator_id: plan.operator_id.clone(),
            base,
        };
        let (amount, label) = self
            .0
            .lock(coupon_id, user_id, order_no, &purchase)
            .await
            .map_err(orders_error)?;
        Ok(CouponDiscount { label, amount })
    }

    async fn settle(
        &self,
        coupon_id: &str,
        order_no: &str,
        fate: CouponFate,
    ) -> Result<(), OrdersError> {
        let settlement = match fate {
            CouponFate::Used => Settlement::Used,
            CouponFate::Returned => Settlement::Returned,
            // Locking happens at checkout, never as a settlement.
            CouponFate::Locked => return Ok(()),
        };
        self.0
            .settle(coupon_id, order_no, settlement)
            .await
            .map_err(orders_error)
    }
}

/// A coupon's lock is held by an order: the sweeper releases locks whose order never came
/// to be.
pub struct OrderLockHolders(pub Arc<OrdersService>);

#[async_trait]
impl LockHolders for OrderLockHolders {
    async fn exists(&self, order_no: &str) -> Result<bool, MarketingError> {
        match self.0.get(order_no).await {
            Ok(_) => Ok(true),
            Err(OrdersError::NotFound(_)) => Ok(false),
            Err(OrdersError::Store(store)) => Err(MarketingError::Store(store)),
            Err(other) => Err(MarketingError::Holder(other.to_string())),
        }
    }
}

/// Checkout's membership discount: the buyer's active membership.
pub struct MarketingMembers(pub Arc<MarketingService>);

#[async_trait]
impl Members for MarketingMembers {
    async fn discount(&self, user_id: &str) -> Result<Option<MemberDiscount>, OrdersError> {
        let found = self
            .0
            .member_discount(user_id)
            .await
            .map_err(orders_error)?;
        Ok(found.map(|(percent, label)| MemberDiscount { label, percent }))
    }
}

/// The `biz_type` of membership orders' payments.
pub const MEMBERSHIP_BIZ_TYPE: &str = "membership";

/// Membership orders' payments and refunds at WeChat Pay.
pub struct MembershipWechatPayments(pub Arc<PaymentService>);

fn marketing_payment_error(error: PaymentError) -> MarketingError {
    MarketingError::Payment(error.to_string())
}

#[async_trait]
impl MembershipPayments for MembershipWechatPayments {
    async fn start(
        &self,
        out_trade_no: &str,
        amount: Money,
        payer_openid: &str,
        description: &str,
        expires_at: Timestamp,
    ) -> Result<Value, MarketingError> {
        let params = self
            .0
            .create_and_prepay(NewPayment::for_order(
                MEMBERSHIP_BIZ_TYPE,
                out_trade_no,
                amount,
                payer_openid,
                description,
                expires_at,
            ))
            .await
            .map_err(marketing_payment_error)?;
        serde_json::to_value(params).map_err(|e| MarketingError::Payment(e.to_string()))
    }

    async fn refund(
        &self,
        out_trade_no: &str,
        out_refund_no: &str,
        amount: Money,
        reason: &str,
        initiator: &str,
    ) -> Result<(), MarketingError> {
        self.0
            .refund(NewRefund::numbered(
                out_trade_no,
                out_refund_no,
                amount,
                reason,
                initiator,
            ))
            .await
            .map(|_| ())
            .map_err(marketing_payment_error)
    }
}

/// Membership orders move on their payment events (registered for
/// [`MEMBERSHIP_BIZ_TYPE`]).
#[async_trait]
impl PaymentOwner for MarketingService {
    type Error = MarketingError;

    async fn paid(
        &self,
        biz_id: &str,
        transaction_id: &str,
        amount: Money,
        paid_at: Timestamp,
    ) -> Result<(), MarketingError> {
        self.membership_paid(biz_id, transaction_id, amount, paid_at)
            .await
    }

    async fn closed(&self, biz_id: &str) -> Result<(), MarketingError> {
        self.membership_payment_closed(biz_id).await
    }

    async fn refund_settled(
        &self,
        biz_id: &str,
        out_refund_no: &str,
        succeeded: bool,
    ) -> Result<(), MarketingError> {
        self.membership_refund_settled(biz_id, out_refund_no, succeeded)
            .await
    }
}
