use std::sync::Arc;

use topup_catalog::Catalog;
use topup_core::{SharedClock, Timestamp};
use topup_store::Store;

use crate::Metrics;

/// What every handler can reach. Cheap to clone (all `Arc`s inside).
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: SharedClock,
    pub metrics: Arc<Metrics>,
    /// What end users can buy; the app routes read its in-memory snapshot.
    pub catalog: Catalog,
    pub started_at: Timestamp,
    /// Largest JSON body accepted, in bytes.
    pub max_json_bytes: usize,
}

impl AppState {
    pub fn new(store: Store, clock: SharedClock) -> Self {
        let started_at = clock.now();
        AppState {
            catalog: Catalog::empty(store.clone(), clock.clone()),
            store,
            clock,
            metrics: Arc::new(Metrics::new()),
            started_at,
            max_json_bytes: 64 * 1024,
        }
    }

    /// The catalog the composition root built (the default one sells nothing).
    pub fn with_catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = catalog;
        self
    }
}
