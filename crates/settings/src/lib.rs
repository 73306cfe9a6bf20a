//! Settings (`docs/settings.md`): the keys staff may change from the console while the
//! product serves, grouped as the console shows them. Each key has a kind that validates its
//! value; secrets are write-only (answered as `{"set": true}`) and sealed at rest with the
//! at-rest key. A key the configuration file or the environment sets is fixed: the console
//! shows it and who fixed it, and refuses to change it.
//!
//! Every process applies the effective settings through [`SettingsListener`] at start, after
//! its own writes, and whenever its periodic check finds a group's version moved.

mod error;
mod registry;
mod service;

pub use error::SettingsError;
pub use registry::{
    CONFIGURED_GROUPS, GROUPS, GroupDef, SETTINGS, SettingDef, SettingKind, provider_credentials,
};
pub use service::{
    Effective, FixedBy, GroupView, SettingView, SettingsListener, SettingsService, sent_values,
};
