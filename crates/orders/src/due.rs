//! How the order worker hears of work made due in its own process.

use std::sync::Arc;

use tokio::sync::Notify;

/// Raised when this process makes an order due now (a payment arrived, staff retried it, a
/// refund was asked for): the order worker claims it at once instead of at its next look
/// (`orders.worker_period_seconds`). Orders made due by another process are found at that
/// look, as before; the signal only shortens the wait.
#[derive(Debug, Clone, Default)]
pub struct DueSignal(Arc<Notify>);

impl DueSignal {
    pub fn raise(&self) {
        // Stores one wake-up when the worker is busy, so a raise is never missed.
        self.0.notify_one();
    }

    pub(crate) async fn raised(&self) {
        self.0.notified().await;
    }
}
