//! The blacklist's automatic rule (`docs/settings.md#blacklist-policy`): a number whose top-ups
//! keep failing — refunded by the product because no provider could deliver — is blacklisted
//! for a while, so buyers stop paying for top-ups that cannot arrive. It runs where an order's
//! "recharge failed, refunded" notice is handed over, once per order (again after a crash,
//! which finds the number blocked already and adds nothing).

use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use chrono::TimeDelta;
use topup_auth::AppUserService;
use topup_auth::app_users::BlacklistKind;
use topup_core::SharedClock;
use topup_orders::{Order, OrderNotice, OrderNoticeKind, OrderNotices, OrderState, OrdersError};
use topup_store::{Collection, Filter, FindQuery, Store};

/// When a number is blacklisted by the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedNumberRule {
    /// Failed and refunded top-ups within 24 hours that block the number; 0 for never.
    pub failures: u32,
    /// How long the automatic entry lasts.
    pub days: u32,
}

/// Hands notices on, then applies the rule to the numbers whose top-up failed.
pub struct FailedNumbers {
    notices: Arc<dyn OrderNotices>,
    orders: Collection<Order>,
    app_users: Arc<AppUserService>,
    clock: SharedClock,
    rule: RwLock<FailedNumberRule>,
}

/// How far back failures count.
const WINDOW: TimeDelta = TimeDelta::hours(24);

impl FailedNumbers {
    pub fn new(
        notices: Arc<dyn OrderNotices>,
        store: &Store,
        app_users: Arc<AppUserService>,
        clock: SharedClock,
        rule: FailedNumberRule,
    ) -> Self {
        FailedNumbers {
            notices,
            orders: store.collection(),
            app_users,
            clock,
            rule: RwLock::new(rule),
        }
    }

    pub fn rule(&self) -> FailedNumberRule {
        *self.rule.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts another rule in force (staff changed the settings).
    pub fn set_rule(&self, rule: FailedNumberRule) {
        *self.rule.write().unwrap_or_else(PoisonError::into_inner) = rule;
    }

    async fn apply_rule(&self, order: &Order) -> Result<(), OrdersError> {
        let rule = self.rule();
        if rule.failures == 0 {
            return Ok(());
        }
        let now = self.clock.now();
        let recent = self
            .orders
            .find(
                &FindQuery::new(
                    Filter::eq("phone", order.phone.as_str())
                        .and(Filter::gte("created_at", now.plus(-WINDOW))),
                )
                .limit(500),
            )
            .await?;
        let failed = recent
            .iter()
            .filter(|o| {
                o.state == OrderState::Refunded && o.refunds.iter().any(|r| r.initiator == "system")
            })
            .count();
        if failed < usize::try_from(rule.failures).unwrap_or(usize::MAX) {
            return Ok(());
        }
        let reason = format!("{failed} failed top-ups within 24 hours (automatic)");
        let until = now.plus(TimeDelta::days(i64::from(rule.days.max(1))));
        self.app_users
            .block_automatically(BlacklistKind::Phone, &order.phone, &reason, until)
            .await
            .map(drop)
            .map_err(|error| OrdersError::Dependency {
                port: "blacklist",
                cause: error.to_string(),
            })
    }
}

#[async_trait]
impl OrderNotices for FailedNumbers {
    async fn notify(&self, order: &Order, notice: &OrderNotice) -> Result<(), OrdersError> {
        self.notices.notify(order, notice).await?;
        if notice.kind == OrderNoticeKind::RechargeFailedRefunded {
            self.apply_rule(order).await?;
        }
        Ok(())
    }
}
