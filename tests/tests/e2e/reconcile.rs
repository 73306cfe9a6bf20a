//! Reconciliation (`docs/reconciliation.md`): orders of every fate add up against WeChat Pay
//! and the provider with nothing left over; records made to disagree (a payment whose
//! notification never came, an order that says delivered when nothing was, a total that is
//! not what WeChat holds) are each reported with their order; top-ups the provider made that
//! no order sent are found in the provider's own list; the daily run happens once.

use reqwest::Method;
use serde_json::{Value, json};
use topup_core::{Clock, Msisdn, Timestamp};
use topup_orders::Order;
use topup_recharge::{ProviderAmount, TopupOutcome, TopupRequest};
use topup_store::{Filter, Update};
use topup_tests::status_and_body;

use crate::orders::Shop;

/// Starts a reconciliation of the hour around the shop's clock and waits for its report.
async fn reconcile(shop: &Shop) -> Value {
    let now = shop.app.clock.now();
    let body = json!({
        "from": now.minus(chrono::TimeDelta::hours(1)),
        "to": now.plus(chrono::TimeDelta::hours(1)),
    });
    let (status, started) = shop
        .admin(Method::POST, "/reconciliations", Some(body))
        .await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["state"], "running");
    let id = started["id"].as_str().unwrap().to_owned();
    let path = format!("/reconciliations/{id}");
    topup_tests::eventually("the reconciliation to finish", || async {
        let (status, body) = shop.admin(Method::GET, &path, None).await;
        assert_eq!(status, 200, "{body}");
        body["state"] != "running"
    })
    .await;
    let (_, report) = shop.admin(Method::GET, &path, None).await;
    assert_eq!(report["state"], "finished", "{report}");
    report
}

/// The report's discrepancies as the CSV export answers them.
async fn export(shop: &Shop, report: &Value) -> reqwest::Response {
    let id = report["id"].as_str().unwrap();
    shop.app
        .send(
            Method::GET,
            &format!("/reconciliations/{id}/export"),
            Some(&shop.admin),
            None,
        )
        .await
}

fn fen(report: &Value, what: &str) -> i64 {
    report["totals"][what].as_i64().unwrap()
}

/// `paid = delivered + refunded + in flight + unaccounted`, whatever else is wrong.
fn assert_identity(report: &Value) {
    assert_eq!(
        fen(report, "paid"),
        fen(report, "delivered")
            + fen(report, "refunded")
            + fen(report, "in_flight")
            + fen(report, "unaccounted"),
        "{report}"
    );
}

#[actix_web::test]
async fn orders_of_every_fate_add_up_with_nothing_left_over() {
    let shop = Shop::open().await;
    // Delivered.
    let (_, delivered) = shop.bought("+639171234500").await;
    // Declined by the operator, refunded in full.
    let (_, declined) = shop.bought("+639171234502").await;
    // Delivered, then a quarter refunded by staff.
    let (_, goodwill) = shop.bought("+639171234508").await;
    shop.work().await;
    let part = goodwill.total / 4;
    let (status, body) = shop
        .refund(&goodwill.order_no, Some(part), "goodwill")
        .await;
    assert_eq!(status, 200, "{body}");
    shop.work().await;
    assert_eq!(shop.settle_refunds().await.delivered, 2);
    shop.work().await;
    // Never paid.
    let buyer = shop.buyer().await;
    shop.place(&buyer, "+639171234530").await;
    assert_eq!(shop.order(&declined.order_no).await["state"], "refunded");
    assert_eq!(shop.order(&goodwill.order_no).await["state"], "succeeded");

    let report = reconcile(&shop).await;
    assert_eq!(report["discrepancy_count"], 0, "{report}");
    assert_eq!(report["discrepancies"], json!([]));
    assert_eq!(fen(&report, "orders"), 4);
    let paid = delivered.total + declined.total + goodwill.total;
    assert_eq!(fen(&report, "paid"), paid, "{report}");
    assert_eq!(fen(&report, "refunded"), declined.total + part);
    assert_eq!(
        fen(&report, "delivered"),
        delivered.total + goodwill.total - part
    );
    assert_eq!(fen(&report, "in_flight"), 0);
    assert_eq!(fen(&report, "unaccounted"), 0);
    assert_identity(&report);
    let cost = report["totals"]["provider_cost"].as_object().unwrap();
    assert_eq!(cost.len(), 1, "two top-ups at one provider: {report}");
    let (_, listed) = shop.admin(Method::GET, "/reconciliations", None).await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["discrepancy_count"], 0);
    assert!(
        listed["items"][0].get("discrepancies").is_none(),
        "the list carries no discrepancies: {listed}"
    );
}

#[actix_web::test]
async fn records_that_disagree_are_each_reported_with_their_order() {
    let shop = Shop::open().await;
    let orders = shop.app.store.collection::<Order>();
    // Declined and refunded, but the record claims delivery.
    let (_, claimed) = shop.bought("+639171234502").await;
    shop.work().await;
    shop.settle_refunds().await;
    shop.work().await;
    assert_eq!(shop.order(&claimed.order_no).await["state"], "refunded");
    orders
        .update(
            &claimed.order_no,
            Filter::All,
            &[Update::set("state", "succeeded")],
        )
        .await
        .unwrap()
        .unwrap();
    // Delivered, but its total no longer what WeChat holds.
    let (_, altered) = shop.bought("+639171234508").await;
    shop.work().await;
    orders
        .update(
            &altered.order_no,
            Filter::All,
            &[Update::set("total.amount", altered.total + 100)],
        )
        .await
        .unwrap()
        .unwrap();
    // Paid at WeChat last, and its notification never delivered (nor a sync run).
    let buyer = shop.buyer().await;
    let unheard = shop.place(&buyer, "+639171234500").await;
    shop.kit()
        .pay_sandbox
        .confirm_payment(unheard.prepay_id())
        .unwrap();

    let report = reconcile(&shop).await;
    let found: Vec<(String, String)> = report["discrepancies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["order_no"].as_str().unwrap().to_owned(),
                d["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        (&unheard.order_no, "paid_not_recorded"),
        (&unheard.order_no, "unaccounted"),
        (&claimed.order_no, "recorded_not_delivered"),
        (&altered.order_no, "amount_mismatch"),
    ];
    for (order_no, kind) in expected {
        assert!(
            found.contains(&(order_no.clone(), kind.to_owned())),
            "{order_no} {kind} in {report}"
        );
    }
    assert_eq!(report["discrepancy_count"], 4, "{report}");
    assert_eq!(fen(&report, "unaccounted"), unheard.total);
    assert_identity(&report);

    // The export lists them, one row each after the header.
    let response = export(&shop, &report).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "order_no,kind,order_state,provider_transaction_id,detail"
    );
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(csv.contains(&format!("\"{}\",\"amount_mismatch\"", altered.order_no)));

    // The scheduled run: yesterday's orders, once, whichever process gets there first.
    let next_day = Timestamp::parse("2026-03-02T01:59:00Z").unwrap();
    shop.app.clock.set(next_day);
    assert!(
        shop.app.reconciler.daily().await.unwrap().is_none(),
        "not before 02:00"
    );
    shop.app
        .clock
        .set(next_day.plus(chrono::TimeDelta::minutes(2)));
    let daily = shop.app.reconciler.daily().await.unwrap().unwrap();
    assert_eq!(daily.id, "daily-2026-03-01");
    assert_eq!(daily.trigger, "schedule");
    assert_eq!(daily.discrepancy_count, 4);
    assert_eq!(daily.totals.orders, 3);
    assert!(shop.app.reconciler.daily().await.unwrap().is_none(), "once");
    let (status, stored) = shop
        .admin(Method::GET, "/reconciliations/daily-2026-03-01", None)
        .await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["discrepancy_count"], 4);
}

#[actix_web::test]
async fn a_bad_period_or_a_missing_permission_starts_nothing() {
    let shop = Shop::open().await;
    let at = |text: &str| Timestamp::parse(text).unwrap();
    for (from, to) in [
        ("2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z"),
        ("2026-03-02T00:00:00Z", "2026-03-01T00:00:00Z"),
        ("2026-01-01T00:00:00Z", "2026-02-02T00:00:01Z"),
    ] {
        let (status, body) = shop
            .admin(
                Method::POST,
                "/reconciliations",
                Some(json!({"from": at(from), "to": at(to)})),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["code"], "VALIDATION_FAILED");
        assert!(body["details"]["fields"]["to"].is_array(), "{body}");
    }
    let (status, body) = shop
        .admin(
            Method::POST,
            "/reconciliations",
            Some(json!({"from": "yesterday"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");

    // Seeing is not running.
    let (_, _, viewer) = shop
        .app
        .staff_with(&shop.admin, "auditor", &["finance:reconcile:view"])
        .await;
    let response = shop
        .app
        .send(
            Method::POST,
            "/reconciliations",
            Some(&viewer),
            Some(json!({"from": at("2026-03-01T00:00:00Z"), "to": at("2026-03-02T00:00:00Z")})),
        )
        .await;
    assert_eq!(response.status(), 403);
    let response = shop
        .app
        .send(Method::GET, "/reconciliations", Some(&viewer), None)
        .await;
    let (status, listed) = status_and_body(response).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["total"], 0, "nothing was started");
}

/// Sends a top-up straight to the shop's provider account under `key`, as a stray process
/// or a person at the provider's dashboard would: no order knows it. The product is `like`'s.
async fn stray_topup(shop: &Shop, like: &Order, phone: &str, key: &str) -> String {
    let provider = shop.kit().router.entries()[0].provider.clone();
    let request = TopupRequest {
        custom_identifier: key.to_owned(),
        operator_id: like.plan.provider_operator_id.clone(),
        recipient: Msisdn::parse(phone, Some(like.country)).unwrap(),
        amount: ProviderAmount::new(
            like.plan.provider_amount.value,
            like.plan.provider_amount.currency,
        ),
        use_local_amount: like.plan.use_local_amount,
        sender_phone: None,
    };
    let sent = provider.send_topup(&request).await;
    assert_eq!(sent.outcome, TopupOutcome::Succeeded, "{sent:?}");
    sent.summary.provider_transaction_id.unwrap()
}

#[actix_web::test]
async fn top_ups_no_order_sent_are_reported_from_the_providers_own_list() {
    let shop = Shop::open().await;
    let (_, delivered) = shop.bought("+639171234500").await;
    let (_, declined) = shop.bought("+639171234502").await;
    shop.work().await;
    let order: Order = shop
        .app
        .store
        .collection::<Order>()
        .fetch(&delivered.order_no)
        .await
        .unwrap();

    // Every transaction the provider made is one an order sent: nothing to report.
    let clean = reconcile(&shop).await;
    assert_eq!(clean["discrepancy_count"], 0, "{clean}");
    assert_eq!(
        clean["totals"]["provider_transactions"], 1,
        "the delivered top-up (the declined one was never committed): {clean}"
    );

    // A key in this order's form it never sent, and a key that names no order at all.
    let under_order = stray_topup(
        &shop,
        &order,
        "+639171235000",
        &format!("{}-7", delivered.order_no),
    )
    .await;
    let no_order = stray_topup(&shop, &order, "+639171236000", "ZZ20260301STRAY-1").await;
    let report = reconcile(&shop).await;
    assert_eq!(report["discrepancy_count"], 2, "{report}");
    assert_eq!(report["totals"]["provider_transactions"], 3);
    assert_identity(&report);
    let unknown: Vec<&Value> = report["discrepancies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "unknown_topup")
        .collect();
    assert_eq!(unknown.len(), 2, "{report}");
    let of = |id: &str| {
        *unknown
            .iter()
            .find(|d| d["provider_transaction_id"] == id)
            .unwrap_or_else(|| panic!("{id} in {report}"))
    };
    let named = of(&under_order);
    assert_eq!(named["order_no"], delivered.order_no.as_str());
    assert_eq!(named["order_state"], "succeeded");
    assert!(
        named["detail"]
            .as_str()
            .unwrap()
            .contains("which this order never sent"),
        "{named}"
    );
    let orphan = of(&no_order);
    assert!(
        orphan["order_no"].is_null() && orphan["order_state"].is_null(),
        "{orphan}"
    );
    assert!(
        orphan["detail"]
            .as_str()
            .unwrap()
            .contains("ZZ20260301STRAY-1"),
        "{orphan}"
    );
    assert!(
        !report["discrepancies"]
            .to_string()
            .contains(&declined.order_no),
        "the declined order is not among them: {report}"
    );

    // The export names the transaction in its own column.
    let csv = export(&shop, &report).await.text().await.unwrap();
    assert!(
        csv.contains(&format!("\"\",\"unknown_topup\",\"\",\"{no_order}\"")),
        "{csv}"
    );

    // A period before them lists neither.
    let now = shop.app.clock.now();
    let earlier = shop
        .app
        .reconciler
        .run(
            now.minus(chrono::TimeDelta::hours(3)),
            now.minus(chrono::TimeDelta::hours(2)),
            "cli",
        )
        .await
        .unwrap();
    assert!(earlier.is_clean(), "{earlier:?}");
    assert_eq!(earlier.totals.provider_transactions, 0);
}
