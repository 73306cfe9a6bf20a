//! `docs/protocols.md#published-test-vectors`: the official documentation's examples, byte for
//! byte, plus the ways a signed message must be refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use topup_core::{Secret, Timestamp};
use topup_payment::{
    ApiV3Key, MerchantSigner, PaymentError, PlatformKeys, SignatureVerifier, WechatPayHeaders,
    pay_sign_message, request_message, response_message, verify_and_decrypt_notification,
};

const DOC_KEY_PKCS8: &str = include_str!("fixtures/wechatpay_doc_test_key.pem");
const DOC_KEY_PKCS1: &str = include_str!("fixtures/wechatpay_doc_test_key.pkcs1.pem");
const DOC_KEY_PUBLIC: &str = include_str!("fixtures/wechatpay_doc_test_key.pub.pem");
const OTHER_KEY_PUBLIC: &str = include_str!("fixtures/wrong_platform_key.pub.pem");

const JSAPI_BODY: &str = r#"{"appid":"wxd678efh567hg6787","mchid":"1900007291","description":"Image形象店-深圳腾大-QQ公仔","out_trade_no":"1217752501201407033233368018","notify_url":"https://www.weixin.qq.com/wxpay/pay.php","amount":{"total":100,"currency":"CNY"},"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}"#;

fn signer(pem: &str) -> MerchantSigner {
    MerchantSigner::from_pem(&Secret::new(pem.to_string())).unwrap()
}

#[test]
fn request_signature_matches_the_documentation() {
    let message = request_message(
        "POST",
        "/v3/pay/transactions/jsapi",
        1554208460,
        "593BEC0C930BF1AFEB40B4A08C8FB242",
        JSAPI_BODY.as_bytes(),
    );
    assert!(message.ends_with(b"}\n"));
    for pem in [DOC_KEY_PKCS8, DOC_KEY_PKCS1] {
        let signature = signer(pem).sign(&message).unwrap();
        assert!(
            signature
                .starts_with("jnks4dlrPw3ZX+ozVvSK39oa0t7OMBsg83BHAwd8BRdUFiVaQNTLTvci+wURgP1O"),
            "{signature}"
        );
        assert!(signature.ends_with("RGUNE0t4v01A=="), "{signature}");
        assert_eq!(BASE64.decode(&signature).unwrap().len(), 256);
    }
}

#[test]
fn get_requests_sign_an_empty_body_line() {
    let message = request_message("GET", "/v3/certificates", 1554208460, "N", b"");
    assert_eq!(message, b"GET\n/v3/certificates\n1554208460\nN\n\n");
}

#[test]
fn pay_sign_matches_the_documentation() {
    let message = pay_sign_message(
        "wx2421b1c4370ec43b",
        "1554208460",
        "593BEC0C930BF1AFEB40B4A08C8FB242",
        "prepay_id=wx201410272009395522657a690389285100",
    );
    let pay_sign = signer(DOC_KEY_PKCS8).sign(message.as_bytes()).unwrap();
    assert!(
        pay_sign.starts_with("mI35pfNEQV6777ke/1T+LJLQDNTm7yeoUJH+"),
        "{pay_sign}"
    );
    assert!(pay_sign.ends_with("J+qk5N61J7caYoepHFaxw=="), "{pay_sign}");
    let verifier = SignatureVerifier::from_spki_pem(DOC_KEY_PUBLIC).unwrap();
    assert!(verifier.verify(message.as_bytes(), &pay_sign));
}

#[test]
fn aes_gcm_matches_the_java_sdk_example_and_fails_on_wrong_nonce_or_aad() {
    let key = ApiV3Key::new(&Secret::new("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb".to_string())).unwrap();
    let ciphertext = "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=";
    let plaintext = key
        .decrypt("uluk4a9R25RW", "associatedData", ciphertext)
        .unwrap();
    assert_eq!(plaintext, b"message");
    assert!(matches!(
        key.decrypt("uluk4a9R25RX", "associatedData", ciphertext),
        Err(PaymentError::Decrypt)
    ));
    assert!(matches!(
        key.decrypt("uluk4a9R25RW", "associatedDatb", ciphertext),
        Err(PaymentError::Decrypt)
    ));
    assert!(matches!(
        key.decrypt("short", "associatedData", ciphertext),
        Err(PaymentError::Decrypt)
    ));
}

#[test]
fn apiv3_key_must_be_32_bytes() {
    for bad in ["", "too short", "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb!"] {
        assert!(matches!(
            ApiV3Key::new(&Secret::new(bad.to_string())),
            Err(PaymentError::ApiV3KeyLength)
        ));
    }
}

#[test]
fn keys_that_are_not_rsa_pem_are_refused() {
    assert!(matches!(
        MerchantSigner::from_pem(&Secret::new("not a key".to_string())),
        Err(PaymentError::InvalidKey(_))
    ));
    assert!(SignatureVerifier::from_spki_pem(DOC_KEY_PKCS8).is_err());
}

// --- a signed callback: verification (docs/protocols.md#verifying-responses-and-callbacks) ---

const APIV3_KEY: &str = "0123456789abcdefghijklmnopqrstuv";
const SERIAL: &str = "PUB_KEY_ID_0114232134912410000000000000";

/// Signs like WeChat, with the documentation key standing in for WeChat's key.
fn signed_headers(timestamp: i64, body: &[u8]) -> WechatPayHeaders {
    let nonce = "fdasflkja484w".to_string();
    let timestamp = timestamp.to_string();
    let signature = signer(DOC_KEY_PKCS8)
        .sign(&response_message(&timestamp, &nonce, body))
        .unwrap();
    WechatPayHeaders {
        timestamp,
        nonce,
        signature,
        serial: SERIAL.to_string(),
    }
}

fn keys() -> PlatformKeys {
    let keys = PlatformKeys::new();
    keys.insert(
        SERIAL,
        SignatureVerifier::from_spki_pem(DOC_KEY_PUBLIC).unwrap(),
    );
    keys
}

/// A TRANSACTION.SUCCESS envelope encrypted under APIV3_KEY, sealed here with ring directly
/// rather than through the crate's own code.
fn transaction_envelope() -> Vec<u8> {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let plaintext = br#"{"appid":"wxd678efh567hg6787","mchid":"1900007291","out_trade_no":"T20261129000001","transaction_id":"4200000000202611290000000001","trade_type":"JSAPI","trade_state":"SUCCESS","trade_state_desc":"ok","bank_type":"OTHERS","attach":"","success_time":"2026-11-29T21:17:28+08:00","payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},"amount":{"total":100,"payer_total":100,"currency":"CNY","payer_currency":"CNY"}}"#;
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, APIV3_KEY.as_bytes()).unwrap());
    let mut in_out = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(*b"ABCDEFGHIJKL"),
        Aad::from(b"transaction"),
        &mut in_out,
    )
    .unwrap();
    serde_json::to_vec(&serde_json::json!({
        "id": "EV-1", "create_time": "2026-11-29T21:17:29+08:00",
        "resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS",
        "summary": "支付成功",
        "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": BASE64.encode(&in_out), "associated_data": "transaction",
            "nonce": "ABCDEFGHIJKL"}
    }))
    .unwrap()
}

fn api_key() -> ApiV3Key {
    ApiV3Key::new(&Secret::new(APIV3_KEY.to_string())).unwrap()
}

#[test]
fn a_genuine_callback_verifies_and_decrypts() {
    let body = transaction_envelope();
    let now = Timestamp::from_unix_seconds(1_800_000_000).unwrap();
    let headers = signed_headers(now.unix_seconds() - 299, &body);
    let notification =
        verify_and_decrypt_notification(&keys(), &api_key(), &headers, &body, now).unwrap();
    assert_eq!(notification.id, "EV-1");
    let topup_payment::NotificationPayload::Transaction(transaction) = notification.payload else {
        panic!("not a transaction");
    };
    assert_eq!(transaction.out_trade_no, "T20261129000001");
    assert_eq!(
        transaction.amount.total_money(),
        topup_core::Money::cny(100)
    );
    assert_eq!(
        transaction.success_time.unwrap().to_rfc3339(),
        "2026-11-29T13:17:28.000Z"
    );
}

#[test]
fn tampered_body_wrong_serial_stale_time_and_probes_are_refused() {
    let body = transaction_envelope();
    let now = Timestamp::from_unix_seconds(1_800_000_000).unwrap();
    let keys = keys();
    let api_key = api_key();
    let check = |headers: &WechatPayHeaders, body: &[u8]| {
        let error =
            verify_and_decrypt_notification(&keys, &api_key, headers, body, now).unwrap_err();
        assert!(error.is_authentication_failure(), "{error:?}");
        error
    };

    let mut tampered = body.clone();
    let at = tampered.iter().position(|&b| b == b'1').unwrap();
    tampered[at] = b'2';
    let headers = signed_headers(now.unix_seconds(), &body);
    assert!(matches!(
        check(&headers, &tampered),
        PaymentError::BadSignature
    ));

    let mut wrong_serial = headers.clone();
    wrong_serial.serial = "PUB_KEY_ID_0000000000000000000000000000".into();
    assert!(matches!(
        check(&wrong_serial, &body),
        PaymentError::UnknownSerial(_)
    ));

    // Signed correctly but 301 s old: refused before the signature is even looked at.
    let stale = signed_headers(now.unix_seconds() - 301, &body);
    assert!(matches!(
        check(&stale, &body),
        PaymentError::StaleTimestamp { skew_seconds: 301 }
    ));
    let future = signed_headers(now.unix_seconds() + 301, &body);
    assert!(matches!(
        check(&future, &body),
        PaymentError::StaleTimestamp { .. }
    ));

    let mut probe = headers.clone();
    probe.signature = format!("WECHATPAY/SIGNTEST/{}", headers.signature);
    assert!(matches!(check(&probe, &body), PaymentError::SignatureProbe));

    let mut garbage = headers.clone();
    garbage.signature = "not base64 at all!".into();
    assert!(matches!(check(&garbage, &body), PaymentError::BadSignature));

    // The right serial but the wrong key behind it.
    let impostor = PlatformKeys::new();
    impostor.insert(
        SERIAL,
        SignatureVerifier::from_spki_pem(OTHER_KEY_PUBLIC).unwrap(),
    );
    let error =
        verify_and_decrypt_notification(&impostor, &api_key, &headers, &body, now).unwrap_err();
    assert!(matches!(error, PaymentError::BadSignature));

    // Verified but encrypted under another APIv3 key.
    let other_key = ApiV3Key::new(&Secret::new("vutsrqponmlkjihgfedcba9876543210".into())).unwrap();
    let error =
        verify_and_decrypt_notification(&keys, &other_key, &headers, &body, now).unwrap_err();
    assert!(matches!(error, PaymentError::Decrypt));
    assert!(error.is_authentication_failure());
}

#[test]
fn headers_are_read_case_insensitively_through_the_lookup() {
    let map = std::collections::HashMap::from([
        ("wechatpay-timestamp", "1"),
        ("wechatpay-nonce", "n"),
        ("wechatpay-signature", "s"),
        ("wechatpay-serial", "PUB_KEY_ID_1"),
    ]);
    let headers =
        WechatPayHeaders::from_lookup(|name| map.get(name.to_ascii_lowercase().as_str()).copied())
            .unwrap();
    assert_eq!(headers.serial, "PUB_KEY_ID_1");
    let missing = WechatPayHeaders::from_lookup(|_| None).unwrap_err();
    assert!(matches!(
        missing,
        PaymentError::MissingHeader("Wechatpay-Timestamp")
    ));
    assert!(missing.is_authentication_failure());
}

/// Throughput of the operations a checkout costs us (prepay request signature + paySign).
/// `cargo test -p topup-payment --release --test published_examples -- --ignored --nocapture`
#[test]
#[ignore = "measurement, run in release"]
fn signing_throughput() {
    let signer = signer(DOC_KEY_PKCS8);
    let message = request_message(
        "POST",
        "/v3/pay/transactions/jsapi",
        1554208460,
        "N",
        JSAPI_BODY.as_bytes(),
    );
    let rounds = 2_000;
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(signer.sign(&message).unwrap());
    }
    let per_second = f64::from(rounds) / started.elapsed().as_secs_f64();
    println!("RSA-2048 signatures per second on one core: {per_second:.0}");
}
