//! Reloadly's JSON shapes, written from the provider's documentation. Amounts are JSON numbers
//! printed from exact decimals (never through a float).

use std::collections::BTreeMap;

use serde::ser::Error as _;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use topup_core::{Decimal, Timestamp};

use super::catalog::{Catalog, Country, Denomination, Operator};
use super::state::{ACCOUNT_CURRENCY, ACCOUNT_CURRENCY_NAME, ApiError, Transaction};

/// A decimal written as a JSON number with its exact digits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Num(pub Decimal);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(self.0.to_string()).map_err(S::Error::custom)?;
        raw.serialize(s)
    }
}

/// Reloadly's timestamps: `yyyy-MM-dd HH:mm:ss`, UTC, no zone.
pub(crate) fn reloadly_time(at: Timestamp) -> String {
    at.as_datetime().format("%Y-%m-%d %H:%M:%S").to_string()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorBody {
    time_stamp: String,
    message: String,
    path: String,
    error_code: Option<&'static str>,
    info_link: Option<String>,
    details: Vec<ErrorDetail>,
}

#[derive(Serialize)]
struct ErrorDetail {
    field: String,
    message: String,
}

impl ErrorBody {
    pub fn new(error: &ApiError, path: &str, now: Timestamp) -> Self {
        ErrorBody {
            time_stamp: reloadly_time(now),
            message: error.message.clone(),
            path: path.to_owned(),
            error_code: error.code,
            info_link: None,
            details: error
                .details
                .iter()
                .map(|(field, message)| ErrorDetail {
                    field: field.clone(),
                    message: message.clone(),
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct TokenBody {
    pub access_token: String,
    pub scope: &'static str,
    pub expires_in: i64,
    pub token_type: &'static str,
}

#[derive(Deserialize)]
pub(crate) struct TokenRequest {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub grant_type: Option<String>,
    pub audience: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CountryBody {
    iso_name: &'static str,
    name: &'static str,
    currency_code: &'static str,
    currency_name: &'static str,
    currency_symbol: &'static str,
    flag: String,
    calling_codes: Vec<&'static str>,
}

impl CountryBody {
    pub fn new(country: &Country) -> Self {
        CountryBody {
            iso_name: country.iso,
            name: country.name,
            currency_code: country.currency,
            currency_name: country.currency_name,
            currency_symbol: country.currency_symbol,
            flag: format!(
                "https://s3.amazonaws.com/rld-flags/{}.svg",
                country.iso.to_ascii_lowercase()
            ),
            calling_codes: vec![country.calling_code],
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CountryRef {
    iso_name: &'static str,
    name: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Fx {
    rate: Num,
    currency_code: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Fees {
    international: Num,
    international_percentage: Num,
    local: Num,
    local_percentage: Num,
}

/// Reloadly sends an empty array when there are no descriptions and an object otherwise.
#[derive(Serialize)]
#[serde(untagged)]
enum Descriptions {
    Empty([(); 0]),
    Map(BTreeMap<String, String>),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OperatorBody {
    id: u64,
    operator_id: u64,
    name: &'static str,
    bundle: bool,
    data: bool,
    pin: bool,
    combo_product: bool,
    supports_local_amounts: bool,
    supports_geographical_recharge_plans: bool,
    denomination_type: &'static str,
    sender_currency_code: &'static str,
    sender_currency_symbol: &'static str,
    destination_currency_code: &'static str,
    destination_currency_symbol: &'static str,
    commission: Num,
    international_discount: Num,
    local_discount: Num,
    most_popular_amount: Option<Num>,
    most_popular_local_amount: Option<Num>,
    min_amount: Option<Num>,
    max_amount: Option<Num>,
    local_min_amount: Option<Num>,
    local_max_amount: Option<Num>,
    country: CountryRef,
    fx: Fx,
    logo_urls: Vec<String>,
    fixed_amounts: Vec<Num>,
    fixed_amounts_descriptions: Descriptions,
    local_fixed_amounts: Vec<Num>,
    local_fixed_amounts_descriptions: Descriptions,
    suggested_amounts: Vec<Num>,
    suggested_amounts_map: BTreeMap<String, Num>,
    fees: Fees,
    geographical_recharge_plans: Vec<()>,
    promotions: Vec<()>,
    status: &'static str,
}

impl OperatorBody {
    pub fn new(catalog: &Catalog, operator: &Operator, logo_base_url: &str) -> Self {
        let country_name = catalog
            .country(operator.country)
            .map(|c| c.name)
            .unwrap_or(operator.country);
        let zero = Num(Decimal::ZERO);
        let mut body = OperatorBody {
            id: operator.id,
            operator_id: operator.id,
            name: operator.name,
            bundle: operator.bundle,
            data: operator.data,
            pin: false,
            combo_product: false,
            supports_local_amounts: operator.supports_local_amounts,
            supports_geographical_recharge_plans: false,
            denomination_type: "FIXED",
            sender_currency_code: ACCOUNT_CURRENCY,
            sender_currency_symbol: "$",
            destination_currency_code: operator.destination_currency,
            destination_currency_symbol: operator.destination_symbol,
            commission: Num(operator.commission),
            international_discount: Num(operator.commission),
            local_discount: zero,
            most_popular_amount: None,
            most_popular_local_amount: None,
            min_amount: None,
            max_amount: None,
            local_min_amount: None,
            local_max_amount: None,
            country: CountryRef {
                iso_name: operator.country,
                name: country_name,
            },
            fx: Fx {
                rate: Num(operator.fx_rate),
                currency_code: operator.destination_currency,
            },
            logo_urls: ["1", "2", "3"]
                .iter()
                .map(|size| format!("{logo_base_url}/{}-{size}.png", operator.slug))
                .collect(),
            fixed_amounts: Vec::new(),
            fixed_amounts_descriptions: Descriptions::Empty([]),
            local_fixed_amounts: Vec::new(),
            local_fixed_amounts_descriptions: Descriptions::Empty([]),
            suggested_amounts: Vec::new(),
            suggested_amounts_map: BTreeMap::new(),
            fees: Fees {
                international: zero,
                international_percentage: zero,
                local: zero,
                local_percentage: zero,
            },
            geographical_recharge_plans: Vec::new(),
            promotions: Vec::new(),
            status: "ACTIVE",
        };
        match &operator.denomination {
            Denomination::Fixed(amounts) => {
                body.fixed_amounts = amounts.iter().map(|(a, _)| Num(*a)).collect();
                body.most_popular_amount = amounts.first().map(|(a, _)| Num(*a));
                // Airtime without plan texts answers `{}`, plans answer a filled object.
                let descriptions: BTreeMap<String, String> = amounts
                    .iter()
                    .filter_map(|(a, d)| d.map(|d| (format!("{:.2}", a), d.to_owned())))
                    .collect();
                body.fixed_amounts_descriptions = Descriptions::Map(descriptions.clone());
                if operator.supports_local_amounts {
                    body.local_fixed_amounts = amounts
                        .iter()
                        .map(|(a, _)| Num(operator.local_of(*a)))
                        .collect();
                    body.local_fixed_amounts_descriptions = Descriptions::Map(
                        amounts
                            .iter()
                            .filter_map(|(a, d)| {
                                d.map(|d| (format!("{:.2}", operator.local_of(*a)), d.to_owned()))
                            })
                            .collect(),
                    );
                }
            }
            Denomination::Range { min, max } => {
                body.denomination_type = "RANGE";
                body.min_amount = Some(Num(*min));
                body.max_amount = Some(Num(*max));
                if operator.supports_local_amounts {
                    body.local_min_amount = Some(Num(operator.local_of(*min)));
                    body.local_max_amount = Some(Num(operator.local_of(*max)));
                }
                let suggested: Vec<Decimal> = [5i64, 10, 20, 50]
                    .iter()
                    .map(|u| Decimal::from(*u))
                    .filter(|a| a >= min && a <= max)
                    .collect();
                body.suggested_amounts = suggested.iter().map(|a| Num(*a)).collect();
                body.suggested_amounts_map = suggested
                    .iter()
                    .map(|a| (a.to_string(), Num(operator.local_of(*a))))
                    .collect();
            }
        }
        body
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BalanceInfo {
    old_balance: Num,
    new_balance: Num,
    cost: Num,
    currency_code: &'static str,
    currency_name: &'static str,
    updated_at: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TransactionBody {
    transaction_id: u64,
    status: &'static str,
    operator_transaction_id: Option<String>,
    custom_identifier: Option<String>,
    recipient_phone: String,
    recipient_email: Option<String>,
    sender_phone: Option<String>,
    country_code: &'static str,
    operator_id: u64,
    operator_name: &'static str,
    discount: Num,
    discount_currency_code: &'static str,
    requested_amount: Num,
    requested_amount_currency_code: &'static str,
    delivered_amount: Num,
    delivered_amount_currency_code: &'static str,
    transaction_date: String,
    pin_detail: Option<()>,
    balance_info: Option<BalanceInfo>,
}

impl TransactionBody {
    pub fn new(tx: &Transaction, with_balance: bool) -> Self {
        TransactionBody {
            transaction_id: tx.id,
            status: tx.status.as_str(),
            operator_transaction_id: tx.operator_transaction_id(),
            custom_identifier: tx.custom_identifier.clone(),
            recipient_phone: tx.recipient_phone.clone(),
            recipient_email: None,
            sender_phone: tx.sender_phone.clone(),
            country_code: tx.country,
            operator_id: tx.operator_id,
            operator_name: tx.operator_name,
            discount: Num(tx.discount),
            discount_currency_code: ACCOUNT_CURRENCY,
            requested_amount: Num(tx.requested_amount),
            requested_amount_currency_code: ACCOUNT_CURRENCY,
            delivered_amount: Num(tx.delivered_amount),
            delivered_amount_currency_code: tx.delivered_currency,
            transaction_date: reloadly_time(tx.created_at),
            pin_detail: None,
            balance_info: with_balance.then(|| BalanceInfo {
                old_balance: Num(tx.balance_before),
                new_balance: Num(tx.balance_after),
                cost: Num(tx.cost),
                currency_code: ACCOUNT_CURRENCY,
                currency_name: ACCOUNT_CURRENCY_NAME,
                updated_at: reloadly_time(tx.created_at),
            }),
        }
    }
}

/// `GET /topups/{id}/status` in its wrapped form.
#[derive(Serialize)]
pub(crate) struct WrappedStatus {
    pub code: Option<&'static str>,
    pub message: Option<&'static str>,
    pub status: &'static str,
    pub transaction: TransactionBody,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BalanceBody {
    pub balance: Num,
    pub currency_code: &'static str,
    pub currency_name: &'static str,
    pub updated_at: String,
}

#[derive(Serialize)]
pub(crate) struct AsyncAccepted {
    #[serde(rename = "transactionId")]
    pub transaction_id: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Sort {
    sorted: bool,
    unsorted: bool,
    empty: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Pageable {
    sort: Sort,
    page_number: usize,
    page_size: usize,
    offset: usize,
    paged: bool,
    unpaged: bool,
}

/// A Spring Data page, as Reloadly's list endpoints answer.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageBody<T> {
    content: Vec<T>,
    pageable: Pageable,
    total_elements: usize,
    total_pages: usize,
    last: bool,
    first: bool,
    sort: Sort,
    number_of_elements: usize,
    size: usize,
    number: usize,
    empty: bool,
}

impl<T> PageBody<T> {
    /// `page` is 1-based like Reloadly's query parameter.
    pub fn new(all: Vec<T>, page: usize, size: usize) -> Self {
        let size = size.max(1);
        let page = page.max(1);
        let total = all.len();
        let total_pages = total.div_ceil(size);
        let offset = (page - 1) * size;
        let content: Vec<T> = all.into_iter().skip(offset).take(size).collect();
        let sort = || Sort {
            sorted: true,
            unsorted: false,
            empty: false,
        };
        PageBody {
            number_of_elements: content.len(),
            empty: content.is_empty(),
            content,
            pageable: Pageable {
                sort: sort(),
                page_number: page - 1,
                page_size: size,
                offset,
                paged: true,
                unpaged: false,
            },
            total_elements: total,
            total_pages,
            last: page >= total_pages,
            first: page == 1,
            sort: sort(),
            size,
            number: page - 1,
        }
    }

    /// The same page with each item turned into its body (only the page's items, not all).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> PageBody<U> {
        PageBody {
            content: self.content.into_iter().map(f).collect(),
            pageable: self.pageable,
            total_elements: self.total_elements,
            total_pages: self.total_pages,
            last: self.last,
            first: self.first,
            sort: self.sort,
            number_of_elements: self.number_of_elements,
            size: self.size,
            number: self.number,
            empty: self.empty,
        }
    }
}

/// `POST /topups` body. Numbers and ids arrive as JSON numbers or strings.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TopupRequestBody {
    pub operator_id: Option<Box<RawValue>>,
    pub amount: Option<Box<RawValue>>,
    pub use_local_amount: Option<bool>,
    pub custom_identifier: Option<String>,
    pub recipient_phone: Option<PhoneBody>,
    pub sender_phone: Option<PhoneBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PhoneBody {
    pub country_code: Option<String>,
    pub number: Option<String>,
}

/// The text of a JSON number or string (`5`, `"5.00"`), unquoted.
pub(crate) fn raw_scalar(raw: &RawValue) -> Option<String> {
    let text = raw.get().trim();
    if text.starts_with('"') {
        serde_json::from_str::<String>(text).ok()
    } else if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        Some(text.to_owned())
    } else {
        None
    }
}

pub(crate) fn parse_decimal(text: &str) -> Option<Decimal> {
    let text = text.trim();
    if text.contains(['e', 'E']) {
        Decimal::from_scientific(text).ok()
    } else {
        text.parse().ok()
    }
}
