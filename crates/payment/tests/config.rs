//! Loading the merchant configuration: serde shape, key sources, early failures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use topup_core::{SharedClock, SystemClock};
use topup_payment::{DEFAULT_BASE_URL, PaymentError, PemSource, WechatPayClient, WechatPayConfig};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn config_json(private_key: serde_json::Value, apiv3_key: &str) -> serde_json::Value {
    serde_json::json!({
        "mchid": "1900007291",
        "appid": "wxd678efh567hg6787",
        "merchant_serial_no": "3775B6A45ACD588826D15E583A95F5DD2C5F1B0E",
        "merchant_private_key": private_key,
        "apiv3_key": apiv3_key,
        "wechatpay_public_key": { "file": format!("{FIXTURES}/platform_key.pub.pem") },
        "wechatpay_public_key_id": "PUB_KEY_ID_0119007291202611290000000001",
        "notify_url": "https://topup.example/api/v1/pay/wechat/notify",
        "refund_notify_url": "https://topup.example/api/v1/pay/wechat/refund-notify",
        "http": { "max_retries": 1 }
    })
}

fn clock() -> SharedClock {
    Arc::new(SystemClock)
}

#[test]
fn keys_load_from_files_or_inline_pem_in_both_private_key_forms() {
    let pkcs1 =
        std::fs::read_to_string(format!("{FIXTURES}/wechatpay_doc_test_key.pkcs1.pem")).unwrap();
    for private_key in [
        serde_json::json!({ "file": format!("{FIXTURES}/wechatpay_doc_test_key.pem") }),
        serde_json::json!({ "pem": pkcs1 }),
    ] {
        let config: WechatPayConfig =
            serde_json::from_value(config_json(private_key, "0123456789abcdefghijklmnopqrstuv"))
                .unwrap();
        assert_eq!(config.base_url, DEFAULT_BASE_URL);
        assert_eq!(config.http.max_retries, 1);
        assert_eq!(
            config.http.retry_backoff_ms, 200,
            "unset settings keep defaults"
        );
        assert!(
            !format!("{config:?}").contains("BEGIN"),
            "secrets never print"
        );
        let client = WechatPayClient::new(&config, clock()).unwrap();
        assert_eq!(
            client.known_platform_serials(),
            vec!["PUB_KEY_ID_0119007291202611290000000001".to_string()]
        );
    }
}

#[test]
fn misconfigurations_fail_when_loading() {
    let inline = serde_json::json!({ "file": format!("{FIXTURES}/wechatpay_doc_test_key.pem") });
    let config: WechatPayConfig =
        serde_json::from_value(config_json(inline.clone(), "short")).unwrap();
    assert!(matches!(
        WechatPayClient::new(&config, clock()),
        Err(PaymentError::ApiV3KeyLength)
    ));

    let missing = serde_json::json!({ "file": "/nonexistent/apiclient_key.pem" });
    let config: WechatPayConfig =
        serde_json::from_value(config_json(missing, "0123456789abcdefghijklmnopqrstuv")).unwrap();
    let error = WechatPayClient::new(&config, clock()).unwrap_err();
    assert!(matches!(error, PaymentError::KeyFile { .. }), "{error:?}");

    let mut config: WechatPayConfig =
        serde_json::from_value(config_json(inline, "0123456789abcdefghijklmnopqrstuv")).unwrap();
    config.wechatpay_public_key_id = Some("0119007291".into());
    assert!(matches!(
        WechatPayClient::new(&config, clock()),
        Err(PaymentError::Config(_))
    ));
    config.wechatpay_public_key = None;
    config.wechatpay_public_key_id = None;
    assert!(
        matches!(
            WechatPayClient::new(&config, clock()),
            Err(PaymentError::Config(_))
        ),
        "some way to verify WeChat's signatures is required"
    );
    config.platform_certificates = true;
    WechatPayClient::new(&config, clock()).unwrap();
    config.merchant_private_key =
        PemSource::pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    assert!(matches!(
        WechatPayClient::new(&config, clock()),
        Err(PaymentError::InvalidKey(_))
    ));
}
