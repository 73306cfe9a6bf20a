//! `openapi/openapi.json` is committed so integrators can read it without building; this test
//! fails when the code's document differs from it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

#[test]
fn committed_openapi_document_matches_the_code() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi/openapi.json");
    let generated = topup_api::openapi_document().to_pretty_json().unwrap() + "\n";
    if std::env::var_os("TOPUP_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date; regenerate it with\n\n    \
         cargo run -q -p topup-server -- openapi > openapi/openapi.json\n\n\
         (or TOPUP_UPDATE_OPENAPI=1 cargo test -p topup-api --test openapi) and commit it"
    );
}

#[test]
fn every_operation_documents_the_error_envelope() {
    let doc = serde_json::to_value(topup_api::openapi_document()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            assert!(
                operation["responses"]["default"].is_object(),
                "{method} {path} has no error response"
            );
        }
    }
}
