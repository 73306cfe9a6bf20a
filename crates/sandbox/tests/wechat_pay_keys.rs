//! The embedded default's first start: a fresh key set, kept in the data dir.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use topup_core::{SharedClock, SystemClock};
use topup_sandbox::wechat_pay::{SandboxKeySet, WechatPaySandbox};

#[test]
fn a_generated_key_set_is_saved_once_and_builds_a_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let keys = SandboxKeySet::load_or_generate(dir.path()).unwrap();
    assert!(keys.platform_public_key_id.starts_with("PUB_KEY_ID_"));
    assert_eq!(keys.platform_public_key_id.len(), "PUB_KEY_ID_".len() + 28);
    assert_eq!(keys.merchant_serial_no.len(), 40);
    assert_eq!(keys.apiv3_key.expose().len(), 32);
    assert!(
        keys.merchant_private_key_pem
            .expose()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert!(
        keys.merchant_public_key_pem
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    assert_ne!(keys.merchant_public_key_pem, keys.platform_public_key_pem);
    assert_eq!(
        format!("{keys:?}").matches("PRIVATE").count(),
        0,
        "secrets never print"
    );

    let again = SandboxKeySet::load_or_generate(dir.path()).unwrap();
    assert_eq!(
        again.merchant_private_key_pem,
        keys.merchant_private_key_pem
    );
    assert_eq!(again.platform_public_key_id, keys.platform_public_key_id);
    assert_eq!(again.apiv3_key, keys.apiv3_key);
    // Another process that uses this sandbox reads the same keys, and never makes its own.
    let shared = SandboxKeySet::load(dir.path()).unwrap();
    assert_eq!(shared.merchant_serial_no, keys.merchant_serial_no);
    assert_eq!(shared.apiv3_key, keys.apiv3_key);
    let empty = tempfile::tempdir().unwrap();
    assert!(SandboxKeySet::load(empty.path()).is_err());
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let file = std::fs::read_dir(dir.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(file.metadata().unwrap().permissions().mode() & 0o777, 0o600);
    }

    let clock: SharedClock = Arc::new(SystemClock);
    let sandbox = WechatPaySandbox::new(
        keys.sandbox_config("1900000001", "wx0123456789abcdef"),
        clock,
    )
    .unwrap();
    assert_eq!(
        sandbox.platform_public_key_pem(),
        keys.platform_public_key_pem
    );
    assert_eq!(
        sandbox.platform_public_key_id(),
        keys.platform_public_key_id
    );
    assert!(sandbox.certificate_serial().is_none());
}
