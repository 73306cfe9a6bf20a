use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use topup_auth::{AtRestCipher, Sealed};
use topup_core::{FieldErrors, Secret, SharedClock, Timestamp};
use topup_store::{Collection, Document, Filter, FindQuery, Store, StoreError};
use utoipa::ToSchema;

use crate::SettingsError;
use crate::registry::{GROUPS, SETTINGS, SettingDef, SettingKind};

/// Who fixed a key so that staff cannot change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FixedBy {
    /// The configuration file (`--config`).
    ConfigFile,
    /// A `TOPUP_*` environment variable.
    Environment,
    /// The embedded mode, whose WeChat is the built-in sandbox.
    Embedded,
}

/// One group as stored: what staff set (secrets sealed), nothing else.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredGroup {
    id: String,
    version: i64,
    #[serde(default)]
    values: BTreeMap<String, Value>,
    #[serde(default)]
    sealed: BTreeMap<String, Sealed>,
    updated_at: Timestamp,
    updated_by: Option<String>,
}

impl Document for StoredGroup {
    const COLLECTION: &'static str = "settings";
}

/// The settings in force, by `group.key`.
#[derive(Default)]
pub struct Effective {
    values: BTreeMap<String, Value>,
    secrets: BTreeMap<String, Secret<String>>,
}

impl Effective {
    pub fn integer(&self, path: &str) -> Option<i64> {
        self.values.get(path).and_then(Value::as_i64)
    }

    /// An integer key as a count (a limit, a number of days); none when absent or negative.
    pub fn count(&self, path: &str) -> Option<u32> {
        self.integer(path).and_then(|n| u32::try_from(n).ok())
    }

    pub fn text(&self, path: &str) -> Option<&str> {
        self.values.get(path).and_then(Value::as_str)
    }

    pub fn secret(&self, path: &str) -> Option<&Secret<String>> {
        self.secrets.get(path)
    }
}

/// Told the settings in force at start and after every change (on every process).
pub trait SettingsListener: Send + Sync {
    fn apply(&self, settings: &Effective);

    /// Why these settings could not be put in force, by `group.key`; a save that would
    /// bring them is refused naming those keys. Nothing by default.
    fn check(&self, _settings: &Effective) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// A key as staff see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SettingView {
    pub key: String,
    pub kind: SettingKind,
    pub description: String,
    /// In force now. For a secret: `{"set": true|false}`, never the value.
    #[schema(schema_with = value_in_force)]
    pub value: Value,
    /// What the configuration (or the built-in default) says, in force when staff have set
    /// nothing. Secrets as `{"set": …}`.
    #[schema(schema_with = configured_value)]
    pub configured: Value,
    /// Whether staff have set it (rather than the configuration).
    pub overridden: bool,
    /// When set, staff cannot change it: the configuration file or the environment wins.
    pub fixed_by: Option<FixedBy>,
    /// The configuration key that sets it too.
    pub config_path: String,
}

/// A value as answered, by its key's `kind`: text, a whole number or a boolean; a secret as
/// `{"set": true|false}`.
fn answered_value(description: &str) -> utoipa::openapi::schema::OneOfBuilder {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(ObjectBuilder::new().schema_type(Type::Integer))
        .item(ObjectBuilder::new().schema_type(Type::Boolean))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property("set", ObjectBuilder::new().schema_type(Type::Boolean))
                .required("set"),
        )
        .description(Some(description))
}

fn value_in_force() -> utoipa::openapi::schema::OneOfBuilder {
    answered_value(
        "In force now, as the key's kind says (text, a whole number or a boolean). For a \
         secret: `{\"set\": true|false}`, never the value.",
    )
}

fn configured_value() -> utoipa::openapi::schema::OneOfBuilder {
    answered_value(
        "What the configuration (or the built-in default) says, in force when staff have set \
         nothing. Secrets as `{\"set\": …}`.",
    )
}

/// Values as sent by staff, key → value: text, a whole number or a boolean as the key's kind
/// wants, or `null` to return the key to its configured value.
pub fn sent_values() -> utoipa::openapi::schema::ObjectBuilder {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Type};
    let value = OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(ObjectBuilder::new().schema_type(Type::Integer))
        .item(ObjectBuilder::new().schema_type(Type::Boolean))
        .item(ObjectBuilder::new().schema_type(Type::Null));
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "Key → new value, as the key's kind says (text, a whole number or a boolean); `null` \
             returns the key to the configuration's value. Keys left out keep theirs. A secret is \
             sent as its text and never answered.",
        ))
        .additional_properties(Some(AdditionalProperties::RefOr(value.into())))
}

/// A group as staff see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupView {
    pub name: String,
    pub title: String,
    /// Send it back when saving: someone else's save in between is refused.
    pub version: i64,
    pub updated_at: Option<Timestamp>,
    pub updated_by: Option<String>,
    pub settings: Vec<SettingView>,
}

pub struct SettingsService {
    groups: Collection<StoredGroup>,
    /// [`SETTINGS`] and the keys the configuration adds.
    defs: Vec<SettingDef>,
    clock: SharedClock,
    cipher: AtRestCipher,
    configured: BTreeMap<String, Value>,
    configured_secrets: BTreeMap<String, Secret<String>>,
    fixed: BTreeMap<String, FixedBy>,
    listeners: Vec<Arc<dyn SettingsListener>>,
    /// The stored groups' versions the effective settings were built from.
    seen: Mutex<Option<Vec<(String, i64)>>>,
    effective: RwLock<Arc<Effective>>,
}

fn secret_view(set: bool) -> Value {
    json!({ "set": set })
}

fn sealing_context(path: &str) -> String {
    format!("setting:{path}")
}

impl SettingsService {
    pub fn new(store: &Store, clock: SharedClock, cipher: AtRestCipher) -> Self {
        SettingsService {
            groups: store.collection(),
            defs: SETTINGS.to_vec(),
            clock,
            cipher,
            configured: BTreeMap::new(),
            configured_secrets: BTreeMap::new(),
            fixed: BTreeMap::new(),
            listeners: Vec::new(),
            seen: Mutex::new(None),
            effective: RwLock::new(Arc::default()),
        }
    }

    /// What the configuration says for `group.key` (in force unless staff set it).
    pub fn configured(mut self, path: &str, value: Value) -> Self {
        self.configured.insert(path.to_owned(), value);
        self
    }

    /// What the configuration says for a secret `group.key`.
    pub fn configured_secret(mut self, path: &str, secret: Secret<String>) -> Self {
        self.configured_secrets.insert(path.to_owned(), secret);
        self
    }

    /// Adds a key the configuration defines (a provider's credentials).
    pub fn with_setting(mut self, def: SettingDef) -> Self {
        self.defs.push(def);
        self
    }

    /// The definition of `group.key`.
    fn find(&self, group: &str, key: &str) -> Option<&SettingDef> {
        self.defs.iter().find(|d| d.group == group && d.key == key)
    }

    /// Marks `group.key` as fixed: staff cannot change it.
    pub fn fixed(mut self, path: &str, by: FixedBy) -> Self {
        self.fixed.insert(path.to_owned(), by);
        self
    }

    pub fn with_listener(mut self, listener: Arc<dyn SettingsListener>) -> Self {
        self.listeners.push(listener);
        self
    }

    /// Reads the stored settings and applies them (call once before serving).
    pub async fn start(&self) -> Result<(), SettingsError> {
        self.refresh_if_stale().await.map(|_| ())
    }

    /// The settings in force in this process.
    pub fn effective(&self) -> Arc<Effective> {
        self.effective
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    async fn stored(&self) -> Result<BTreeMap<String, StoredGroup>, SettingsError> {
        let groups = self
            .groups
            .find(&FindQuery::new(Filter::All).limit(100))
            .await?;
        Ok(groups.into_iter().map(|g| (g.id.clone(), g)).collect())
    }

    /// Applies the stored settings if any group changed since they were last applied (in
    /// any process); answers whether it did.
    pub async fn refresh_if_stale(&self) -> Result<bool, SettingsError> {
        let stored = self.stored().await?;
        let versions: Vec<(String, i64)> =
            stored.values().map(|g| (g.id.clone(), g.version)).collect();
        {
            let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if seen.as_ref() == Some(&versions) {
                return Ok(false);
            }
        }
        let effective = Arc::new(self.build_effective(&stored));
        for listener in &self.listeners {
            listener.apply(&effective);
        }
        *self
            .effective
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = effective;
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(versions);
        tracing::debug!("settings applied");
        Ok(true)
    }

    fn build_effective(&self, stored: &BTreeMap<String, StoredGroup>) -> Effective {
        let mut effective = Effective {
            values: self.configured.clone(),
            secrets: self.configured_secrets.clone(),
        };
        for def in &self.defs {
            let path = def.path();
            if self.fixed.contains_key(&path) {
                continue;
            }
            let Some(group) = stored.get(def.group) else {
                continue;
            };
            if let Some(value) = group.values.get(def.key.as_ref()) {
                effective.values.insert(path, value.clone());
            } else if let Some(sealed) = group.sealed.get(def.key.as_ref()) {
                match self.cipher.open(sealed, &sealing_context(&path)) {
                    Ok(secret) => {
                        effective.secrets.insert(path, secret);
                    }
                    // The configured value stays in force; staff see the secret as set and
                    // can set it again.
                    Err(error) => {
                        tracing::error!(%error, setting = %path, "stored secret cannot be opened")
                    }
                }
            }
        }
        effective
    }

    /// Every group with its keys as staff see them.
    pub async fn view(&self) -> Result<Vec<GroupView>, SettingsError> {
        let stored = self.stored().await?;
        let effective = self.build_effective(&stored);
        Ok(GROUPS
            .iter()
            .map(|group| self.group_view(group.name, stored.get(group.name), &effective))
            .collect())
    }

    fn group_view(
        &self,
        name: &str,
        stored: Option<&StoredGroup>,
        effective: &Effective,
    ) -> GroupView {
        let title = GROUPS
            .iter()
            .find(|g| g.name == name)
            .map_or(name, |g| g.title);
        let settings = self
            .defs
            .iter()
            .filter(|d| d.group == name)
            .map(|def| self.setting_view(def, stored, effective))
            .collect();
        GroupView {
            name: name.to_owned(),
            title: title.to_owned(),
            version: stored.map_or(0, |g| g.version),
            updated_at: stored.map(|g| g.updated_at),
            updated_by: stored.and_then(|g| g.updated_by.clone()),
            settings,
        }
    }

    fn setting_view(
        &self,
        def: &SettingDef,
        stored: Option<&StoredGroup>,
        effective: &Effective,
    ) -> SettingView {
        let path = def.path();
        let fixed_by = self.fixed.get(&path).copied();
        let overridden = fixed_by.is_none()
            && stored.is_some_and(|g| {
                g.values.contains_key(def.key.as_ref()) || g.sealed.contains_key(def.key.as_ref())
            });
        let (value, configured) = match def.kind {
            SettingKind::Secret { .. } => (
                secret_view(effective.secret(&path).is_some() || overridden),
                secret_view(self.configured_secrets.contains_key(&path)),
            ),
            _ => (
                effective.values.get(&path).cloned().unwrap_or(Value::Null),
                self.configured.get(&path).cloned().unwrap_or(Value::Null),
            ),
        };
        SettingView {
            key: def.key.to_string(),
            kind: def.kind,
            description: def.description.to_string(),
            value,
            configured,
            overridden,
            fixed_by,
            config_path: def.config_path.to_string(),
        }
    }

    /// Sets (or, with `null`, returns to the configuration) some keys of a group, if nobody
    /// saved the group since `expected_version`; applies them in this process at once.
    /// Answers the group before and after, as staff see it (no secret values).
    pub async fn update(
        &self,
        group: &str,
        expected_version: i64,
        changes: BTreeMap<String, Value>,
        by: &str,
    ) -> Result<(GroupView, GroupView), SettingsError> {
        if !GROUPS.iter().any(|g| g.name == group) {
            return Err(SettingsError::NotFound(format!("settings group {group}")));
        }
        let stored = self.stored().await?;
        let before_effective = self.build_effective(&stored);
        let current = stored.get(group).cloned();
        let before = self.group_view(group, current.as_ref(), &before_effective);
        if before.version != expected_version {
            return Err(stale());
        }
        let mut next = current.unwrap_or_else(|| StoredGroup {
            id: group.to_owned(),
            version: 0,
            values: BTreeMap::new(),
            sealed: BTreeMap::new(),
            updated_at: self.clock.now(),
            updated_by: None,
        });
        let mut refused = FieldErrors::new();
        for (key, value) in changes {
            let field = format!("values.{key}");
            let Some(def) = self.find(group, &key).cloned() else {
                refused.add(&field, format!("no such setting in {group}"));
                continue;
            };
            let path = def.path();
            if let Some(by) = self.fixed.get(&path) {
                let reason = match by {
                    FixedBy::ConfigFile => "fixed by the configuration file; change it there",
                    FixedBy::Environment => "fixed by the environment; change it there",
                    FixedBy::Embedded => "fixed in the embedded mode (its WeChat is the sandbox)",
                };
                refused.add(&field, reason);
                continue;
            }
            next.values.remove(&key);
            next.sealed.remove(&key);
            if value.is_null() {
                continue;
            }
            let checked = match def.check(&field, &value) {
                Ok(checked) => checked,
                Err(SettingsError::Invalid(fields)) => {
                    refused.merge(fields);
                    continue;
                }
                Err(other) => return Err(other),
            };
            match def.kind {
                SettingKind::Secret { .. } => {
                    let secret = Secret::new(checked.as_str().unwrap_or_default().to_owned());
                    let sealed = self
                        .cipher
                        .seal(&secret, &sealing_context(&path))
                        .map_err(|_| SettingsError::Sealing(path.clone()))?;
                    next.sealed.insert(key, sealed);
                }
                _ => {
                    next.values.insert(key, checked);
                }
            }
        }
        refused.into_result().map_err(SettingsError::Invalid)?;
        // What would be in force, checked as a whole by those who read it (a merchant key
        // that does not parse, say), before anything is saved.
        let mut candidate = stored.clone();
        candidate.insert(group.to_owned(), next.clone());
        let candidate = self.build_effective(&candidate);
        let mut refused = FieldErrors::new();
        for listener in &self.listeners {
            // Only this group's keys: another group's trouble is not this save's to fix.
            for (path, reason) in listener.check(&candidate) {
                if let Some(key) = path.strip_prefix(&format!("{group}.")) {
                    refused.add(&format!("values.{key}"), reason);
                }
            }
        }
        refused.into_result().map_err(SettingsError::Invalid)?;
        next.updated_at = self.clock.now();
        next.updated_by = Some(by.to_owned());
        let saved = if expected_version == 0 {
            let first = StoredGroup { version: 1, ..next };
            match self.groups.insert(&first).await {
                Ok(()) => first,
                Err(e) if e.is_duplicate() => return Err(stale()),
                Err(e) => return Err(e.into()),
            }
        } else {
            match self.groups.replace(&next).await {
                Ok(saved) => saved,
                Err(StoreError::Conflict { .. }) => return Err(stale()),
                Err(e) => return Err(e.into()),
            }
        };
        self.refresh_if_stale().await?;
        let mut after_groups = stored;
        after_groups.insert(group.to_owned(), saved.clone());
        let after_effective = self.build_effective(&after_groups);
        let after = self.group_view(group, Some(&saved), &after_effective);
        Ok((before, after))
    }

    /// Checks for changes made by other processes every `period`, until aborted.
    pub async fn run(self: Arc<Self>, period: Duration) {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(error) = self.refresh_if_stale().await {
                tracing::warn!(%error, "settings refresh failed");
            }
        }
    }
}

fn stale() -> SettingsError {
    SettingsError::Conflict("the settings were saved by someone else meanwhile; reload them".into())
}
