use serde::Deserialize;
use topup_core::Secret;

/// Which key the sandbox signs its answers and notifications with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlatformMode {
    /// The WeChat Pay public key, serial `PUB_KEY_ID_…` (all new merchants).
    #[default]
    PublicKey,
    /// The platform certificate's key, serial = certificate serial (older merchants).
    Certificate,
}

/// The sandbox's side of the merchant relationship.
///
/// Wiring with the merchant client: `mchid`, `appid`, `apiv3_key` are the same values on both
/// sides; `merchant_public_key_pem` is the public half of the client's merchant private key
/// and `merchant_serial_no` the client's `merchant_serial_no`; the client's
/// `wechatpay_public_key` is the public half of `platform_private_key_pem` (see
/// [`super::WechatPaySandbox::platform_public_key_pem`]) with id `platform_public_key_id`.
#[derive(Debug, Clone, Deserialize)]
pub struct WechatPaySandboxConfig {
    pub mchid: String,
    pub appid: String,
    pub merchant_serial_no: String,
    /// `BEGIN PUBLIC KEY` of the merchant API key: request signatures are checked with it.
    pub merchant_public_key_pem: String,
    pub apiv3_key: Secret<String>,
    /// The key behind the WeChat Pay public key (public-key mode).
    pub platform_private_key_pem: Secret<String>,
    /// `PUB_KEY_ID_…`.
    pub platform_public_key_id: String,
    /// When set, `GET /v3/certificates` serves a self-signed certificate for this key;
    /// otherwise it answers 404 like it does for new merchants.
    #[serde(default)]
    pub certificate_private_key_pem: Option<Secret<String>>,
    #[serde(default)]
    pub sign_with: PlatformMode,
    /// How long a refund stays PROCESSING before it succeeds.
    #[serde(default = "default_refund_delay_secs")]
    pub refund_delay_secs: u64,
    /// Chance (0-100) that a delivered notification is delivered once more.
    #[serde(default)]
    pub duplicate_percent: u8,
    /// Accept `http://` notify URLs on loopback addresses (WeChat itself wants https).
    #[serde(default = "default_true")]
    pub allow_loopback_http_notify: bool,
}

fn default_refund_delay_secs() -> u64 {
    60
}

fn default_true() -> bool {
    true
}
