//! Reconciliation (`docs/reconciliation.md`): every order of a period held against what WeChat
//! Pay and the provider report through their own APIs. Per order, the money WeChat took is
//! split into delivered (the provider confirms the top-up), refunded (WeChat confirms the
//! refunds) and in flight (the order is still on its way); whatever fits none of them is
//! unaccounted, and every disagreement between our records and theirs is a discrepancy.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Timelike;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use topup_core::{CoreError, Money, SharedClock, Timestamp};
use topup_recharge::{ProviderId, ProviderRouter, TopupOutcome, TopupResult, TransactionLookup};
use topup_store::{Collection, Document, Filter, FindQuery, SortOrder, Store};
use utoipa::ToSchema;

use crate::{Order, OrderState, OrdersError, RefundState};

/// What WeChat Pay says about one payment (`GET /v3/pay/transactions/out-trade-no/{no}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerPayment {
    /// WeChat's `trade_state` (`SUCCESS`, `REFUND`, `NOTPAY`, `CLOSED`, …).
    pub state: String,
    /// The money was taken (`SUCCESS`, or `REFUND`: taken, then refunded in part or whole).
    pub paid: bool,
    /// The order amount WeChat holds, fen.
    pub total: Money,
}

/// What WeChat Pay says about one refund (`GET /v3/refund/domestic/refunds/{no}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRefund {
    /// WeChat's `status` (`SUCCESS`, `PROCESSING`, `CLOSED`, `ABNORMAL`).
    pub state: String,
    pub amount: Money,
}

impl LedgerRefund {
    fn succeeded(&self) -> bool {
        self.state == "SUCCESS"
    }
}

/// The payment side's own records, asked of WeChat Pay itself.
#[async_trait]
pub trait PaymentLedger: Send + Sync {
    /// `None`: WeChat has no payment under this number (it was never placed there).
    async fn payment(&self, out_trade_no: &str) -> Result<Option<LedgerPayment>, OrdersError>;
    /// `None`: WeChat has no refund under this number.
    async fn refund(&self, out_refund_no: &str) -> Result<Option<LedgerRefund>, OrdersError>;
}

/// What kind of disagreement a discrepancy is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DiscrepancyKind {
    /// WeChat took the money; the order does not know it was paid.
    PaidNotRecorded,
    /// The order counts as paid; WeChat did not take the money.
    RecordedNotPaid,
    /// WeChat's amount is not the order's total.
    AmountMismatch,
    /// WeChat's refunds do not add up to the refunds the order recorded as done.
    RefundMismatch,
    /// The provider delivered, but the order does not say so (its money may have gone back).
    DeliveredNotRecorded,
    /// The order says delivered; the provider has no successful top-up for it.
    RecordedNotDelivered,
    /// More than one successful top-up for one order.
    DeliveredTwice,
    /// The provider's cost differs from what the order recorded.
    CostMismatch,
    /// Money taken and neither delivered, refunded nor on its way.
    Unaccounted,
    /// WeChat or the provider could not be asked; the order (or the provider's list of
    /// transactions) is unchecked.
    CheckFailed,
    /// The provider made a top-up (delivered or on its way) that no order sent: money spent
    /// from the provider account that no order accounts for.
    UnknownTopup,
}

impl DiscrepancyKind {
    /// As on the wire (`paid_not_recorded`, …).
    pub fn as_str(&self) -> &'static str {
        match self {
            DiscrepancyKind::PaidNotRecorded => "paid_not_recorded",
            DiscrepancyKind::RecordedNotPaid => "recorded_not_paid",
            DiscrepancyKind::AmountMismatch => "amount_mismatch",
            DiscrepancyKind::RefundMismatch => "refund_mismatch",
            DiscrepancyKind::DeliveredNotRecorded => "delivered_not_recorded",
            DiscrepancyKind::RecordedNotDelivered => "recorded_not_delivered",
            DiscrepancyKind::DeliveredTwice => "delivered_twice",
            DiscrepancyKind::CostMismatch => "cost_mismatch",
            DiscrepancyKind::Unaccounted => "unaccounted",
            DiscrepancyKind::CheckFailed => "check_failed",
            DiscrepancyKind::UnknownTopup => "unknown_topup",
        }
    }
}

/// One order, or one provider transaction, on which the records disagree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Discrepancy {
    /// The order it concerns; absent for a provider transaction that names no order we have.
    #[serde(default)]
    pub order_no: Option<String>,
    pub kind: DiscrepancyKind,
    /// The order's state when checked; absent with the order.
    #[serde(default)]
    pub order_state: Option<OrderState>,
    /// The provider's transaction, for `unknown_topup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_transaction_id: Option<String>,
    /// What was found, in words (amounts in fen, the other side's states and ids).
    pub detail: String,
}

/// The money of a period, fen: `paid = delivered + refunded + in_flight + unaccounted`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReconciliationTotals {
    /// Orders checked.
    pub orders: u64,
    /// What WeChat took for them.
    pub paid: i64,
    /// Kept for top-ups the provider confirms.
    pub delivered: i64,
    /// Given back, as WeChat confirms.
    pub refunded: i64,
    /// Orders still on their way (paid, recharging, refunding).
    pub in_flight: i64,
    /// Neither: each such order is also a discrepancy.
    pub unaccounted: i64,
    /// What the provider reports it charged us for the delivered top-ups, per currency
    /// (major units as decimal strings).
    pub provider_cost: BTreeMap<String, String>,
    /// The providers' transactions of the period, each matched to the order that sent it.
    #[serde(default)]
    pub provider_transactions: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReconciliationState {
    Running,
    Finished,
    /// The run stopped (the store failed); `error` says why.
    Failed,
}

/// At most this many discrepancies are kept in a report (the count is always exact).
pub const MAX_LISTED: usize = 2_000;

/// One run over one period, kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Reconciliation {
    /// `daily-YYYY-MM-DD` for the scheduled run of that day, else a ULID.
    pub id: String,
    /// Orders created from (inclusive)...
    pub from: Timestamp,
    /// ... to (exclusive).
    pub to: Timestamp,
    /// `schedule`, `cli` or `staff:<id>`.
    pub trigger: String,
    pub state: ReconciliationState,
    pub started_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    pub totals: ReconciliationTotals,
    /// How many discrepancies were found (all of them).
    pub discrepancy_count: u64,
    /// The first [`MAX_LISTED`] of them.
    pub discrepancies: Vec<Discrepancy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Document for Reconciliation {
    const COLLECTION: &'static str = "reconciliations";
}

impl Reconciliation {
    /// A run that found nothing wrong.
    pub fn is_clean(&self) -> bool {
        self.state == ReconciliationState::Finished && self.discrepancy_count == 0
    }
}

/// The hour (UTC) after which yesterday is reconciled: late notifications have arrived.
pub const DAILY_AFTER_HOUR: u32 = 2;

/// How many orders are checked at once (each asks WeChat and perhaps the provider).
const CONCURRENCY: usize = 8;
/// Orders read from the store per batch.
const BATCH: u64 = 200;
/// A provider's report is read at most this many pages deep (a million transactions at
/// Reloadly's 200 a page); a longer period is for several runs.
const MAX_PROVIDER_PAGES: u32 = 5_000;

/// `total += amount`, refusing to overflow.
fn add(total: &mut i64, amount: i64) -> Result<(), OrdersError> {
    *total = total.checked_add(amount).ok_or(CoreError::Overflow)?;
    Ok(())
}

/// Runs and keeps reconciliations.
pub struct Reconciler {
    orders: Collection<Order>,
    reports: Collection<Reconciliation>,
    ledger: Arc<dyn PaymentLedger>,
    router: Arc<ProviderRouter>,
    clock: SharedClock,
}

/// The discrepancies of a run: all counted, the first [`MAX_LISTED`] kept.
struct Found {
    count: u64,
    listed: Vec<Discrepancy>,
}

impl Found {
    fn push(&mut self, discrepancy: Discrepancy) {
        self.count += 1;
        if self.listed.len() < MAX_LISTED {
            self.listed.push(discrepancy);
        }
    }
}

/// What one order contributes.
#[derive(Default)]
struct OrderFinding {
    paid: i64,
    delivered: i64,
    refunded: i64,
    in_flight: i64,
    unaccounted: i64,
    cost: Vec<(String, topup_core::Decimal)>,
    discrepancies: Vec<Discrepancy>,
}

impl Reconciler {
    pub fn new(
        store: &Store,
        ledger: Arc<dyn PaymentLedger>,
        router: Arc<ProviderRouter>,
        clock: SharedClock,
    ) -> Self {
        Reconciler {
            orders: store.collection(),
            reports: store.collection(),
            ledger,
            router,
            clock,
        }
    }

    pub async fn prepare(&self) -> Result<(), OrdersError> {
        self.reports
            .ensure_index(topup_store::Index::new("started", &["started_at"]))
            .await?;
        Ok(())
    }

    /// Reports, newest first.
    pub async fn list(
        &self,
        page: topup_core::PageRequest,
    ) -> Result<topup_core::Page<Reconciliation>, OrdersError> {
        Ok(self
            .reports
            .page(Filter::All, &[("started_at", SortOrder::Desc)], page)
            .await?)
    }

    /// Runs that finished at or after `since` with discrepancies, oldest first, at most
    /// `limit` (staff alerts on WeChat, `docs/notifications.md#staff-alerts`). Runs are few
    /// (about one a day), so no index is needed.
    pub async fn discrepant_since(
        &self,
        since: Timestamp,
        limit: u64,
    ) -> Result<Vec<Reconciliation>, OrdersError> {
        let filter = Filter::gte("finished_at", since).and(Filter::gt("discrepancy_count", 0));
        Ok(self
            .reports
            .find(
                &FindQuery::new(filter)
                    .sort("finished_at", SortOrder::Asc)
                    .limit(limit),
            )
            .await?)
    }

    pub async fn get(&self, id: &str) -> Result<Reconciliation, OrdersError> {
        self.reports
            .get(id)
            .await?
            .ok_or_else(|| OrdersError::NotFound(format!("reconciliation {id}")))
    }

    /// Records a new run of `[from, to)` as running. `id`: the scheduled run's fixed id (a
    /// second process starting the same one gets `None`), else a fresh one.
    pub async fn begin(
        &self,
        id: Option<String>,
        from: Timestamp,
        to: Timestamp,
        trigger: &str,
    ) -> Result<Option<Reconciliation>, OrdersError> {
        let report = Reconciliation {
            id: id.unwrap_or_else(|| ulid::Ulid::new().to_string()),
            from,
            to,
            trigger: trigger.to_owned(),
            state: ReconciliationState::Running,
            started_at: self.clock.now(),
            finished_at: None,
            totals: ReconciliationTotals::default(),
            discrepancy_count: 0,
            discrepancies: Vec::new(),
            error: None,
        };
        match self.reports.insert(&report).await {
            Ok(()) => Ok(Some(report)),
            Err(error) if error.is_duplicate() => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Checks every order of the report's period and stores the outcome.
    pub async fn complete(
        &self,
        mut report: Reconciliation,
    ) -> Result<Reconciliation, OrdersError> {
        match self.check_period(report.from, report.to).await {
            Ok((totals, count, listed)) => {
                report.state = ReconciliationState::Finished;
                report.totals = totals;
                report.discrepancy_count = count;
                report.discrepancies = listed;
            }
            Err(error) => {
                report.state = ReconciliationState::Failed;
                report.error = Some(error.to_string());
            }
        }
        report.finished_at = Some(self.clock.now());
        self.reports.upsert(&report).await?;
        if report.discrepancy_count > 0 {
            tracing::error!(
                reconciliation = %report.id,
                from = %report.from,
                to = %report.to,
                discrepancies = report.discrepancy_count,
                unaccounted_fen = report.totals.unaccounted,
                "reconciliation found discrepancies; staff must look at them"
            );
        }
        Ok(report)
    }

    /// `begin` and `complete` in one.
    pub async fn run(
        &self,
        from: Timestamp,
        to: Timestamp,
        trigger: &str,
    ) -> Result<Reconciliation, OrdersError> {
        match self.begin(None, from, to, trigger).await? {
            Some(report) => self.complete(report).await,
            None => Err(OrdersError::Dependency {
                port: "reconciliation",
                cause: "a fresh report id was taken".into(),
            }),
        }
    }

    /// The scheduled run: yesterday (UTC) once today's [`DAILY_AFTER_HOUR`] has passed,
    /// under the id `daily-YYYY-MM-DD`, so however many processes try, one runs it. A run
    /// found still `running` long after it started (its process died) is run again. Answers
    /// the report when this call ran one.
    pub async fn daily(&self) -> Result<Option<Reconciliation>, OrdersError> {
        let now = self.clock.now().as_datetime();
        if now.hour() < DAILY_AFTER_HOUR {
            return Ok(None);
        }
        let today = now.date_naive();
        let Some(yesterday) = today.pred_opt() else {
            return Ok(None);
        };
        let start = |day: chrono::NaiveDate| {
            day.and_hms_opt(0, 0, 0)
                .map(|at| Timestamp::from(at.and_utc()))
                .ok_or(CoreError::Overflow)
        };
        let (from, to) = (start(yesterday)?, start(today)?);
        let id = format!("daily-{yesterday}");
        if let Some(report) = self.begin(Some(id.clone()), from, to, "schedule").await? {
            return self.complete(report).await.map(Some);
        }
        let existing = self.get(&id).await?;
        let abandoned = existing.state == ReconciliationState::Running
            && self.clock.now().since(existing.started_at) > chrono::TimeDelta::hours(1);
        if abandoned {
            tracing::warn!(reconciliation = %id, "the scheduled run was left unfinished; running it again");
            return self.complete(existing).await.map(Some);
        }
        Ok(None)
    }

    /// Tries [`Self::daily`] every `period` until the process stops.
    pub async fn run_daily(self: Arc<Self>, period: std::time::Duration) {
        let mut every = tokio::time::interval(period);
        loop {
            every.tick().await;
            match self.daily().await {
                Ok(Some(report)) if report.is_clean() => {
                    tracing::info!(reconciliation = %report.id, orders = report.totals.orders, "daily reconciliation: all orders agree");
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "daily reconciliation failed; will try again"),
            }
        }
    }

    async fn check_period(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<(ReconciliationTotals, u64, Vec<Discrepancy>), OrdersError> {
        let mut totals = ReconciliationTotals::default();
        let mut cost: BTreeMap<String, topup_core::Decimal> = BTreeMap::new();
        let mut found = Found {
            count: 0,
            listed: Vec::new(),
        };
        let mut after: Option<(Timestamp, String)> = None;
        loop {
            // Keyset pages in order of creation over the `created` index: each page starts
            // where the last one ended, whatever the size of the period.
            let filter = match &after {
                None => Filter::gte("created_at", from),
                Some((at, id)) => Filter::gte("created_at", *at)
                    .and(Filter::gt("created_at", *at).or(Filter::gt("id", id.as_str()))),
            }
            .and(Filter::lt("created_at", to));
            let batch = self
                .orders
                .find(
                    &FindQuery::new(filter)
                        .sort("created_at", SortOrder::Asc)
                        .sort("id", SortOrder::Asc)
                        .limit(BATCH),
                )
                .await?;
            let Some(last) = batch.last() else {
                break;
            };
            after = Some((last.created_at, last.id.clone()));
            // The futures are built first: a closure inside the stream would make the whole
            // run lose `Send` (a higher-ranked lifetime the compiler cannot prove).
            let mut checks = Vec::with_capacity(batch.len());
            for order in &batch {
                checks.push(self.check_order(order));
            }
            let findings: Vec<OrderFinding> = futures_util::stream::iter(checks)
                .buffered(CONCURRENCY)
                .collect()
                .await;
            for finding in findings {
                totals.orders += 1;
                add(&mut totals.paid, finding.paid)?;
                add(&mut totals.delivered, finding.delivered)?;
                add(&mut totals.refunded, finding.refunded)?;
                add(&mut totals.in_flight, finding.in_flight)?;
                add(&mut totals.unaccounted, finding.unaccounted)?;
                for (currency, value) in finding.cost {
                    let sum = cost.entry(currency).or_default();
                    *sum = sum.checked_add(value).ok_or(CoreError::Overflow)?;
                }
                for discrepancy in finding.discrepancies {
                    found.push(discrepancy);
                }
            }
        }
        totals.provider_cost = cost
            .into_iter()
            .map(|(currency, value)| (currency, value.to_string()))
            .collect();
        totals.provider_transactions = self
            .check_provider_transactions(from, to, &mut found)
            .await?;
        Ok((totals, found.count, found.listed))
    }

    /// The other direction: every transaction each provider made in the period, matched to
    /// the order whose key it carries (`<order_no>-<n>`, whatever period that order is in).
    /// One that is delivered or on its way, and that no order sent, is added to `found`.
    /// Answers how many transactions were checked.
    async fn check_provider_transactions(
        &self,
        from: Timestamp,
        to: Timestamp,
        found: &mut Found,
    ) -> Result<u64, OrdersError> {
        let mut checked = 0u64;
        for entry in self.router.entries() {
            let provider = &entry.provider;
            for page in 1..=MAX_PROVIDER_PAGES {
                let listed = match provider.transactions_page(from, to, page).await {
                    Ok(listed) => listed,
                    Err(error) => {
                        found.push(unchecked_provider(format!(
                            "provider {}'s transactions could not be listed (page {page}): {error}",
                            provider.id()
                        )));
                        break;
                    }
                };
                checked += listed.transactions.len() as u64;
                let ids: Vec<&str> = listed
                    .transactions
                    .iter()
                    .filter_map(|t| t.summary.custom_identifier.as_deref())
                    .filter_map(order_of_key)
                    .collect();
                let orders: BTreeMap<String, Order> = if ids.is_empty() {
                    BTreeMap::new()
                } else {
                    self.orders
                        .find(&FindQuery::new(Filter::is_in("id", ids)))
                        .await?
                        .into_iter()
                        .map(|order| (order.id.clone(), order))
                        .collect()
                };
                for transaction in &listed.transactions {
                    if let Some(discrepancy) = unknown_topup(provider.id(), transaction, &orders) {
                        found.push(discrepancy);
                    }
                }
                if listed.last {
                    break;
                }
                if page == MAX_PROVIDER_PAGES {
                    found.push(unchecked_provider(format!(
                        "provider {}'s transactions run past {MAX_PROVIDER_PAGES} pages; the rest are unchecked (reconcile shorter periods)",
                        provider.id()
                    )));
                }
            }
        }
        Ok(checked)
    }

    /// One order against WeChat's and the provider's records.
    async fn check_order(&self, order: &Order) -> OrderFinding {
        let mut finding = OrderFinding::default();
        let flag = |kind: DiscrepancyKind, detail: String| Discrepancy {
            order_no: Some(order.id.clone()),
            kind,
            order_state: Some(order.state),
            provider_transaction_id: None,
            detail,
        };
        let paid_here = !matches!(
            order.state,
            OrderState::AwaitingPayment | OrderState::Closed
        );

        // WeChat: was the money taken, and how much?
        let payment = match self.ledger.payment(&order.payment.out_trade_no).await {
            Ok(payment) => payment,
            Err(error) => {
                finding.discrepancies.push(flag(
                    DiscrepancyKind::CheckFailed,
                    format!("WeChat Pay could not be asked: {error}"),
                ));
                return finding;
            }
        };
        let paid = payment.as_ref().filter(|p| p.paid);
        match (paid, paid_here) {
            (Some(p), false) => finding.discrepancies.push(flag(
                DiscrepancyKind::PaidNotRecorded,
                format!(
                    "WeChat took {} fen ({}); the order is {}",
                    p.total.amount,
                    p.state,
                    order.state.as_str()
                ),
            )),
            (None, true) => finding.discrepancies.push(flag(
                DiscrepancyKind::RecordedNotPaid,
                format!(
                    "WeChat says {}",
                    payment
                        .as_ref()
                        .map_or("no such payment", |p| p.state.as_str())
                ),
            )),
            _ => {}
        }
        if let Some(p) = paid
            && p.total != order.total
        {
            finding.discrepancies.push(flag(
                DiscrepancyKind::AmountMismatch,
                format!(
                    "WeChat holds {} fen, the order {} fen",
                    p.total.amount, order.total.amount
                ),
            ));
        }
        finding.paid = paid.map_or(0, |p| p.total.amount);

        // WeChat: the refunds it completed, against those the order recorded as done.
        let mut refunded_there = 0i64;
        let mut refunded_here = 0i64;
        for refund in &order.refunds {
            if !refund.submitted && refund.state == RefundState::Requested {
                continue;
            }
            match self.ledger.refund(&refund.out_refund_no).await {
                Ok(Some(there)) if there.succeeded() => {
                    refunded_there = refunded_there.saturating_add(there.amount.amount);
                }
                Ok(_) => {}
                Err(error) => {
                    finding.discrepancies.push(flag(
                        DiscrepancyKind::CheckFailed,
                        format!(
                            "WeChat Pay could not be asked about refund {}: {error}",
                            refund.out_refund_no
                        ),
                    ));
                    return finding;
                }
            }
        }
        for refund in order
            .refunds
            .iter()
            .filter(|r| r.state == RefundState::Succeeded)
        {
            refunded_here = refunded_here.saturating_add(refund.amount.amount);
        }
        if refunded_there != refunded_here {
            finding.discrepancies.push(flag(
                DiscrepancyKind::RefundMismatch,
                format!(
                    "WeChat refunded {refunded_there} fen, the order recorded {refunded_here} fen"
                ),
            ));
        }
        finding.refunded = refunded_there;

        // The provider: every key this order sent, looked up.
        let mut delivered = 0u32;
        let mut keys: Vec<(&str, &str)> = order
            .recharge
            .attempts
            .iter()
            .filter(|a| a.action == "send")
            .map(|a| (a.provider_id.as_str(), a.key.as_str()))
            .collect();
        if let Some(in_flight) = &order.recharge.in_flight {
            keys.push((in_flight.provider_id.as_str(), in_flight.key.as_str()));
        }
        keys.sort_unstable();
        keys.dedup();
        for (provider_id, key) in keys {
            let Some(provider) = self.router.provider(&ProviderId::new(provider_id)) else {
                finding.discrepancies.push(flag(
                    DiscrepancyKind::CheckFailed,
                    format!("provider {provider_id} is not configured; {key} is unchecked"),
                ));
                continue;
            };
            match provider.find_by_custom_identifier(key).await {
                Ok(TransactionLookup::Found(result))
                    if result.outcome == TopupOutcome::Succeeded =>
                {
                    delivered += 1;
                    let summary = &result.summary;
                    if let Some(requested) = &summary.requested_amount {
                        let discount = summary
                            .discount
                            .as_ref()
                            .map(|d| d.value)
                            .unwrap_or_default();
                        finding
                            .cost
                            .push((requested.currency.to_string(), requested.value - discount));
                    }
                    let recorded = order.recharge.attempts.iter().find(|a| {
                        a.key == key && a.outcome.as_ref() == Some(&TopupOutcome::Succeeded)
                    });
                    if let Some(recorded) = recorded.and_then(|a| a.summary.as_ref())
                        && (recorded.requested_amount != summary.requested_amount
                            || recorded.discount != summary.discount)
                    {
                        finding.discrepancies.push(flag(
                            DiscrepancyKind::CostMismatch,
                            format!(
                                "{key}: the provider reports another cost than the order recorded"
                            ),
                        ));
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    finding.discrepancies.push(flag(
                        DiscrepancyKind::CheckFailed,
                        format!("provider {provider_id} could not be asked about {key}: {error}"),
                    ));
                    return finding;
                }
            }
        }
        let delivered_here =
            order.state == OrderState::Succeeded || order.recharge.delivered_by.is_some();
        if delivered > 1 {
            finding.discrepancies.push(flag(
                DiscrepancyKind::DeliveredTwice,
                format!("{delivered} successful top-ups"),
            ));
        }
        if delivered > 0 && !delivered_here {
            finding.discrepancies.push(flag(
                DiscrepancyKind::DeliveredNotRecorded,
                "the provider delivered; the order does not say so".into(),
            ));
        }
        if delivered == 0 && delivered_here {
            finding.discrepancies.push(flag(
                DiscrepancyKind::RecordedNotDelivered,
                "the provider has no successful top-up for this order".into(),
            ));
        }

        // Where the rest of the money is.
        // Bounded by one payment's amount: no overflow.
        let rest = finding.paid.saturating_sub(finding.refunded);
        match order.state {
            OrderState::Succeeded => finding.delivered = rest,
            // Failed: the refund is due and the engine is about to ask for it.
            OrderState::Paid
            | OrderState::Recharging
            | OrderState::Refunding
            | OrderState::Failed => {
                finding.in_flight = rest;
            }
            _ => {
                if rest != 0 {
                    finding.unaccounted = rest;
                    finding.discrepancies.push(flag(
                        DiscrepancyKind::Unaccounted,
                        format!("{rest} fen taken and neither delivered, refunded nor on its way"),
                    ));
                }
            }
        }
        finding
    }
}

/// A provider's list of transactions (or part of it) could not be checked.
fn unchecked_provider(detail: String) -> Discrepancy {
    Discrepancy {
        order_no: None,
        kind: DiscrepancyKind::CheckFailed,
        order_state: None,
        provider_transaction_id: None,
        detail,
    }
}

/// The order number in one of our keys (`<order_no>-<n>`).
fn order_of_key(key: &str) -> Option<&str> {
    let (order_no, n) = key.rsplit_once('-')?;
    (!order_no.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .then_some(order_no)
}

/// Whether `order` sent this key to this provider (an attempt, or the call in flight).
fn order_sent(order: &Order, provider: &ProviderId, key: &str) -> bool {
    let attempted = order
        .recharge
        .attempts
        .iter()
        .any(|a| a.action == "send" && a.key == key && a.provider_id == provider.as_str());
    let in_flight = order
        .recharge
        .in_flight
        .as_ref()
        .is_some_and(|f| f.key == key && f.provider_id == provider.as_str());
    attempted || in_flight
}

/// A discrepancy for a provider transaction that spent money (delivered, or still on its
/// way) and that no order in `orders` sent.
fn unknown_topup(
    provider: &ProviderId,
    transaction: &TopupResult,
    orders: &BTreeMap<String, Order>,
) -> Option<Discrepancy> {
    let spends = matches!(
        transaction.outcome,
        TopupOutcome::Succeeded | TopupOutcome::Pending { .. } | TopupOutcome::Ambiguous
    );
    let summary = &transaction.summary;
    let key = summary.custom_identifier.as_deref();
    let order = key
        .and_then(order_of_key)
        .and_then(|order_no| orders.get(order_no));
    if !spends || order.is_some_and(|o| key.is_some_and(|k| order_sent(o, provider, k))) {
        return None;
    }
    let amount = summary.requested_amount.as_ref().map_or_else(
        || "an unknown amount".to_owned(),
        |a| format!("{} {}", a.value, a.currency),
    );
    let status = summary.provider_status.as_deref().unwrap_or("no status");
    let id = summary
        .provider_transaction_id
        .as_deref()
        .unwrap_or("no id");
    let detail = match (key, order) {
        (None, _) => format!(
            "provider {provider} transaction {id} ({status}, {amount}) carries no key of ours"
        ),
        (Some(key), Some(_)) => format!(
            "provider {provider} transaction {id} ({status}, {amount}) carries {key}, which this order never sent"
        ),
        (Some(key), None) => format!(
            "provider {provider} transaction {id} ({status}, {amount}) carries {key}, which no order sent"
        ),
    };
    Some(Discrepancy {
        order_no: order.map(|o| o.id.clone()),
        kind: DiscrepancyKind::UnknownTopup,
        order_state: order.map(|o| o.state),
        provider_transaction_id: summary.provider_transaction_id.clone(),
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_is_spelled_as_on_the_wire() {
        for kind in [
            DiscrepancyKind::PaidNotRecorded,
            DiscrepancyKind::RecordedNotPaid,
            DiscrepancyKind::AmountMismatch,
            DiscrepancyKind::RefundMismatch,
            DiscrepancyKind::DeliveredNotRecorded,
            DiscrepancyKind::RecordedNotDelivered,
            DiscrepancyKind::DeliveredTwice,
            DiscrepancyKind::CostMismatch,
            DiscrepancyKind::Unaccounted,
            DiscrepancyKind::CheckFailed,
            DiscrepancyKind::UnknownTopup,
        ] {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
    }
}
