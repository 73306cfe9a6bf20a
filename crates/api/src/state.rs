use std::sync::Arc;

use topup_auth::{AppUserService, AuthService};
use topup_catalog::Catalog;
use topup_core::{SharedClock, Timestamp};
use topup_payment::PaymentService;
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
    /// Staff identity: sessions, permissions, audit logs.
    pub auth: Arc<AuthService>,
    /// Orders: checkout, lifecycle, admin actions (absent in apps built without them).
    pub orders: Option<Arc<topup_orders::OrdersService>>,
    /// Mini-program users: silent login, profile, saved numbers, blacklist, visitors.
    pub app_users: Arc<AppUserService>,
    pub started_at: Timestamp,
    /// Largest JSON body accepted, in bytes.
    pub max_json_bytes: usize,
    /// Payments and refunds with WeChat Pay; the callbacks answer 503 without it.
    pub payments: Option<Arc<PaymentService>>,
}

impl AppState {
    pub fn new(
        store: Store,
        clock: SharedClock,
        auth: Arc<AuthService>,
        app_users: Arc<AppUserService>,
    ) -> Self {
        let started_at = clock.now();
        AppState {
            catalog: Catalog::empty(store.clone(), clock.clone()),
            store,
            clock,
            metrics: Arc::new(Metrics::new()),
            auth,
            orders: None,
            app_users,
            started_at,
            max_json_bytes: 64 * 1024,
            payments: None,
        }
    }

    /// The catalog the composition root built (the default one sells nothing).
    pub fn with_catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = catalog;
        self
    }

    pub fn with_payments(mut self, payments: Arc<PaymentService>) -> Self {
        self.payments = Some(payments);
        self
    }
}
