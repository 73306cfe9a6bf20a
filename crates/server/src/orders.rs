//! The order worker loop; the adapters orders need live in `topup_api::order_ports`.

use std::sync::Arc;
use std::time::Duration;

use topup_orders::OrderEngine;

/// Drives due orders every `period` until the process stops.
pub fn spawn_worker(engine: Arc<OrderEngine>, period: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            // Keep going while there is work, then wait for the next tick.
            loop {
                match engine.run_once().await {
                    Ok(0) => break,
                    Ok(_) => continue,
                    Err(error) => {
                        tracing::warn!(%error, "order worker pass failed");
                        break;
                    }
                }
            }
        }
    })
}
