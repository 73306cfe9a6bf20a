//! The dashboard: its figures follow the orders (placed, paid, delivered, declined and
//! refunded, refunded by staff) once the figures are refreshed, a rebuild gives the same
//! figures, and the route is closed to staff without its permission.

use chrono::TimeDelta;
use reqwest::Method;
use serde_json::Value;
use topup_core::Clock;
use topup_core::Decimal;
use topup_tests::status_and_body;

use crate::orders::Shop;

async fn dashboard(shop: &Shop, token: &str, query: &str) -> (u16, Value) {
    status_and_body(
        shop.app
            .send(
                Method::GET,
                &format!("/dashboard?{query}"),
                Some(token),
                None,
            )
            .await,
    )
    .await
}

/// The hourly figures and their cursor as versions before the ten-minute buckets stored them.
#[derive(serde::Serialize, serde::Deserialize)]
struct LegacyHour {
    id: String,
    cells: Vec<Value>,
}

impl topup_store::Document for LegacyHour {
    const COLLECTION: &'static str = "order_hour_figures";
}

#[derive(serde::Serialize, serde::Deserialize)]
struct LegacyCursor {
    id: String,
    counted_until: topup_core::Timestamp,
}

impl topup_store::Document for LegacyCursor {
    const COLLECTION: &'static str = "order_figures_cursor";
}

fn state_count(board: &Value, state: &str) -> u64 {
    board["by_state"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["state"] == state)
        .map_or(0, |s| s["orders"].as_u64().unwrap())
}

#[actix_web::test]
async fn the_figures_follow_the_orders_and_a_rebuild_agrees() {
    let shop = Shop::open().await;
    let (status, empty) = dashboard(&shop, &shop.admin, "range=today").await;
    assert_eq!(status, 200, "{empty}");
    assert_eq!(empty["totals"]["orders"], 0);
    assert_eq!(empty["series"].as_array().unwrap().len(), 1);

    // Delivered; declined and refunded in full; delivered then partly refunded by staff;
    // held for staff (the provider's wallet is empty); placed and never paid.
    let (_, delivered) = shop.bought("+639171234500").await;
    let (_, declined) = shop.bought("+639171234502").await;
    let (_, partly) = shop.bought("+639171234600").await;
    let buyer = shop.buyer().await;
    let unpaid = shop.place(&buyer, "+639171234700").await;
    shop.work().await;
    shop.app.kit().provider.set_balance(Decimal::ZERO);
    let (_, held) = shop.bought("+639171234800").await;
    shop.work().await;
    shop.settle_refunds().await;
    shop.work().await;
    let (status, refund) = shop.refund(&partly.order_no, Some(100), "goodwill").await;
    assert_eq!(status, 200, "{refund}");
    shop.work().await;
    shop.settle_refunds().await;
    shop.work().await;
    assert_eq!(shop.order(&declined.order_no).await["state"], "refunded");
    let partly_now = shop.order(&partly.order_no).await;
    assert_eq!(
        partly_now["refunds"][0]["state"], "succeeded",
        "{partly_now}"
    );

    // The declined order as an earlier version wrote it, without its money figures: the
    // first refresh on this store gives them to it.
    let stored = shop.app.store.collection::<topup_orders::Order>();
    let forgotten = stored
        .update_if(
            &declined.order_no,
            topup_store::Filter::All,
            &[topup_store::Update::unset("figures")],
        )
        .await
        .unwrap();
    assert!(forgotten);

    // And as a version with hourly buckets left it: an hour's figures and a cursor saying
    // every change so far was counted. The first refresh counts everything again in
    // ten-minute buckets and removes the hourly ones.
    let legacy_hours = shop.app.store.collection::<LegacyHour>();
    legacy_hours
        .upsert(&LegacyHour {
            id: "2026-01-01T09".into(),
            cells: Vec::new(),
        })
        .await
        .unwrap();
    shop.app
        .store
        .collection::<LegacyCursor>()
        .upsert(&LegacyCursor {
            id: "orders".into(),
            // Past every change so far (and its margin): read as a cursor, it counts nothing.
            counted_until: shop.app.clock.now().plus(TimeDelta::minutes(5)),
        })
        .await
        .unwrap();

    // Not counted until the figures are refreshed.
    assert_eq!(
        dashboard(&shop, &shop.admin, "range=today").await.1["totals"]["orders"],
        0
    );
    let buckets = shop.app.stats.refresh().await.unwrap();
    assert_eq!(buckets, 1, "ten minutes of orders");
    let refilled = stored.get(&declined.order_no).await.unwrap().unwrap();
    assert_eq!(refilled.figures.refunded, declined.total);
    assert_eq!(
        legacy_hours.count(&topup_store::Filter::All).await.unwrap(),
        0
    );

    let (status, board) = dashboard(&shop, &shop.admin, "range=today").await;
    assert_eq!(status, 200, "{board}");
    let totals = &board["totals"];
    assert_eq!(totals["orders"], 5, "{board}");
    assert_eq!(totals["paid_orders"], 4);
    let paid = delivered.total + declined.total + partly.total + held.total;
    assert_eq!(totals["paid_amount"]["amount"], paid);
    assert_eq!(totals["refunded_amount"]["amount"], declined.total + 100);
    // Two delivered, one refunded after a decline.
    assert!(
        (totals["success_rate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9,
        "{}",
        board["by_state"]
    );
    assert!(totals["active_users"].as_u64().unwrap() >= 1);
    assert_eq!(state_count(&board, "succeeded"), 2);
    assert_eq!(state_count(&board, "refunded"), 1);
    assert_eq!(state_count(&board, "awaiting_payment"), 1);
    assert_eq!(board["by_country"][0]["key"], "PH");
    assert_eq!(board["by_country"][0]["orders"], 5);
    assert_eq!(board["attention"]["held"], 1, "{board}");
    assert_eq!(board["by_kind"][0]["paid_amount"], paid);
    let today = &board["series"][0];
    assert_eq!(today["orders"], 5);
    assert_eq!(today["paid_amount"], paid);
    assert!(board["figures_as_of"].is_string());
    let balance = |board: &Value| board["balances"][0]["balance"].as_str().unwrap().to_owned();
    let first = balance(&board);

    // Balances are read from the provider at most once a minute.
    shop.app.kit().provider.set_balance(Decimal::new(12_345, 2));
    let (_, cached) = dashboard(&shop, &shop.admin, "range=today").await;
    assert_eq!(balance(&cached), first);
    assert_eq!(cached["balances_read_at"], board["balances_read_at"]);
    shop.app.clock.advance(TimeDelta::seconds(61));
    let (_, fresh) = dashboard(&shop, &shop.admin, "range=today").await;
    assert_eq!(balance(&fresh), "123.45", "{fresh}");

    // The unpaid order closes at its deadline: it moves from awaiting payment to closed.
    shop.app.clock.advance(TimeDelta::hours(1));
    shop.work().await;
    shop.app.stats.refresh().await.unwrap();
    let (_, board) = dashboard(&shop, &shop.admin, "range=7d").await;
    assert_eq!(state_count(&board, "awaiting_payment"), 0, "{board}");
    assert_eq!(state_count(&board, "closed"), 1);
    assert_eq!(board["series"].as_array().unwrap().len(), 7);
    assert_eq!(shop.order(&unpaid.order_no).await["state"], "closed");

    // Nothing changed since: a refresh recomputes nothing once the margin has passed, and a
    // rebuild from the orders gives exactly the same figures.
    shop.app.clock.advance(TimeDelta::minutes(5));
    shop.app.stats.refresh().await.unwrap();
    assert_eq!(shop.app.stats.refresh().await.unwrap(), 0);
    let day = shop.app.stats.day_of(shop.app.clock.now());
    shop.app
        .stats
        .rebuild(day - TimeDelta::days(1), day)
        .await
        .unwrap();
    let (_, rebuilt) = dashboard(&shop, &shop.admin, "range=7d").await;
    assert_eq!(rebuilt["totals"], board["totals"]);
    assert_eq!(rebuilt["by_state"], board["by_state"]);
}

#[actix_web::test]
async fn ranges_are_validated_and_the_route_needs_its_permission() {
    let shop = Shop::open().await;
    for (query, field) in [
        ("range=week", "range"),
        ("range=custom", "from"),
        ("range=custom&from=2026-01-10&to=2026-01-01", "from"),
        ("range=custom&from=2025-01-01&to=2026-06-01", "to"),
        ("range=custom&from=2026-01-01&to=tomorrow", "to"),
    ] {
        let (status, error) = dashboard(&shop, &shop.admin, query).await;
        assert_eq!(status, 400, "{query}: {error}");
        assert_eq!(error["code"], "VALIDATION_FAILED");
        assert!(
            error["details"]["fields"][field].is_array(),
            "{query}: {error}"
        );
    }
    let (status, custom) = dashboard(
        &shop,
        &shop.admin,
        "range=custom&from=2026-01-01&to=2026-01-31",
    )
    .await;
    assert_eq!(status, 200, "{custom}");
    assert_eq!(custom["series"].as_array().unwrap().len(), 31);

    let role = shop
        .app
        .create_role(&shop.admin, "clerk", &["order:order:list"])
        .await;
    shop.app.create_user(&shop.admin, "clerk", &[&role]).await;
    let clerk = shop
        .app
        .login_ok("clerk", topup_tests::STAFF_PASSWORD)
        .await;
    let token = clerk["access_token"].as_str().unwrap();
    let (status, refused) = dashboard(&shop, token, "range=today").await;
    assert_eq!(status, 403, "{refused}");
}

async fn total(shop: &Shop, path: &str) -> u64 {
    let (status, page) = status_and_body(
        shop.app
            .send(Method::GET, path, Some(&shop.admin), None)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{path}: {page}");
    page["total"].as_u64().unwrap()
}

#[actix_web::test]
async fn demo_data_is_consistent_with_the_dashboard_and_the_lists() {
    let shop = Shop::open().await;
    let demo = topup_app::demo::DemoShop {
        store: &shop.app.store,
        app_users: &shop.app.app_users,
        stats: &shop.app.stats,
    };
    let report = topup_app::demo::fill(&demo, shop.app.clock.now(), 3_000, 20, 7)
        .await
        .unwrap();
    assert_eq!(report.orders, 3_000);
    assert!(report.refunds > 0 && report.users > 0, "{report:?}");

    let (status, board) = dashboard(&shop, &shop.admin, "range=30d").await;
    assert_eq!(status, 200, "{board}");
    let totals = &board["totals"];
    assert_eq!(totals["orders"], 3_000, "{totals}");
    for state in ["succeeded", "closed", "refunded"] {
        let listed = total(&shop, &format!("/orders?state={state}&page_size=1")).await;
        assert_eq!(state_count(&board, state), listed, "{state}");
        assert!(listed > 0, "{state}");
    }
    assert_eq!(
        totals["paid_orders"].as_u64().unwrap(),
        3_000 - state_count(&board, "closed")
    );
    // Every user was new within the range; the series adds up to the totals.
    assert_eq!(totals["new_users"].as_u64().unwrap(), report.users);
    assert_eq!(total(&shop, "/app-users?page_size=1").await, report.users);
    let series = board["series"].as_array().unwrap();
    let summed: u64 = series.iter().map(|d| d["orders"].as_u64().unwrap()).sum();
    assert_eq!(summed, 3_000);
    let paid: i64 = series
        .iter()
        .map(|d| d["paid_amount"].as_i64().unwrap())
        .sum();
    assert_eq!(totals["paid_amount"]["amount"].as_i64().unwrap(), paid);
    assert!(totals["coupon_discount"]["amount"].as_i64().unwrap() > 0);
    assert!(totals["refunded_amount"]["amount"].as_i64().unwrap() > 0);

    // Nothing demo is due: the workers find no work, and the figures stay as they are.
    shop.work().await;
    shop.app.stats.refresh().await.unwrap();
    let (_, again) = dashboard(&shop, &shop.admin, "range=30d").await;
    assert_eq!(again["totals"], board["totals"]);

    // The figures summed while the orders were made are those recomputed from the stored
    // orders, to the day and to the breakdown.
    let (_, today) = dashboard(&shop, &shop.admin, "range=today").await;
    let day = shop.app.stats.day_of(shop.app.clock.now());
    let rebuilt = shop
        .app
        .stats
        .rebuild(day - TimeDelta::days(21), day)
        .await
        .unwrap();
    assert!(rebuilt > 100, "{rebuilt} ten-minute buckets");
    for (range, before) in [("range=30d", &board), ("range=today", &today)] {
        let (_, after) = dashboard(&shop, &shop.admin, range).await;
        for part in [
            "totals",
            "series",
            "by_state",
            "by_country",
            "by_operator",
            "by_kind",
        ] {
            assert_eq!(after[part], before[part], "{range} {part}");
        }
    }
}
