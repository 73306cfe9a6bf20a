//! Content: the home page staff publish is what `GET /app/home` answers, on every process
//! sharing the store, with its blocks filled in; rollback restores an earlier page; bad
//! pages are refused naming the property; banners count clicks; announcements reach their
//! audience and remember reads; and each step needs its permission.

use chrono::TimeDelta;
use reqwest::Method;
use serde_json::{Value, json};
use topup_core::Clock;
use topup_tests::{self as common, Existing, TestApp, TestOptions, status_and_body};

use crate::orders::Shop;

async fn admin(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    status_and_body(app.send(method, path, Some(token), body).await).await
}

async fn home(app: &TestApp, buyer: &str) -> Value {
    let (status, body) =
        status_and_body(app.app_send(Method::GET, "/home", Some(buyer), None).await).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn types(home: &Value) -> Vec<String> {
    home["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap().to_owned())
        .collect()
}

/// Saves `components` over the draft staff last read and publishes it; the version number.
async fn publish(app: &TestApp, token: &str, components: Value) -> u64 {
    let (_, editor) = admin(app, token, Method::GET, "/content/home", None).await;
    let version = editor["draft"]["version"].clone();
    let (status, saved) = admin(
        app,
        token,
        Method::PUT,
        "/content/home/draft",
        Some(json!({"version": version, "components": components})),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    let (status, published) = admin(
        app,
        token,
        Method::POST,
        "/content/home/publish",
        Some(json!({"version": saved["version"]})),
    )
    .await;
    assert_eq!(status, 200, "{published}");
    published["number"].as_u64().unwrap()
}

async fn banner(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, created) = admin(app, token, Method::POST, "/content/banners", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    created
}

fn banner_body(title: &str, link: Value) -> Value {
    json!({"title": title, "image_url": "https://cdn.example/b.png", "link": link, "position": "home",
        "starts_at": null, "ends_at": null, "sort": 0, "enabled": true})
}

#[actix_web::test]
async fn a_published_home_page_is_served_filled_in_on_every_process_and_rolls_back() {
    let shop = Shop::open().await;
    let app = &shop.app;
    let token = &shop.admin;
    let buyer = shop.buyer().await.token;

    // Before anyone publishes: the top-up form alone.
    let plain = home(app, &buyer).await;
    assert_eq!(
        (plain["version"].as_u64(), types(&plain)),
        (Some(0), vec!["topup_form".to_owned()])
    );

    // A second process on the same store, which has served (and cached) the plain page.
    let other = common::spawn_app(TestOptions {
        existing: Some(Existing {
            store: app.store.clone(),
            data_dir: app.data_dir.clone(),
        }),
        start: app.clock.now(),
        ..TestOptions::default()
    })
    .await;
    assert_eq!(home(&other, &buyer).await["version"], 0);

    let snapshot = shop.app.catalog.as_ref().unwrap().snapshot();
    let plans = snapshot.find_plans("", 2);
    let plan_id = plans[0].id.to_string();
    // In the catalog but taken off sale: pages may name it, and the app leaves it out.
    let off_sale = plans[1].id.to_string();
    let (status, body) = admin(
        app,
        token,
        Method::PUT,
        &format!("/catalog/plans/{off_sale}"),
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    banner(
        app,
        token,
        banner_body(
            "Manila",
            json!({"kind": "page", "path": "/pages/membership/index"}),
        ),
    )
    .await;
    // Linked to a plan that is not on sale: left out.
    banner(
        app,
        token,
        banner_body("Gone", json!({"kind": "plan", "plan_id": off_sale})),
    )
    .await;
    // Linked to a plan on sale: served with the plan, after Manila by its sort.
    let mut deal = banner_body("Deal", json!({"kind": "plan", "plan_id": plan_id}));
    deal["sort"] = json!(5);
    banner(app, token, deal).await;
    let (status, _) = admin(
        app,
        token,
        Method::POST,
        "/content/announcements",
        Some(json!({
        "title": "Smart is back", "body_html": "<p>Top up Smart again</p>", "audience": "all",
        "starts_at": null, "ends_at": null, "pinned": true, "enabled": true})),
    )
    .await;
    assert_eq!(status, 201);

    let first = publish(
        app,
        token,
        json!([
            {"type": "banner_carousel", "position": "home", "interval_seconds": 4},
            {"type": "notice_bar", "limit": 3},
            {"type": "topup_form"},
            {"type": "country_grid", "title": "Popular", "countries": ["PH"], "columns": 4},
            {"type": "hot_plans", "title": "Hot", "plan_ids": [plan_id, off_sale]},
            {"type": "rich_text", "html": "<p onclick=\"x()\">Promo<script>alert(1)</script></p>"},
            {"type": "spacer", "height": 12}
        ]),
    )
    .await;
    assert_eq!(first, 1);

    // The plan taken off sale reaches the other process at its next catalog check.
    other
        .catalog
        .as_ref()
        .unwrap()
        .refresh_if_stale()
        .await
        .unwrap();
    // Both processes serve version 1 at once, blocks filled in and off-sale plans left out.
    for process in [app, &other] {
        let page = home(process, &buyer).await;
        assert_eq!(page["version"], 1, "{page}");
        assert_eq!(
            types(&page),
            [
                "banner_carousel",
                "notice_bar",
                "topup_form",
                "country_grid",
                "hot_plans",
                "rich_text",
                "spacer"
            ]
        );
        let blocks = page["components"].as_array().unwrap();
        let banners: Vec<&str> = blocks[0]["banners"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["title"].as_str().unwrap())
            .collect();
        assert_eq!(banners, ["Manila", "Deal"]);
        assert_eq!(blocks[0]["banners"][0]["plan"], Value::Null);
        assert_eq!(blocks[0]["banners"][1]["plan"]["id"], plan_id.as_str());
        assert_eq!(blocks[0]["interval_seconds"], 4);
        assert_eq!(blocks[1]["announcements"][0]["title"], "Smart is back");
        let countries = blocks[3]["countries"].as_array().unwrap();
        assert_eq!(
            (countries.len(), countries[0]["code"].as_str()),
            (1, Some("PH"))
        );
        let plans = blocks[4]["plans"].as_array().unwrap();
        assert_eq!(
            (plans.len(), plans[0]["id"].as_str()),
            (1, Some(plan_id.as_str()))
        );
        assert!(plans[0]["price"]["amount"].as_i64().unwrap() > 0);
        assert_eq!(blocks[5]["html"], "<p>Promo</p>");
    }

    // A banner edit shows at once too (the same stamp moves).
    let second = publish(
        app,
        token,
        json!([{"type": "topup_form"}, {"type": "spacer", "height": 30}]),
    )
    .await;
    assert_eq!(second, 2);
    assert_eq!(types(&home(&other, &buyer).await), ["topup_form", "spacer"]);

    // Roll back to version 1: published again as version 3, on both processes.
    let (status, restored) = admin(
        &other,
        token,
        Method::POST,
        "/content/home/versions/1/restore",
        None,
    )
    .await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(
        (
            restored["number"].as_u64(),
            restored["restored_from"].as_u64()
        ),
        (Some(3), Some(1))
    );
    for process in [app, &other] {
        let page = home(process, &buyer).await;
        assert_eq!(page["version"], 3);
        assert_eq!(types(&page)[0], "banner_carousel");
    }
    let (_, editor) = admin(app, token, Method::GET, "/content/home", None).await;
    assert_eq!(editor["unpublished_changes"], false, "{editor}");
    assert_eq!(editor["published"]["number"], 3);
    let (_, history) = admin(app, token, Method::GET, "/content/home/versions", None).await;
    let numbers: Vec<u64> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [3, 2, 1]);

    // A banner whose window ends leaves the page when its time comes, without any edit.
    let (_, banners) = admin(app, token, Method::GET, "/content/banners", None).await;
    let manila = banners
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["title"] == "Manila")
        .unwrap()
        .clone();
    let ends = app.clock.now().plus(TimeDelta::minutes(5));
    let mut body = banner_body("Manila", manila["link"].clone());
    body["ends_at"] = json!(ends);
    let (status, _) = admin(
        app,
        token,
        Method::PUT,
        &format!("/content/banners/{}", manila["id"].as_str().unwrap()),
        Some(body),
    )
    .await;
    assert_eq!(status, 200);
    let titles = |page: &Value| -> Vec<String> {
        page["components"][0]["banners"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["title"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(titles(&home(app, &buyer).await), ["Manila", "Deal"]);
    app.clock.advance(TimeDelta::minutes(6));
    assert_eq!(titles(&home(app, &buyer).await), ["Deal"]);
}

#[actix_web::test]
async fn bad_pages_are_refused_naming_the_property_and_change_nothing() {
    let shop = Shop::open().await;
    let app = &shop.app;
    let token = &shop.admin;
    let save = |components: Value, version: i64| {
        admin(
            app,
            token,
            Method::PUT,
            "/content/home/draft",
            Some(json!({"version": version, "components": components})),
        )
    };
    let (status, body) = save(
        json!([{"type": "topup_form"}, {"type": "spacer", "height": 1}]),
        0,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "VALIDATION_FAILED");
    assert!(
        body["details"]["fields"]["components[1].height"].is_array(),
        "{body}"
    );
    // Every bad property at once, not the first alone.
    let (status, body) = save(
        json!([{"type": "topup_form"}, {"type": "spacer", "height": 1},
               {"type": "coupon_entry", "title": " ", "subtitle": ""},
               {"type": "country_grid", "title": "", "countries": ["PH", "P1"], "columns": 9}]),
        0,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let mut fields: Vec<&String> = body["details"]["fields"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "components[1].height",
            "components[2].title",
            "components[3].columns",
            "components[3].countries[1]"
        ],
        "{body}"
    );
    // Countries and plans the catalog does not have are refused, each named.
    let (status, body) = save(
        json!([{"type": "topup_form"},
               {"type": "country_grid", "title": "", "countries": ["PH", "ZZ"], "columns": 4},
               {"type": "hot_plans", "title": "", "plan_ids": ["01JDZ8Q7Y7E3K9V6S2M4T1R0PA"]}]),
        0,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let fields = &body["details"]["fields"];
    assert!(fields["components[1].countries[1]"].is_array(), "{body}");
    assert!(fields["components[2].plan_ids[0]"].is_array(), "{body}");
    assert!(fields["components[1].countries[0]"].is_null(), "{body}");
    let (status, body) = admin(
        app,
        token,
        Method::POST,
        "/content/banners",
        Some(banner_body(
            "Nowhere",
            json!({"kind": "plan", "plan_id": "01JDZ8Q7Y7E3K9V6S2M4T1R0PA"}),
        )),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["details"]["fields"]["link.plan_id"].is_array(),
        "{body}"
    );
    let (status, body) = save(json!([{"type": "spacer", "height": 10}]), 0).await;
    assert_eq!(
        (status, body["details"]["fields"]["components"].is_array()),
        (400, true),
        "{body}"
    );
    let (status, body) = save(json!([{"type": "topup_form"}, {"type": "marquee"}]), 0).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "VALIDATION_FAILED");
    let (status, body) = save(json!([{"type": "topup_form", "colour": "red"}]), 0).await;
    assert_eq!(status, 400, "{body}");
    let (_, editor) = admin(app, token, Method::GET, "/content/home", None).await;
    assert_eq!(editor["draft"]["version"], 0, "{editor}");

    // Two editors read version 0; the second save is refused, and so is publishing what it saw.
    let (status, _) = save(json!([{"type": "topup_form"}]), 0).await;
    assert_eq!(status, 200);
    let (status, body) = save(
        json!([{"type": "topup_form"}, {"type": "spacer", "height": 8}]),
        0,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("CONFLICT")),
        "{body}"
    );
    let (status, _) = admin(
        app,
        token,
        Method::POST,
        "/content/home/publish",
        Some(json!({"version": 0})),
    )
    .await;
    assert_eq!(status, 409);

    let (status, body) = admin(
        app,
        token,
        Method::POST,
        "/content/banners",
        Some(banner_body(
            "x",
            json!({"kind": "page", "path": "javascript:alert(1)"}),
        )),
    )
    .await;
    assert_eq!(
        (status, body["details"]["fields"]["link.path"].is_array()),
        (400, true),
        "{body}"
    );
    let (_, banners) = admin(app, token, Method::GET, "/content/banners", None).await;
    assert_eq!(banners, json!([]));
}

#[actix_web::test]
async fn clicks_reads_and_audiences_as_the_app_sees_them() {
    let shop = Shop::open().await;
    let app = &shop.app;
    let token = &shop.admin;
    let buyer = shop.buyer().await.token;
    let created = banner(app, token, banner_body("Tap me", json!({"kind": "none"}))).await;
    let id = created["id"].as_str().unwrap();
    for _ in 0..3 {
        let response = app
            .app_send(
                Method::POST,
                &format!("/banners/{id}/click"),
                Some(&buyer),
                None,
            )
            .await;
        assert_eq!(response.status(), 204);
    }
    let missing = app
        .app_send(Method::POST, "/banners/nope/click", Some(&buyer), None)
        .await;
    assert_eq!(missing.status(), 404);
    let anonymous = app
        .app_send(Method::POST, &format!("/banners/{id}/click"), None, None)
        .await;
    assert_eq!(anonymous.status(), 401);
    let (_, banners) = admin(app, token, Method::GET, "/content/banners", None).await;
    assert_eq!(banners[0]["clicks"], 3);
    assert_eq!(banners[0]["showing"], true);

    let notice = |title: &str, audience: &str, pinned: bool| {
        json!({"title": title, "body_html": "<p>b</p>",
        "audience": audience, "starts_at": null, "ends_at": null, "pinned": pinned, "enabled": true})
    };
    for body in [
        notice("For all", "all", false),
        notice("Members only", "members", true),
        notice("Join us", "non_members", false),
    ] {
        let (status, _) = admin(
            app,
            token,
            Method::POST,
            "/content/announcements",
            Some(body),
        )
        .await;
        assert_eq!(status, 201);
    }
    let (status, list) = status_and_body(
        app.app_send(Method::GET, "/announcements", Some(&buyer), None)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    let titles: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Join us", "For all"]);
    assert_eq!(list["unread"], 2);
    let first = list["items"][0]["id"].as_str().unwrap();
    for _ in 0..2 {
        let read = app
            .app_send(
                Method::POST,
                &format!("/announcements/{first}/read"),
                Some(&buyer),
                None,
            )
            .await;
        assert_eq!(read.status(), 204);
    }
    let (_, list) = status_and_body(
        app.app_send(Method::GET, "/announcements", Some(&buyer), None)
            .await,
    )
    .await;
    assert_eq!(
        (list["unread"].as_u64(), list["items"][0]["read"].as_bool()),
        (Some(1), Some(true))
    );
    // Another user has read nothing.
    let someone = shop.buyer().await.token;
    let (_, theirs) = status_and_body(
        app.app_send(Method::GET, "/announcements", Some(&someone), None)
            .await,
    )
    .await;
    assert_eq!(theirs["unread"], 2);
}

#[actix_web::test]
async fn each_content_step_needs_its_permission() {
    let shop = Shop::open().await;
    let app = &shop.app;
    let (_, _, viewer) = app
        .staff_with(&shop.admin, "viewer", &["content:home:view"])
        .await;
    let (_, _, editor) = app
        .staff_with(
            &shop.admin,
            "editor",
            &["content:home:view", "content:home:edit"],
        )
        .await;
    let page = json!({"version": 0, "components": [{"type": "topup_form"}]});
    let (status, _) = admin(
        app,
        &viewer,
        Method::PUT,
        "/content/home/draft",
        Some(page.clone()),
    )
    .await;
    assert_eq!(status, 403);
    let (status, preview) = admin(
        app,
        &viewer,
        Method::POST,
        "/content/home/preview",
        Some(json!({"components": [{"type": "topup_form"}]})),
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    let (status, saved) = admin(app, &editor, Method::PUT, "/content/home/draft", Some(page)).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["updated_by"], "editor");
    let (status, _) = admin(
        app,
        &editor,
        Method::POST,
        "/content/home/publish",
        Some(json!({"version": 1})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = admin(app, &editor, Method::GET, "/content/banners", None).await;
    assert_eq!(status, 403);
    let (status, _) = admin(
        app,
        &shop.admin,
        Method::POST,
        "/content/home/publish",
        Some(json!({"version": 1})),
    )
    .await;
    assert_eq!(status, 200);
    // The publish is in the operation log with who did it.
    let (status, logs) = admin(
        app,
        &shop.admin,
        Method::GET,
        "/logs/operations?page_size=5",
        None,
    )
    .await;
    assert_eq!(status, 200, "{logs}");
    assert!(
        logs["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["operation"] == "publish home page" && l["actor_username"] == "admin"),
        "{logs}"
    );
}

#[actix_web::test]
async fn the_service_page_is_grouped_for_the_app_and_saved_by_compare_and_set() {
    let shop = Shop::open().await;
    let app = &shop.app;
    let buyer = shop.buyer().await.token;
    let (_, _, reader) = app
        .staff_with(&shop.admin, "reader", &["content:service:view"])
        .await;
    let faq = |category: &str, question: &str| json!({"category": category, "question": question, "answer_html": "<p>Yes<img src=x onerror=alert(1)></p>"});
    let body = json!({"version": 0, "working_hours": "9:00–21:00",
        "faqs": [faq("Payment", "Refund?"), faq("Numbers", "Which countries?"), faq("Payment", "Invoice?")],
        "contacts": [{"kind": "phone", "label": "Hotline", "value": "+86 400 000 0000"}]});
    let (status, _) = admin(
        app,
        &reader,
        Method::PUT,
        "/content/service",
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 403);
    let (status, saved) = admin(
        app,
        &shop.admin,
        Method::PUT,
        "/content/service",
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["version"], 1);
    let (status, stale) = admin(
        app,
        &shop.admin,
        Method::PUT,
        "/content/service",
        Some(body),
    )
    .await;
    assert_eq!((status, stale["code"].as_str()), (409, Some("CONFLICT")));
    let (status, seen) = admin(app, &reader, Method::GET, "/content/service", None).await;
    assert_eq!((status, seen["faqs"].as_array().unwrap().len()), (200, 3));

    let (status, page) = status_and_body(
        app.app_send(Method::GET, "/service", Some(&buyer), None)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let grouped: Vec<(String, usize)> = page["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["faqs"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        grouped,
        [("Payment".to_owned(), 2), ("Numbers".to_owned(), 1)]
    );
    assert!(
        !page["categories"][0]["faqs"][0]["answer_html"]
            .as_str()
            .unwrap()
            .contains("onerror"),
        "{page}"
    );
    assert_eq!(page["contacts"][0]["value"], "+86 400 000 0000");
    assert_eq!(page["working_hours"], "9:00–21:00");
}

#[actix_web::test]
async fn checkout_asks_for_the_recharge_terms_again_whenever_they_change() {
    let shop = Shop::open().await;
    let app = &shop.app;
    let buyer = shop.buyer().await;
    let phone = "+639171234500";
    let plan = shop.plan_for(phone, false).await;
    let order = json!({"plan_id": plan["id"], "phone": phone});
    // No terms published: checkout as before.
    let (status, body) = shop.checkout(&buyer, order.clone(), None).await;
    assert_eq!(status, 201, "{body}");

    let terms = |title: &str| json!({"title": title, "body_html": "<p>Failed top-ups are refunded.</p>", "summary": "Refund times"});
    let (status, v1) = admin(
        app,
        &shop.admin,
        Method::POST,
        "/content/agreements/recharge_terms/versions",
        Some(terms("Recharge terms")),
    )
    .await;
    assert_eq!((status, v1["number"].as_u64()), (201, Some(1)), "{v1}");
    let before = app.count("orders").await;
    let (status, refused) = shop
        .checkout(
            &buyer,
            json!({"plan_id": plan["id"], "phone": "+639171234501"}),
            None,
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["code"], "AGREEMENT_REQUIRED");
    assert_eq!(
        refused["details"],
        json!({"kind": "recharge_terms", "version": 1})
    );
    assert_eq!(app.count("orders").await, before, "nothing was placed");

    let (status, shown) = status_and_body(
        app.app_send(
            Method::GET,
            "/agreements/recharge_terms",
            Some(&buyer.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(
        (shown["version"].as_u64(), &shown["accepted_at"]),
        (Some(1), &Value::Null)
    );
    let accept = |version: u64| {
        app.app_send(
            Method::POST,
            "/agreements/recharge_terms/accept",
            Some(&buyer.token),
            Some(json!({"version": version})),
        )
    };
    assert_eq!(accept(1).await.status(), 204);
    let accepted_order = json!({"plan_id": plan["id"], "phone": "+639171234501"});
    let (status, placed) = shop
        .checkout(&buyer, accepted_order.clone(), Some("terms-501"))
        .await;
    assert_eq!(status, 201, "{placed}");

    // A new version: asked again; accepting the old text is not enough.
    let (status, _) = admin(
        app,
        &shop.admin,
        Method::POST,
        "/content/agreements/recharge_terms/versions",
        Some(terms("Recharge terms 2")),
    )
    .await;
    assert_eq!(status, 201);
    // The order placed under the old terms is answered again as it was.
    let (status, replayed) = shop
        .checkout(&buyer, accepted_order, Some("terms-501"))
        .await;
    assert_eq!(status, 200, "{replayed}");
    assert_eq!(replayed["order"]["order_no"], placed["order"]["order_no"]);
    let (status, refused) = shop
        .checkout(
            &buyer,
            json!({"plan_id": plan["id"], "phone": "+639171234502"}),
            None,
        )
        .await;
    assert_eq!(
        (status, refused["details"]["version"].as_u64()),
        (409, Some(2)),
        "{refused}"
    );
    let (status, stale) = status_and_body(accept(1).await).await;
    assert_eq!(
        (
            status,
            stale["code"].as_str(),
            stale["details"]["version"].as_u64()
        ),
        (409, Some("CONFLICT"), Some(2)),
        "{stale}"
    );
    assert_eq!(accept(2).await.status(), 204);
    let (status, body) = shop
        .checkout(
            &buyer,
            json!({"plan_id": plan["id"], "phone": "+639171234502"}),
            None,
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let (status, list) = status_and_body(
        app.app_send(Method::GET, "/agreements", Some(&buyer.token), None)
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "only published agreements: {list}"
    );
    assert!(list[0]["accepted_at"].is_string());
    let (status, _) = status_and_body(
        app.app_send(
            Method::GET,
            "/agreements/privacy_policy",
            Some(&buyer.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = admin(
        app,
        &shop.admin,
        Method::GET,
        "/content/agreements/nonsense/versions",
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (_, overview) = admin(app, &shop.admin, Method::GET, "/content/agreements", None).await;
    assert_eq!(overview.as_array().unwrap().len(), 4);
    assert_eq!(overview[3]["current"]["number"], 2, "{overview}");
    let (_, _, reader) = app
        .staff_with(&shop.admin, "reader", &["content:agreement:list"])
        .await;
    let (status, _) = admin(
        app,
        &reader,
        Method::POST,
        "/content/agreements/privacy_policy/versions",
        Some(terms("Privacy")),
    )
    .await;
    assert_eq!(status, 403);
}
