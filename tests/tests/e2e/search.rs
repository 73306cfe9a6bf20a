//! Global search: one box finds an order by its number, its phone number (whole or in part),
//! WeChat's or the provider's transaction id; mini-program users, plans and console pages too;
//! each kind only with its page's permission, phone numbers masked as on the order pages.

use reqwest::Method;
use serde_json::Value;
use topup_tests::status_and_body;

use crate::orders::Shop;

async fn search(shop: &Shop, token: &str, q: &str) -> Value {
    let path = format!(
        "/search?q={}",
        form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
    );
    let (status, found) =
        status_and_body(shop.app.send(Method::GET, &path, Some(token), None).await).await;
    assert_eq!(status, 200, "{q}: {found}");
    found
}

fn order_hits(found: &Value) -> Vec<(String, String)> {
    found["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["order_no"].as_str().unwrap().to_owned(),
                o["matched"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn one_box_finds_orders_users_plans_and_pages_as_the_caller_may_see_them() {
    let shop = Shop::open().await;
    let phone = "+639171234500";
    let (_, placed) = shop.bought(phone).await;
    shop.work().await;
    let order = shop.order(&placed.order_no).await;
    assert_eq!(order["state"], "succeeded");
    let no = placed.order_no.clone();
    let wechat = order["payment"]["transaction_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let provider = order["recharge"]["provider_transaction_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let openid = order["openid"].as_str().unwrap().to_owned();
    // Another order, another number: never found by the first one's words.
    let (_, other) = shop.bought("+639171234508").await;

    let admin = shop.admin.clone();
    for (q, matched) in [
        (no.as_str(), "order_no"),
        (phone, "phone"),
        ("171234500", "phone"),
        (wechat.as_str(), "transaction_id"),
        (provider.as_str(), "provider_transaction_id"),
    ] {
        let found = search(&shop, &admin, q).await;
        assert_eq!(
            order_hits(&found),
            [(no.clone(), matched.to_owned())],
            "{q}: {found}"
        );
        assert_eq!(
            found["orders"][0]["phone"], phone,
            "the admin sees numbers whole"
        );
    }
    // Words naming an order exactly are nobody's nickname: no user is looked for.
    let by_number = search(&shop, &admin, &no).await;
    assert!(
        by_number["app_users"].as_array().unwrap().is_empty(),
        "{by_number}"
    );
    let both = search(&shop, &admin, "9171234").await;
    let mut hits: Vec<String> = order_hits(&both).into_iter().map(|(n, _)| n).collect();
    hits.sort();
    let mut expected = vec![no.clone(), other.order_no.clone()];
    expected.sort();
    assert_eq!(hits, expected, "{both}");

    let by_openid = search(&shop, &admin, &openid).await;
    assert_eq!(
        by_openid["app_users"].as_array().unwrap().len(),
        1,
        "{by_openid}"
    );
    assert_eq!(by_openid["app_users"][0]["openid"], openid);
    let plans = search(&shop, &admin, "globe").await;
    assert!(!plans["plans"].as_array().unwrap().is_empty(), "{plans}");
    let pages = search(&shop, &admin, "alerts").await;
    let paths: Vec<&str> = pages["pages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["path"].as_str())
        .collect();
    assert!(paths.contains(&"/payment/alerts"), "{pages}");
    assert!(paths.contains(&"/notify/alerts"), "{pages}");
    let nothing = search(&shop, &admin, "no such thing").await;
    assert_eq!(nothing["orders"], serde_json::json!([]));

    // Orders only, and numbers masked: no other kind, no page it may not open.
    let (_, _, clerk) = shop
        .app
        .staff_with(&admin, "clerk", &["order:order:list"])
        .await;
    let found = search(&shop, &clerk, phone).await;
    assert_eq!(order_hits(&found), [(no.clone(), "phone".to_owned())]);
    let masked = found["orders"][0]["phone"].as_str().unwrap();
    assert_ne!(masked, phone);
    assert!(masked.contains('*'), "{masked}");
    assert!(found["app_users"].is_null(), "{found}");
    assert!(found["plans"].is_null(), "{found}");
    assert_eq!(
        search(&shop, &clerk, "alerts").await["pages"],
        serde_json::json!([])
    );
    let (_, _, viewer) = shop
        .app
        .staff_with(
            &admin,
            "viewer",
            &["order:order:list", "order:personal:view"],
        )
        .await;
    assert_eq!(
        search(&shop, &viewer, phone).await["orders"][0]["phone"],
        phone
    );

    for bad in ["", "   ", &"x".repeat(101)] {
        let path = format!("/search?q={bad}");
        let (status, body) =
            status_and_body(shop.app.send(Method::GET, &path, Some(&admin), None).await).await;
        assert_eq!(status, 400, "{bad:?}: {body}");
        assert_eq!(body["code"], "VALIDATION_FAILED");
        assert!(body["details"]["fields"]["q"].is_array(), "{body}");
    }
}
