//! Parsing of recorded Reloadly-shaped answers (`tests/fixtures/*.json`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr;

use topup_core::{Currency, Decimal, Timestamp};

use super::classify::{ErrorClass, classify_error, classify_status};
use super::wire::{
    BalanceDto, CountryDto, ErrorBody, OperatorDto, TokenResponse, TransactionDto, parse_report,
    parse_status,
};
use crate::{AttemptSummary, Denomination, ProductKind, ProviderAmount, TopupOutcome};

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $name
        ))
    };
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn usd(text: &str) -> ProviderAmount {
    ProviderAmount::new(dec(text), Currency::USD)
}

fn php() -> Currency {
    Currency::parse("PHP").unwrap()
}

fn operators() -> Vec<crate::ProviderOperator> {
    let dtos: Vec<OperatorDto> = serde_json::from_slice(fixture!("operators_ph.json")).unwrap();
    assert_eq!(dtos.len(), 5);
    dtos.into_iter()
        .filter_map(OperatorDto::into_model)
        .collect()
}

#[test]
fn range_operator_keeps_exact_bounds_and_fx() {
    let ops = operators();
    // The operator with an unknown currency is skipped, not fatal.
    assert_eq!(ops.len(), 4);
    let globe = &ops[0];
    assert_eq!(globe.operator_id, "173");
    assert_eq!(globe.kind, ProductKind::Airtime);
    assert_eq!(globe.country.as_str(), "PH");
    assert_eq!(globe.destination_currency, php());
    let fx = globe.fx.unwrap();
    // 20 significant digits survive: nothing went through a float.
    assert_eq!(fx.rate, dec("57.123456789012345678"));
    assert_eq!(fx.currency, php());
    assert_eq!(
        globe.denomination,
        Denomination::Range {
            min: usd("0.18"),
            max: usd("96.12"),
            local_min: Some(ProviderAmount::new(dec("10.00"), php())),
            local_max: Some(ProviderAmount::new(dec("5000.00"), php())),
        }
    );
    assert_eq!(globe.logo_urls.len(), 2);
    assert!(globe.supports_local_amounts);
}

#[test]
fn fixed_operator_with_string_ids_and_empty_object_descriptions() {
    let ops = operators();
    let smart = &ops[1];
    assert_eq!(smart.operator_id, "174");
    let Denomination::Fixed {
        amounts,
        local_amounts,
    } = &smart.denomination
    else {
        panic!("expected FIXED");
    };
    let values: Vec<Decimal> = amounts.iter().map(|a| a.amount.value).collect();
    assert_eq!(
        values,
        vec![dec("1.00"), dec("2.00"), dec("5.00"), dec("0.36")]
    );
    assert!(amounts.iter().all(|a| a.description.is_none()));
    assert!(amounts.iter().all(|a| a.amount.currency == Currency::USD));
    assert_eq!(local_amounts.len(), 4);
    assert_eq!(
        local_amounts[3].amount,
        ProviderAmount::new(dec("20.92"), php())
    );
}

#[test]
fn data_plans_carry_descriptions_matched_by_amount() {
    let ops = operators();
    let data = &ops[2];
    assert_eq!(data.kind, ProductKind::Data);
    let Denomination::Fixed {
        amounts,
        local_amounts,
    } = &data.denomination
    else {
        panic!("expected FIXED");
    };
    assert!(local_amounts.is_empty(), "null localFixedAmounts is empty");
    let described: Vec<(String, Option<&str>)> = amounts
        .iter()
        .map(|a| (a.amount.value.to_string(), a.description.as_deref()))
        .collect();
    assert_eq!(
        described,
        vec![
            ("0.87".to_owned(), Some("GoSURF50: 2GB 3 days")),
            ("1.72".to_owned(), Some("Go90: 8GB 7 days")),
            // The key "5.170" names the amount 5.17.
            ("5.17".to_owned(), Some("Go299: 24GB 30 days")),
        ]
    );
    // Bundles with numbers as strings and descriptions as an aligned array.
    let bundle = &ops[3];
    assert_eq!(bundle.kind, ProductKind::Bundle);
    assert_eq!(bundle.fx.unwrap().rate, dec("58.12"));
    assert!(bundle.logo_urls.is_empty());
    let Denomination::Fixed { amounts, .. } = &bundle.denomination else {
        panic!("expected FIXED");
    };
    assert_eq!(amounts[1].amount, usd("1.71"));
    assert_eq!(
        amounts[1].description.as_deref(),
        Some("Giga Power 99: 4GB 7 days")
    );
}

#[test]
fn successful_topup_summary() {
    let tx: TransactionDto = serde_json::from_slice(fixture!("topup_successful.json")).unwrap();
    let mut summary = AttemptSummary::default();
    tx.summarize(&mut summary);
    assert_eq!(summary.provider_transaction_id.as_deref(), Some("4602843"));
    assert_eq!(
        summary.operator_transaction_id.as_deref(),
        Some("7297929551:OrderConfirmed")
    );
    assert_eq!(summary.provider_status.as_deref(), Some("SUCCESSFUL"));
    assert_eq!(
        summary.custom_identifier.as_deref(),
        Some("ord-01JB2R4Y-a1")
    );
    let ngn = Currency::parse("NGN").unwrap();
    let gbp = Currency::parse("GBP").unwrap();
    assert_eq!(
        summary.requested_amount,
        Some(ProviderAmount::new(dec("3168.4"), ngn))
    );
    assert_eq!(
        summary.delivered_amount,
        Some(ProviderAmount::new(dec("4.9985"), gbp))
    );
    assert_eq!(
        summary.balance_after,
        Some(ProviderAmount::new(dec("2004.50532"), ngn))
    );
    assert_eq!(
        summary.transaction_date,
        Some(Timestamp::parse("2021-12-06T08:13:39Z").unwrap())
    );
    assert_eq!(
        classify_status(&tx.status().unwrap(), tx.transaction_id.0.as_deref()),
        Some(TopupOutcome::Succeeded)
    );
}

#[test]
fn processing_topup_is_pending_with_its_reference() {
    let tx: TransactionDto = serde_json::from_slice(fixture!("topup_processing.json")).unwrap();
    assert_eq!(
        classify_status(&tx.status().unwrap(), tx.transaction_id.0.as_deref()),
        Some(TopupOutcome::Pending {
            provider_ref: "40017".to_owned()
        })
    );
    assert_eq!(
        tx.transaction_date.0,
        Some(Timestamp::parse("2026-01-01T00:00:00.123Z").unwrap())
    );
}

#[test]
fn both_status_shapes() {
    let wrapped = parse_status(fixture!("status_wrapped.json")).unwrap();
    // The wrapper's status is the answer.
    assert_eq!(wrapped.transaction.status().as_deref(), Some("REFUNDED"));
    assert_eq!(
        wrapped.transaction.transaction_id.0.as_deref(),
        Some("40018")
    );
    assert_eq!(wrapped.code, None);

    let flat = parse_status(fixture!("status_flat.json")).unwrap();
    assert_eq!(flat.transaction.status().as_deref(), Some("SUCCESSFUL"));
    assert_eq!(flat.transaction.transaction_id.0.as_deref(), Some("13172"));
    assert_eq!(
        flat.transaction.operator_transaction_id.0.as_deref(),
        Some("99887766")
    );
    let mut summary = AttemptSummary::default();
    flat.transaction.summarize(&mut summary);
    assert_eq!(
        summary.delivered_amount,
        Some(ProviderAmount::new(
            dec("50"),
            Currency::parse("NGN").unwrap()
        ))
    );
}

#[test]
fn report_pages_and_bare_arrays() {
    let page = parse_report(fixture!("report_page.json")).unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(
        page[0].custom_identifier.0.as_deref(),
        Some("ord-01JB2R4Y-a1")
    );
    assert!(
        parse_report(fixture!("report_empty.json"))
            .unwrap()
            .is_empty()
    );
    let bare =
        parse_report(br#"[{"transactionId": 1, "status": "FAILED", "customIdentifier": "k"}]"#)
            .unwrap();
    assert_eq!(bare[0].status().as_deref(), Some("FAILED"));
}

#[test]
fn error_bodies_are_classified() {
    let insufficient = ErrorBody::parse(fixture!("error_insufficient_balance.json"));
    assert_eq!(insufficient.code(), Some("INSUFFICIENT_BALANCE"));
    assert_eq!(
        classify_error(insufficient.code(), 400),
        ErrorClass::Outcome(TopupOutcome::Precondition)
    );
    let expired = ErrorBody::parse(fixture!("error_token_expired.json"));
    assert_eq!(expired.code(), Some("TOKEN_EXPIRED"));
    let validation = ErrorBody::parse(fixture!("error_validation.json"));
    assert_eq!(validation.code(), None);
    assert_eq!(
        validation.message().as_deref(),
        Some("Request validation failed")
    );
    assert_eq!(
        classify_error(validation.code(), 400),
        ErrorClass::Outcome(TopupOutcome::FailedFinal)
    );
    let spring = ErrorBody::parse(fixture!("error_spring_404.json"));
    assert_eq!(spring.code(), None);
    assert_eq!(spring.message().as_deref(), Some("No message available"));
    assert_eq!(
        classify_error(spring.code(), 404),
        ErrorClass::Outcome(TopupOutcome::Precondition)
    );
    // Not JSON at all (a proxy's HTML page) still yields an empty error.
    assert_eq!(ErrorBody::parse(b"<html>502</html>").code(), None);
}

#[test]
fn countries_balance_and_token() {
    let countries: Vec<CountryDto> = serde_json::from_slice(fixture!("countries.json")).unwrap();
    let countries: Vec<_> = countries
        .into_iter()
        .filter_map(CountryDto::into_model)
        .collect();
    assert_eq!(countries.len(), 2, "XX is not a country");
    assert_eq!(countries[0].code.as_str(), "PH");
    assert_eq!(countries[0].currency, Some(php()));
    assert_eq!(countries[0].calling_codes, vec!["+63".to_owned()]);

    let balance: BalanceDto = serde_json::from_slice(fixture!("balance.json")).unwrap();
    assert_eq!(balance.into_model(), Some(usd("5000.23")));

    let token: TokenResponse = serde_json::from_slice(fixture!("token.json")).unwrap();
    assert_eq!(token.expires_in.0, Some(dec("86400")));
}
