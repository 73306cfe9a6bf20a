//! The background loops of a serving process. Each is a thin timer around a method the tests
//! call directly (`OrderEngine::run_once`, `PaymentService::run_sync`, `Catalog::sync`, …).

use std::sync::Arc;
use std::time::Duration;

use topup_api::AppState;
use topup_orders::OrderEngine;

use crate::adapters::OrderLockHolders;
use crate::application::PURGE_EVERY;
use crate::config::Config;
use crate::integrations::{SANDBOX_DELIVERY_PERIOD, Sandboxes};

/// How often the notification worker looks for retries due (new messages wake it at once).
const NOTIFY_EVERY: Duration = Duration::from_secs(5);

/// How often the staff alert worker looks for new alerts and retries due (a settings change
/// wakes it at once).
const ALERTS_EVERY: Duration = Duration::from_secs(10);

/// How often expired coupons are marked and orphaned coupon locks released.
const COUPON_SWEEP_EVERY: Duration = Duration::from_secs(60);

/// How often a process checks whether yesterday's reconciliation is due (one process runs it).
const RECONCILE_EVERY: Duration = Duration::from_secs(600);

/// How often the dashboard's order figures catch up with the orders.
pub const FIGURES_EVERY: Duration = Duration::from_secs(5);
/// How soon a settings change made on another process applies here (one read of a few small
/// documents per check).
pub const SETTINGS_EVERY: Duration = Duration::from_secs(2);

/// Starts every loop; the caller aborts them when the server stops.
pub fn spawn_all(
    config: &Config,
    state: &AppState,
    engine: Arc<OrderEngine>,
    sandboxes: Option<&Sandboxes>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    tasks.push(state.payments.spawn_sync_loop());
    // The first catalog sync may call the in-process sandbox over HTTP: the server already
    // accepts connections when this runs. It syncs at once when the catalog never synced.
    tasks.extend(state.catalog.spawn_background());
    if config.orders.run_worker {
        tasks.push(spawn_order_worker(
            engine,
            Duration::from_secs(config.orders.worker_period_seconds.max(1)),
        ));
    }
    tasks.push(tokio::spawn(Arc::clone(&state.marketing).run_sweeper(
        Arc::new(OrderLockHolders(Arc::clone(&state.orders))),
        COUPON_SWEEP_EVERY,
    )));
    tasks.push(tokio::spawn(
        Arc::clone(&state.reconciler).run_daily(RECONCILE_EVERY),
    ));
    tasks.push(tokio::spawn(Arc::clone(&state.stats).run(FIGURES_EVERY)));
    tasks.push(tokio::spawn(
        Arc::clone(&state.settings).run(SETTINGS_EVERY),
    ));
    if config.notify.run_worker {
        tasks.push(tokio::spawn(Arc::clone(&state.notify).run(NOTIFY_EVERY)));
        tasks.push(tokio::spawn(Arc::clone(&state.alerts).run(ALERTS_EVERY)));
    }
    let auth = Arc::clone(&state.auth);
    let app_users = Arc::clone(&state.app_users);
    tasks.push(tokio::spawn(async move {
        let mut every = tokio::time::interval(PURGE_EVERY);
        loop {
            every.tick().await;
            match auth.purge().await {
                Ok(report) => tracing::debug!(?report, "purged expired staff records"),
                Err(error) => tracing::warn!(%error, "purge of expired staff records failed"),
            }
            app_users.forget_idle_addresses();
        }
    }));
    if let Some(sandboxes) = sandboxes {
        tasks.push(
            sandboxes
                .wechat_pay
                .spawn_delivery_loop(SANDBOX_DELIVERY_PERIOD),
        );
    }
    tasks
}

/// Drives due orders, up to `orders.dispatch_concurrency` at once, looking for new ones every
/// `period`, until the process stops.
pub fn spawn_order_worker(
    engine: Arc<OrderEngine>,
    period: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(engine.run(period))
}
