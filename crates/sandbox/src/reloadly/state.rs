//! The sandbox's in-memory account: tokens, balance, transactions and the outcome rules.
//! Everything here is synchronous and clock-driven; the HTTP layer only translates. Given a
//! journal, the transactions and the balance outlive a restart (`crate::journal`).

use std::collections::HashMap;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use topup_core::{CountryCode, Decimal, Msisdn, Timestamp};

use super::ReloadlySandboxConfig;
use super::catalog::{Catalog, Denomination, Operator};
use crate::journal::Journal;

pub(crate) const ACCOUNT_CURRENCY: &str = "USD";
pub(crate) const ACCOUNT_CURRENCY_NAME: &str = "US Dollar";

/// A refusal in Reloadly's terms: HTTP status, `errorCode` and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: Option<&'static str>,
    pub message: String,
    pub details: Vec<(String, String)>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: Some(code),
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn without_code(status: u16, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: None,
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn invalid_field(field: &str, problem: &str) -> Self {
        ApiError {
            status: 400,
            code: None,
            message: "Request validation failed".to_owned(),
            details: vec![(field.to_owned(), problem.to_owned())],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum TxStatus {
    Processing,
    Successful,
    Refunded,
}

impl TxStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            TxStatus::Processing => "PROCESSING",
            TxStatus::Successful => "SUCCESSFUL",
            TxStatus::Refunded => "REFUNDED",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Transaction {
    pub id: u64,
    pub status: TxStatus,
    pub final_status: TxStatus,
    pub settles_at: Timestamp,
    pub custom_identifier: Option<String>,
    /// International digits without `+`, as Reloadly echoes them.
    pub recipient_phone: String,
    pub sender_phone: Option<String>,
    pub country: &'static str,
    pub operator_id: u64,
    pub operator_name: &'static str,
    pub requested_amount: Decimal,
    pub delivered_amount: Decimal,
    pub delivered_currency: &'static str,
    pub discount: Decimal,
    pub cost: Decimal,
    pub created_at: Timestamp,
    pub balance_before: Decimal,
    pub balance_after: Decimal,
}

impl Transaction {
    pub fn operator_transaction_id(&self) -> Option<String> {
        (self.status == TxStatus::Successful).then(|| format!("OP{:010}", self.id * 7919))
    }
}

/// One line of the journal. A transaction is written once, as committed: its later status
/// follows from `final_status` and `settles_at` on the clock, as it does in memory.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Remembered {
    Topup(RememberedTopup),
    Balance { balance: Decimal, at: Timestamp },
}

/// A [`Transaction`] without what the catalog gives back from its operator id.
#[derive(Serialize, Deserialize)]
struct RememberedTopup {
    id: u64,
    final_status: TxStatus,
    settles_at: Timestamp,
    custom_identifier: Option<String>,
    recipient_phone: String,
    sender_phone: Option<String>,
    operator_id: u64,
    requested_amount: Decimal,
    delivered_amount: Decimal,
    discount: Decimal,
    cost: Decimal,
    created_at: Timestamp,
    balance_before: Decimal,
    balance_after: Decimal,
}

impl RememberedTopup {
    fn of(tx: &Transaction) -> Self {
        RememberedTopup {
            id: tx.id,
            final_status: tx.final_status,
            settles_at: tx.settles_at,
            custom_identifier: tx.custom_identifier.clone(),
            recipient_phone: tx.recipient_phone.clone(),
            sender_phone: tx.sender_phone.clone(),
            operator_id: tx.operator_id,
            requested_amount: tx.requested_amount,
            delivered_amount: tx.delivered_amount,
            discount: tx.discount,
            cost: tx.cost,
            created_at: tx.created_at,
            balance_before: tx.balance_before,
            balance_after: tx.balance_after,
        }
    }

    /// Back as committed (PROCESSING until settled), or `None` for an operator the catalog
    /// no longer has.
    fn restore(self, catalog: &Catalog) -> Option<Transaction> {
        let operator = catalog.operator(self.operator_id)?;
        Some(Transaction {
            id: self.id,
            status: TxStatus::Processing,
            final_status: self.final_status,
            settles_at: self.settles_at,
            custom_identifier: self.custom_identifier,
            recipient_phone: self.recipient_phone,
            sender_phone: self.sender_phone,
            country: operator.country,
            operator_id: operator.id,
            operator_name: operator.name,
            requested_amount: self.requested_amount,
            delivered_amount: self.delivered_amount,
            delivered_currency: operator.destination_currency,
            discount: self.discount,
            cost: self.cost,
            created_at: self.created_at,
            balance_before: self.balance_before,
            balance_after: self.balance_after,
        })
    }
}

struct Token {
    client_id: String,
    expires_at: Timestamp,
}

struct Window {
    second: i64,
    count: u32,
}

/// What the rate limiter tells the client in `X-RateLimit-*` headers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateInfo {
    pub limit: u32,
    pub remaining: u32,
    pub reset_seconds: i64,
    pub limited: bool,
}

/// Counters the tests read to prove what did (and did not) reach the provider.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxStats {
    pub tokens_issued: u32,
    pub token_expired_rejections: u32,
    pub rate_limited: u32,
    /// `POST /topups` and `/topups-async` requests that passed authentication.
    pub topup_requests: u32,
    pub committed_transactions: u32,
    pub server_errors: u32,
    /// Operator auto-detection requests that passed authentication.
    pub detect_requests: u32,
}

/// A parsed top-up request.
pub(crate) struct TopupInput {
    pub operator_id: u64,
    pub amount: Decimal,
    pub use_local_amount: bool,
    pub custom_identifier: Option<String>,
    pub recipient_country: String,
    pub recipient_number: String,
    pub sender_phone: Option<String>,
}

pub(crate) struct Committed {
    pub transaction: Transaction,
    /// Digit 5: the caller must withhold the answer.
    pub withhold_answer: bool,
}

pub(crate) struct State {
    tokens: HashMap<String, Token>,
    balance: Decimal,
    balance_updated_at: Timestamp,
    next_transaction_id: u64,
    transactions: Vec<Transaction>,
    /// Where each customIdentifier's transaction is in `transactions`: a long-running
    /// sandbox (a soak's hundred thousand top-ups) answers lookups without a scan.
    by_key: HashMap<String, usize>,
    /// The transactions still PROCESSING, the only ones `settle` has to look at.
    processing: Vec<usize>,
    /// Each recipient's transactions: a top-up checks only that number's for one pending or
    /// made moments ago, however long the sandbox's history.
    by_phone: HashMap<String, Vec<usize>>,
    topup_requests_by_key: HashMap<String, u32>,
    server_errors_by_phone: HashMap<String, u32>,
    windows: HashMap<String, Window>,
    stats: SandboxStats,
    journal: Option<Journal>,
}

/// The id of the first transaction; later ones follow one by one.
const FIRST_TRANSACTION_ID: u64 = 40_001;

impl State {
    pub fn new(starting_balance: Decimal, now: Timestamp) -> Self {
        State {
            tokens: HashMap::new(),
            balance: starting_balance,
            balance_updated_at: now,
            next_transaction_id: FIRST_TRANSACTION_ID,
            transactions: Vec::new(),
            by_key: HashMap::new(),
            processing: Vec::new(),
            by_phone: HashMap::new(),
            topup_requests_by_key: HashMap::new(),
            server_errors_by_phone: HashMap::new(),
            windows: HashMap::new(),
            stats: SandboxStats::default(),
            journal: None,
        }
    }

    /// Takes up the transactions and balance the journal at `path` remembers, settled to
    /// `now`, and keeps writing to it; `None` when another process holds it.
    pub fn remember_in(
        &mut self,
        path: &std::path::Path,
        catalog: &Catalog,
        now: Timestamp,
    ) -> std::io::Result<Option<usize>> {
        let Some((mut journal, entries)) = Journal::open::<Remembered>(path)? else {
            return Ok(None);
        };
        for entry in entries {
            match entry {
                Remembered::Balance { balance, at } => {
                    self.settle(at);
                    self.set_balance(balance, at);
                }
                Remembered::Topup(topup) => {
                    let id = topup.id;
                    let Some(tx) = topup.restore(catalog) else {
                        tracing::warn!(id, "sandbox transaction of an unknown operator skipped");
                        continue;
                    };
                    self.balance -= tx.cost;
                    self.next_transaction_id = self.next_transaction_id.max(id + 1);
                    self.insert(tx);
                }
            }
        }
        self.settle(now);
        let balance = Remembered::Balance {
            balance: self.balance,
            at: self.balance_updated_at,
        };
        let topups = self
            .transactions
            .iter()
            .map(|tx| Remembered::Topup(RememberedTopup::of(tx)));
        journal.rewrite(topups.chain([balance]))?;
        self.journal = Some(journal);
        Ok(Some(self.transactions.len()))
    }

    fn remember(&mut self, entry: &Remembered) -> Result<(), ApiError> {
        let Some(journal) = self.journal.as_mut() else {
            return Ok(());
        };
        journal.append(entry).map_err(|error| {
            tracing::error!(%error, "the provider sandbox could not write its journal");
            ApiError::new(500, "INTERNAL_SERVER_ERROR", "Internal Server Error")
        })
    }

    /// Files a committed transaction under its id, its key and, while PROCESSING, for settling.
    fn insert(&mut self, tx: Transaction) {
        let index = self.transactions.len();
        if let Some(key) = &tx.custom_identifier {
            self.by_key.insert(key.clone(), index);
        }
        if tx.status == TxStatus::Processing {
            self.processing.push(index);
        }
        self.by_phone
            .entry(tx.recipient_phone.clone())
            .or_default()
            .push(index);
        self.transactions.push(tx);
    }

    pub fn stats(&self) -> SandboxStats {
        self.stats.clone()
    }

    pub fn balance(&self) -> (Decimal, Timestamp) {
        (self.balance, self.balance_updated_at)
    }

    pub fn set_balance(&mut self, balance: Decimal, now: Timestamp) {
        self.balance = balance;
        self.balance_updated_at = now;
    }

    /// [`Self::set_balance`], remembered.
    pub fn change_balance(&mut self, balance: Decimal, now: Timestamp) -> Result<(), ApiError> {
        self.set_balance(balance, now);
        self.remember(&Remembered::Balance { balance, at: now })
    }

    pub fn topup_requests_for(&self, custom_identifier: &str) -> u32 {
        self.topup_requests_by_key
            .get(custom_identifier)
            .copied()
            .unwrap_or(0)
    }

    pub fn transactions(&self) -> &[Transaction] {
        &self.transactions
    }

    pub fn transaction(&self, id: u64) -> Option<&Transaction> {
        // Ids are handed out in order from the first one, one per transaction.
        // (A journal that skipped one breaks the sequence: then look further.)
        let index = usize::try_from(id.checked_sub(FIRST_TRANSACTION_ID)?).ok()?;
        self.transactions
            .get(index)
            .filter(|t| t.id == id)
            .or_else(|| self.transactions.iter().find(|t| t.id == id))
    }

    /// The transaction committed under `key`, if any.
    pub fn transaction_by_key(&self, key: &str) -> Option<&Transaction> {
        self.by_key.get(key).and_then(|&i| self.transactions.get(i))
    }

    pub fn issue_token(
        &mut self,
        config: &ReloadlySandboxConfig,
        client_id: &str,
        client_secret: &str,
        grant_type: &str,
        audience: &str,
        now: Timestamp,
    ) -> Result<(String, i64), ApiError> {
        if grant_type != "client_credentials" {
            return Err(ApiError::new(
                400,
                "UNSUPPORTED_GRANT_TYPE",
                "Only the client_credentials grant is supported",
            ));
        }
        let known = config
            .clients
            .iter()
            .any(|c| c.client_id == client_id && c.client_secret.expose() == client_secret);
        if !known {
            return Err(ApiError::new(401, "INVALID_CREDENTIALS", "Access Denied"));
        }
        if audience != config.audience {
            return Err(ApiError::new(
                400,
                "INVALID_AUDIENCE",
                format!("Audience must be {}", config.audience),
            ));
        }
        let token = format!("sbx.{}", ulid::Ulid::new());
        self.tokens.insert(
            token.clone(),
            Token {
                client_id: client_id.to_owned(),
                expires_at: now.plus(config.token_ttl),
            },
        );
        self.stats.tokens_issued += 1;
        Ok((token, config.token_ttl.num_seconds()))
    }

    /// The client behind a bearer token, or the 401 Reloadly answers.
    pub fn authenticate(
        &mut self,
        authorization: Option<&str>,
        now: Timestamp,
    ) -> Result<String, ApiError> {
        let missing = || {
            ApiError::new(
                401,
                "INVALID_TOKEN",
                "Full authentication is required to access this resource",
            )
        };
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(missing)?;
        let Some(issued) = self.tokens.get(token) else {
            return Err(ApiError::new(401, "INVALID_TOKEN", "Invalid access token"));
        };
        if now >= issued.expires_at {
            self.stats.token_expired_rejections += 1;
            return Err(ApiError::new(
                401,
                "TOKEN_EXPIRED",
                "The provided token is expired",
            ));
        }
        Ok(issued.client_id.clone())
    }

    /// Fixed one-second windows on the injected clock, per client.
    pub fn rate(&mut self, client_id: &str, limit: u32, now: Timestamp) -> RateInfo {
        let second = now.unix_millis().div_euclid(1000);
        let window = self
            .windows
            .entry(client_id.to_owned())
            .or_insert(Window { second, count: 0 });
        if window.second != second {
            *window = Window { second, count: 0 };
        }
        window.count = window.count.saturating_add(1);
        let limited = window.count > limit;
        if limited {
            self.stats.rate_limited += 1;
        }
        RateInfo {
            limit,
            remaining: limit.saturating_sub(window.count),
            reset_seconds: 1,
            limited,
        }
    }

    /// Moves PROCESSING transactions whose time has come to their final status.
    pub fn settle(&mut self, now: Timestamp) {
        let transactions = &mut self.transactions;
        let (balance, updated_at) = (&mut self.balance, &mut self.balance_updated_at);
        self.processing.retain(|&i| {
            let Some(tx) = transactions.get_mut(i) else {
                return false;
            };
            if tx.status != TxStatus::Processing || now < tx.settles_at {
                return tx.status == TxStatus::Processing;
            }
            tx.status = tx.final_status;
            if tx.status == TxStatus::Refunded {
                *balance += tx.cost;
                *updated_at = tx.settles_at;
            }
            false
        });
    }

    pub fn count_detect_request(&mut self) {
        self.stats.detect_requests += 1;
    }

    pub fn count_topup_request(&mut self, custom_identifier: Option<&str>) {
        self.stats.topup_requests += 1;
        if let Some(key) = custom_identifier {
            *self
                .topup_requests_by_key
                .entry(key.to_owned())
                .or_insert(0) += 1;
        }
    }

    pub fn submit(
        &mut self,
        config: &ReloadlySandboxConfig,
        catalog: &Catalog,
        input: TopupInput,
        now: Timestamp,
    ) -> Result<Committed, ApiError> {
        self.settle(now);
        if let Some(key) = &input.custom_identifier
            && self.by_key.contains_key(key)
        {
            return Err(ApiError::new(
                400,
                "CUSTOM_IDENTIFIER_ALREADY_USED",
                "Custom identifier has already been used for another transaction",
            ));
        }
        let operator = catalog.operator(input.operator_id).ok_or_else(|| {
            ApiError::new(
                404,
                "OPERATOR_NOT_FOUND",
                "Operator not found or not supported",
            )
        })?;
        if input.amount <= Decimal::ZERO {
            return Err(ApiError::invalid_field("amount", "must be greater than 0"));
        }
        let requested = requested_sender_amount(operator, &input)?;
        let phone = recipient(operator, &input)?;
        let national = phone.national_digits();
        let international = phone.e164().trim_start_matches('+').to_owned();
        let digits: Vec<u32> = national.chars().filter_map(|c| c.to_digit(10)).collect();
        let outcome = digits.last().copied().unwrap_or(0);
        let delay_digit = digits.iter().rev().nth(1).copied().unwrap_or(0);

        let of_recipient: Vec<&Transaction> = self
            .by_phone
            .get(&international)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.transactions.get(i))
            .collect();
        if of_recipient
            .iter()
            .any(|t| t.status == TxStatus::Processing)
        {
            return Err(ApiError::new(
                400,
                "RECIPIENT_HAS_PENDING_TRANSACTION",
                "The recipient has a transaction still being processed",
            ));
        }
        let recent_since = now.minus(config.recent_recharge_window);
        if of_recipient
            .iter()
            .any(|t| t.status == TxStatus::Successful && t.created_at > recent_since)
        {
            return Err(ApiError::new(
                400,
                "PHONE_RECENTLY_RECHARGED",
                "This phone number was recharged recently; try again in a few minutes",
            ));
        }
        match outcome {
            2 => {
                return Err(ApiError::new(
                    400,
                    "INVALID_RECIPIENT_PHONE",
                    "Recipient phone number is not valid",
                ));
            }
            4 => {
                return Err(ApiError::new(
                    400,
                    "OPERATOR_UNAVAILABLE_OR_CURRENTLY_INACTIVE",
                    "The operator is unavailable or currently inactive",
                ));
            }
            7 => {
                let seen = self
                    .server_errors_by_phone
                    .entry(international.clone())
                    .or_insert(0);
                if *seen < 2 {
                    *seen += 1;
                    self.stats.server_errors += 1;
                    return Err(ApiError::new(
                        500,
                        "INTERNAL_SERVER_ERROR",
                        "Internal Server Error",
                    ));
                }
            }
            _ => {}
        }
        let discount = (requested * operator.commission / Decimal::ONE_HUNDRED).round_dp(2);
        let cost = requested - discount;
        if outcome == 6 || self.balance < cost {
            return Err(ApiError::new(
                400,
                "INSUFFICIENT_BALANCE",
                "Your balance is not sufficient to perform this transaction",
            ));
        }
        let delivered = if input.use_local_amount {
            input.amount
        } else {
            operator.local_of(requested)
        };
        let final_status = if outcome == 3 {
            TxStatus::Refunded
        } else {
            TxStatus::Successful
        };
        let delay = match delay_digit {
            1 => TimeDelta::seconds(2),
            2 => TimeDelta::seconds(20),
            _ => TimeDelta::zero(),
        };
        let balance_before = self.balance;
        self.balance -= cost;
        self.balance_updated_at = now;
        let id = self.next_transaction_id;
        self.next_transaction_id += 1;
        let mut tx = Transaction {
            id,
            status: TxStatus::Processing,
            final_status,
            settles_at: now.plus(delay),
            custom_identifier: input.custom_identifier.clone(),
            recipient_phone: international,
            sender_phone: input.sender_phone.clone(),
            country: operator.country,
            operator_id: operator.id,
            operator_name: operator.name,
            requested_amount: requested,
            delivered_amount: delivered,
            delivered_currency: operator.destination_currency,
            discount,
            cost,
            created_at: now,
            balance_before,
            balance_after: self.balance,
        };
        if delay.is_zero() {
            tx.status = final_status;
            if final_status == TxStatus::Refunded {
                self.balance += cost;
            }
        }
        self.remember(&Remembered::Topup(RememberedTopup::of(&tx)))?;
        self.insert(tx.clone());
        self.stats.committed_transactions += 1;
        Ok(Committed {
            transaction: tx,
            withhold_answer: outcome == 5,
        })
    }
}

/// The amount in the account currency the request asks for, validated against the operator.
fn requested_sender_amount(operator: &Operator, input: &TopupInput) -> Result<Decimal, ApiError> {
    let invalid = || {
        ApiError::new(
            400,
            "INVALID_AMOUNT_FOR_OPERATOR",
            format!(
                "The amount {} is not valid for operator {}",
                input.amount, operator.name
            ),
        )
    };
    if input.use_local_amount {
        if !operator.supports_local_amounts {
            return Err(ApiError::new(
                400,
                "LOCAL_AMOUNTS_NOT_SUPPORTED",
                "This operator does not support local amounts",
            ));
        }
        match &operator.denomination {
            Denomination::Fixed(amounts) => amounts
                .iter()
                .find(|(a, _)| operator.local_of(*a) == input.amount)
                .map(|(a, _)| *a)
                .ok_or_else(invalid),
            Denomination::Range { min, max } => {
                if input.amount < operator.local_of(*min) || input.amount > operator.local_of(*max)
                {
                    return Err(invalid());
                }
                Ok((input.amount / operator.fx_rate).round_dp(2))
            }
        }
    } else {
        match &operator.denomination {
            Denomination::Fixed(amounts) => amounts
                .iter()
                .find(|(a, _)| *a == input.amount)
                .map(|(a, _)| *a)
                .ok_or_else(invalid),
            Denomination::Range { min, max } => {
                if input.amount < *min
                    || input.amount > *max
                    || input.amount.normalize().scale() > 2
                {
                    return Err(invalid());
                }
                Ok(input.amount)
            }
        }
    }
}

fn recipient(operator: &Operator, input: &TopupInput) -> Result<Msisdn, ApiError> {
    let invalid = || {
        ApiError::new(
            400,
            "INVALID_RECIPIENT_PHONE",
            "Recipient phone number is not valid",
        )
    };
    let country = CountryCode::parse(&input.recipient_country).map_err(|_| {
        ApiError::new(
            400,
            "INVALID_COUNTRY_CODE",
            "Country code must be 2 characters ISO-Alpha-2 country code",
        )
    })?;
    let cleaned: String = input
        .recipient_number
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    let phone = Msisdn::parse(&cleaned, Some(country))
        .or_else(|_| Msisdn::parse(&format!("+{}", cleaned.trim_start_matches('+')), None))
        .map_err(|_| invalid())?;
    if phone.country() != country || !operator.country.eq_ignore_ascii_case(country.as_str()) {
        return Err(invalid());
    }
    Ok(phone)
}
