//! One contract for every store backend. SQLite always runs; MongoDB runs when
//! `TOPUP_TEST_MONGODB_URI` is set (each test then uses a database of its own, dropped at the
//! end), e.g. `TOPUP_TEST_MONGODB_URI=mongodb://127.0.0.1:27017 cargo test -p topup-store`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use topup_core::{PageRequest, Timestamp};
use topup_store::{
    Document, Filter, FindQuery, GroupKey, GroupRow, Index, KeyPart, Lease, SortOrder, Store,
    StoreError, Update,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Item {
    id: String,
    #[serde(default)]
    version: i64,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    status: String,
    amount: i64,
    #[serde(default)]
    stock: i64,
    tags: Vec<String>,
    created_at: Timestamp,
    #[serde(default)]
    nested: Nested,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lease: Option<Lease>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next_action_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Nested {
    #[serde(default)]
    state: String,
    #[serde(default)]
    count: i64,
}

impl Document for Item {
    const COLLECTION: &'static str = "items";
}

fn ts(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn item(n: u32) -> Item {
    Item {
        id: format!("item{n:04}"),
        version: 0,
        name: format!("Item number {n}"),
        code: None,
        status: if n.is_multiple_of(2) { "even" } else { "odd" }.to_owned(),
        amount: i64::from(n) * 100,
        stock: 0,
        tags: vec![format!("t{}", n % 3)],
        created_at: ts("2026-01-01T00:00:00Z").plus(chrono::TimeDelta::hours(i64::from(n))),
        nested: Nested {
            state: "new".into(),
            count: 0,
        },
        lease: None,
        next_action_at: None,
    }
}

async fn seed(store: &Store, count: u32) -> Vec<Item> {
    let items: Vec<Item> = (0..count).map(item).collect();
    store
        .collection::<Item>()
        .insert_many(&items)
        .await
        .unwrap();
    items
}

fn ids(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| i.id.clone()).collect()
}

async fn insert_get_and_duplicate_id(store: Store) {
    let items = store.collection::<Item>();
    let one = item(1);
    items.insert(&one).await.unwrap();
    assert_eq!(items.get("item0001").await.unwrap(), Some(one.clone()));
    assert_eq!(items.get("missing").await.unwrap(), None);
    assert!(matches!(
        items.fetch("missing").await,
        Err(StoreError::NotFound { .. })
    ));
    let again = items.insert(&one).await.unwrap_err();
    assert!(
        matches!(&again, StoreError::Duplicate { index, .. } if index == "id"),
        "{again:?}"
    );
    // A batch containing a taken id is refused as a duplicate too.
    let batch_error = items.insert_many(&[item(2), item(1)]).await.unwrap_err();
    assert!(batch_error.is_duplicate(), "{batch_error:?}");
}

async fn unique_index_violation(store: Store) {
    let items = store.collection::<Item>();
    items
        .ensure_index(Index::unique("code", &["code"]))
        .await
        .unwrap();
    // Creating it again is a no-op.
    items
        .ensure_index(Index::unique("code", &["code"]))
        .await
        .unwrap();
    let mut a = item(1);
    a.code = Some("ABC".into());
    items.insert(&a).await.unwrap();
    let mut b = item(2);
    b.code = Some("ABC".into());
    let error = items.insert(&b).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::Duplicate { index, .. } if index == "code"),
        "{error:?}"
    );
    assert_eq!(items.get("item0002").await.unwrap(), None);
    // Documents without the field are not constrained by it.
    items.insert(&item(3)).await.unwrap();
    items.insert(&item(4)).await.unwrap();
    // A replace that would collide is refused as well, and changes nothing.
    let mut c = items.fetch("item0003").await.unwrap();
    c.code = Some("ABC".into());
    assert!(items.replace(&c).await.unwrap_err().is_duplicate());
    assert_eq!(items.fetch("item0003").await.unwrap().code, None);
    // Compound unique index.
    items
        .ensure_index(Index::unique("status_amount", &["status", "amount"]))
        .await
        .unwrap();
    let mut d = item(5);
    d.id = "other".into();
    d.amount = 100; // same status ("odd") and amount as item 1
    assert!(items.insert(&d).await.unwrap_err().is_duplicate());
}

async fn filters(store: Store) {
    let items = store.collection::<Item>();
    seed(&store, 10).await;
    let mut special = item(50);
    special.name = "O'Brien \"quoted\" ; DROP TABLE items; --".into();
    special.code = Some("X".into());
    special.nested.state = "paid".into();
    items.insert(&special).await.unwrap();

    let find = |filter: Filter| {
        let items = items.clone();
        async move {
            let mut found = ids(&items.find(&FindQuery::new(filter)).await.unwrap());
            found.sort();
            found
        }
    };
    assert_eq!(find(Filter::eq("status", "odd")).await.len(), 5);
    assert_eq!(find(Filter::ne("status", "odd")).await.len(), 6);
    assert_eq!(find(Filter::eq("id", "item0003")).await, vec!["item0003"]);
    assert_eq!(
        find(Filter::is_in("id", ["item0001", "item0002", "nope"])).await,
        vec!["item0001", "item0002"]
    );
    assert!(find(Filter::is_in::<&str>("id", [])).await.is_empty());
    assert_eq!(
        find(Filter::gt("amount", 800)).await,
        vec!["item0009", "item0050"]
    );
    assert_eq!(
        find(Filter::gte("amount", 900)).await,
        vec!["item0009", "item0050"]
    );
    assert_eq!(find(Filter::lt("amount", 100)).await, vec!["item0000"]);
    assert_eq!(
        find(Filter::lte("amount", 100)).await,
        vec!["item0000", "item0001"]
    );
    assert_eq!(find(Filter::exists("code")).await, vec!["item0050"]);
    assert_eq!(find(Filter::missing("code")).await.len(), 10);
    assert_eq!(find(Filter::eq("code", Value::Null)).await.len(), 10);
    assert_eq!(
        find(Filter::contains("name", "NUMBER 7")).await,
        vec!["item0007"]
    );
    assert_eq!(
        find(Filter::contains("name", "o'brien")).await,
        vec!["item0050"]
    );
    assert_eq!(find(Filter::contains("name", "%")).await.len(), 0);
    assert_eq!(find(Filter::contains("name", ".*")).await.len(), 0);
    assert_eq!(
        find(Filter::eq(
            "name",
            "O'Brien \"quoted\" ; DROP TABLE items; --"
        ))
        .await,
        vec!["item0050"]
    );
    assert_eq!(find(Filter::has("tags", "t1")).await.len(), 3);
    assert_eq!(
        find(Filter::eq("nested.state", "paid")).await,
        vec!["item0050"]
    );
    assert_eq!(
        find(Filter::eq("status", "odd").and(Filter::gt("amount", 500))).await,
        vec!["item0007", "item0009"]
    );
    assert_eq!(
        find(Filter::eq("id", "item0001").or(Filter::eq("id", "item0002"))).await,
        vec!["item0001", "item0002"]
    );
    assert_eq!(
        find(
            Filter::gte("created_at", ts("2026-01-01T08:00:00Z"))
                .and(Filter::lt("created_at", ts("2026-01-01T09:00:00.001Z")))
        )
        .await,
        vec!["item0008", "item0009"]
    );
    assert_eq!(find(Filter::starts_with("id", "item000")).await.len(), 10);
    assert_eq!(
        find(Filter::starts_with("id", "item005")).await,
        vec!["item0050"]
    );
    assert_eq!(
        find(Filter::starts_with("name", "O'Brien \"")).await,
        vec!["item0050"]
    );
    assert!(
        find(Filter::starts_with("id", "item0050x"))
            .await
            .is_empty()
    );
    assert_eq!(find(Filter::All).await.len(), 11);
    assert_eq!(items.count(&Filter::eq("status", "even")).await.unwrap(), 6);
    // Names that are not plain paths never reach the backend.
    let error = items
        .find(&FindQuery::new(Filter::eq("name') OR 1=1 --", "x")))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::InvalidName(_)));
}

async fn sort_and_paging_are_stable(store: Store) {
    let items = store.collection::<Item>();
    // 25 items sharing 3 amounts: ties must be broken the same way on every page.
    let batch: Vec<Item> = (0..25)
        .map(|n| {
            let mut i = item(n);
            i.amount = i64::from(n % 3);
            i
        })
        .collect();
    items.insert_many(&batch).await.unwrap();
    let mut seen = Vec::new();
    for page in 1..=4 {
        let got = items
            .page(
                Filter::All,
                &[("amount", SortOrder::Desc)],
                PageRequest::new(page, 7).unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(got.total, 25);
        assert_eq!(got.page, page);
        seen.extend(got.items);
    }
    assert_eq!(seen.len(), 25);
    let unique: HashSet<_> = seen.iter().map(|i| i.id.clone()).collect();
    assert_eq!(unique.len(), 25);
    let mut expected = batch.clone();
    expected.sort_by(|a, b| b.amount.cmp(&a.amount).then(b.id.cmp(&a.id)));
    assert_eq!(ids(&seen), ids(&expected));
    // Ascending on two keys.
    let asc = items
        .find(
            &FindQuery::new(Filter::All)
                .sort("amount", SortOrder::Asc)
                .sort("created_at", SortOrder::Desc)
                .limit(3),
        )
        .await
        .unwrap();
    assert_eq!(ids(&asc), vec!["item0024", "item0021", "item0018"]);
}

async fn counting_stops_at_its_limit(store: Store) {
    let items = store.collection::<Item>();
    seed(&store, 25).await;
    let even = Filter::eq("status", "even");
    assert_eq!(items.count(&even).await.unwrap(), 13);
    assert_eq!(items.count_up_to(&even, 5).await.unwrap(), 5);
    assert_eq!(items.count_up_to(&even, 13).await.unwrap(), 13);
    assert_eq!(items.count_up_to(&even, 100).await.unwrap(), 13);
    assert_eq!(items.count_up_to(&Filter::All, 24).await.unwrap(), 24);
    // A page far beyond the rows there are still counts every row, and says so exactly.
    let page = items
        .page(even, &[], PageRequest::new(600, 20).unwrap())
        .await
        .unwrap();
    assert_eq!(
        (page.total, page.total_capped, page.items.len()),
        (13, false, 0)
    );
}

async fn count_delete_and_upsert(store: Store) {
    let items = store.collection::<Item>();
    seed(&store, 6).await;
    assert!(items.delete("item0001").await.unwrap());
    assert!(!items.delete("item0001").await.unwrap());
    assert_eq!(
        items
            .delete_many(&Filter::eq("status", "even"))
            .await
            .unwrap(),
        3
    );
    assert_eq!(items.count(&Filter::All).await.unwrap(), 2);
    let mut changed = item(3);
    changed.name = "upserted".into();
    items.upsert(&changed).await.unwrap();
    items.upsert(&item(40)).await.unwrap();
    assert_eq!(items.fetch("item0003").await.unwrap().name, "upserted");
    assert_eq!(items.count(&Filter::All).await.unwrap(), 3);
}

async fn compare_and_set(store: Store) {
    let items = store.collection::<Item>();
    items.insert(&item(1)).await.unwrap();
    let read = items.fetch("item0001").await.unwrap();
    let mut first = read.clone();
    first.name = "first".into();
    let stored = items.replace(&first).await.unwrap();
    assert_eq!(stored.version, 1);
    let mut stale = read.clone();
    stale.name = "stale".into();
    let error = items.replace(&stale).await.unwrap_err();
    assert!(error.is_conflict(), "{error:?}");
    assert_eq!(items.fetch("item0001").await.unwrap().name, "first");
    let mut ghost = item(9);
    ghost.id = "ghost".into();
    assert!(matches!(
        items.replace(&ghost).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn compare_and_set_under_concurrency(store: Store) {
    let items = store.collection::<Item>();
    items.insert(&item(1)).await.unwrap();
    let tasks = 40;
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let items = items.clone();
        handles.push(tokio::spawn(async move {
            let mut conflicts = 0u32;
            loop {
                let mut current = items.fetch("item0001").await.unwrap();
                current.nested.count += 1;
                match items.replace(&current).await {
                    Ok(_) => return conflicts,
                    Err(e) if e.is_conflict() => conflicts += 1,
                    Err(e) => panic!("{e}"),
                }
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let done = items.fetch("item0001").await.unwrap();
    assert_eq!(done.nested.count, tasks);
    assert_eq!(done.version, tasks);
}

async fn guarded_increment_never_below_zero(store: Store) {
    let items = store.collection::<Item>();
    let mut stocked = item(1);
    stocked.stock = 10;
    items.insert(&stocked).await.unwrap();
    let mut handles = Vec::new();
    for _ in 0..40 {
        let items = items.clone();
        handles.push(tokio::spawn(async move {
            items
                .update(
                    "item0001",
                    Filter::gt("stock", 0),
                    &[Update::inc("stock", -1)],
                )
                .await
                .unwrap()
                .is_some()
        }));
    }
    let mut won = 0;
    for handle in handles {
        if handle.await.unwrap() {
            won += 1;
        }
    }
    assert_eq!(won, 10);
    let done = items.fetch("item0001").await.unwrap();
    assert_eq!(done.stock, 0);
    assert_eq!(done.version, 10, "each successful update bumps the version");
    assert!(
        items
            .update("missing", Filter::All, &[Update::inc("stock", 1)])
            .await
            .unwrap()
            .is_none()
    );
}

/// `update_if`: the same guarded write as `update`, answering only whether it matched.
async fn update_if_says_whether_the_guard_matched(store: Store) {
    let items = store.collection::<Item>();
    let mut stocked = item(1);
    stocked.stock = 3;
    items.insert(&stocked).await.unwrap();
    let mut handles = Vec::new();
    for _ in 0..12 {
        let items = items.clone();
        handles.push(tokio::spawn(async move {
            items
                .update_if(
                    "item0001",
                    Filter::gt("stock", 0),
                    &[Update::inc("stock", -1), Update::set("name", "taken")],
                )
                .await
                .unwrap()
        }));
    }
    let mut won = 0;
    for handle in handles {
        if handle.await.unwrap() {
            won += 1;
        }
    }
    assert_eq!(won, 3);
    let done = items.fetch("item0001").await.unwrap();
    assert_eq!((done.stock, done.name.as_str()), (0, "taken"));
    assert_eq!(done.version, 3, "each successful update bumps the version");
    assert!(
        !items
            .update_if("missing", Filter::All, &[Update::inc("stock", 1)])
            .await
            .unwrap()
    );
    // A guard that matches, with no field of the caller's to change, says so too.
    assert!(
        items
            .update_if("item0001", Filter::eq("stock", 0), &[])
            .await
            .unwrap()
    );
}

async fn update_set_unset_inc(store: Store) {
    let items = store.collection::<Item>();
    let mut one = item(1);
    one.code = Some("C".into());
    items.insert(&one).await.unwrap();
    let updated = items
        .update(
            "item0001",
            Filter::eq("status", "odd"),
            &[
                Update::set("nested", json!({"state": "paid", "count": 2})),
                Update::set("name", "renamed \"quoted\""),
                Update::unset("code"),
                Update::inc("amount", 50),
            ],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.nested.state, "paid");
    assert_eq!(updated.nested.count, 2);
    assert_eq!(updated.name, "renamed \"quoted\"");
    assert_eq!(updated.code, None);
    assert_eq!(updated.amount, 150);
    assert_eq!(items.fetch("item0001").await.unwrap(), updated);
    // Setting a nested path and a timestamp keeps their types.
    let at = ts("2026-02-03T04:05:06.789Z");
    let updated = items
        .update(
            "item0001",
            Filter::All,
            &[
                Update::set("nested.count", 7),
                Update::set("next_action_at", at),
            ],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.nested.count, 7);
    assert_eq!(updated.next_action_at, Some(at));
    // Updates apply in order: a later one of the same path wins.
    let updated = items
        .update(
            "item0001",
            Filter::All,
            &[
                Update::set("name", "first"),
                Update::unset("code"),
                Update::set("name", "second"),
                Update::set("code", "back"),
            ],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.name, "second");
    assert_eq!(updated.code.as_deref(), Some("back"));
    // A guard that does not match changes nothing.
    assert!(
        items
            .update(
                "item0001",
                Filter::eq("status", "even"),
                &[Update::inc("amount", 1)]
            )
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(items.fetch("item0001").await.unwrap().amount, 150);
}

async fn leases_are_never_double_claimed(store: Store) {
    let items = store.collection::<Item>();
    let now = ts("2026-03-01T12:00:00Z");
    let batch: Vec<Item> = (0..30)
        .map(|n| {
            let mut i = item(n);
            // 20 due now, 10 due later.
            i.next_action_at = Some(if n < 20 {
                now.minus(chrono::TimeDelta::seconds(i64::from(n)))
            } else {
                now.plus(chrono::TimeDelta::hours(1))
            });
            i
        })
        .collect();
    items.insert_many(&batch).await.unwrap();
    let until = now.plus(chrono::TimeDelta::seconds(30));
    let due = Filter::lte("next_action_at", now);
    let mut handles = Vec::new();
    for worker in 0..4 {
        let items = items.clone();
        let due = due.clone();
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = items
                    .claim(
                        due.clone(),
                        "next_action_at",
                        &format!("w{worker}"),
                        now,
                        until,
                        3,
                    )
                    .await
                    .unwrap();
                if got.is_empty() {
                    return mine;
                }
                for g in &got {
                    assert_eq!(g.lease.as_ref().unwrap().owner, format!("w{worker}"));
                }
                mine.extend(ids(&got));
            }
        }));
    }
    let mut all = Vec::new();
    for handle in handles {
        all.extend(handle.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), 20, "claimed twice: {all:?}");
    assert_eq!(unique.len(), 20);
    // Nothing is free while the leases hold.
    let none = items
        .claim(due.clone(), "next_action_at", "late", now, until, 10)
        .await
        .unwrap();
    assert!(none.is_empty());
    // The oldest due comes first once leases expire.
    let later = until.plus(chrono::TimeDelta::seconds(1));
    let again = items
        .claim(due.clone(), "next_action_at", "late", later, later, 2)
        .await
        .unwrap();
    assert_eq!(ids(&again), vec!["item0019", "item0018"]);
    // Release gives it back only for the holder.
    assert!(!items.release("item0001", "someone-else").await.unwrap());
    let holder = items.fetch("item0001").await.unwrap().lease.unwrap().owner;
    assert!(items.release("item0001", &holder).await.unwrap());
    let freed = items.fetch("item0001").await.unwrap();
    assert_eq!(freed.lease, None);
    let reclaimed = items
        .claim(
            Filter::eq("id", "item0001"),
            "next_action_at",
            "w9",
            now,
            until,
            5,
        )
        .await
        .unwrap();
    assert_eq!(ids(&reclaimed), vec!["item0001"]);
}

/// Each row's key, count and first sum.
fn counted(rows: Vec<GroupRow>) -> Vec<(Value, u64, i64)> {
    rows.into_iter()
        .map(|r| (r.key, r.count, r.sums[0]))
        .collect()
}

/// [`counted`] for rows in no particular order (compound keys): sorted by the key's text.
fn counted_in_any_order(rows: Vec<GroupRow>) -> Vec<(String, u64, i64)> {
    let mut rows: Vec<_> = counted(rows)
        .into_iter()
        .map(|(key, count, sum)| (key.to_string(), count, sum))
        .collect();
    rows.sort();
    rows
}

async fn grouped_count_and_sum(store: Store) {
    let items = store.collection::<Item>();
    let mut batch = Vec::new();
    // 2026-01-01T15:30Z is 23:30 in UTC+8, 16:30Z is 00:30 next day in UTC+8.
    for (n, at, status, amount) in [
        (1, "2026-01-01T01:00:00Z", "paid", 100),
        (2, "2026-01-01T15:30:00Z", "paid", 200),
        (3, "2026-01-01T16:30:00Z", "paid", 300),
        (4, "2026-01-02T10:00:00Z", "refunded", 400),
        (5, "2026-01-02T23:59:59.999Z", "paid", 500),
    ] {
        let mut i = item(n);
        i.created_at = ts(at);
        i.status = status.into();
        i.amount = amount;
        i.stock = 1;
        batch.push(i);
    }
    items.insert_many(&batch).await.unwrap();
    let by_status = items
        .group(
            &Filter::All,
            GroupKey::Field("status".into()),
            &["amount", "stock"],
        )
        .await
        .unwrap();
    assert_eq!(by_status.len(), 2);
    assert_eq!(by_status[0].key, json!("paid"));
    assert_eq!(by_status[0].count, 4);
    assert_eq!(by_status[0].sums, vec![1100, 4]);
    assert_eq!(by_status[1].key, json!("refunded"));
    assert_eq!(by_status[1].sums, vec![400, 1]);

    let utc = items
        .group(
            &Filter::eq("status", "paid"),
            GroupKey::Day {
                field: "created_at".into(),
                utc_offset_minutes: 0,
            },
            &["amount"],
        )
        .await
        .unwrap();
    let utc = counted(utc);
    assert_eq!(
        utc,
        vec![(json!("2026-01-01"), 3, 600), (json!("2026-01-02"), 1, 500)]
    );
    let china = items
        .group(
            &Filter::All,
            GroupKey::Day {
                field: "created_at".into(),
                utc_offset_minutes: 480,
            },
            &["amount"],
        )
        .await
        .unwrap();
    let china = counted(china);
    assert_eq!(
        china,
        vec![
            (json!("2026-01-01"), 2, 300),
            (json!("2026-01-02"), 2, 700),
            (json!("2026-01-03"), 1, 500)
        ]
    );
    let west = items
        .group(
            &Filter::All,
            GroupKey::Day {
                field: "created_at".into(),
                utc_offset_minutes: -300,
            },
            &[],
        )
        .await
        .unwrap();
    assert_eq!(west[0].key, json!("2025-12-31"));
    assert_eq!(west[0].count, 1);

    let by_status_and_stock = items
        .group(
            &Filter::All,
            GroupKey::Fields(vec!["status".into(), "stock".into(), "nothing".into()]),
            &["amount"],
        )
        .await
        .unwrap();
    let by_status_and_stock = counted_in_any_order(by_status_and_stock);
    assert_eq!(
        by_status_and_stock,
        vec![
            (json!(["paid", 1, null]).to_string(), 4, 1100),
            (json!(["refunded", 1, null]).to_string(), 1, 400),
        ]
    );

    let by_hour_and_status = items
        .group(
            &Filter::All,
            GroupKey::Fields(vec![
                KeyPart::Prefix {
                    field: "created_at".into(),
                    chars: 13,
                },
                "status".into(),
            ]),
            &["amount"],
        )
        .await
        .unwrap();
    let by_hour_and_status = counted_in_any_order(by_hour_and_status);
    assert_eq!(by_hour_and_status.len(), 5);
    assert_eq!(
        by_hour_and_status[4],
        (json!(["2026-01-02T23", "paid"]).to_string(), 1, 500)
    );

    let by_hour = items
        .group(
            &Filter::gte("created_at", ts("2026-01-01T15:00:00Z")),
            GroupKey::Prefix {
                field: "created_at".into(),
                chars: 13,
            },
            &["amount"],
        )
        .await
        .unwrap();
    let by_hour = counted(by_hour);
    assert_eq!(
        by_hour,
        vec![
            (json!("2026-01-01T15"), 1, 200),
            (json!("2026-01-01T16"), 1, 300),
            (json!("2026-01-02T10"), 1, 400),
            (json!("2026-01-02T23"), 1, 500),
        ]
    );
}

async fn indexes_set_aside_for_a_bulk_load_come_back_whole(store: Store) {
    let items = store.collection::<Item>();
    items
        .ensure_index(Index::unique("code", &["code"]))
        .await
        .unwrap();
    items
        .ensure_index(Index::new("status_amount", &["status", "amount"]))
        .await
        .unwrap();
    seed(&store, 3).await;
    let suspended = store.suspend_indexes(Item::COLLECTION).await.unwrap();
    let loaded: Vec<Item> = (3..400).map(item).collect();
    items.insert_many(&loaded).await.unwrap();
    store.restore_indexes(suspended).await.unwrap();
    // Everything is there and found through the indexes again; the unique one still holds.
    assert_eq!(items.count(&Filter::All).await.unwrap(), 400);
    let odd = items
        .find(&FindQuery::new(Filter::eq("status", "odd")).sort("amount", SortOrder::Desc))
        .await
        .unwrap();
    assert_eq!(odd.len(), 200);
    let mut a = item(1000);
    a.code = Some("ABC".into());
    items.insert(&a).await.unwrap();
    let mut b = item(1001);
    b.code = Some("ABC".into());
    assert!(items.insert(&b).await.unwrap_err().is_duplicate());
}

async fn ping_answers(store: Store) {
    store.ping().await.unwrap();
    assert!(["sqlite", "mongodb"].contains(&store.kind()));
}

macro_rules! contract_suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (store, _dir) = super::sqlite_store();
                    super::$name(store).await;
                }
            )*
        }

        mod mongodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::with_mongo_store(stringify!($name), super::$name).await;
                }
            )*
        }
    };
}

/// Runs `test` against a fresh database on `TOPUP_TEST_MONGODB_URI` and drops it afterwards,
/// even when the test fails; without the variable the test is skipped.
async fn with_mongo_store<F, Fut>(name: &str, test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let Ok(uri) = std::env::var("TOPUP_TEST_MONGODB_URI") else {
        eprintln!("skipping mongodb::{name}: TOPUP_TEST_MONGODB_URI is not set");
        return;
    };
    let server = topup_store::MongoBackend::connect(&uri).await.unwrap();
    let backend = server.with_database(&format!(
        "topup_test_{}",
        ulid::Ulid::new().to_string().to_lowercase()
    ));
    let store = Store::new(Arc::new(backend.clone()));
    let outcome = AssertUnwindSafe(test(store)).catch_unwind().await;
    backend.drop_database().await.unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

fn sqlite_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let backend = topup_store::SqliteBackend::open(&topup_store::SqliteOptions::new(
        dir.path().join("store.db"),
    ))
    .unwrap();
    (Store::new(Arc::new(backend)), dir)
}

contract_suite!(
    insert_get_and_duplicate_id,
    unique_index_violation,
    filters,
    sort_and_paging_are_stable,
    counting_stops_at_its_limit,
    count_delete_and_upsert,
    compare_and_set,
    compare_and_set_under_concurrency,
    guarded_increment_never_below_zero,
    update_if_says_whether_the_guard_matched,
    update_set_unset_inc,
    leases_are_never_double_claimed,
    grouped_count_and_sum,
    ping_answers,
    indexes_set_aside_for_a_bulk_load_come_back_whole,
);

#[tokio::test]
async fn sqlite_batch_insert_is_all_or_nothing() {
    let (store, _dir) = sqlite_store();
    let items = store.collection::<Item>();
    items.insert(&item(1)).await.unwrap();
    assert!(items.insert_many(&[item(2), item(1)]).await.is_err());
    assert_eq!(items.get("item0002").await.unwrap(), None);
}

#[tokio::test]
async fn sqlite_data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    {
        let store = Store::new(Arc::new(
            topup_store::SqliteBackend::open(&topup_store::SqliteOptions::new(&path)).unwrap(),
        ));
        store.collection::<Item>().insert(&item(1)).await.unwrap();
    }
    let store = Store::new(Arc::new(
        topup_store::SqliteBackend::open(&topup_store::SqliteOptions::new(&path)).unwrap(),
    ));
    assert!(
        store
            .collection::<Item>()
            .get("item0001")
            .await
            .unwrap()
            .is_some()
    );
}
