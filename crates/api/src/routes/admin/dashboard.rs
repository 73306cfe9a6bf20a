//! The console's home page figures (`docs/dashboard.md`): read from the daily order figures,
//! the visitor days and the membership orders, never by scanning orders, so a month costs
//! the same over a thousand orders or a million.

use std::collections::BTreeMap;

use actix_web::web;
use chrono::{NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};
use topup_auth::Permission;
use topup_auth::app_users::VisitorQuery;
use topup_auth::perm::DashboardView;
use topup_core::{Money, PageRequest, Timestamp};
use topup_orders::OrderState;
use topup_orders::stats::{FigureCell, merge_cells};
use utoipa::{IntoParams, ToSchema};

use crate::extract::{Json, Query, field_error};
use crate::security::Require;
use crate::{ApiError, AppState, ErrorBody};

/// The longest custom range, in days.
pub const MAX_DAYS: i64 = 366;

/// How old the providers' balances shown may be: each provider's balance API is called at
/// most once a minute, however many dashboards are open.
const BALANCES_MAX_AGE: TimeDelta = TimeDelta::seconds(60);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// `today` (the default), `yesterday`, `7d`, `30d` (each ending today) or `custom`.
    pub range: Option<String>,
    /// First day of a `custom` range, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last day of a `custom` range (inclusive), `YYYY-MM-DD`; at most 366 days after `from`.
    pub to: Option<String>,
}

/// The period's figures. Orders count on the day they were placed (in the configured
/// day offset); money is in fen.
#[derive(Debug, Serialize, ToSchema)]
pub struct DashboardTotals {
    /// Orders placed.
    pub orders: u64,
    /// Of them, those paid (every state but `awaiting_payment` and `closed`).
    pub paid_orders: u64,
    /// What the paid orders charged.
    pub paid_amount: Money,
    /// Refunds WeChat confirmed on those orders.
    pub refunded_amount: Money,
    /// `succeeded` over orders whose recharge ended (`succeeded`, `failed`, `refunding`,
    /// `refunded`); absent when none did.
    pub success_rate: Option<f64>,
    pub coupon_discount: Money,
    pub member_discount: Money,
    /// Membership orders placed in the period and kept (paid, or refund failed).
    pub membership_revenue: Money,
    /// Mini-program users seen for the first time.
    pub new_users: u64,
    /// Visitors: users seen on a day, summed over the days.
    pub active_users: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StateCount {
    pub state: OrderState,
    pub orders: u64,
}

/// One day of the trend.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayPoint {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub orders: u64,
    pub paid_orders: u64,
    /// In fen.
    pub paid_amount: i64,
    /// In fen.
    pub refunded_amount: i64,
    pub new_users: u64,
    pub active_users: u64,
}

/// One slice of a breakdown (a country, an operator, a kind of plan), largest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Slice {
    pub key: String,
    pub label: String,
    pub orders: u64,
    pub paid_orders: u64,
    /// In fen.
    pub paid_amount: i64,
}

/// What needs someone now, whatever the range.
#[derive(Debug, Serialize, ToSchema)]
pub struct Attention {
    /// Orders held for a person to look at.
    pub held: u64,
    /// Orders whose refund WeChat has not confirmed yet.
    pub refunding: u64,
    /// Payment alerts (WeChat reports that disagree with our records).
    pub payment_alerts: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceView {
    pub provider: String,
    /// Major units as a decimal string.
    pub balance: Option<String>,
    pub currency: Option<String>,
    /// Why the balance could not be read.
    pub error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "from": "2026-11-07", "to": "2026-12-06", "utc_offset_minutes": 480,
    "totals": {"orders": 1204, "paid_orders": 1103, "paid_amount": {"amount": 2110500, "currency": "CNY"},
        "refunded_amount": {"amount": 41200, "currency": "CNY"}, "success_rate": 0.981,
        "coupon_discount": {"amount": 12000, "currency": "CNY"}, "member_discount": {"amount": 3100, "currency": "CNY"},
        "membership_revenue": {"amount": 59800, "currency": "CNY"}, "new_users": 312, "active_users": 2890},
    "by_state": [{"state": "succeeded", "orders": 1060}, {"state": "closed", "orders": 101}],
    "series": [{"day": "2026-12-06", "orders": 41, "paid_orders": 38, "paid_amount": 72100, "refunded_amount": 0, "new_users": 9, "active_users": 97}],
    "by_country": [{"key": "PH", "label": "PH", "orders": 700, "paid_orders": 650, "paid_amount": 1200000}],
    "by_operator": [{"key": "173", "label": "Globe Philippines", "orders": 400, "paid_orders": 380, "paid_amount": 700000}],
    "by_kind": [{"key": "airtime", "label": "airtime", "orders": 900, "paid_orders": 840, "paid_amount": 1500000}],
    "attention": {"held": 1, "refunding": 0, "payment_alerts": 0},
    "balances": [{"provider": "reloadly", "balance": "1520.40", "currency": "USD", "error": null}],
    "balances_read_at": "2026-12-06T09:29:41.002Z",
    "figures_as_of": "2026-12-06T09:30:05.120Z"
}))]
pub struct Dashboard {
    pub from: String,
    pub to: String,
    /// The day offset the days are counted in (whole hours).
    pub utc_offset_minutes: i32,
    pub totals: DashboardTotals,
    pub by_state: Vec<StateCount>,
    /// Every day of the range, oldest first (days without orders as zeros).
    pub series: Vec<DayPoint>,
    pub by_country: Vec<Slice>,
    pub by_operator: Vec<Slice>,
    pub by_kind: Vec<Slice>,
    pub attention: Attention,
    pub balances: Vec<BalanceView>,
    /// When the balances were read (they are read again when a minute old).
    pub balances_read_at: Timestamp,
    /// When the oldest of the order figures read was computed; they follow the orders within
    /// a few seconds.
    pub figures_as_of: Option<Timestamp>,
}

/// States that mean the order was paid.
fn is_paid(state: &str) -> bool {
    !matches!(state, "awaiting_payment" | "closed")
}

fn parse_day(field: &str, text: Option<&str>) -> Result<NaiveDate, ApiError> {
    let text = text.map(str::trim).filter(|t| !t.is_empty());
    let text = text.ok_or_else(|| field_error(field, "is required for a custom range"))?;
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| field_error(field, "must be a date, YYYY-MM-DD"))
}

/// The days the query asks for, `from..=to`.
pub fn period(
    query: &DashboardQuery,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let back = |days: i64| today - TimeDelta::days(days);
    Ok(match query.range.as_deref().unwrap_or("today") {
        "today" => (today, today),
        "yesterday" => (back(1), back(1)),
        "7d" => (back(6), today),
        "30d" => (back(29), today),
        "custom" => {
            let from = parse_day("from", query.from.as_deref())?;
            let to = parse_day("to", query.to.as_deref())?;
            if from > to {
                return Err(field_error("from", "must not be after `to`"));
            }
            if (to - from).num_days() >= MAX_DAYS {
                return Err(field_error(
                    "to",
                    format!("the range may span at most {MAX_DAYS} days"),
                ));
            }
            (from, to)
        }
        _ => {
            return Err(field_error(
                "range",
                "must be one of today, yesterday, 7d, 30d, custom",
            ));
        }
    })
}

/// Sums cells into slices keyed by `key`, largest paid amount first.
fn slices<'a>(
    cells: impl Iterator<Item = &'a FigureCell>,
    key: impl Fn(&FigureCell) -> (String, String),
) -> Vec<Slice> {
    let mut by_key: BTreeMap<String, Slice> = BTreeMap::new();
    for cell in cells {
        let (key, label) = key(cell);
        let slice = by_key.entry(key.clone()).or_insert(Slice {
            key,
            label,
            orders: 0,
            paid_orders: 0,
            paid_amount: 0,
        });
        slice.orders = slice.orders.saturating_add(cell.orders);
        if is_paid(&cell.state) {
            slice.paid_orders = slice.paid_orders.saturating_add(cell.orders);
            slice.paid_amount = slice.paid_amount.saturating_add(cell.amount);
        }
    }
    let mut slices: Vec<Slice> = by_key.into_values().collect();
    slices.sort_by(|a, b| {
        b.paid_amount
            .cmp(&a.paid_amount)
            .then(b.orders.cmp(&a.orders))
    });
    slices
}

fn money(total: i64) -> Money {
    Money::cny(total)
}

/// The console's home page: orders, money, users and what needs attention over a range of
/// days. Answers from per-day figures kept as orders change, in a few milliseconds whatever
/// the number of orders.
#[utoipa::path(get, path = "/api/v1/admin/dashboard", tag = "admin-dashboard", operation_id = "admin_dashboard",
    params(DashboardQuery),
    responses(
        (status = 200, description = "The range's figures", body = Dashboard),
        (status = 400, description = "`VALIDATION_FAILED`: unknown `range`, or a bad custom `from`/`to`", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(DashboardView::CODE))))]
pub async fn dashboard(
    _who: Require<DashboardView>,
    state: web::Data<AppState>,
    query: Query<DashboardQuery>,
) -> Result<Json<Dashboard>, ApiError> {
    let stats = &state.stats;
    let now = state.clock.now();
    let (from, to) = period(&query, stats.day_of(now))?;
    let start = stats.day_start(from);
    let end = stats.day_start(to).plus(TimeDelta::days(1));

    let days = stats.days(from, to).await?;
    let visitors = state
        .app_users
        .visitors_per_day(&VisitorQuery {
            from: Some(from.format("%Y-%m-%d").to_string()),
            to: Some(to.format("%Y-%m-%d").to_string()),
        })
        .await?;
    let membership_revenue = state.marketing.membership_revenue(start, end).await?;
    let (held, refunding) = state.orders.attention_counts().await?;
    let payment_alerts = state
        .payments
        .alerts(PageRequest {
            page: 1,
            page_size: 1,
        })
        .await?
        .total;
    let (balances, balances_read_at) = state.providers.recent_balances(BALANCES_MAX_AGE).await;
    let balances = balances
        .into_iter()
        .map(|b| BalanceView {
            provider: b.provider.to_string(),
            balance: b.balance.map(|a| a.value.to_string()),
            currency: b.balance.map(|a| a.currency.to_string()),
            error: b.error,
        })
        .collect();

    let all_cells = merge_cells(days.values().flat_map(|d| d.cells.iter()));
    let mut totals = DashboardTotals {
        orders: 0,
        paid_orders: 0,
        paid_amount: money(0),
        refunded_amount: money(0),
        success_rate: None,
        coupon_discount: money(0),
        member_discount: money(0),
        membership_revenue: money(membership_revenue),
        new_users: visitors.iter().map(|v| v.new_users).sum(),
        active_users: visitors.iter().map(|v| v.active_users).sum(),
    };
    let mut by_state: BTreeMap<String, u64> = BTreeMap::new();
    for cell in &all_cells {
        totals.orders = totals.orders.saturating_add(cell.orders);
        *by_state.entry(cell.state.clone()).or_default() += cell.orders;
        if is_paid(&cell.state) {
            totals.paid_orders = totals.paid_orders.saturating_add(cell.orders);
            totals.paid_amount = totals.paid_amount.checked_add(money(cell.amount))?;
            totals.refunded_amount = totals.refunded_amount.checked_add(money(cell.refunded))?;
            totals.coupon_discount = totals.coupon_discount.checked_add(money(cell.coupon_off))?;
            totals.member_discount = totals.member_discount.checked_add(money(cell.member_off))?;
        }
    }
    let count_of = |state: &str| by_state.get(state).copied().unwrap_or(0);
    let ended = ["succeeded", "failed", "refunding", "refunded"]
        .iter()
        .map(|s| count_of(s))
        .sum::<u64>();
    if ended > 0 {
        totals.success_rate = Some(count_of("succeeded") as f64 / ended as f64);
    }
    let by_state = by_state
        .into_iter()
        .filter_map(|(state, orders)| {
            let state = serde_json::from_value(serde_json::Value::String(state)).ok()?;
            Some(StateCount { state, orders })
        })
        .collect();

    let visitors: BTreeMap<String, (u64, u64)> = visitors
        .into_iter()
        .map(|v| (v.day, (v.new_users, v.active_users)))
        .collect();
    let series = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|date| {
            let day = date.format("%Y-%m-%d").to_string();
            let (new_users, active_users) = visitors.get(&day).copied().unwrap_or((0, 0));
            let mut point = DayPoint {
                day,
                orders: 0,
                paid_orders: 0,
                paid_amount: 0,
                refunded_amount: 0,
                new_users,
                active_users,
            };
            for cell in days
                .get(&date)
                .map(|d| d.cells.as_slice())
                .unwrap_or_default()
            {
                point.orders = point.orders.saturating_add(cell.orders);
                if is_paid(&cell.state) {
                    point.paid_orders = point.paid_orders.saturating_add(cell.orders);
                    point.paid_amount = point.paid_amount.saturating_add(cell.amount);
                    point.refunded_amount = point.refunded_amount.saturating_add(cell.refunded);
                }
            }
            point
        })
        .collect();

    Ok(Json(Dashboard {
        from: from.format("%Y-%m-%d").to_string(),
        to: to.format("%Y-%m-%d").to_string(),
        utc_offset_minutes: stats.day_offset_minutes(),
        by_country: slices(all_cells.iter(), |c| (c.country.clone(), c.country.clone())),
        by_operator: slices(all_cells.iter(), |c| {
            (c.operator_id.clone(), c.operator_name.clone())
        }),
        by_kind: slices(all_cells.iter(), |c| (c.kind.clone(), c.kind.clone())),
        totals,
        by_state,
        series,
        attention: Attention {
            held,
            refunding,
            payment_alerts,
        },
        balances,
        balances_read_at,
        figures_as_of: days.values().map(|d| d.computed_at).min(),
    }))
}
