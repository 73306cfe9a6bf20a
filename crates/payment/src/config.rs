use std::path::PathBuf;

use serde::Deserialize;
use topup_core::Secret;

use crate::PaymentError;

pub const DEFAULT_BASE_URL: &str = "https://api.mch.weixin.qq.com";

/// A merchant's WeChat Pay settings (direct merchant, mini-program payments).
///
/// Verification keys: public-key mode (`wechatpay_public_key` + `wechatpay_public_key_id`,
/// the mode of all new merchants), platform-certificate mode (`platform_certificates =
/// true`: certificates downloaded from `GET /v3/certificates`), or both during a migration.
#[derive(Debug, Clone, Deserialize)]
pub struct WechatPayConfig {
    /// 商户号.
    pub mchid: String,
    /// The mini-program's app id, the one orders are paid in.
    pub appid: String,
    /// Serial number of the merchant API certificate (identifies our key to WeChat).
    pub merchant_serial_no: String,
    /// The merchant API private key (`apiclient_key.pem`), PKCS#8 or PKCS#1.
    pub merchant_private_key: PemSource,
    /// The APIv3 key: exactly 32 bytes.
    pub apiv3_key: Secret<String>,
    /// WeChat Pay public key (`BEGIN PUBLIC KEY`).
    #[serde(default)]
    pub wechatpay_public_key: Option<PemSource>,
    /// Its id, `PUB_KEY_ID_…`; also sent as `Wechatpay-Serial` on requests.
    #[serde(default)]
    pub wechatpay_public_key_id: Option<String>,
    /// Also accept platform certificates (downloaded and refreshed automatically).
    #[serde(default)]
    pub platform_certificates: bool,
    /// Where WeChat sends payment notifications (https, no query).
    pub notify_url: String,
    /// Where WeChat sends refund notifications (https, no query).
    pub refund_notify_url: String,
    #[serde(default = "default_base_url")]
    pub base_url: String,
    #[serde(default)]
    pub http: HttpSettings,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_string()
}

/// Key material given inline or as a file path: `{ pem = "-----BEGIN…" }` or `{ file = "…" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PemSource {
    Pem(Secret<String>),
    File(PathBuf),
}

impl WechatPayConfig {
    /// Each field that cannot work, by its name here (`apiv3_key`, `merchant_private_key`,
    /// …) with the reason, checked one by one so that staff see every problem at once.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        use crate::crypto::{ApiV3Key, MerchantSigner, SignatureVerifier};
        let mut problems = Vec::new();
        for (name, value) in [
            ("mchid", &self.mchid),
            ("appid", &self.appid),
            ("merchant_serial_no", &self.merchant_serial_no),
        ] {
            if value.trim().is_empty() {
                problems.push((name, "is required".to_owned()));
            }
        }
        if let Err(error) = ApiV3Key::new(&self.apiv3_key) {
            problems.push(("apiv3_key", error.to_string()));
        }
        if let Err(error) = self
            .merchant_private_key
            .load()
            .and_then(|pem| MerchantSigner::from_pem(&pem))
        {
            problems.push(("merchant_private_key", error.to_string()));
        }
        if let Some(id) = &self.wechatpay_public_key_id
            && !id.starts_with(crate::platform::PUBLIC_KEY_ID_PREFIX)
        {
            problems.push((
                "wechatpay_public_key_id",
                format!("must start with {}", crate::platform::PUBLIC_KEY_ID_PREFIX),
            ));
        }
        if let Some(pem) = &self.wechatpay_public_key
            && let Err(error) = pem
                .load()
                .and_then(|pem| SignatureVerifier::from_spki_pem(pem.expose()))
        {
            problems.push(("wechatpay_public_key", error.to_string()));
        }
        problems
    }
}

impl PemSource {
    pub fn pem(text: impl Into<String>) -> Self {
        PemSource::Pem(Secret::new(text.into()))
    }

    pub fn load(&self) -> Result<Secret<String>, PaymentError> {
        match self {
            PemSource::Pem(text) => Ok(text.clone()),
            PemSource::File(path) => {
                std::fs::read_to_string(path)
                    .map(Secret::new)
                    .map_err(|e| PaymentError::KeyFile {
                        path: path.display().to_string(),
                        reason: e.kind().to_string(),
                    })
            }
        }
    }
}

/// Timeouts and retry policy of the HTTP client.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct HttpSettings {
    pub connect_timeout_ms: u64,
    pub request_timeout_ms: u64,
    /// Extra attempts after a 5xx, a 429 or a transport error (same body, fresh signature).
    pub max_retries: u32,
    /// First back-off; doubled after each retry.
    pub retry_backoff_ms: u64,
    pub user_agent: String,
    /// How often platform certificates are downloaded again (certificate mode only).
    pub certificate_refresh_secs: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            connect_timeout_ms: 3_000,
            request_timeout_ms: 10_000,
            max_retries: 2,
            retry_backoff_ms: 200,
            user_agent: concat!("topup/", env!("CARGO_PKG_VERSION"), " (WeChat Pay APIv3)")
                .to_string(),
            certificate_refresh_secs: 12 * 3600,
        }
    }
}
