//! Backups (`docs/operations.md#backups`): taken while the shop sells, restored into a fresh
//! data dir, and served from there as if nothing had happened: the same orders in the same
//! states, tokens issued before still accepted, encrypted values still readable. On SQLite the
//! file holds the database; on MongoDB it holds the secrets (the database goes through
//! mongodump), and a second process with the restored secrets serves the same database.

use std::sync::Arc;

use reqwest::Method;
use serde_json::Value;
use topup_app::adapters::WechatPayLedger;
use topup_app::backup::{self, Locations};
use topup_auth::app_users::AppUserId;
use topup_core::Clock;
use topup_orders::reconcile::Reconciler;
use topup_store::{SqliteBackend, SqliteOptions, Store};
use topup_tests::{self as common, Existing, TestOptions, status_and_body};

use crate::orders::Shop;

fn locations_of(app: &common::TestApp) -> Locations {
    Locations {
        database: app.database.clone(),
        secrets_dir: app.data_dir.join("secrets"),
    }
}

#[actix_web::test]
async fn a_backup_taken_while_selling_restores_into_a_working_shop() {
    let shop = Shop::open().await;
    let phone = "+639171234500";
    let (buyer, placed) = shop.bought(phone).await;
    shop.work().await;
    let order = shop.order(&placed.order_no).await;
    assert_eq!(order["state"], "succeeded", "{order}");
    let (status, me) = status_and_body(
        shop.app
            .app_send(Method::GET, "/me", Some(&buyer.token), None)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{me}");
    let user_id: AppUserId = me["id"].as_str().unwrap().parse().unwrap();
    let session_key = shop.app.app_users.session_key(user_id).await.unwrap();

    // Taken while checkouts go on: the copy is one consistent snapshot.
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("shop.topup-backup");
    let from = locations_of(&shop.app);
    let now = shop.app.clock.now();
    let taking = tokio::task::spawn_blocking({
        let file = file.clone();
        move || backup::create(&from, &file, now)
    });
    for other in ["+639171234510", "+639171234520", "+639171234530"] {
        shop.place(&buyer, other).await;
    }
    let manifest = taking.await.unwrap().unwrap();
    let on_sqlite = shop.app.database.is_some();
    assert_eq!(manifest.holds_database(), on_sqlite);
    // (The sandbox's keys are fixtures here, so not among the generated ones.)
    assert_eq!(manifest.secrets, ["at-rest.key", "jwt.key"]);
    if on_sqlite {
        let orders = manifest.collections["orders"];
        assert!((1..=4).contains(&orders), "{manifest:?}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "it holds keys");
    }
    // Never over an existing file, and nothing left beside it.
    let again = backup::create(&locations_of(&shop.app), &file, now).unwrap_err();
    assert!(again.to_string().contains("exists"), "{again}");
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 1);

    // Restored into a fresh place.
    let fresh = tempfile::tempdir().unwrap();
    let data_dir = fresh.path().join("data");
    let target = Locations {
        database: on_sqlite.then(|| fresh.path().join("restored.db")),
        secrets_dir: data_dir.join("secrets"),
    };
    let restored = backup::restore(&file, &target).unwrap();
    assert_eq!(restored, manifest);
    for name in &manifest.secrets {
        assert_eq!(
            std::fs::read(target.secrets_dir.join(name)).unwrap(),
            std::fs::read(shop.app.data_dir.join("secrets").join(name)).unwrap(),
            "{name}"
        );
    }
    // A restore never overwrites.
    let twice = backup::restore(&file, &target).unwrap_err();
    assert!(twice.to_string().contains("exists"), "{twice}");

    let store = match &target.database {
        Some(path) => {
            let options = SqliteOptions::new(path.clone());
            Store::new(Arc::new(SqliteBackend::open(&options).unwrap()))
        }
        // MongoDB: the database itself is mongodump's; the same one stands in for it.
        None => shop.app.store.clone(),
    };
    let copy = common::spawn_app(TestOptions {
        existing: Some(Existing {
            store,
            data_dir: data_dir.clone(),
        }),
        ..TestOptions::default()
    })
    .await;

    // Staff and buyer tokens issued before the backup still work; the order is as it was.
    let (status, seen) = status_and_body(
        copy.send(
            Method::GET,
            &format!("/orders/{}", placed.order_no),
            Some(&shop.admin),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["state"], "succeeded");
    assert_eq!(seen["timeline"], order["timeline"]);
    let (status, mine) = status_and_body(
        copy.app_send(
            Method::GET,
            &format!("/orders/{}", placed.order_no),
            Some(&buyer.token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["state"], "succeeded");
    let login = copy.login_ok("admin", common::ADMIN_PASSWORD).await;
    assert!(login["access_token"].is_string(), "{login}");
    // What was encrypted at rest is readable with the restored key.
    assert_eq!(
        copy.app_users.session_key(user_id).await.unwrap().expose(),
        session_key.expose()
    );
    let listed: Value = copy
        .send(Method::GET, "/orders?page_size=50", Some(&shop.admin), None)
        .await
        .json()
        .await
        .unwrap();
    if on_sqlite {
        assert_eq!(
            listed["total"].as_u64().unwrap(),
            manifest.collections["orders"],
            "{listed}"
        );
    }

    // The restored orders agree with WeChat Pay and the provider (the shop's, which they
    // were made with), to the fen.
    let reconciler = Reconciler::new(
        &copy.store,
        Arc::new(WechatPayLedger(Arc::clone(&shop.kit().payments))),
        Arc::clone(&shop.kit().router),
        Arc::new(shop.app.clock.clone()),
    );
    let hour = chrono::TimeDelta::hours(1);
    let report = reconciler
        .run(now.minus(hour), now.plus(hour), "test")
        .await
        .unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.totals.delivered, placed.total);
    assert_eq!(report.totals.paid, placed.total);
}

#[actix_web::test]
async fn what_is_not_a_backup_is_refused_and_restores_nothing() {
    let work = tempfile::tempdir().unwrap();
    let target = Locations {
        database: Some(work.path().join("restored.db")),
        secrets_dir: work.path().join("data").join("secrets"),
    };
    let not_gzip = work.path().join("notes.txt");
    std::fs::write(&not_gzip, "hello").unwrap();
    assert!(backup::restore(&not_gzip, &target).is_err());
    let missing = backup::restore(&work.path().join("nothing"), &target).unwrap_err();
    assert!(missing.to_string().contains("nothing"), "{missing}");
    assert!(!work.path().join("restored.db").exists());
    assert!(!work.path().join("data").exists());
}
