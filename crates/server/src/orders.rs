//! The order worker loop; the adapters orders need live in `topup_api::order_ports`.

use std::sync::Arc;
use std::time::Duration;

use topup_orders::OrderEngine;

/// Drives due orders, up to `orders.dispatch_concurrency` at once, looking for new ones every
/// `period`, until the process stops.
pub fn spawn_worker(engine: Arc<OrderEngine>, period: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(engine.run(period))
}
