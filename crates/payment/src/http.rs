//! An HTTP client per thread. reqwest's pooled connections are driven by the runtime that
//! opened them, and the server runs one runtime per worker thread: a request sent over a
//! connection another worker opened wakes that worker twice (to write, then to read). Each
//! thread keeps its own client, so its requests stay on its own runtime.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::PaymentError;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static CLIENTS: RefCell<HashMap<u64, reqwest::Client>> = RefCell::new(HashMap::new());
}

/// How every per-thread client is built.
#[derive(Debug, Clone)]
pub(crate) struct ClientSettings {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub user_agent: String,
}

pub(crate) struct PerThreadClient {
    id: u64,
    settings: ClientSettings,
}

impl PerThreadClient {
    /// Checks the settings by building one client (the calling thread's) at once.
    pub fn new(settings: ClientSettings) -> Result<Self, PaymentError> {
        let client = PerThreadClient {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            settings,
        };
        client.get()?;
        Ok(client)
    }

    /// This thread's client (cheap: a reference-counted handle).
    pub fn get(&self) -> Result<reqwest::Client, PaymentError> {
        CLIENTS.with(|clients| {
            if let Some(client) = clients.borrow().get(&self.id) {
                return Ok(client.clone());
            }
            let client = reqwest::Client::builder()
                .connect_timeout(self.settings.connect_timeout)
                .timeout(self.settings.request_timeout)
                .user_agent(self.settings.user_agent.clone())
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| PaymentError::Config(format!("HTTP client: {e}")))?;
            clients.borrow_mut().insert(self.id, client.clone());
            Ok(client)
        })
    }
}

impl Drop for PerThreadClient {
    fn drop(&mut self) {
        // Other threads' copies go when those threads end; this one's goes now.
        let _ = CLIENTS.try_with(|clients| clients.borrow_mut().remove(&self.id));
    }
}
