//! Orders, payments and refunds as WeChat Pay keeps them: in memory, and in a journal when
//! the sandbox is given one, so that they outlive a restart (`crate::journal`).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use chrono::{FixedOffset, TimeDelta};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use topup_core::Timestamp;

use super::api::{Answer, ApiError};
use super::crypto::{random_digits, random_hex};
use super::delivery::Delivery;
use super::{Inner, RecordedRequest, lock};
use crate::journal::Journal;

/// A prepay_id can be used to pay for two hours.
const PREPAY_TTL: TimeDelta = TimeDelta::hours(2);
const REQUEST_LOG_LIMIT: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum TradeState {
    NotPay,
    Success,
    Refund,
    Closed,
}

impl TradeState {
    fn as_str(self) -> &'static str {
        match self {
            TradeState::NotPay => "NOTPAY",
            TradeState::Success => "SUCCESS",
            TradeState::Refund => "REFUND",
            TradeState::Closed => "CLOSED",
        }
    }

    fn description(self) -> &'static str {
        match self {
            TradeState::NotPay => "订单未支付",
            TradeState::Success => "支付成功",
            TradeState::Refund => "转入退款",
            TradeState::Closed => "订单已关闭",
        }
    }

    fn is_paid(self) -> bool {
        matches!(self, TradeState::Success | TradeState::Refund)
    }
}

#[derive(Serialize, Deserialize)]
struct Transaction {
    /// The order as first placed: a reused out_trade_no must come with the same body.
    request: Value,
    out_trade_no: String,
    notify_url: String,
    total: i64,
    openid: String,
    attach: Option<String>,
    time_expire: Option<Timestamp>,
    prepay_id: String,
    state: TradeState,
    transaction_id: Option<String>,
    success_time: Option<Timestamp>,
    /// The TRANSACTION.SUCCESS envelope sent for it (for [`Inner::replay_payment_notification`]).
    /// Not remembered across a restart: only a test hook reads it.
    #[serde(skip)]
    notification: Option<Arc<Vec<u8>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum RefundStatus {
    Processing,
    Success,
}

#[derive(Serialize, Deserialize)]
struct RefundRecord {
    request: Value,
    refund_id: String,
    out_refund_no: String,
    out_trade_no: String,
    transaction_id: String,
    notify_url: Option<String>,
    refund: i64,
    total: i64,
    status: RefundStatus,
    create_time: Timestamp,
    succeeds_at: Timestamp,
}

#[derive(Default)]
pub(crate) struct State {
    transactions: HashMap<String, Transaction>,
    /// Every prepay_id ever issued: the order it pays and until when.
    prepay_ids: HashMap<String, (String, Timestamp)>,
    refunds: HashMap<String, RefundRecord>,
    /// The refunds still PROCESSING, the only ones settling has to look at.
    processing_refunds: Vec<String>,
    pub(crate) deliveries: Vec<Delivery>,
    next_delivery_id: u64,
    pub(crate) request_log: VecDeque<RecordedRequest>,
    journal: Option<Journal>,
}

/// One line of the journal: a record as it now is (the last line for a key wins).
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Remember<'a> {
    Transaction(&'a Transaction),
    Prepay {
        prepay_id: &'a str,
        out_trade_no: &'a str,
        valid_until: Timestamp,
    },
    Refund(&'a RefundRecord),
    Delivery(&'a Delivery),
}

/// [`Remember`] as read back.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Remembered {
    Transaction(Transaction),
    Prepay {
        prepay_id: String,
        out_trade_no: String,
        valid_until: Timestamp,
    },
    Refund(RefundRecord),
    Delivery(Delivery),
}

impl State {
    /// Takes up what the journal at `path` remembers and keeps writing to it from now on;
    /// `None` when another process holds it.
    pub(crate) fn remember_in(&mut self, path: &std::path::Path) -> std::io::Result<Option<usize>> {
        let Some((mut journal, entries)) = Journal::open::<Remembered>(path)? else {
            return Ok(None);
        };
        // By id: the last line of each notification wins, and they are sent in order.
        let mut deliveries = std::collections::BTreeMap::new();
        for entry in entries {
            match entry {
                Remembered::Transaction(txn) => {
                    self.transactions.insert(txn.out_trade_no.clone(), txn);
                }
                Remembered::Prepay {
                    prepay_id,
                    out_trade_no,
                    valid_until,
                } => {
                    self.prepay_ids
                        .insert(prepay_id, (out_trade_no, valid_until));
                }
                Remembered::Refund(record) => {
                    self.refunds.insert(record.out_refund_no.clone(), record);
                }
                Remembered::Delivery(delivery) => {
                    deliveries.insert(delivery.id, delivery);
                }
            }
        }
        self.next_delivery_id = deliveries.keys().max().copied().unwrap_or(0);
        self.deliveries = deliveries
            .into_values()
            .filter(|d| !d.is_done())
            .map(Delivery::resumed)
            .collect();
        for record in self.refunds.values() {
            if record.status == RefundStatus::Processing {
                self.processing_refunds.push(record.out_refund_no.clone());
            }
        }
        let prepays = self
            .prepay_ids
            .iter()
            .map(
                |(prepay_id, (out_trade_no, valid_until))| Remember::Prepay {
                    prepay_id,
                    out_trade_no,
                    valid_until: *valid_until,
                },
            );
        journal.rewrite(
            self.transactions
                .values()
                .map(Remember::Transaction)
                .chain(prepays)
                .chain(self.refunds.values().map(Remember::Refund))
                .chain(self.deliveries.iter().map(Remember::Delivery)),
        )?;
        self.journal = Some(journal);
        Ok(Some(self.transactions.len()))
    }

    /// Writes the transaction as it now is to the journal, if there is one.
    fn remember_transaction(&mut self, out_trade_no: &str) -> Result<(), ApiError> {
        match (self.journal.as_mut(), self.transactions.get(out_trade_no)) {
            (Some(journal), Some(txn)) => remember(journal, &Remember::Transaction(txn)),
            _ => Ok(()),
        }
    }

    fn remember_prepay(&mut self, prepay_id: &str) -> Result<(), ApiError> {
        match (self.journal.as_mut(), self.prepay_ids.get(prepay_id)) {
            (Some(journal), Some((out_trade_no, valid_until))) => remember(
                journal,
                &Remember::Prepay {
                    prepay_id,
                    out_trade_no,
                    valid_until: *valid_until,
                },
            ),
            _ => Ok(()),
        }
    }

    fn remember_refund(&mut self, out_refund_no: &str) -> Result<(), ApiError> {
        match (self.journal.as_mut(), self.refunds.get(out_refund_no)) {
            (Some(journal), Some(record)) => remember(journal, &Remember::Refund(record)),
            _ => Ok(()),
        }
    }

    pub(crate) fn record_request(&mut self, request: RecordedRequest) {
        if self.request_log.len() == REQUEST_LOG_LIMIT {
            self.request_log.pop_front();
        }
        self.request_log.push_back(request);
    }

    fn enqueue(&mut self, url: String, body: Vec<u8>, now: Timestamp) -> Result<(), ApiError> {
        self.next_delivery_id += 1;
        let delivery = Delivery::new(self.next_delivery_id, url, body, now);
        let remembered = match self.journal.as_mut() {
            Some(journal) => remember(journal, &Remember::Delivery(&delivery)),
            None => Ok(()),
        };
        self.deliveries.push(delivery);
        remembered
    }

    /// Writes a notification as its attempt left it; a failed write is logged (WeChat keeps
    /// trying whatever its disk says, and so does the sandbox while it runs).
    pub(crate) fn remember_delivery(&mut self, id: u64) {
        let (Some(journal), Some(delivery)) = (
            self.journal.as_mut(),
            self.deliveries.iter().find(|d| d.id == id),
        ) else {
            return;
        };
        // `remember` logs the failure.
        let _ = remember(journal, &Remember::Delivery(delivery));
    }

    fn refunded_total(&self, out_trade_no: &str) -> i64 {
        self.refunds
            .values()
            .filter(|r| r.out_trade_no == out_trade_no)
            .map(|r| r.refund)
            .sum()
    }
}

const CHINA: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// WeChat writes times in China time with an offset, whole seconds.
pub(crate) fn china_time(at: Timestamp) -> String {
    at.as_datetime()
        .with_timezone(&CHINA)
        .format("%Y-%m-%dT%H:%M:%S+08:00")
        .to_string()
}

fn china_compact(at: Timestamp) -> String {
    at.as_datetime()
        .with_timezone(&CHINA)
        .format("%Y%m%d%H%M%S")
        .to_string()
}

/// A record WeChat could not keep is its 500 SYSTEM_ERROR, which callers retry.
fn remember(journal: &mut Journal, entry: &Remember<'_>) -> Result<(), ApiError> {
    journal.append(entry).map_err(|error| {
        tracing::error!(%error, "the WeChat Pay sandbox could not write its journal");
        ApiError::system_error()
    })
}

fn internal<E>(_: E) -> ApiError {
    ApiError::system_error()
}

// --- request body checks --------------------------------------------------------------

/// The body as a JSON object without a single `null` (WeChat refuses them).
fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::param("/", format!("body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::param("/", "body must be a JSON object"));
    }
    if let Some(pointer) = find_null(&value, "") {
        return Err(ApiError::param(
            &pointer,
            "null is not allowed; omit the field instead",
        ));
    }
    Ok(value)
}

fn find_null(value: &Value, at: &str) -> Option<String> {
    match value {
        Value::Null => Some(if at.is_empty() { "/".into() } else { at.into() }),
        Value::Object(map) => map
            .iter()
            .find_map(|(key, v)| find_null(v, &format!("{at}/{key}"))),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_null(v, &format!("{at}/{i}"))),
        _ => None,
    }
}

fn optional_str<'a>(body: &'a Value, pointer: &str) -> Result<Option<&'a str>, ApiError> {
    match body.pointer(pointer) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(ApiError::param(pointer, "must be a string")),
    }
}

fn required_str<'a>(body: &'a Value, pointer: &str) -> Result<&'a str, ApiError> {
    match optional_str(body, pointer)? {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(ApiError::param(pointer, "is required")),
    }
}

fn required_positive_int(body: &Value, pointer: &str) -> Result<i64, ApiError> {
    match body.pointer(pointer) {
        None => Err(ApiError::param(pointer, "is required")),
        Some(value) => match value.as_i64() {
            Some(n) if n > 0 => Ok(n),
            Some(_) => Err(ApiError::param(pointer, "must be greater than 0")),
            None => Err(ApiError::param(pointer, "must be an integer number of fen")),
        },
    }
}

fn check_pattern(
    pointer: &str,
    value: &str,
    lengths: std::ops::RangeInclusive<usize>,
    extra: &[u8],
) -> Result<(), ApiError> {
    let ok = lengths.contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::param(
            pointer,
            format!(
                "must be {}-{} characters of 0-9, A-Z, a-z and {}",
                lengths.start(),
                lengths.end(),
                String::from_utf8_lossy(extra)
            ),
        ))
    }
}

fn check_max_chars(pointer: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() > max {
        Err(ApiError::param(
            pointer,
            format!("must be at most {max} characters"),
        ))
    } else {
        Ok(())
    }
}

impl Inner {
    fn check_notify_url(&self, pointer: &str, url: &str) -> Result<(), ApiError> {
        if url.len() > 256 {
            return Err(ApiError::param(pointer, "must be at most 256 characters"));
        }
        let parsed =
            reqwest::Url::parse(url).map_err(|_| ApiError::param(pointer, "is not a URL"))?;
        if parsed.query().is_some() {
            return Err(ApiError::param(pointer, "must not carry a query string"));
        }
        let host = parsed.host_str().unwrap_or_default();
        let loopback = host == "localhost"
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        match parsed.scheme() {
            "https" => Ok(()),
            "http" if loopback && self.allow_loopback_http_notify => Ok(()),
            _ => Err(ApiError::param(pointer, "must be an https URL")),
        }
    }

    // --- orders -----------------------------------------------------------------------

    pub(crate) fn prepay(&self, body: &[u8], now: Timestamp) -> Result<Answer, ApiError> {
        let request = parse_body(body)?;
        if required_str(&request, "/appid")? != self.appid {
            return Err(ApiError::param(
                "/appid",
                "appid is not bound to this mchid",
            ));
        }
        if required_str(&request, "/mchid")? != self.mchid {
            return Err(ApiError::param("/mchid", "mchid does not match the caller"));
        }
        let description = required_str(&request, "/description")?;
        check_max_chars("/description", description, 127)?;
        let out_trade_no = required_str(&request, "/out_trade_no")?;
        check_pattern("/out_trade_no", out_trade_no, 6..=32, b"_-|*")?;
        let notify_url = required_str(&request, "/notify_url")?;
        self.check_notify_url("/notify_url", notify_url)?;
        let total = required_positive_int(&request, "/amount/total")?;
        if optional_str(&request, "/amount/currency")?.is_some_and(|c| c != "CNY") {
            return Err(ApiError::param("/amount/currency", "only CNY is supported"));
        }
        let openid = required_str(&request, "/payer/openid")?;
        let time_expire = match optional_str(&request, "/time_expire")? {
            None => None,
            Some(text) => {
                let at = Timestamp::parse(text).map_err(|_| {
                    ApiError::param("/time_expire", "must be RFC 3339 with an offset")
                })?;
                if at < now.plus(TimeDelta::minutes(1)) {
                    return Err(ApiError::param(
                        "/time_expire",
                        "must be at least one minute in the future",
                    ));
                }
                Some(at)
            }
        };
        let attach = optional_str(&request, "/attach")?;
        if let Some(attach) = attach {
            check_max_chars("/attach", attach, 128)?;
        }

        let mut state = lock(&self.state);
        if let Some(existing) = state.transactions.get(out_trade_no) {
            if existing.request != request {
                return Err(ApiError::new(
                    403,
                    "OUT_TRADE_NO_USED",
                    "out_trade_no was already used with different parameters",
                ));
            }
            match existing.state {
                TradeState::Success | TradeState::Refund => {
                    return Err(ApiError::new(400, "ORDERPAID", "the order is already paid"));
                }
                TradeState::Closed => {
                    return Err(ApiError::new(400, "ORDER_CLOSED", "the order is closed"));
                }
                TradeState::NotPay => {}
            }
            let prepay_id = existing.prepay_id.clone();
            let still_valid = state
                .prepay_ids
                .get(&prepay_id)
                .is_some_and(|(_, until)| *until > now);
            if still_valid {
                return Ok(Answer::ok(json!({ "prepay_id": prepay_id })));
            }
        }
        let prepay_id = format!(
            "wx{}{}",
            china_compact(now),
            random_hex(10).map_err(internal)?
        );
        state.prepay_ids.insert(
            prepay_id.clone(),
            (out_trade_no.to_string(), now.plus(PREPAY_TTL)),
        );
        state.remember_prepay(&prepay_id)?;
        let out_trade_no = out_trade_no.to_string();
        if let Some(existing) = state.transactions.get_mut(&out_trade_no) {
            existing.prepay_id = prepay_id.clone();
        } else {
            state.transactions.insert(
                out_trade_no.clone(),
                Transaction {
                    out_trade_no: out_trade_no.clone(),
                    notify_url: notify_url.to_string(),
                    total,
                    openid: openid.to_string(),
                    attach: attach.map(str::to_string),
                    time_expire,
                    prepay_id: prepay_id.clone(),
                    state: TradeState::NotPay,
                    transaction_id: None,
                    success_time: None,
                    notification: None,
                    request,
                },
            );
        }
        state.remember_transaction(&out_trade_no)?;
        Ok(Answer::ok(json!({ "prepay_id": prepay_id })))
    }

    fn transaction_json(&self, txn: &Transaction) -> Value {
        let mut body = json!({
            "appid": self.appid,
            "mchid": self.mchid,
            "out_trade_no": txn.out_trade_no,
            "trade_state": txn.state.as_str(),
            "trade_state_desc": txn.state.description(),
            "amount": { "total": txn.total, "currency": "CNY", "payer_currency": "CNY" },
            "payer": {},
            "promotion_detail": [],
        });
        if let Some(attach) = &txn.attach {
            body["attach"] = json!(attach);
        }
        if txn.state.is_paid() {
            body["transaction_id"] = json!(txn.transaction_id);
            body["trade_type"] = json!("JSAPI");
            body["bank_type"] = json!("OTHERS");
            body["success_time"] = json!(txn.success_time.map(china_time));
            body["payer"] = json!({ "openid": txn.openid });
            body["amount"]["payer_total"] = json!(txn.total);
        }
        body
    }

    pub(crate) fn query_transaction(
        &self,
        out_trade_no: &str,
        query: &str,
    ) -> Result<Answer, ApiError> {
        let mchid = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("mchid="))
            .ok_or_else(|| ApiError::param("mchid", "query parameter mchid is required"))?;
        if mchid != self.mchid {
            return Err(ApiError::param("mchid", "mchid does not match the caller"));
        }
        let state = lock(&self.state);
        let txn = state
            .transactions
            .get(out_trade_no)
            .ok_or_else(|| ApiError::new(404, "ORDER_NOT_EXIST", "order does not exist"))?;
        Ok(Answer::ok(self.transaction_json(txn)))
    }

    pub(crate) fn close(&self, out_trade_no: &str, body: &[u8]) -> Result<Answer, ApiError> {
        let request = parse_body(body)?;
        if required_str(&request, "/mchid")? != self.mchid {
            return Err(ApiError::param("/mchid", "mchid does not match the caller"));
        }
        let mut state = lock(&self.state);
        let txn = state
            .transactions
            .get_mut(out_trade_no)
            .ok_or_else(|| ApiError::new(404, "ORDER_NOT_EXIST", "order does not exist"))?;
        match txn.state {
            TradeState::Success | TradeState::Refund => Err(ApiError::new(
                400,
                "ORDERPAID",
                "a paid order cannot be closed",
            )),
            TradeState::NotPay | TradeState::Closed => {
                txn.state = TradeState::Closed;
                state.remember_transaction(out_trade_no)?;
                Ok(Answer::no_content())
            }
        }
    }

    /// The user pays with `prepay_id`: SUCCESS, and a TRANSACTION.SUCCESS notification due now.
    pub(crate) fn confirm(&self, prepay_id: &str, now: Timestamp) -> Result<Value, ApiError> {
        let mut state = lock(&self.state);
        let (out_trade_no, valid_until) = state
            .prepay_ids
            .get(prepay_id)
            .cloned()
            .ok_or_else(|| ApiError::new(404, "PREPAY_NOT_FOUND", "unknown prepay_id"))?;
        let txn = state
            .transactions
            .get_mut(&out_trade_no)
            .ok_or_else(|| ApiError::new(404, "ORDER_NOT_EXIST", "order does not exist"))?;
        match txn.state {
            TradeState::Success | TradeState::Refund => return Ok(self.transaction_json(txn)),
            TradeState::Closed => {
                return Err(ApiError::new(400, "ORDER_CLOSED", "the order is closed"));
            }
            TradeState::NotPay => {}
        }
        if now > valid_until || txn.prepay_id != prepay_id {
            return Err(ApiError::new(
                400,
                "PREPAY_EXPIRED",
                "prepay_id has expired",
            ));
        }
        if txn.time_expire.is_some_and(|deadline| now > deadline) {
            return Err(ApiError::new(
                400,
                "ORDER_EXPIRED",
                "time_expire has passed",
            ));
        }
        txn.state = TradeState::Success;
        txn.transaction_id = Some(format!("4200{}", random_digits(24).map_err(internal)?));
        txn.success_time = Some(now);
        let resource = self.transaction_json(txn);
        let url = txn.notify_url.clone();
        let envelope = self.envelope(
            "TRANSACTION.SUCCESS",
            "支付成功",
            "transaction",
            &resource,
            now,
        )?;
        txn.notification = Some(Arc::new(envelope.clone()));
        state.remember_transaction(&out_trade_no)?;
        state.enqueue(url, envelope, now)?;
        self.delivery_due.notify_one();
        Ok(resource)
    }

    /// The payment notification sent for `out_trade_no`, as WeChat would send it again now:
    /// the same envelope (same id and ciphertext) under a fresh timestamp, nonce and
    /// signature. A test-support hook (load tests replay duplicates), not a WeChat API.
    pub(crate) fn replay_payment_notification(
        &self,
        out_trade_no: &str,
    ) -> Result<super::SignedNotification, ApiError> {
        let (url, body) = {
            let state = lock(&self.state);
            let txn = state
                .transactions
                .get(out_trade_no)
                .ok_or_else(|| ApiError::new(404, "ORDER_NOT_EXIST", "order does not exist"))?;
            let body = txn.notification.clone().ok_or_else(|| {
                ApiError::new(404, "NOT_PAID", "no payment notification was sent")
            })?;
            (txn.notify_url.clone(), body)
        };
        let headers = self.notification_headers(&body).map_err(internal)?;
        Ok(super::SignedNotification {
            url,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// What the cashier page shows for a prepay_id: order number, description, fen, state.
    pub(crate) fn cashier_view(
        &self,
        prepay_id: &str,
    ) -> Result<(String, String, i64, &'static str), ApiError> {
        let state = lock(&self.state);
        let txn = state
            .prepay_ids
            .get(prepay_id)
            .and_then(|(out_trade_no, _)| state.transactions.get(out_trade_no))
            .ok_or_else(|| ApiError::new(404, "PREPAY_NOT_FOUND", "unknown prepay_id"))?;
        let description = txn.request["description"].as_str().unwrap_or_default();
        Ok((
            txn.out_trade_no.clone(),
            description.to_string(),
            txn.total,
            txn.state.as_str(),
        ))
    }

    fn envelope(
        &self,
        event_type: &str,
        summary: &str,
        original_type: &str,
        resource: &Value,
        now: Timestamp,
    ) -> Result<Vec<u8>, ApiError> {
        let sealed = self
            .sealer
            .seal(original_type, resource.to_string().as_bytes())
            .map_err(internal)?;
        let id = random_hex(16).map_err(internal)?;
        let envelope = json!({
            "id": format!("{}-{}-{}-{}-{}", &id[0..8], &id[8..12], &id[12..16], &id[16..20], &id[20..32]),
            "create_time": china_time(now),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": {
                "original_type": original_type,
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": sealed.ciphertext,
                "associated_data": original_type,
                "nonce": sealed.nonce,
            },
        });
        Ok(envelope.to_string().into_bytes())
    }

    // --- refunds ----------------------------------------------------------------------

    pub(crate) fn create_refund(&self, body: &[u8], now: Timestamp) -> Result<Answer, ApiError> {
        let request = parse_body(body)?;
        let out_refund_no = required_str(&request, "/out_refund_no")?;
        check_pattern("/out_refund_no", out_refund_no, 1..=64, b"_-|*@")?;
        let out_trade_no = optional_str(&request, "/out_trade_no")?;
        let transaction_id = optional_str(&request, "/transaction_id")?;
        if out_trade_no.is_none() && transaction_id.is_none() {
            return Err(ApiError::param(
                "/out_trade_no",
                "out_trade_no or transaction_id is required",
            ));
        }
        if let Some(reason) = optional_str(&request, "/reason")? {
            check_max_chars("/reason", reason, 80)?;
        }
        let notify_url = optional_str(&request, "/notify_url")?;
        if let Some(url) = notify_url {
            self.check_notify_url("/notify_url", url)?;
        }
        let refund = required_positive_int(&request, "/amount/refund")?;
        let total = required_positive_int(&request, "/amount/total")?;
        if required_str(&request, "/amount/currency")? != "CNY" {
            return Err(ApiError::param("/amount/currency", "only CNY is supported"));
        }

        let mut state = lock(&self.state);
        self.settle_refunds(&mut state, now)?;
        if let Some(existing) = state.refunds.get(out_refund_no) {
            if existing.request != request {
                return Err(ApiError::invalid_request(
                    "out_refund_no was already used with different parameters",
                ));
            }
            return Ok(Answer::ok(refund_json(existing)));
        }
        // By our number at once; by WeChat's only with a look through (callers rarely do).
        let txn = out_trade_no
            .and_then(|no| state.transactions.get(no))
            .or_else(|| {
                let id = transaction_id?;
                state
                    .transactions
                    .values()
                    .find(|t| t.transaction_id.as_deref() == Some(id))
            })
            .ok_or_else(|| ApiError::new(404, "RESOURCE_NOT_EXISTS", "order does not exist"))?;
        if !txn.state.is_paid() {
            return Err(ApiError::invalid_request("the order is not paid"));
        }
        if total != txn.total {
            return Err(ApiError::param(
                "/amount/total",
                "does not match the order total",
            ));
        }
        let out_trade_no = txn.out_trade_no.clone();
        let transaction_id = txn.transaction_id.clone().unwrap_or_default();
        if state.refunded_total(&out_trade_no) + refund > total {
            return Err(ApiError::invalid_request(
                "refund amount exceeds the refundable amount of the order",
            ));
        }
        if let Some(txn) = state.transactions.get_mut(&out_trade_no) {
            txn.state = TradeState::Refund;
        }
        state.remember_transaction(&out_trade_no)?;
        let record = RefundRecord {
            refund_id: format!("50{}", random_digits(27).map_err(internal)?),
            out_refund_no: out_refund_no.to_string(),
            out_trade_no,
            transaction_id,
            notify_url: notify_url.map(str::to_string),
            refund,
            total,
            status: RefundStatus::Processing,
            create_time: now,
            succeeds_at: now.plus(self.refund_delay),
            request,
        };
        let answer = refund_json(&record);
        let out_refund_no = record.out_refund_no.clone();
        state.refunds.insert(out_refund_no.clone(), record);
        state.processing_refunds.push(out_refund_no.clone());
        state.remember_refund(&out_refund_no)?;
        Ok(Answer::ok(answer))
    }

    pub(crate) fn query_refund(
        &self,
        out_refund_no: &str,
        now: Timestamp,
    ) -> Result<Answer, ApiError> {
        let mut state = lock(&self.state);
        self.settle_refunds(&mut state, now)?;
        state
            .refunds
            .get(out_refund_no)
            .map(|r| Answer::ok(refund_json(r)))
            .ok_or_else(|| ApiError::new(404, "RESOURCE_NOT_EXISTS", "refund does not exist"))
    }

    /// PROCESSING refunds whose delay has passed become SUCCESS and get their notification.
    pub(crate) fn settle_refunds(&self, state: &mut State, now: Timestamp) -> Result<(), ApiError> {
        let refunds = &state.refunds;
        let mut due = Vec::new();
        state.processing_refunds.retain(|out_refund_no| {
            let Some(record) = refunds.get(out_refund_no) else {
                return false;
            };
            let settles = record.status == RefundStatus::Processing && record.succeeds_at <= now;
            if settles {
                due.push(out_refund_no.clone());
            }
            record.status == RefundStatus::Processing && !settles
        });
        let mut due = due.into_iter();
        while let Some(out_refund_no) = due.next() {
            if let Err(error) = self.settle_refund(state, &out_refund_no, now) {
                // The rest stay due for the next call.
                state.processing_refunds.extend(due);
                return Err(error);
            }
        }
        Ok(())
    }

    /// One due refund becomes SUCCESS, remembered, with its notification queued.
    fn settle_refund(
        &self,
        state: &mut State,
        out_refund_no: &str,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        let Some(record) = state.refunds.get_mut(out_refund_no) else {
            return Ok(());
        };
        record.status = RefundStatus::Success;
        let Some(url) = record.notify_url.clone() else {
            return state.remember_refund(out_refund_no);
        };
        let resource = json!({
            "mchid": self.mchid,
            "transaction_id": record.transaction_id,
            "out_trade_no": record.out_trade_no,
            "refund_id": record.refund_id,
            "out_refund_no": record.out_refund_no,
            "refund_status": "SUCCESS",
            "success_time": china_time(record.succeeds_at),
            "user_received_account": "支付用户零钱",
            "amount": {
                "total": record.total,
                "refund": record.refund,
                "payer_total": record.total,
                "payer_refund": record.refund,
            },
        });
        let envelope = self.envelope("REFUND.SUCCESS", "退款成功", "refund", &resource, now)?;
        state.remember_refund(out_refund_no)?;
        state.enqueue(url, envelope, now)
    }

    pub(crate) fn certificate_list(&self) -> Result<Answer, ApiError> {
        let Some(key) = &self.certificate else {
            return Err(ApiError::new(
                404,
                "RESOURCE_NOT_EXISTS",
                "no platform certificate: this merchant verifies with the WeChat Pay public key",
            ));
        };
        let mut data = Vec::new();
        for certificate in key.all() {
            let sealed = self
                .sealer
                .seal("certificate", certificate.pem.as_bytes())
                .map_err(internal)?;
            data.push(json!({
                "serial_no": certificate.serial,
                "effective_time": china_time(certificate.not_before),
                "expire_time": china_time(certificate.not_after),
                "encrypt_certificate": {
                    "algorithm": "AEAD_AES_256_GCM",
                    "nonce": sealed.nonce,
                    "associated_data": "certificate",
                    "ciphertext": sealed.ciphertext,
                },
            }));
        }
        Ok(Answer::ok(json!({ "data": data })))
    }
}

fn refund_json(record: &RefundRecord) -> Value {
    let mut body = json!({
        "refund_id": record.refund_id,
        "out_refund_no": record.out_refund_no,
        "transaction_id": record.transaction_id,
        "out_trade_no": record.out_trade_no,
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "create_time": china_time(record.create_time),
        "status": match record.status {
            RefundStatus::Processing => "PROCESSING",
            RefundStatus::Success => "SUCCESS",
        },
        "funds_account": "AVAILABLE",
        "amount": {
            "total": record.total,
            "refund": record.refund,
            "from": [],
            "payer_total": record.total,
            "payer_refund": record.refund,
            "settlement_refund": record.refund,
            "settlement_total": record.total,
            "discount_refund": 0,
            "currency": "CNY",
            "refund_fee": 0,
        },
        "promotion_detail": [],
    });
    if record.status == RefundStatus::Success {
        body["success_time"] = json!(china_time(record.succeeds_at));
    }
    body
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn nulls_are_found_anywhere_with_their_pointer() {
        let body = br#"{"appid":"a","amount":{"total":1,"currency":null}}"#;
        let error = parse_body(body).unwrap_err();
        assert_eq!(error.code, "PARAM_ERROR");
        assert_eq!(error.detail.unwrap()["field"], "/amount/currency");
        let error = parse_body(br#"{"list":[1,null]}"#).unwrap_err();
        assert_eq!(error.detail.unwrap()["field"], "/list/1");
        assert!(parse_body(br#"[1]"#).is_err());
    }

    #[test]
    fn amounts_must_be_positive_integers() {
        let body: Value = serde_json::from_str(r#"{"a":{"t":1.5,"z":0,"ok":3}}"#).unwrap();
        assert!(required_positive_int(&body, "/a/t").is_err());
        assert!(required_positive_int(&body, "/a/z").is_err());
        assert!(required_positive_int(&body, "/a/missing").is_err());
        assert_eq!(required_positive_int(&body, "/a/ok").unwrap(), 3);
    }

    #[test]
    fn china_time_is_utc_plus_eight() {
        let at = Timestamp::parse("2026-11-29T20:00:00.999Z").unwrap();
        assert_eq!(china_time(at), "2026-11-30T04:00:00+08:00");
        assert_eq!(china_compact(at), "20261130040000");
    }
}
