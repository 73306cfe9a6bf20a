//! Login, operation and access logs: queries, recording and retention.

use chrono::TimeDelta;
use serde_json::Value;
use topup_core::{Page, PageRequest, Timestamp};
use topup_store::{Filter, SortOrder};

use crate::AuthError;
use crate::listing::{contains, equals, time_range};
use crate::model::{AccessLog, LoginLog, OperationLog};
use crate::service::{AuthService, minutes};
use crate::views::{AccessLogQuery, LoginLogQuery, OperationLogQuery};

/// How many documents a purge removed, per collection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub login_logs: u64,
    pub operation_logs: u64,
    pub access_logs: u64,
    pub sessions: u64,
    pub refresh_tokens: u64,
    pub lockouts: u64,
}

fn enum_value(value: &impl serde::Serialize) -> Option<Value> {
    serde_json::to_value(value).ok()
}

impl AuthService {
    pub async fn list_login_logs(
        &self,
        query: &LoginLogQuery,
        page: PageRequest,
    ) -> Result<Page<LoginLog>, AuthError> {
        let page = page
            .validated()
            .map_err(|e| AuthError::field("page", e.to_string()))?;
        let mut filter = contains(Filter::All, "username", query.username.as_deref());
        filter = equals(filter, "result", query.result.as_ref().and_then(enum_value));
        filter = equals(filter, "ip", query.ip.clone().map(Value::from));
        filter = time_range(filter, "at", query.from, query.to);
        Ok(self
            .login_logs
            .page(filter, &[("at", SortOrder::Desc)], page)
            .await?)
    }

    pub async fn list_operation_logs(
        &self,
        query: &OperationLogQuery,
        page: PageRequest,
    ) -> Result<Page<OperationLog>, AuthError> {
        let page = page
            .validated()
            .map_err(|e| AuthError::field("page", e.to_string()))?;
        let mut filter = contains(Filter::All, "actor_username", query.actor.as_deref());
        filter = equals(
            filter,
            "permission",
            query.permission.clone().map(Value::from),
        );
        filter = equals(
            filter,
            "target_type",
            query.target_type.clone().map(Value::from),
        );
        filter = equals(
            filter,
            "target_id",
            query.target_id.clone().map(Value::from),
        );
        filter = equals(filter, "result", query.result.as_ref().and_then(enum_value));
        filter = time_range(filter, "at", query.from, query.to);
        Ok(self
            .operation_logs
            .page(filter, &[("at", SortOrder::Desc)], page)
            .await?)
    }

    pub async fn list_access_logs(
        &self,
        query: &AccessLogQuery,
        page: PageRequest,
    ) -> Result<Page<AccessLog>, AuthError> {
        let page = page
            .validated()
            .map_err(|e| AuthError::field("page", e.to_string()))?;
        let mut filter = contains(Filter::All, "actor_username", query.actor.as_deref());
        filter = contains(filter, "path", query.path.as_deref());
        filter = equals(
            filter,
            "method",
            query
                .method
                .as_deref()
                .map(|m| Value::from(m.to_ascii_uppercase())),
        );
        filter = equals(filter, "status", query.status.map(Value::from));
        filter = time_range(filter, "at", query.from, query.to);
        Ok(self
            .access_logs
            .page(filter, &[("at", SortOrder::Desc)], page)
            .await?)
    }

    /// Stores one operation-log entry (the API layer fills in timing and outcome).
    pub async fn record_operation(&self, entry: &OperationLog) -> Result<(), AuthError> {
        Ok(self.operation_logs.insert(entry).await?)
    }

    /// Deletes log entries past retention, ended sessions past retention, used-up refresh
    /// tokens and stale lockout counters. The server runs it periodically.
    pub async fn purge(&self) -> Result<PurgeReport, AuthError> {
        let now = self.clock.now();
        let cutoff: Timestamp =
            now.minus(TimeDelta::days(i64::from(self.config.log_retention_days)));
        let lockout_horizon = now
            .minus(minutes(self.config.lockout_window_minutes))
            .minus(minutes(self.config.lockout_minutes));
        let report = PurgeReport {
            login_logs: self
                .login_logs
                .delete_many(&Filter::lt("at", cutoff))
                .await?,
            operation_logs: self
                .operation_logs
                .delete_many(&Filter::lt("at", cutoff))
                .await?,
            access_logs: self
                .access_logs
                .delete_many(&Filter::lt("at", cutoff))
                .await?,
            sessions: self
                .sessions
                .delete_many(&Filter::lt("expires_at", cutoff).or(Filter::lt("revoked_at", cutoff)))
                .await?,
            refresh_tokens: self
                .refresh_tokens
                .delete_many(&Filter::lt("expires_at", now))
                .await?,
            lockouts: self
                .lockouts
                .delete_many(&Filter::lt("updated_at", lockout_horizon))
                .await?,
        };
        self.forget_idle_addresses();
        Ok(report)
    }
}
