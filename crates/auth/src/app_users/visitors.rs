//! Visitor records: one document per (user, calendar day) on which the user made a request,
//! so the dashboard can count new and active users per day with one grouped query.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use chrono::{NaiveDate, TimeDelta};
use topup_core::Timestamp;
use topup_store::{Document, Filter};

use super::AppUserService;
use super::model::{AppUser, AppUserDay, AppUserId};
use super::views::{VisitorDay, VisitorQuery};
use crate::AuthError;

/// A made-up mini-program user for demo data: who, and when they used the app.
#[derive(Debug, Clone)]
pub struct DemoUser {
    pub id: AppUserId,
    pub openid: String,
    pub nickname: String,
    pub visits: Vec<Timestamp>,
}

/// Longest range the daily counts answer, in days.
pub const MAX_VISITOR_DAYS: i64 = 366;

/// Users already recorded today by this process, so a request costs no write after the
/// first of the day. Forgotten when the day changes.
#[derive(Default)]
pub(crate) struct VisitorMemo(Mutex<(String, HashSet<AppUserId>)>);

impl VisitorMemo {
    /// True the first time `user` is seen on `day` by this process.
    fn first_today(&self, day: &str, user: AppUserId) -> bool {
        let mut memo = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if memo.0 != day {
            *memo = (day.to_owned(), HashSet::new());
        }
        memo.1.insert(user)
    }

    fn forget(&self, day: &str, user: AppUserId) {
        let mut memo = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if memo.0 == day {
            memo.1.remove(&user);
        }
    }
}

/// Visitor counts of days that are over, by day; bounded (the oldest are forgotten).
#[derive(Default)]
pub(crate) struct PastDays(Mutex<BTreeMap<String, (u64, u64)>>);

impl PastDays {
    /// Days remembered at most: more than a year of dashboards.
    const LIMIT: usize = 800;

    fn get(&self, day: &str) -> Option<(u64, u64)> {
        let days = self.0.lock().unwrap_or_else(|p| p.into_inner());
        days.get(day).copied()
    }

    fn keep(&self, day: &str, counts: (u64, u64)) {
        let mut days = self.0.lock().unwrap_or_else(|p| p.into_inner());
        days.insert(day.to_owned(), counts);
        while days.len() > Self::LIMIT {
            days.pop_first();
        }
    }
}

fn local_date(at: Timestamp, offset_minutes: i32) -> NaiveDate {
    at.plus(TimeDelta::minutes(i64::from(offset_minutes)))
        .as_datetime()
        .date_naive()
}

fn day_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn parse_day(field: &str, text: &str) -> Result<NaiveDate, AuthError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| AuthError::field(field, "must be a date, YYYY-MM-DD"))
}

impl AppUserService {
    /// The calendar day of `at` in the configured visitor-day offset, `YYYY-MM-DD`.
    pub fn visitor_day(&self, at: Timestamp) -> String {
        day_text(local_date(at, self.config.visitor_day_utc_offset_minutes))
    }

    /// Records that `user` was active at `now` (once per day and process; idempotent in the
    /// store). Failures are logged, never fail the request.
    pub(crate) async fn record_visit(&self, user: &AppUser, now: Timestamp) {
        let day = self.visitor_day(now);
        if !self.memo.first_today(&day, user.id) {
            return;
        }
        let record = AppUserDay {
            id: format!("{}:{day}", user.id),
            user_id: user.id,
            new_user: i64::from(self.visitor_day(user.created_at) == day),
            day: day.clone(),
            first_seen_at: now,
        };
        match self.days.insert(&record).await {
            Ok(()) => {}
            // Recorded already (another process, or before a restart).
            Err(e) if e.is_duplicate() => {}
            Err(error) => {
                self.memo.forget(&day, user.id);
                tracing::warn!(%error, "visitor day not recorded");
            }
        }
    }

    /// The collections [`Self::insert_demo_users`] writes: a bulk load may set their indexes
    /// aside meanwhile (`Store::suspend_indexes`).
    pub fn demo_collections() -> [&'static str; 2] {
        [AppUser::COLLECTION, AppUserDay::COLLECTION]
    }

    /// Writes demo users and the days they visited in bulk (`topup demo-data`): each user is
    /// created at their first visit, and each visit is one visitor day. Nothing is sealed:
    /// demo users never logged in through WeChat.
    pub async fn insert_demo_users(&self, users: &[DemoUser]) -> Result<(), AuthError> {
        let mut records = Vec::with_capacity(users.len());
        let mut days = Vec::new();
        for demo in users {
            let Some(first) = demo.visits.iter().min().copied() else {
                continue;
            };
            let last = demo.visits.iter().max().copied().unwrap_or(first);
            let first_day = self.visitor_day(first);
            let mut seen = HashSet::new();
            for visit in &demo.visits {
                let day = self.visitor_day(*visit);
                if seen.insert(day.clone()) {
                    days.push(AppUserDay {
                        id: format!("{}:{day}", demo.id),
                        user_id: demo.id,
                        new_user: i64::from(day == first_day),
                        day,
                        first_seen_at: *visit,
                    });
                }
            }
            records.push(AppUser {
                id: demo.id,
                openid: demo.openid.clone(),
                unionid: None,
                nickname: demo.nickname.clone(),
                avatar_url: None,
                language: super::model::Language::default(),
                status: super::model::AppUserStatus::Active,
                session_key_sealed: None,
                saved_numbers: Vec::new(),
                saved_e164: Vec::new(),
                created_at: first,
                last_seen_at: last,
                last_login_at: last,
                last_login_ip: None,
                disabled_at: None,
                token_version: 0,
                updated_at: last,
                version: 0,
            });
        }
        // In id order, each table grows at its end.
        records.sort_unstable_by_key(|r| r.id);
        days.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        self.users.insert_many(&records).await?;
        self.days.insert_many(&days).await?;
        Ok(())
    }

    /// New and active users per day, every day of the range (zeros included), oldest first.
    pub async fn visitors_per_day(
        &self,
        query: &VisitorQuery,
    ) -> Result<Vec<VisitorDay>, AuthError> {
        let today = local_date(self.clock.now(), self.config.visitor_day_utc_offset_minutes);
        let to = match query.to.as_deref().filter(|t| !t.trim().is_empty()) {
            Some(text) => parse_day("to", text)?,
            None => today,
        };
        let from = match query.from.as_deref().filter(|t| !t.trim().is_empty()) {
            Some(text) => parse_day("from", text)?,
            None => to - TimeDelta::days(29),
        };
        if from > to {
            return Err(AuthError::field("from", "must not be after `to`"));
        }
        if (to - from).num_days() >= MAX_VISITOR_DAYS {
            return Err(AuthError::field(
                "from",
                format!("the range may span at most {MAX_VISITOR_DAYS} days"),
            ));
        }
        let mut counted = Vec::new();
        for date in from.iter_days().take_while(|d| *d <= to) {
            let day = day_text(date);
            let (new_users, active_users) = match self.past_days.get(&day) {
                Some(counts) => counts,
                None => {
                    let counts = self.count_day(&day).await?;
                    // A day that is over gains no visitor any more: counted once per process.
                    if date < today {
                        self.past_days.keep(&day, counts);
                    }
                    counts
                }
            };
            counted.push(VisitorDay {
                day,
                new_users,
                active_users,
            });
        }
        Ok(counted)
    }

    /// New and active users of one day, each counted over the `(day, new_user)` index.
    async fn count_day(&self, day: &str) -> Result<(u64, u64), AuthError> {
        let active = self.days.count(&Filter::eq("day", day)).await?;
        let new = self
            .days
            .count(&Filter::eq("day", day).and(Filter::eq("new_user", 1)))
            .await?;
        Ok((new, active))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_counted_from_the_configured_offset() {
        let at = Timestamp::parse("2026-03-01T17:30:00Z").unwrap();
        assert_eq!(day_text(local_date(at, 0)), "2026-03-01");
        assert_eq!(day_text(local_date(at, 480)), "2026-03-02");
        assert_eq!(day_text(local_date(at, -600)), "2026-03-01");
    }

    #[test]
    fn the_memo_remembers_one_day_at_a_time() {
        let memo = VisitorMemo::default();
        let user = AppUserId::new();
        assert!(memo.first_today("2026-03-01", user));
        assert!(!memo.first_today("2026-03-01", user));
        assert!(memo.first_today("2026-03-02", user));
        memo.forget("2026-03-02", user);
        assert!(memo.first_today("2026-03-02", user));
    }
}
