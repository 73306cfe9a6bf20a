//! `topup demo-data`: fills an embedded store with a shop's worth of history, so the console,
//! the dashboard and the benchmarks have something real-sized to show (`docs/dashboard.md`).
//!
//! Everything is written as the product itself would have left it: app users and the days they
//! visited; orders in final states (delivered, closed unpaid, declined and refunded, partly
//! refunded by staff) with their price lines, timelines and payment facts; the WeChat Pay
//! payment and refund records behind them; then the dashboard's figures rebuilt from the
//! orders. No order is left due, so no worker picks any of them up, and nothing reaches WeChat
//! Pay or a provider. Only the embedded mode accepts it.

use std::time::Instant;

use chrono::TimeDelta;
use rust_decimal::Decimal;
use topup_auth::AppUserService;
use topup_auth::app_users::{AppUserId, DemoUser};
use topup_core::{CountryCode, Currency, Money, Timestamp};
use topup_orders::stats::{FiguresTally, OrderStats};
use topup_orders::{
    Order, OrderFigures, OrderRefund, OrderState, PaymentInfo, PlanKind, PlanSnapshot, PriceLine,
    RechargeInfo, RefundState, TimelineCode, TimelineEvent,
};
use topup_payment::{
    PaymentId, PaymentRecord, PaymentState, RefundId, RefundRecord,
    RefundState as PaymentRefundState,
};
use topup_recharge::ProviderAmount;
use topup_store::{Document, Filter, Store};

use crate::application::Application;
use crate::{AppError, Config, Mode};

/// Orders written per store call: large enough that the per-call cost vanishes, small enough
/// that one batch's documents stay a few megabytes.
const BATCH: usize = 5_000;

/// What `demo-data` wrote, and how long it took.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub orders: u64,
    pub users: u64,
    pub payments: u64,
    pub refunds: u64,
    pub days: u32,
    /// Writing the orders, payments and refunds, their indexes included.
    pub write_seconds: f64,
    /// Of which building the indexes set aside while writing.
    pub index_seconds: f64,
    /// Rebuilding the dashboard's figures.
    pub figures_seconds: f64,
}

/// A country the demo sells to: its weight among orders, dialling prefix, local number
/// length, and operators with their provider ids.
struct DemoCountry {
    code: &'static str,
    weight: u32,
    prefix: &'static str,
    digits: u32,
    operators: &'static [(&'static str, &'static str)],
}

const COUNTRIES: &[DemoCountry] = &[
    DemoCountry {
        code: "PH",
        weight: 30,
        prefix: "+639",
        digits: 9,
        operators: &[
            ("173", "Globe Philippines"),
            ("174", "Smart Philippines"),
            ("175", "DITO Philippines"),
        ],
    },
    DemoCountry {
        code: "ID",
        weight: 15,
        prefix: "+628",
        digits: 10,
        operators: &[
            ("181", "Telkomsel Indonesia"),
            ("182", "Indosat Indonesia"),
            ("183", "XL Axiata Indonesia"),
        ],
    },
    DemoCountry {
        code: "TH",
        weight: 12,
        prefix: "+668",
        digits: 8,
        operators: &[
            ("191", "AIS Thailand"),
            ("192", "dtac Thailand"),
            ("193", "TrueMove H Thailand"),
        ],
    },
    DemoCountry {
        code: "VN",
        weight: 10,
        prefix: "+849",
        digits: 8,
        operators: &[
            ("201", "Viettel Vietnam"),
            ("202", "Vinaphone Vietnam"),
            ("203", "Mobifone Vietnam"),
        ],
    },
    DemoCountry {
        code: "MY",
        weight: 8,
        prefix: "+601",
        digits: 8,
        operators: &[("211", "Maxis Malaysia"), ("212", "CelcomDigi Malaysia")],
    },
    DemoCountry {
        code: "US",
        weight: 8,
        prefix: "+1415",
        digits: 7,
        operators: &[
            ("221", "AT&T United States"),
            ("222", "T-Mobile United States"),
            ("223", "Verizon United States"),
        ],
    },
    DemoCountry {
        code: "GB",
        weight: 5,
        prefix: "+447",
        digits: 9,
        operators: &[
            ("231", "EE United Kingdom"),
            ("232", "Vodafone United Kingdom"),
            ("233", "O2 United Kingdom"),
        ],
    },
    DemoCountry {
        code: "JP",
        weight: 5,
        prefix: "+8190",
        digits: 8,
        operators: &[("241", "NTT Docomo Japan"), ("242", "SoftBank Japan")],
    },
    DemoCountry {
        code: "KR",
        weight: 4,
        prefix: "+8210",
        digits: 8,
        operators: &[("251", "SK Telecom Korea"), ("252", "KT Korea")],
    },
    DemoCountry {
        code: "NG",
        weight: 3,
        prefix: "+23480",
        digits: 8,
        operators: &[("261", "MTN Nigeria"), ("262", "Airtel Nigeria")],
    },
];

/// Denominations: kind, title, price in fen, what the provider is asked to send (USD).
const PLANS: &[(PlanKind, &str, i64, &str)] = &[
    (PlanKind::Airtime, "话费 5 USD", 3_850, "5"),
    (PlanKind::Airtime, "话费 10 USD", 7_600, "10"),
    (PlanKind::Airtime, "话费 20 USD", 15_100, "20"),
    (PlanKind::Data, "流量 3GB 7 天", 2_900, "4"),
    (PlanKind::Data, "流量 10GB 30 天", 6_900, "9"),
];

/// How an order ends, and how often (in thousandths).
#[derive(Clone, Copy)]
enum Ending {
    Delivered,
    ClosedUnpaid,
    DeclinedRefunded,
    PartlyRefunded,
}

fn ending(rng: &mut fastrand::Rng) -> Ending {
    match rng.u32(0..1000) {
        0..860 => Ending::Delivered,
        860..950 => Ending::ClosedUnpaid,
        950..990 => Ending::DeclinedRefunded,
        _ => Ending::PartlyRefunded,
    }
}

fn weighted_country(rng: &mut fastrand::Rng) -> &'static DemoCountry {
    let total: u32 = COUNTRIES.iter().map(|c| c.weight).sum();
    let mut pick = rng.u32(0..total);
    for country in COUNTRIES {
        if pick < country.weight {
            return country;
        }
        pick -= country.weight;
    }
    &COUNTRIES[0]
}

/// An instant in the last `days` days, busier in the (China) evening than at night.
fn order_time(rng: &mut fastrand::Rng, now: Timestamp, days: u32) -> Timestamp {
    loop {
        let back = rng.i64(0..i64::from(days) * 86_400_000);
        let at = now.plus(TimeDelta::milliseconds(-back));
        // Hour of day in UTC+8: accept with a weight from 0.2 (04:00) to 1.0 (21:00).
        let hour = (at.unix_seconds() / 3600 + 8).rem_euclid(24);
        let weight =
            0.2 + 0.8 * (1.0 - ((hour - 21).abs().min(24 - (hour - 21).abs()) as f64 / 12.0));
        if rng.f64() < weight {
            return at;
        }
    }
}

fn ulid_at(rng: &mut fastrand::Rng, at: Timestamp) -> String {
    let millis = u64::try_from(at.unix_millis()).unwrap_or(0);
    ulid::Ulid::from_parts(millis, rng.u128(..)).to_string()
}

/// The timeline of a payment notified and its recharge started at once.
fn paid_and_sent(at: Timestamp) -> [TimelineEvent; 2] {
    [
        event(
            at,
            "wechat",
            TimelineCode::Paid,
            Some("payment notification".into()),
        ),
        event(at, "system", TimelineCode::RechargeStarted, None),
    ]
}

fn event(at: Timestamp, actor: &str, what: TimelineCode, detail: Option<String>) -> TimelineEvent {
    TimelineEvent {
        at,
        actor: actor.to_owned(),
        what: what.phrase().to_owned(),
        detail,
    }
}

/// One generated order with the payment records behind it.
struct Generated {
    order: Order,
    payment: PaymentRecord,
    refund: Option<RefundRecord>,
}

/// One batch of documents, ready to write.
struct Batch {
    orders: Vec<Order>,
    payments: Vec<PaymentRecord>,
    refunds: Vec<RefundRecord>,
}

struct Generator {
    rng: fastrand::Rng,
    users: Vec<DemoUser>,
    usd: Currency,
    /// The dashboard's figures of every order made.
    figures: FiguresTally,
}

impl Generator {
    /// The orders created at `times` (`size` of them), with their payments and refunds.
    fn batch(
        &mut self,
        times: impl Iterator<Item = Timestamp>,
        size: usize,
    ) -> Result<Batch, AppError> {
        let mut batch = Batch {
            orders: Vec::with_capacity(size),
            payments: Vec::with_capacity(size),
            refunds: Vec::new(),
        };
        for created in times {
            let generated = self.order(created)?;
            self.figures.count(&generated.order);
            batch.orders.push(generated.order);
            batch.payments.push(generated.payment);
            batch.refunds.extend(generated.refund);
        }
        Ok(batch)
    }

    fn order(&mut self, created: Timestamp) -> Result<Generated, AppError> {
        let user_index = self.rng.usize(0..self.users.len());
        let user = &mut self.users[user_index];
        user.visits.push(created);
        let user_id = user.id.to_string();
        let openid = user.openid.clone();
        let country = weighted_country(&mut self.rng);
        let (operator_id, operator_name) =
            country.operators[self.rng.usize(0..country.operators.len())];
        let (kind, title, price, send) = PLANS[self.rng.usize(0..PLANS.len())];
        let local: String = (0..country.digits)
            .map(|_| char::from(b'0' + self.rng.u8(0..10)))
            .collect();
        let phone = format!("{}{local}", country.prefix);
        let order_no = ulid_at(&mut self.rng, created);
        let code = CountryCode::parse(country.code).map_err(|e| AppError::Config(e.to_string()))?;
        let plan = PlanSnapshot {
            plan_id: format!("demo-{}-{operator_id}-{send}", kind.as_str()),
            kind,
            country: code,
            operator_id: format!("demo-{operator_id}"),
            operator_name: operator_name.to_owned(),
            title: title.to_owned(),
            provider_id: "sandbox".into(),
            provider_operator_id: operator_id.to_owned(),
            provider_amount: ProviderAmount::new(
                Decimal::from(send.parse::<u32>().unwrap_or(5)),
                self.usd,
            ),
            use_local_amount: false,
        };
        let mut price_lines = vec![PriceLine {
            kind: "base".into(),
            label: title.to_owned(),
            amount: Money::cny(price),
        }];
        // One order in seven with a 满减 coupon, one in twenty with a 2% membership discount.
        let mut total = price;
        if self.rng.u32(0..20) == 0 {
            let off = price / 50;
            total -= off;
            price_lines.push(PriceLine {
                kind: "membership".into(),
                label: "会员 98 折".into(),
                amount: Money::cny(-off),
            });
        }
        if self.rng.u32(0..7) == 0 && total >= 3_000 {
            total -= 300;
            price_lines.push(PriceLine {
                kind: "coupon".into(),
                label: "满 30 减 3".into(),
                amount: Money::cny(-300),
            });
        }
        let ending = ending(&mut self.rng);
        let paid_at = created.plus(TimeDelta::seconds(self.rng.i64(8..90)));
        let done_at = paid_at.plus(TimeDelta::seconds(self.rng.i64(2..40)));
        let transaction_id = format!("42000{:023}", self.rng.u64(..) % 10u64.pow(18));
        let mut timeline = vec![event(
            created,
            &format!("user:{user_id}"),
            TimelineCode::OrderPlaced,
            None,
        )];
        let mut refunds = Vec::new();
        let mut recharge = RechargeInfo::default();
        let state;
        let mut updated = done_at;
        match ending {
            Ending::ClosedUnpaid => {
                state = OrderState::Closed;
                updated = created.plus(TimeDelta::minutes(15));
                timeline.push(event(updated, "system", TimelineCode::ClosedUnpaid, None));
            }
            Ending::Delivered | Ending::PartlyRefunded => {
                state = OrderState::Succeeded;
                let provider_tx = format!("{}", 100_000 + self.rng.u64(0..900_000_000));
                timeline.extend(paid_and_sent(paid_at));
                timeline.push(event(
                    done_at,
                    "provider:sandbox",
                    TimelineCode::Recharged,
                    Some(provider_tx.clone()),
                ));
                recharge.provider_transaction_id = Some(provider_tx);
                recharge.delivered_by = Some("sandbox".into());
                if let Ending::PartlyRefunded = ending {
                    let asked = done_at.plus(TimeDelta::hours(self.rng.i64(1..48)));
                    let amount = Money::cny((total / 5).max(1));
                    refunds.push(OrderRefund {
                        out_refund_no: format!("{order_no}R1"),
                        amount,
                        reason: "goodwill".into(),
                        initiator: "staff:demo".into(),
                        state: RefundState::Succeeded,
                        requested_at: asked,
                        finished_at: Some(asked.plus(TimeDelta::minutes(1))),
                        submitted: true,
                    });
                    timeline.push(event(
                        asked,
                        "staff:demo",
                        TimelineCode::RefundRequested,
                        Some(format!("{amount}: goodwill")),
                    ));
                    updated = asked.plus(TimeDelta::minutes(1));
                    timeline.push(event(
                        updated,
                        "wechat",
                        TimelineCode::Refunded,
                        Some(format!("{amount}")),
                    ));
                }
            }
            Ending::DeclinedRefunded => {
                state = OrderState::Refunded;
                timeline.extend(paid_and_sent(paid_at));
                timeline.push(event(
                    done_at,
                    "provider:sandbox",
                    TimelineCode::RechargeFailed,
                    Some("number declined".into()),
                ));
                let amount = Money::cny(total);
                refunds.push(OrderRefund {
                    out_refund_no: format!("{order_no}R1"),
                    amount,
                    reason: topup_orders::RECHARGE_FAILED_REASON.into(),
                    initiator: "system".into(),
                    state: RefundState::Succeeded,
                    requested_at: done_at,
                    finished_at: Some(done_at.plus(TimeDelta::minutes(1))),
                    submitted: true,
                });
                updated = done_at.plus(TimeDelta::minutes(1));
                timeline.push(event(
                    updated,
                    "wechat",
                    TimelineCode::Refunded,
                    Some(format!("{amount}")),
                ));
            }
        }
        let paid = !matches!(ending, Ending::ClosedUnpaid);
        let mut order = Order {
            id: order_no.clone(),
            version: 1,
            user_id,
            openid: openid.clone(),
            phone,
            country: code,
            plan,
            price_lines,
            total: Money::cny(total),
            state,
            payment: PaymentInfo {
                out_trade_no: order_no.clone(),
                transaction_id: paid.then(|| transaction_id.clone()),
                paid_at: paid.then_some(paid_at),
            },
            recharge,
            refunds,
            timeline,
            hold: None,
            coupon: None,
            notices_given: Vec::new(),
            next_action_at: None,
            lease: None,
            checkout_key: None,
            open_slot: None,
            cancel_requested_at: None,
            pay_deadline: created.plus(TimeDelta::minutes(15)),
            created_at: created,
            updated_at: updated,
            client_ip: None,
            figures: OrderFigures::default(),
        };
        order.figures = OrderFigures::of(&order);

        let refunded = order.figures.refunded;
        let payment_id = PaymentId::new();
        let payment = PaymentRecord {
            id: payment_id,
            version: 1,
            biz_type: "topup_order".into(),
            biz_id: order_no.clone(),
            out_trade_no: order_no.clone(),
            amount: Money::cny(total),
            payer_openid: openid,
            description: order.plan.title.clone(),
            state: match (paid, refunded) {
                (false, _) => PaymentState::Closed,
                (true, 0) => PaymentState::Succeeded,
                (true, r) if r >= total => PaymentState::Refunded,
                (true, _) => PaymentState::PartiallyRefunded,
            },
            expires_at: order.pay_deadline,
            prepay_id: Some(format!("wx{}", self.rng.u64(..))),
            prepay_expires_at: Some(created.plus(TimeDelta::hours(2))),
            transaction_id: paid.then_some(transaction_id),
            success_time: paid.then_some(paid_at),
            closed_at: (!paid).then_some(order.pay_deadline),
            failure: None,
            refunded_total: Money::cny(refunded),
            refund_reserved: Money::cny(refunded),
            refund_ledger: Default::default(),
            notifications: Vec::new(),
            pending_events: Vec::new(),
            events_due_at: None,
            next_check_at: None,
            lease: None,
            created_at: created,
            updated_at: updated,
        };
        let refund = order.refunds.first().map(|r| RefundRecord {
            id: RefundId::new(),
            version: 1,
            payment_id,
            biz_type: "topup_order".into(),
            biz_id: order_no.clone(),
            out_trade_no: order_no.clone(),
            out_refund_no: r.out_refund_no.clone(),
            amount: r.amount,
            reason: Some(r.reason.clone()),
            initiator: r.initiator.clone(),
            state: PaymentRefundState::Succeeded,
            refund_id: Some(format!("50300{:020}", self.rng.u64(..))),
            attempts: 1,
            last_error: None,
            user_received_account: Some("支付用户零钱".into()),
            success_time: r.finished_at,
            closed_at: None,
            notifications: Vec::new(),
            pending_events: Vec::new(),
            events_due_at: None,
            next_check_at: None,
            lease: None,
            created_at: r.requested_at,
            updated_at: r.finished_at.unwrap_or(r.requested_at),
        });
        Ok(Generated {
            order,
            payment,
            refund,
        })
    }
}

/// Writes `orders` demo orders over the last `days` days (and a user for every three orders)
/// into the embedded store `config` names, then rebuilds the dashboard's figures.
pub async fn demo_data(
    config: Config,
    orders: u64,
    days: u32,
    seed: u64,
) -> Result<DemoReport, AppError> {
    if config.mode != Mode::Embedded {
        return Err(AppError::Config(
            "demo data goes into an embedded store only (mode = \"embedded\")".into(),
        ));
    }
    let application = Application::build_offline(config).await?;
    let state = &application.state;
    let shop = DemoShop {
        store: &state.store,
        app_users: &state.app_users,
        stats: &state.stats,
    };
    fill(&shop, state.clock.now(), orders, days, seed).await
}

/// Where demo data goes.
pub struct DemoShop<'a> {
    pub store: &'a Store,
    pub app_users: &'a AppUserService,
    pub stats: &'a OrderStats,
}

/// Writes the demo history ending at `now` (see the module's documentation).
pub async fn fill(
    shop: &DemoShop<'_>,
    now: Timestamp,
    orders: u64,
    days: u32,
    seed: u64,
) -> Result<DemoReport, AppError> {
    if orders == 0 || days == 0 || days > 366 {
        return Err(AppError::Config(
            "--orders must be at least 1 and --days 1 to 366".into(),
        ));
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    let user_count = usize::try_from(orders.div_ceil(3))
        .unwrap_or(usize::MAX)
        .max(1);
    let users = (0..user_count)
        .map(|n| DemoUser {
            id: AppUserId::from_ulid(ulid::Ulid::from_parts(
                u64::try_from(now.unix_millis()).unwrap_or(0),
                rng.u128(..),
            )),
            openid: format!("demo-{n:08}-{:08x}", rng.u32(..)),
            nickname: format!("用户{n}"),
            visits: Vec::new(),
        })
        .collect();
    let mut generator = Generator {
        rng,
        users,
        usd: Currency::USD,
        figures: FiguresTally::default(),
    };

    let started = Instant::now();
    // Written oldest first, as a shop would have: each index then grows at its end instead of
    // being rewritten all over (several times faster on SQLite).
    let mut times: Vec<Timestamp> = (0..orders)
        .map(|_| order_time(&mut generator.rng, now, days))
        .collect();
    times.sort_unstable();
    let mut times = times.into_iter();
    let order_docs = shop.store.collection::<Order>();
    let payment_docs = shop.store.collection::<PaymentRecord>();
    let refund_docs = shop.store.collection::<RefundRecord>();
    // Into a store without orders, the figures are those of the orders made here, summed
    // while making them; otherwise they are recomputed from all the orders at the end.
    let fresh = order_docs.count(&Filter::All).await? == 0;
    // Each index is built once at the end over sorted keys instead of being kept up to date
    // row by row: on SQLite that is most of the writing's cost (twelve indexes on orders,
    // nine on payments).
    let mut suspended = Vec::new();
    for collection in [
        Order::COLLECTION,
        PaymentRecord::COLLECTION,
        RefundRecord::COLLECTION,
    ]
    .into_iter()
    .chain(AppUserService::demo_collections())
    {
        suspended.push(shop.store.suspend_indexes(collection).await?);
    }
    let (mut payments, mut refunds) = (0_u64, 0_u64);
    let mut next_batch = |generator: &mut Generator, left: &mut u64| {
        let size = usize::try_from((*left).min(BATCH as u64)).unwrap_or(BATCH);
        *left -= size as u64;
        generator.batch(times.by_ref().take(size), size)
    };
    let mut left = orders;
    let mut batch = next_batch(&mut generator, &mut left)?;
    loop {
        // The next batch is made while the writer thread stores this one: both cores work.
        // Each write's first poll encodes its documents and hands them over; the generation
        // then runs while they are written.
        let has_next = left > 0;
        let (a, b, c, next) = tokio::join!(
            order_docs.insert_many(&batch.orders),
            payment_docs.insert_many(&batch.payments),
            refund_docs.insert_many(&batch.refunds),
            async { has_next.then(|| next_batch(&mut generator, &mut left)) },
        );
        a?;
        b?;
        c?;
        payments += batch.payments.len() as u64;
        refunds += batch.refunds.len() as u64;
        match next {
            Some(made) => batch = made?,
            None => break,
        }
    }
    // Users browse on days they do not buy too: one extra visit for every two orders.
    let Generator {
        mut users,
        mut rng,
        figures,
        ..
    } = generator;
    for _ in 0..orders / 2 {
        let at = order_time(&mut rng, now, days);
        let index = rng.usize(0..users.len());
        users[index].visits.push(at);
    }
    users.retain(|u| !u.visits.is_empty());
    // In id order, so that each chunk continues where the last one ended.
    users.sort_unstable_by_key(|u| u.id);
    for chunk in users.chunks(20_000) {
        shop.app_users.insert_demo_users(chunk).await?;
    }
    let indexing = Instant::now();
    for indexes in suspended {
        shop.store.restore_indexes(indexes).await?;
    }
    let index_seconds = indexing.elapsed().as_secs_f64();
    let write_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    if fresh {
        shop.stats.replace_with_tally(figures).await?;
    } else {
        let today = shop.stats.day_of(now);
        shop.stats
            .rebuild(today - TimeDelta::days(i64::from(days)), today)
            .await?;
    }
    shop.stats.mark_counted(now).await?;
    Ok(DemoReport {
        orders,
        users: users.len() as u64,
        payments,
        refunds,
        days,
        write_seconds,
        index_seconds,
        figures_seconds: started.elapsed().as_secs_f64(),
    })
}
