//! The catalog handle: owns the in-memory snapshot, the detection cache and the store
//! collections; sync, detection and the admin functions are methods on it.

use std::sync::{Arc, RwLock};

use chrono::TimeDelta;
use serde_json::Value;
use topup_core::{SharedClock, Timestamp};
use topup_recharge::{BreakerPolicy, ProviderRouter};
use topup_store::{Collection, Document, Filter, FindQuery, Index, Lease, Store, Update};

use crate::config::Settings;
use crate::model::{
    CountryDoc, OperatorDoc, PlanDoc, PriceChange, PricingRules, Stamp, SyncLock, SyncReport,
};
use crate::snapshot::Snapshot;
use crate::{CatalogConfig, CatalogError};

/// How long one sync may hold the cross-process lock before another may take over.
const SYNC_LEASE: TimeDelta = TimeDelta::minutes(30);

pub(crate) struct Collections {
    pub countries: Collection<CountryDoc>,
    pub operators: Collection<OperatorDoc>,
    pub plans: Collection<PlanDoc>,
    pub pricing: Collection<PricingRules>,
    pub price_changes: Collection<PriceChange>,
    pub reports: Collection<SyncReport>,
    pub stamps: Collection<Stamp>,
    pub locks: Collection<SyncLock>,
}

pub(crate) struct Inner {
    pub store: Store,
    pub db: Collections,
    pub router: Arc<ProviderRouter>,
    pub clock: SharedClock,
    pub settings: Settings,
    snapshot: RwLock<Arc<Snapshot>>,
    rebuild: tokio::sync::Mutex<()>,
    pub detect: crate::detect::DetectState,
    /// Names this process as a sync-lock holder.
    pub instance: String,
}

/// Countries, operators and plans: what end users can buy. Cheap to clone.
#[derive(Clone)]
pub struct Catalog {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("stamp", &self.snapshot().stamp())
            .finish_non_exhaustive()
    }
}

impl Catalog {
    /// A catalog over `store`, syncing from the providers of `router`. Call
    /// [`Catalog::start`] before serving.
    pub fn new(
        store: Store,
        router: Arc<ProviderRouter>,
        clock: SharedClock,
        config: &CatalogConfig,
    ) -> Result<Catalog, CatalogError> {
        Ok(Catalog::with_settings(
            store,
            router,
            clock,
            config.settings()?,
        ))
    }

    fn with_settings(
        store: Store,
        router: Arc<ProviderRouter>,
        clock: SharedClock,
        settings: Settings,
    ) -> Catalog {
        let db = Collections {
            countries: store.collection(),
            operators: store.collection(),
            plans: store.collection(),
            pricing: store.collection(),
            price_changes: store.collection(),
            reports: store.collection(),
            stamps: store.collection(),
            locks: store.collection(),
        };
        let detect = crate::detect::DetectState::new(&settings, clock.clone());
        Catalog {
            inner: Arc::new(Inner {
                detect,
                store,
                db,
                router,
                clock,
                settings,
                snapshot: RwLock::new(Arc::new(Snapshot::empty())),
                rebuild: tokio::sync::Mutex::new(()),
                instance: ulid::Ulid::new().to_string(),
            }),
        }
    }

    /// A catalog with no providers and default settings (nothing on sale until started and
    /// filled); what an app state holds before the composition root gives it the real one.
    pub fn empty(store: Store, clock: SharedClock) -> Catalog {
        let router = Arc::new(ProviderRouter::new(
            Vec::new(),
            BreakerPolicy::default(),
            clock.clone(),
        ));
        Catalog::with_settings(store, router, clock, Settings::fallback())
    }

    pub(crate) fn db(&self) -> &Collections {
        &self.inner.db
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    pub fn router(&self) -> &Arc<ProviderRouter> {
        &self.inner.router
    }

    /// Creates indexes, seeds the pricing rules from configuration on first start, and
    /// loads the snapshot.
    pub async fn start(&self) -> Result<(), CatalogError> {
        let db = self.db();
        db.countries
            .ensure_index(Index::unique("catalog_countries_code", &["code"]))
            .await?;
        db.operators
            .ensure_index(Index::unique(
                "catalog_operators_provider_ref",
                &["provider", "provider_operator_id"],
            ))
            .await?;
        db.operators
            .ensure_index(Index::new("catalog_operators_country", &["country"]))
            .await?;
        db.plans
            .ensure_index(Index::unique(
                "catalog_plans_provider_ref",
                &["provider", "provider_operator_id", "sku"],
            ))
            .await?;
        db.plans
            .ensure_index(Index::new("catalog_plans_operator", &["operator_id"]))
            .await?;
        db.plans
            .ensure_index(Index::new(
                "catalog_plans_country",
                &["country", "plan_type"],
            ))
            .await?;
        db.price_changes
            .ensure_index(Index::new("catalog_price_changes_plan", &["plan_id", "at"]))
            .await?;
        db.reports
            .ensure_index(Index::new("catalog_sync_reports_started", &["started_at"]))
            .await?;
        self.pricing_rules().await?;
        self.reload().await
    }

    /// The current view of everything on sale. Never touches the store.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner
            .snapshot
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    async fn stamp(&self) -> Result<i64, CatalogError> {
        Ok(self
            .db()
            .stamps
            .get(Stamp::ID)
            .await?
            .map(|s| s.version)
            .unwrap_or(0))
    }

    /// Rebuilds the snapshot from the store.
    pub async fn reload(&self) -> Result<(), CatalogError> {
        let _one_at_a_time = self.inner.rebuild.lock().await;
        self.rebuild_locked().await
    }

    async fn rebuild_locked(&self) -> Result<(), CatalogError> {
        // The stamp is read before the data: a change landing meanwhile leaves a newer stamp
        // behind, so the next check rebuilds again rather than missing it.
        let stamp = self.stamp().await?;
        let db = self.db();
        let countries = db.countries.find(&FindQuery::new(Filter::All)).await?;
        let operators = db.operators.find(&FindQuery::new(Filter::All)).await?;
        let plans = db.plans.find(&FindQuery::new(Filter::All)).await?;
        let snapshot = Arc::new(Snapshot::build(stamp, &countries, &operators, &plans));
        tracing::debug!(
            stamp,
            plans = snapshot.plan_count(),
            "catalog snapshot rebuilt"
        );
        *self
            .inner
            .snapshot
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = snapshot;
        Ok(())
    }

    /// Rebuilds the snapshot if another process (or this one) changed the catalog since it
    /// was built; answers whether it did.
    pub async fn refresh_if_stale(&self) -> Result<bool, CatalogError> {
        let _one_at_a_time = self.inner.rebuild.lock().await;
        if self.stamp().await? == self.snapshot().stamp() {
            return Ok(false);
        }
        self.rebuild_locked().await?;
        Ok(true)
    }

    /// Records that the catalog changed (for every process) and rebuilds this one's view.
    pub(crate) async fn changed(&self) -> Result<(), CatalogError> {
        let stamps = &self.db().stamps;
        let now = self.now();
        let bumped = stamps
            .update(Stamp::ID, Filter::All, &[Update::set("changed_at", now)])
            .await?;
        if bumped.is_none() {
            let first = Stamp {
                id: Stamp::ID.to_owned(),
                version: 1,
                changed_at: now,
            };
            match stamps.insert(&first).await {
                Ok(()) => {}
                Err(e) if e.is_duplicate() => {
                    stamps
                        .update(Stamp::ID, Filter::All, &[Update::set("changed_at", now)])
                        .await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.reload().await
    }

    /// Takes the cross-process sync lock; `false` when another sync holds it.
    pub(crate) async fn lock_sync(&self) -> Result<bool, CatalogError> {
        let locks = &self.db().locks;
        let now = self.now();
        let lease = serde_json::to_value(Lease {
            owner: self.inner.instance.clone(),
            until: now.plus(SYNC_LEASE),
        })
        .map_err(|e| CatalogError::Invalid(e.to_string()))?;
        let free = Filter::eq("lease.until", Value::Null).or(Filter::lte("lease.until", now));
        for _ in 0..2 {
            if locks
                .update(
                    SyncLock::ID,
                    free.clone(),
                    &[Update::set("lease", lease.clone())],
                )
                .await?
                .is_some()
            {
                return Ok(true);
            }
            if locks.get(SyncLock::ID).await?.is_some() {
                return Ok(false);
            }
            let blank = SyncLock {
                id: SyncLock::ID.to_owned(),
                version: 0,
                lease: None,
            };
            if let Err(e) = locks.insert(&blank).await
                && !e.is_duplicate()
            {
                return Err(e.into());
            }
        }
        Ok(false)
    }

    pub(crate) async fn unlock_sync(&self) {
        let released = self
            .db()
            .locks
            .update(
                SyncLock::ID,
                Filter::eq("lease.owner", self.inner.instance.clone()),
                &[Update::unset("lease")],
            )
            .await;
        if let Err(error) = released {
            tracing::warn!(%error, "catalog sync lock not released; it expires by itself");
        }
    }

    /// Runs the background work of one process until aborted: checks the version stamp every
    /// `refresh_interval_seconds`; every minute, the sync schedule and the detection limiter's
    /// idle addresses. Call inside a Tokio runtime; abort the handles on shutdown.
    pub fn spawn_background(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let refresher = {
            let catalog = self.clone();
            let period = self.inner.settings.refresh_interval;
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(period);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    if let Err(error) = catalog.refresh_if_stale().await {
                        tracing::warn!(%error, "catalog refresh failed");
                    }
                }
            })
        };
        let scheduler = {
            let catalog = self.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut trigger = "startup";
                loop {
                    tick.tick().await;
                    // An address idle for a minute has its whole allowance back: forget it.
                    catalog.inner.detect.forget_idle_addresses();
                    match catalog.sync_if_due(trigger).await {
                        Ok(Some(report)) => tracing::info!(
                            trigger,
                            ok = report.ok,
                            duration_ms = report.duration_ms,
                            plans = catalog.snapshot().plan_count(),
                            "catalog synced"
                        ),
                        Ok(None) => {}
                        Err(error) => tracing::warn!(%error, "catalog sync failed"),
                    }
                    trigger = "schedule";
                }
            })
        };
        vec![refresher, scheduler]
    }
}

/// Read-modify-write with compare-and-set, retried when someone else wrote in between.
/// `change` answers whether it changed anything (nothing is written otherwise). Returns the
/// documents before and after.
pub(crate) async fn modify<T, F>(
    collection: &Collection<T>,
    what: &'static str,
    id: &str,
    mut change: F,
) -> Result<Option<(T, T)>, CatalogError>
where
    T: Document + Clone,
    F: FnMut(&mut T) -> Result<bool, CatalogError>,
{
    for _ in 0..8 {
        let current = collection
            .get(id)
            .await?
            .ok_or_else(|| CatalogError::not_found(what, id))?;
        let mut next = current.clone();
        if !change(&mut next)? {
            return Ok(None);
        }
        match collection.replace(&next).await {
            Ok(stored) => return Ok(Some((current, stored))),
            Err(e) if e.is_conflict() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(CatalogError::Conflict(format!(
        "{what} {id} keeps changing; retry"
    )))
}
