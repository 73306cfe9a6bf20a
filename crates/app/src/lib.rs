//! The composition root as a library (`docs/architecture.md`): configuration, and
//! [`Application::build`], which opens the store, builds every domain service, connects them
//! through the adapters in [`adapters`], mounts the sandboxes in the embedded mode and the
//! front ends, and binds the listener. The `topup` binary and every end-to-end test use it.

pub mod adapters;
mod application;
pub mod backup;
pub mod config;
pub mod demo;
mod error;
mod integrations;
pub mod secrets;
mod settings;
mod web;
pub mod workers;

pub use application::{
    AppOptions, Application, RunningApp, open_store, rebuild_figures, reconcile, serve,
};
pub use config::{Config, LogFormat, Mode, Overrides};
pub use error::AppError;
pub use integrations::{
    SANDBOX_APP_ID, SANDBOX_APP_SECRET, SANDBOX_MCHID, SANDBOX_OFFICIAL_ACCOUNT_APP_ID,
    SANDBOX_OFFICIAL_ACCOUNT_SECRET, SandboxTuning, Sandboxes,
};
