//! Test support: sandboxes served over real HTTP on 127.0.0.1, and providers pointed at them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{App, HttpServer, web};
use topup_core::{Currency, Decimal, ManualClock, Msisdn, Secret, SharedClock, Timestamp};
use topup_recharge::{ProviderAmount, ProviderConfig, RechargeProvider, TopupRequest};
use topup_sandbox::reloadly::{self, ReloadlySandbox, ReloadlySandboxConfig};

pub const AUDIENCE: &str = "https://topups-sandbox.reloadly.com";

pub fn manual_clock() -> ManualClock {
    ManualClock::new(Timestamp::parse("2026-01-01T00:00:00Z").unwrap())
}

pub fn shared(clock: &ManualClock) -> SharedClock {
    Arc::new(clock.clone())
}

/// A sandbox on `clock`, with a short hang so digit-5 tests stay quick.
pub fn sandbox_config(clock: &ManualClock) -> ReloadlySandboxConfig {
    ReloadlySandboxConfig {
        clock: shared(clock),
        hang: Duration::from_secs(6),
        ..ReloadlySandboxConfig::default()
    }
}

/// Serves each sandbox under its prefix; returns `http://127.0.0.1:port`.
pub async fn serve(mounts: Vec<(&'static str, ReloadlySandbox)>) -> String {
    let server = HttpServer::new(move || {
        let mut app = App::new();
        for (prefix, sandbox) in &mounts {
            app = app.service(web::scope(prefix).configure(reloadly::configure(sandbox.clone())));
        }
        app
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    tokio::spawn(server.run());
    format!("http://{addr}")
}

/// A provider configuration for the sandbox mounted at `base{prefix}`. The read timeout is
/// short so a withheld answer turns into a timeout quickly.
pub fn provider_config(id: &str, base: &str, prefix: &str) -> ProviderConfig {
    let mut config = ProviderConfig::reloadly(
        id,
        Secret::new("sandbox-client-id".to_owned()),
        Secret::new("sandbox-client-secret".to_owned()),
    );
    config.auth_url = format!("{base}{prefix}/auth");
    config.api_url = format!("{base}{prefix}/topups");
    config.audience = Some(AUDIENCE.to_owned());
    config.connect_timeout_ms = 2_000;
    config.read_timeout_ms = 2_000;
    config.max_rate_limit_wait_ms = 0;
    config
}

pub fn provider(config: &ProviderConfig, clock: &ManualClock) -> Arc<dyn RechargeProvider> {
    config.build(shared(clock)).unwrap()
}

pub fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

pub fn usd(text: &str) -> ProviderAmount {
    ProviderAmount::new(dec(text), Currency::USD)
}

pub fn php(text: &str) -> ProviderAmount {
    ProviderAmount::new(dec(text), Currency::parse("PHP").unwrap())
}

/// A top-up of 5 USD on Globe Philippines (RANGE).
pub fn globe_topup(key: &str, phone: &str) -> TopupRequest {
    TopupRequest {
        custom_identifier: key.to_owned(),
        operator_id: "173".to_owned(),
        recipient: Msisdn::parse(phone, None).unwrap(),
        amount: usd("5"),
        use_local_amount: false,
        sender_phone: None,
    }
}

/// Polls `condition` until it holds or a few seconds pass.
pub async fn eventually(mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "condition not met in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
