//! Order figures for the dashboard, kept per ten minutes and per day so that reading a month
//! costs a few dozen small documents however many orders there are (`docs/dashboard.md`).
//!
//! A bucket is never incremented: it is recomputed from the orders created in its ten
//! minutes, with one grouped query over the `created` index, and written whole. Recomputing
//! is idempotent, so two processes doing it at once, or a crash half-way, leave nothing wrong
//! that the next refresh does not put right; the rebuild command is the same recomputation
//! over a range. Buckets are ten minutes rather than an hour because the current bucket is
//! recomputed on every refresh while orders come in: its cost is the orders in it.
//!
//! Which buckets to recompute: every refresh groups the orders changed since the last one
//! (`updated_at`, minus a margin for writes still in flight and clocks apart) by the bucket
//! they were created in. The cursor is stored, so changes made before a crash are picked up
//! after it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use topup_core::{Clock, Timestamp};
use topup_store::{
    Collection, Document, Filter, FindQuery, GroupKey, KeyPart, SortOrder, Store, Update,
};

use crate::{Order, OrderFigures, OrdersError};

/// How far before the stored cursor a refresh looks again: a write stamped just before the
/// last refresh may have landed just after it, on this process or another.
const REFRESH_MARGIN_SECONDS: i64 = 60;

/// Characters of an RFC 3339 UTC timestamp that name its ten minutes (`2026-01-01T15:4`).
const BUCKET_CHARS: u32 = 15;

const BUCKET_MINUTES: i64 = 10;

const BUCKETS_PER_DAY: u64 = 24 * 6;

/// The longest run of buckets recomputed by one grouped query: a day's groups stay a few
/// thousand rows.
const MAX_RUN_BUCKETS: i64 = 144;

/// One group of orders in a bucket: same country, operator, kind and state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FigureCell {
    pub country: String,
    pub operator_id: String,
    pub operator_name: String,
    /// `airtime` or `data`.
    pub kind: String,
    pub state: String,
    pub orders: u64,
    /// Sum of the orders' totals, in fen.
    pub amount: i64,
    /// Refunds WeChat confirmed, in fen.
    pub refunded: i64,
    pub coupon_off: i64,
    pub member_off: i64,
}

impl FigureCell {
    fn add(&mut self, other: &FigureCell) {
        self.orders = self.orders.saturating_add(other.orders);
        self.amount = self.amount.saturating_add(other.amount);
        self.refunded = self.refunded.saturating_add(other.refunded);
        self.coupon_off = self.coupon_off.saturating_add(other.coupon_off);
        self.member_off = self.member_off.saturating_add(other.member_off);
    }
}

/// The figures of the orders created in ten minutes (UTC); id `YYYY-MM-DDTHH:M`, the first
/// digit of the minutes (`2026-12-06T09:1` is 09:10 to 09:20).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketFigures {
    pub id: String,
    pub cells: Vec<FigureCell>,
    pub computed_at: Timestamp,
}

impl Document for BucketFigures {
    const COLLECTION: &'static str = "order_bucket_figures";
}

/// Hourly buckets, as versions before the ten-minute buckets kept them: removed when a store
/// is first counted in ten-minute buckets.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LegacyHourFigures {}

impl Document for LegacyHourFigures {
    const COLLECTION: &'static str = "order_hour_figures";
}

/// The figures of the orders created in one calendar day (in the configured UTC offset,
/// counted in whole hours); id `YYYY-MM-DD`. The sum of that day's buckets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayFigures {
    pub id: String,
    pub cells: Vec<FigureCell>,
    pub computed_at: Timestamp,
}

impl Document for DayFigures {
    const COLLECTION: &'static str = "order_day_figures";
}

/// Up to when orders' changes have been counted.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FiguresCursor {
    id: String,
    counted_until: Timestamp,
}

impl Document for FiguresCursor {
    const COLLECTION: &'static str = "order_figures_cursor";
}

/// The cursor of ten-minute buckets (a store whose cursor is still the hourly one, `orders`,
/// is counted again from the start).
const CURSOR_ID: &str = "order_buckets";

/// Orders' figures summed in memory, for a bulk load that knows every order it writes: the
/// same cells, in the same order, as recomputing the buckets from the stored orders gives
/// (`OrderStats::recompute_run`), without reading the orders back. Written with
/// [`OrderStats::replace_with_tally`].
#[derive(Debug, Default)]
pub struct FiguresTally {
    /// Bucket id → cells by (country, operator id, kind, state, operator name): the order
    /// `recompute_run` sorts a bucket's cells in.
    buckets: BTreeMap<String, BTreeMap<[String; 5], FigureCell>>,
}

impl FiguresTally {
    /// Adds `order` to its bucket's cell.
    pub fn count(&mut self, order: &Order) {
        let key = [
            order.country.as_str().to_owned(),
            order.plan.operator_id.clone(),
            order.plan.kind.as_str().to_owned(),
            order.state.as_str().to_owned(),
            order.plan.operator_name.clone(),
        ];
        let figures = &order.figures;
        let cells = self.buckets.entry(bucket_id(order.created_at)).or_default();
        let cell = cells.entry(key).or_insert_with_key(
            |[country, operator_id, kind, state, operator_name]| FigureCell {
                country: country.clone(),
                operator_id: operator_id.clone(),
                operator_name: operator_name.clone(),
                kind: kind.clone(),
                state: state.clone(),
                ..FigureCell::default()
            },
        );
        cell.add(&FigureCell {
            orders: 1,
            amount: order.total.amount,
            refunded: figures.refunded,
            coupon_off: figures.coupon_off,
            member_off: figures.member_off,
            ..FigureCell::default()
        });
    }
}

/// Keeps and reads the ten-minute and daily order figures.
pub struct OrderStats {
    orders: Collection<Order>,
    buckets: Collection<BucketFigures>,
    legacy_hours: Collection<LegacyHourFigures>,
    days: Collection<DayFigures>,
    cursor: Collection<FiguresCursor>,
    clock: Arc<dyn Clock>,
    /// Whole hours east of UTC that a dashboard day starts at.
    day_offset_hours: i64,
}

fn bucket_id(at: Timestamp) -> String {
    let mut minute = at.as_datetime().format("%Y-%m-%dT%H:%M").to_string();
    minute.pop();
    minute
}

fn parse_bucket(id: &str) -> Option<Timestamp> {
    Timestamp::parse(&format!("{id}0:00Z")).ok()
}

impl OrderStats {
    /// `day_utc_offset_minutes` is rounded down to whole hours: UTC+5:30 counts its days as
    /// UTC+5 does.
    pub fn new(store: &Store, clock: Arc<dyn Clock>, day_utc_offset_minutes: i32) -> Self {
        OrderStats {
            orders: store.collection(),
            buckets: store.collection(),
            legacy_hours: store.collection(),
            days: store.collection(),
            cursor: store.collection(),
            clock,
            day_offset_hours: i64::from(day_utc_offset_minutes).div_euclid(60),
        }
    }

    /// The orders' index this relies on (idempotent).
    pub async fn prepare(&self) -> Result<(), OrdersError> {
        self.orders
            .ensure_index(topup_store::Index::new("updated", &["updated_at"]))
            .await?;
        Ok(())
    }

    /// The offset days are counted in, in minutes (whole hours).
    pub fn day_offset_minutes(&self) -> i32 {
        i32::try_from(self.day_offset_hours * 60).unwrap_or(0)
    }

    /// The dashboard day (`YYYY-MM-DD`) an instant falls in.
    pub fn day_of(&self, at: Timestamp) -> NaiveDate {
        at.plus(TimeDelta::hours(self.day_offset_hours))
            .as_datetime()
            .date_naive()
    }

    /// The UTC instant a dashboard day starts at.
    pub fn day_start(&self, day: NaiveDate) -> Timestamp {
        let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        Timestamp::from_datetime(midnight).plus(TimeDelta::hours(-self.day_offset_hours))
    }

    /// Recomputes the buckets `[first, first + count)` from their orders with one grouped query,
    /// writing each bucket whole (or deleting it when it has no order any more). Answers the
    /// days those buckets belong to.
    async fn recompute_run(
        &self,
        first: Timestamp,
        count: i64,
    ) -> Result<BTreeSet<NaiveDate>, OrdersError> {
        let end = first.plus(TimeDelta::minutes(count * BUCKET_MINUTES));
        let filter = Filter::gte("created_at", first).and(Filter::lt("created_at", end));
        let rows = self
            .orders
            .group(
                &filter,
                GroupKey::Fields(vec![
                    KeyPart::Prefix {
                        field: "created_at".into(),
                        chars: BUCKET_CHARS,
                    },
                    "country".into(),
                    "plan.operator_id".into(),
                    "plan.operator_name".into(),
                    "plan.kind".into(),
                    "state".into(),
                ]),
                &[
                    "total.amount",
                    "figures.refunded",
                    "figures.coupon_off",
                    "figures.member_off",
                ],
            )
            .await?;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
        let sum = |sums: &[i64], i: usize| sums.get(i).copied().unwrap_or(0);
        let mut by_bucket: BTreeMap<String, Vec<FigureCell>> = BTreeMap::new();
        for row in rows {
            let key = row.key.as_array().cloned().unwrap_or_default();
            by_bucket
                .entry(text(key.first()))
                .or_default()
                .push(FigureCell {
                    country: text(key.get(1)),
                    operator_id: text(key.get(2)),
                    operator_name: text(key.get(3)),
                    kind: text(key.get(4)),
                    state: text(key.get(5)),
                    orders: row.count,
                    amount: sum(&row.sums, 0),
                    refunded: sum(&row.sums, 1),
                    coupon_off: sum(&row.sums, 2),
                    member_off: sum(&row.sums, 3),
                });
        }
        let now = self.clock.now();
        let mut days = BTreeSet::new();
        for n in 0..count {
            let start = first.plus(TimeDelta::minutes(n * BUCKET_MINUTES));
            let id = bucket_id(start);
            days.insert(self.day_of(start));
            match by_bucket.remove(&id) {
                Some(mut cells) => {
                    cells.sort_by(|a, b| {
                        (&a.country, &a.operator_id, &a.kind, &a.state).cmp(&(
                            &b.country,
                            &b.operator_id,
                            &b.kind,
                            &b.state,
                        ))
                    });
                    self.buckets
                        .upsert(&BucketFigures {
                            id,
                            cells,
                            computed_at: now,
                        })
                        .await?;
                }
                None => {
                    self.buckets.delete(&id).await?;
                }
            }
        }
        Ok(days)
    }

    /// Re-sums a day from its buckets.
    async fn refresh_day(&self, day: NaiveDate) -> Result<(), OrdersError> {
        let start = self.day_start(day);
        let buckets = self
            .buckets
            .find(
                &FindQuery::new(
                    Filter::gte("id", bucket_id(start))
                        .and(Filter::lt("id", bucket_id(start.plus(TimeDelta::days(1))))),
                )
                .limit(BUCKETS_PER_DAY),
            )
            .await?;
        let buckets: Vec<&BucketFigures> = buckets.iter().collect();
        match day_figures(Some(day), &buckets, self.clock.now()) {
            Some(figures) => self.days.upsert(&figures).await?,
            None => {
                self.days
                    .delete(&day.format("%Y-%m-%d").to_string())
                    .await?;
            }
        }
        Ok(())
    }

    /// Recomputes `buckets` (ids) in runs of consecutive buckets, one query per run (at most
    /// a day long), then the days they belong to. Answers how many buckets were recomputed.
    async fn refresh_buckets(&self, buckets: BTreeSet<String>) -> Result<usize, OrdersError> {
        let starts: Vec<Timestamp> = buckets.iter().filter_map(|b| parse_bucket(b)).collect();
        let mut days = BTreeSet::new();
        let mut i = 0;
        while i < starts.len() {
            let first = starts[i];
            let mut count = 1_i64;
            while i + 1 < starts.len()
                && count < MAX_RUN_BUCKETS
                && starts[i + 1] == first.plus(TimeDelta::minutes(count * BUCKET_MINUTES))
            {
                count += 1;
                i += 1;
            }
            days.extend(self.recompute_run(first, count).await?);
            i += 1;
        }
        for day in days {
            self.refresh_day(day).await?;
        }
        Ok(starts.len())
    }

    /// The buckets (of creation) of the orders matching `filter`.
    async fn buckets_of(&self, filter: &Filter) -> Result<BTreeSet<String>, OrdersError> {
        Ok(self
            .orders
            .group(
                filter,
                GroupKey::Prefix {
                    field: "created_at".into(),
                    chars: BUCKET_CHARS,
                },
                &[],
            )
            .await?
            .into_iter()
            .filter_map(|row| row.key.as_str().map(str::to_owned))
            .collect())
    }

    /// Recomputes the buckets whose orders changed since the stored cursor, then moves the
    /// cursor to when this refresh started. Answers how many buckets were recomputed.
    pub async fn refresh(&self) -> Result<usize, OrdersError> {
        let started = self.clock.now();
        let since = match self.cursor.get(CURSOR_ID).await? {
            Some(cursor) => cursor
                .counted_until
                .plus(TimeDelta::seconds(-REFRESH_MARGIN_SECONDS)),
            // First run on this store: count everything once, after giving orders written
            // before they carried their figures those figures.
            None => {
                let filled = self.backfill_figures().await?;
                if filled > 0 {
                    tracing::info!(orders = filled, "older orders given their money figures");
                }
                self.legacy_hours.delete_many(&Filter::All).await?;
                Timestamp::from_datetime(chrono::DateTime::UNIX_EPOCH)
            }
        };
        let changed = self.buckets_of(&Filter::gte("updated_at", since)).await?;
        let count = self.refresh_buckets(changed).await?;
        self.cursor
            .upsert(&FiguresCursor {
                id: CURSOR_ID.to_owned(),
                counted_until: started,
            })
            .await?;
        Ok(count)
    }

    /// Gives every order without `figures` (written by an earlier version) its figures, in
    /// pages by id. Each write is guarded by the order's version: an order changed meanwhile
    /// was given its figures by that change.
    async fn backfill_figures(&self) -> Result<u64, OrdersError> {
        const PAGE: u64 = 500;
        let mut after = String::new();
        let mut filled = 0;
        loop {
            let page = self
                .orders
                .find(
                    &FindQuery::new(
                        Filter::missing("figures").and(Filter::gt("id", after.as_str())),
                    )
                    .sort("id", SortOrder::Asc)
                    .limit(PAGE),
                )
                .await?;
            for order in &page {
                let figures = OrderFigures::of(order);
                let value = serde_json::json!({
                    "refunded": figures.refunded,
                    "coupon_off": figures.coupon_off,
                    "member_off": figures.member_off,
                });
                let guard = Filter::eq("version", order.version);
                if self
                    .orders
                    .update_if(&order.id, guard, &[Update::set("figures", value)])
                    .await?
                {
                    filled += 1;
                }
            }
            match page.last() {
                Some(last) if page.len() as u64 == PAGE => after = last.id.clone(),
                _ => return Ok(filled),
            }
        }
    }

    /// The refresh loop of a serving process: every `period`, until dropped.
    pub async fn run(self: Arc<Self>, period: std::time::Duration) {
        let mut every = tokio::time::interval(period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(error) = self.refresh().await {
                tracing::warn!(%error, "order figures not refreshed; trying again shortly");
            }
        }
    }

    /// Records that every change up to `at` is counted, when no refresh has run on this store
    /// yet (after a bulk load whose figures were rebuilt): the first refresh then looks only
    /// at what changes afterwards.
    pub async fn mark_counted(&self, at: Timestamp) -> Result<(), OrdersError> {
        if self.cursor.get(CURSOR_ID).await?.is_none() {
            self.cursor
                .upsert(&FiguresCursor {
                    id: CURSOR_ID.to_owned(),
                    counted_until: at,
                })
                .await?;
        }
        Ok(())
    }

    /// Replaces every bucket and day with those of `tally`: for a store whose orders are all in
    /// the tally (a bulk load into an empty store), where it gives what [`OrderStats::rebuild`]
    /// would, without reading the orders back. Answers how many buckets hold orders.
    pub async fn replace_with_tally(&self, tally: FiguresTally) -> Result<usize, OrdersError> {
        /// Buckets written per store call: a few megabytes.
        const CHUNK: usize = 1_000;
        let now = self.clock.now();
        self.buckets.delete_many(&Filter::All).await?;
        self.days.delete_many(&Filter::All).await?;
        let buckets: Vec<BucketFigures> = tally
            .buckets
            .into_iter()
            .map(|(id, cells)| BucketFigures {
                id,
                cells: cells.into_values().collect(),
                computed_at: now,
            })
            .collect();
        // Bucket ids sort by time, so each day's buckets are consecutive, in the order
        // `refresh_day` reads them.
        let mut days: Vec<DayFigures> = Vec::new();
        let mut day_buckets: Vec<&BucketFigures> = Vec::new();
        let mut current = None;
        for bucket in &buckets {
            let day = parse_bucket(&bucket.id).map(|start| self.day_of(start));
            if day != current {
                days.extend(day_figures(current, &day_buckets, now));
                day_buckets.clear();
                current = day;
            }
            day_buckets.push(bucket);
        }
        days.extend(day_figures(current, &day_buckets, now));
        for chunk in buckets.chunks(CHUNK) {
            self.buckets.insert_many(chunk).await?;
        }
        self.days.insert_many(&days).await?;
        Ok(buckets.len())
    }

    /// Recomputes every bucket of the days `from..=to` from the orders (repair after a
    /// restore or a bug). Answers how many ten-minute buckets held orders.
    pub async fn rebuild(&self, from: NaiveDate, to: NaiveDate) -> Result<usize, OrdersError> {
        let start = self.day_start(from);
        let end = self.day_start(to).plus(TimeDelta::days(1));
        let mut buckets = self
            .buckets_of(&Filter::gte("created_at", start).and(Filter::lt("created_at", end)))
            .await?;
        let with_orders = buckets.len();
        // Buckets that hold figures but no longer any order (orders deleted) are emptied.
        for stale in self
            .buckets
            .find(&FindQuery::new(
                Filter::gte("id", bucket_id(start)).and(Filter::lt("id", bucket_id(end))),
            ))
            .await?
        {
            buckets.insert(stale.id);
        }
        self.refresh_buckets(buckets).await?;
        // Days without any bucket left are emptied too.
        let mut day = from;
        while day <= to {
            self.refresh_day(day).await?;
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        Ok(with_orders)
    }

    /// The daily figures of `from..=to`, by day (days without orders are absent).
    pub async fn days(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, DayFigures>, OrdersError> {
        let days = self
            .days
            .find(&FindQuery::new(
                Filter::gte("id", from.format("%Y-%m-%d").to_string())
                    .and(Filter::lte("id", to.format("%Y-%m-%d").to_string())),
            ))
            .await?;
        Ok(days
            .into_iter()
            .filter_map(|d| {
                let day = NaiveDate::parse_from_str(&d.id, "%Y-%m-%d").ok()?;
                Some((day, d))
            })
            .collect())
    }
}

/// The figures of `day` summed from its buckets, as `refresh_day` sums them; none for no day
/// or no cell.
fn day_figures(
    day: Option<NaiveDate>,
    buckets: &[&BucketFigures],
    now: Timestamp,
) -> Option<DayFigures> {
    let cells = merge_cells(buckets.iter().flat_map(|b| b.cells.iter()));
    Some(DayFigures {
        id: day?.format("%Y-%m-%d").to_string(),
        cells,
        computed_at: now,
    })
    .filter(|d| !d.cells.is_empty())
}

/// Sums cells of the same group, in the order each group first appears.
pub fn merge_cells<'a>(cells: impl Iterator<Item = &'a FigureCell>) -> Vec<FigureCell> {
    let mut merged: Vec<FigureCell> = Vec::new();
    let mut index: HashMap<(&str, &str, &str, &str), usize> = HashMap::new();
    for cell in cells {
        let key = (
            cell.country.as_str(),
            cell.operator_id.as_str(),
            cell.kind.as_str(),
            cell.state.as_str(),
        );
        match index.get(&key) {
            Some(&at) => merged[at].add(cell),
            None => {
                index.insert(key, merged.len());
                merged.push(cell.clone());
            }
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn buckets_are_ten_minutes_named_by_their_utc_start() {
        let at = Timestamp::parse("2026-03-01T17:39:59.999Z").unwrap();
        assert_eq!(bucket_id(at), "2026-03-01T17:3");
        assert_eq!(
            parse_bucket("2026-03-01T17:3"),
            Timestamp::parse("2026-03-01T17:30:00Z").ok()
        );
        assert_eq!(
            bucket_id(Timestamp::parse("2026-03-01T17:40:00Z").unwrap()),
            "2026-03-01T17:4"
        );
        assert_eq!(parse_bucket("nonsense"), None);
    }

    #[test]
    fn cells_of_one_group_are_summed() {
        let cell = |state: &str, orders, amount| FigureCell {
            country: "PH".into(),
            state: state.into(),
            orders,
            amount,
            ..FigureCell::default()
        };
        let merged = merge_cells(
            [
                cell("paid", 1, 100),
                cell("closed", 2, 0),
                cell("paid", 3, 300),
            ]
            .iter(),
        );
        assert_eq!(merged, vec![cell("paid", 4, 400), cell("closed", 2, 0)]);
    }
}
