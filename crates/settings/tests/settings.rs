//! Settings on whichever store the environment selects (SQLite, or MongoDB with
//! `TOPUP_TEST_MONGODB_URI`): applied where they are changed and, after a refresh, on every
//! other process; secrets sealed and never answered; fixed keys refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use topup_auth::{AtRestCipher, generate_at_rest_key};
use topup_core::{ManualClock, Secret, Timestamp};
use topup_settings::{Effective, FixedBy, SettingsError, SettingsListener, SettingsService};
use topup_store::Document;
use topup_store::testing::TestStore;

/// What a process applied last.
#[derive(Default)]
struct Seen(Mutex<Vec<(Option<i64>, Option<String>)>>);

impl SettingsListener for Seen {
    fn apply(&self, settings: &Effective) {
        self.0.lock().unwrap().push((
            settings.integer("orders.pay_timeout_minutes"),
            settings
                .secret("mini_program.app_secret")
                .map(|s| s.expose().clone()),
        ));
    }
}

impl Seen {
    fn last(&self) -> (Option<i64>, Option<String>) {
        self.0.lock().unwrap().last().cloned().unwrap()
    }
}

fn process(store: &TestStore, key: &Secret<Vec<u8>>, seen: Arc<Seen>) -> SettingsService {
    let clock = ManualClock::new(Timestamp::parse("2026-03-01T00:00:00Z").unwrap());
    SettingsService::new(
        &store.store,
        Arc::new(clock),
        AtRestCipher::new(key).unwrap(),
    )
    .configured("orders.pay_timeout_minutes", json!(15))
    .configured("orders.max_orders_per_number_per_day", json!(10))
    .configured("orders.max_unpaid_orders_per_user", json!(3))
    .configured("site.name", json!("Topup"))
    .configured("site.logo_url", json!(""))
    .configured("site.theme_colour", json!("#07c160"))
    .configured("mini_program.app_id", json!("wx123"))
    .configured_secret("mini_program.app_secret", Secret::new("from-config".into()))
    .fixed("site.name", FixedBy::Environment)
    .with_listener(seen)
}

fn changes(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn field_of(error: SettingsError) -> String {
    match error {
        SettingsError::Invalid(fields) => fields
            .fields()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(","),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[derive(Serialize, Deserialize)]
struct RawGroup {
    id: String,
    #[serde(flatten)]
    rest: BTreeMap<String, Value>,
}

impl Document for RawGroup {
    const COLLECTION: &'static str = "settings";
}

#[tokio::test]
async fn a_change_applies_here_at_once_and_on_another_process_at_its_next_check() {
    let store = TestStore::open().await.unwrap();
    let key = generate_at_rest_key().unwrap();
    let (here_seen, there_seen) = (Arc::new(Seen::default()), Arc::new(Seen::default()));
    let here = process(&store, &key, here_seen.clone());
    let there = process(&store, &key, there_seen.clone());
    here.start().await.unwrap();
    there.start().await.unwrap();
    assert_eq!(here_seen.last(), (Some(15), Some("from-config".into())));

    let (before, after) = here
        .update(
            "orders",
            0,
            changes(&[("pay_timeout_minutes", json!(5))]),
            "alice",
        )
        .await
        .unwrap();
    assert_eq!((before.version, after.version), (0, 1));
    assert_eq!(here_seen.last().0, Some(5));
    let timeout = &after.settings[0];
    assert_eq!(
        (
            timeout.value.clone(),
            timeout.configured.clone(),
            timeout.overridden
        ),
        (json!(5), json!(15), true)
    );

    // The other process still has the old value until its periodic check.
    assert_eq!(there_seen.last().0, Some(15));
    assert!(there.refresh_if_stale().await.unwrap());
    assert_eq!(there_seen.last().0, Some(5));
    assert!(
        !there.refresh_if_stale().await.unwrap(),
        "nothing changed since"
    );

    // null returns a key to the configuration.
    there
        .update(
            "orders",
            1,
            changes(&[("pay_timeout_minutes", Value::Null)]),
            "bob",
        )
        .await
        .unwrap();
    assert!(here.refresh_if_stale().await.unwrap());
    assert_eq!(here_seen.last().0, Some(15));
}

#[tokio::test]
async fn secrets_are_sealed_at_rest_and_never_answered() {
    let store = TestStore::open().await.unwrap();
    let key = generate_at_rest_key().unwrap();
    let seen = Arc::new(Seen::default());
    let settings = process(&store, &key, seen.clone());
    settings.start().await.unwrap();
    let plaintext = "s3cr3t-app-secret-value";
    let (before, after) = settings
        .update(
            "mini_program",
            0,
            changes(&[("app_secret", json!(plaintext))]),
            "alice",
        )
        .await
        .unwrap();
    assert_eq!(seen.last().1.as_deref(), Some(plaintext));
    for view in [&before, &after] {
        let answered = serde_json::to_string(view).unwrap();
        assert!(!answered.contains(plaintext), "{answered}");
        assert!(!answered.contains("from-config"), "{answered}");
    }
    let secret = after
        .settings
        .iter()
        .find(|s| s.key == "app_secret")
        .unwrap();
    assert_eq!(
        (secret.value.clone(), secret.overridden),
        (json!({"set": true}), true)
    );
    let raw = store
        .store
        .collection::<RawGroup>()
        .get("mini_program")
        .await
        .unwrap()
        .unwrap();
    let stored = serde_json::to_string(&raw.rest).unwrap();
    assert!(!stored.contains(plaintext), "{stored}");
    assert!(stored.contains("v1."), "sealed: {stored}");

    // Another key cannot open it: the configured secret stays in force.
    let other_seen = Arc::new(Seen::default());
    let other = process(&store, &generate_at_rest_key().unwrap(), other_seen.clone());
    other.start().await.unwrap();
    assert_eq!(other_seen.last().1.as_deref(), Some("from-config"));
}

#[tokio::test]
async fn bad_fixed_unknown_and_stale_changes_are_refused_and_change_nothing() {
    let store = TestStore::open().await.unwrap();
    let key = generate_at_rest_key().unwrap();
    let seen = Arc::new(Seen::default());
    let settings = process(&store, &key, seen.clone());
    settings.start().await.unwrap();
    let refuse = |group: &'static str, pairs: Vec<(&'static str, Value)>| {
        let settings = &settings;
        async move {
            let pairs: Vec<(&str, Value)> = pairs;
            settings
                .update(group, 0, changes(&pairs), "a")
                .await
                .unwrap_err()
        }
    };
    assert_eq!(
        field_of(refuse("orders", vec![("pay_timeout_minutes", json!(0))]).await),
        "values.pay_timeout_minutes"
    );
    assert_eq!(
        field_of(refuse("orders", vec![("surprise", json!(1))]).await),
        "values.surprise"
    );
    assert_eq!(
        field_of(refuse("site", vec![("name", json!("Other"))]).await),
        "values.name"
    );
    assert_eq!(
        field_of(refuse("site", vec![("theme_colour", json!("red"))]).await),
        "values.theme_colour"
    );
    // Every bad value of a save at once.
    assert_eq!(
        field_of(
            refuse(
                "site",
                vec![
                    ("name", json!("Other")),
                    ("theme_colour", json!("red")),
                    ("logo_url", json!("javascript:x")),
                ]
            )
            .await
        ),
        "values.logo_url,values.name,values.theme_colour"
    );
    assert!(matches!(
        refuse("nope", vec![]).await,
        SettingsError::NotFound(_)
    ));
    let views = settings.view().await.unwrap();
    assert!(views.iter().all(|g| g.version == 0), "nothing saved");
    let name = views
        .iter()
        .find(|g| g.name == "site")
        .unwrap()
        .settings
        .iter()
        .find(|s| s.key == "name")
        .unwrap()
        .clone();
    assert_eq!(
        (name.fixed_by, name.value),
        (Some(FixedBy::Environment), json!("Topup"))
    );

    settings
        .update(
            "site",
            0,
            changes(&[("theme_colour", json!("#1677FF"))]),
            "a",
        )
        .await
        .unwrap();
    assert!(matches!(
        settings
            .update(
                "site",
                0,
                changes(&[("theme_colour", json!("#000000"))]),
                "b"
            )
            .await,
        Err(SettingsError::Conflict(_))
    ));
    assert_eq!(
        settings.effective().text("site.theme_colour"),
        Some("#1677ff")
    );
}

/// Reads the payment group and refuses a merchant without its key, as the WeChat Pay listener
/// does for keys that do not parse.
struct NeedsKey;

impl SettingsListener for NeedsKey {
    fn apply(&self, _settings: &Effective) {}

    fn check(&self, settings: &Effective) -> Vec<(String, String)> {
        let mchid = settings.text("payment.mchid").unwrap_or_default();
        let key = settings.secret("payment.apiv3_key");
        if !mchid.is_empty() && key.is_none_or(|k| k.expose().len() != 32) {
            vec![("payment.apiv3_key".into(), "exactly 32 characters".into())]
        } else {
            Vec::new()
        }
    }
}

#[tokio::test]
async fn a_save_its_readers_cannot_put_in_force_is_refused_naming_the_keys() {
    let store = TestStore::open().await.unwrap();
    let key = generate_at_rest_key().unwrap();
    let settings =
        process(&store, &key, Arc::new(Seen::default())).with_listener(Arc::new(NeedsKey));
    settings.start().await.unwrap();
    let error = settings
        .update(
            "payment",
            0,
            changes(&[
                ("mchid", json!("1900000109")),
                ("apiv3_key", json!("short")),
            ]),
            "a",
        )
        .await
        .unwrap_err();
    assert_eq!(field_of(error), "values.apiv3_key");
    let payment = |views: Vec<topup_settings::GroupView>| {
        views.into_iter().find(|g| g.name == "payment").unwrap()
    };
    assert_eq!(
        payment(settings.view().await.unwrap()).version,
        0,
        "nothing saved"
    );

    let (_, after) = settings
        .update(
            "payment",
            0,
            changes(&[
                ("mchid", json!("1900000109")),
                ("apiv3_key", json!("Topup0sandbox0apiv3key0for0tests")),
            ]),
            "a",
        )
        .await
        .unwrap();
    assert_eq!(after.version, 1);
    let apiv3 = after
        .settings
        .iter()
        .find(|s| s.key == "apiv3_key")
        .unwrap();
    assert_eq!(apiv3.value, json!({"set": true}));
    // Other groups' saves are not held up by it.
    settings
        .update(
            "orders",
            0,
            changes(&[("pay_timeout_minutes", json!(20))]),
            "a",
        )
        .await
        .unwrap();
}
