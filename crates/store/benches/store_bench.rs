//! Store benchmark: `cargo bench -p topup-store` (set `TOPUP_BENCH_DOCS` to change the size,
//! `TOPUP_BENCH_MONGODB_URI` to run it against MongoDB instead of SQLite).
//!
//! Inserts N small order-like documents (batched and one by one), then measures an indexed
//! page query by (status, created_at) and a grouped sum by day, printing rates and p50/p95.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use topup_core::Timestamp;
use topup_store::{
    Document, Filter, FindQuery, GroupKey, Index, MongoBackend, SortOrder, SqliteBackend,
    SqliteOptions, Store,
};

#[derive(Serialize, Deserialize)]
struct BenchOrder {
    id: String,
    status: String,
    created_at: Timestamp,
    amount: i64,
    version: i64,
}

impl Document for BenchOrder {
    const COLLECTION: &'static str = "bench_orders";
}

#[derive(Serialize, Deserialize)]
struct EmptyKind {
    id: String,
    kind: String,
    number: i64,
}

impl Document for EmptyKind {
    const COLLECTION: &'static str = "bench_empty";
}

const STATUSES: [&str; 4] = ["awaiting_payment", "recharging", "succeeded", "refunded"];

fn order(i: u64, start: Timestamp) -> BenchOrder {
    // Deterministic spread: 30 days of orders, statuses round-robin, amounts 10.00–99.99.
    let seconds = (i.wrapping_mul(2_654_435_761) % (30 * 86_400)) as i64;
    BenchOrder {
        id: ulid::Ulid::from_parts(i, 0).to_string(),
        status: STATUSES[(i % 4) as usize].to_owned(),
        created_at: start.plus(chrono::TimeDelta::seconds(seconds)),
        amount: 1000 + (i % 9000) as i64,
        version: 0,
    }
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let rank = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[rank]
}

#[tokio::main]
async fn main() {
    let total: u64 = std::env::var("TOPUP_BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    // On MongoDB the run gets a throwaway database of its own, dropped at the end.
    let mongo = match std::env::var("TOPUP_BENCH_MONGODB_URI") {
        Ok(uri) => {
            let server = MongoBackend::connect(&uri).await.unwrap();
            Some(server.with_database(&format!(
                "topup_bench_{}",
                ulid::Ulid::new().to_string().to_lowercase()
            )))
        }
        Err(_) => None,
    };
    let store = match &mongo {
        Some(backend) => Store::new(Arc::new(backend.clone())),
        None => Store::new(Arc::new(
            SqliteBackend::open(&SqliteOptions::new(dir.path().join("bench.db"))).unwrap(),
        )),
    };
    println!("backend: {}; documents: {total}", store.kind());
    let orders = store.collection::<BenchOrder>();
    orders
        .ensure_index(Index::new("status_created", &["status", "created_at"]))
        .await
        .unwrap();
    let start = Timestamp::parse("2026-10-01T00:00:00Z").unwrap();

    // The newest of nothing: a sorted find with limit 1 on a collection with no documents (a
    // checkout asks such questions), answered by a pooled reader thread, or inline when the
    // query is marked as a lookup.
    let empty = store.collection::<EmptyKind>();
    empty
        .ensure_index(Index::new("kind_number", &["kind", "number"]))
        .await
        .unwrap();
    for lookup in [false, true] {
        let mut samples = Vec::new();
        for _ in 0..5000 {
            let mut query = FindQuery::new(Filter::eq("kind", "recharge"))
                .sort("number", SortOrder::Desc)
                .limit(1);
            if lookup {
                query = query.lookup(1);
            }
            let began = Instant::now();
            assert!(empty.find(&query).await.unwrap().is_empty());
            samples.push(began.elapsed());
        }
        println!(
            "newest of an empty collection ({}): p50 {:.2?} p95 {:.2?}",
            if lookup {
                "inline lookup"
            } else {
                "pooled reader"
            },
            percentile(&mut samples, 0.50),
            percentile(&mut samples, 0.95)
        );
    }

    // One by one: each insert is its own transaction, as a request handler would do it.
    let single = 20_000.min(total);
    let began = Instant::now();
    for i in 0..single {
        orders.insert(&order(i, start)).await.unwrap();
    }
    let elapsed = began.elapsed();
    println!(
        "insert one by one: {single} docs in {:.2?} = {:.0} docs/s",
        elapsed,
        single as f64 / elapsed.as_secs_f64()
    );

    // Batched: 1,000 per call (one transaction on SQLite), the rest of the data set.
    let began = Instant::now();
    let mut i = single;
    while i < total {
        let end = (i + 1000).min(total);
        let batch: Vec<BenchOrder> = (i..end).map(|n| order(n, start)).collect();
        orders.insert_many(&batch).await.unwrap();
        i = end;
    }
    let elapsed = began.elapsed();
    let batched = total - single;
    println!(
        "insert batched (1000 per call): {batched} docs in {:.2?} = {:.0} docs/s",
        elapsed,
        batched as f64 / elapsed.as_secs_f64()
    );

    // Indexed page query: status = X order by created_at desc, pages 1..50.
    let mut samples = Vec::new();
    for n in 0..1000u64 {
        let status = STATUSES[(n % 4) as usize];
        let page = topup_core::PageRequest::new((n % 50) as u32 + 1, 20).unwrap();
        let began = Instant::now();
        let found = orders
            .find(
                &topup_store::FindQuery::new(Filter::eq("status", status))
                    .sort("created_at", SortOrder::Desc)
                    .skip(page.offset())
                    .limit(page.limit()),
            )
            .await
            .unwrap();
        samples.push(began.elapsed());
        assert_eq!(found.len(), 20);
    }
    println!(
        "page query (status, created_at desc, pages 1-50): p50 {:.2?} p95 {:.2?}",
        percentile(&mut samples, 0.50),
        percentile(&mut samples, 0.95)
    );

    // Same with the total count a list endpoint also needs.
    let mut samples = Vec::new();
    for n in 0..100u64 {
        let status = STATUSES[(n % 4) as usize];
        let began = Instant::now();
        orders.count(&Filter::eq("status", status)).await.unwrap();
        samples.push(began.elapsed());
    }
    println!(
        "count by status (~{} docs each): p50 {:.2?} p95 {:.2?}",
        total / 4,
        percentile(&mut samples, 0.50),
        percentile(&mut samples, 0.95)
    );

    // Grouped sum by day (UTC+8) over one status's last 7 days, then over everything.
    for (label, filter) in [
        (
            "last 7 days, succeeded",
            Filter::eq("status", "succeeded").and(Filter::gte(
                "created_at",
                start.plus(chrono::TimeDelta::days(23)),
            )),
        ),
        ("all documents", Filter::All),
    ] {
        let mut samples = Vec::new();
        let mut days = 0;
        for _ in 0..10 {
            let began = Instant::now();
            let rows = orders
                .group(
                    &filter,
                    GroupKey::Day {
                        field: "created_at".into(),
                        utc_offset_minutes: 480,
                    },
                    &["amount"],
                )
                .await
                .unwrap();
            samples.push(began.elapsed());
            days = rows.len();
        }
        println!(
            "grouped sum by day ({label}, {days} days): p50 {:.2?} p95 {:.2?}",
            percentile(&mut samples, 0.50),
            percentile(&mut samples, 0.95)
        );
    }
    if let Some(backend) = mongo {
        backend.drop_database().await.unwrap();
    }
}
