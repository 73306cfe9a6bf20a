//! Key material for the sandbox and the merchant it serves: fresh generation for the
//! embedded default's first start, persistence in the data dir, and the self-signed
//! platform certificate of certificate mode.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::TimeDelta;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::sha2::Sha256;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use topup_core::{Secret, Timestamp};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::EncodePem;
use x509_cert::der::asn1::UtcTime;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

use super::crypto::{random_alphanumeric, random_bytes, random_digits};
use super::{PlatformMode, WechatPaySandboxConfig, WechatPaySandboxError};

const KEY_FILE_NAME: &str = "wechat_pay_sandbox_keys.json";

/// Everything both sides need: the merchant's key pair (the client signs with the private
/// half, the sandbox checks with the public half) and the sandbox's platform key pair (the
/// sandbox signs, the client checks), plus the shared APIv3 key.
#[derive(Debug, Clone)]
pub struct SandboxKeySet {
    /// PKCS#8 PEM; goes into the client's `merchant_private_key`.
    pub merchant_private_key_pem: Secret<String>,
    /// SPKI PEM; goes into the sandbox's `merchant_public_key_pem`.
    pub merchant_public_key_pem: String,
    /// 40 upper-case hex characters, like a real merchant certificate serial.
    pub merchant_serial_no: String,
    pub platform_private_key_pem: Secret<String>,
    /// SPKI PEM; goes into the client's `wechatpay_public_key`.
    pub platform_public_key_pem: String,
    /// `PUB_KEY_ID_` and 28 digits.
    pub platform_public_key_id: String,
    /// 32 alphanumeric characters.
    pub apiv3_key: Secret<String>,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    merchant_private_key_pem: String,
    merchant_public_key_pem: String,
    merchant_serial_no: String,
    platform_private_key_pem: String,
    platform_public_key_pem: String,
    platform_public_key_id: String,
    apiv3_key: String,
}

impl SandboxKeySet {
    /// Generates two RSA-2048 key pairs and the ids around them (about a second in all).
    pub fn generate() -> Result<Self, WechatPaySandboxError> {
        let (merchant_private_key_pem, merchant_public_key_pem) = generate_rsa_pem()?;
        let (platform_private_key_pem, platform_public_key_pem) = generate_rsa_pem()?;
        let serial: [u8; 20] = random_bytes()?;
        Ok(SandboxKeySet {
            merchant_private_key_pem,
            merchant_public_key_pem,
            merchant_serial_no: serial.iter().map(|b| format!("{b:02X}")).collect(),
            platform_private_key_pem,
            platform_public_key_pem,
            platform_public_key_id: format!("PUB_KEY_ID_{}", random_digits(28)?),
            apiv3_key: Secret::new(random_alphanumeric(32)?),
        })
    }

    /// Reads the key set saved in `dir` by [`SandboxKeySet::load_or_generate`]; a missing
    /// file is an error (for a process that uses another process's sandbox).
    pub fn load(dir: &Path) -> Result<Self, WechatPaySandboxError> {
        let path = dir.join(KEY_FILE_NAME);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| WechatPaySandboxError::Config(format!("{}: {e}", path.display())))?;
        let file: KeyFile = serde_json::from_str(&text)
            .map_err(|e| WechatPaySandboxError::Config(format!("{KEY_FILE_NAME}: {e}")))?;
        Ok(SandboxKeySet {
            merchant_private_key_pem: Secret::new(file.merchant_private_key_pem),
            merchant_public_key_pem: file.merchant_public_key_pem,
            merchant_serial_no: file.merchant_serial_no,
            platform_private_key_pem: Secret::new(file.platform_private_key_pem),
            platform_public_key_pem: file.platform_public_key_pem,
            platform_public_key_id: file.platform_public_key_id,
            apiv3_key: Secret::new(file.apiv3_key),
        })
    }

    /// Reads the key set saved in `dir`, or generates and saves one (owner-only file).
    pub fn load_or_generate(dir: &Path) -> Result<Self, WechatPaySandboxError> {
        let path = dir.join(KEY_FILE_NAME);
        if path.exists() {
            return Self::load(dir);
        }
        let keys = SandboxKeySet::generate()?;
        let file = KeyFile {
            merchant_private_key_pem: keys.merchant_private_key_pem.expose().clone(),
            merchant_public_key_pem: keys.merchant_public_key_pem.clone(),
            merchant_serial_no: keys.merchant_serial_no.clone(),
            platform_private_key_pem: keys.platform_private_key_pem.expose().clone(),
            platform_public_key_pem: keys.platform_public_key_pem.clone(),
            platform_public_key_id: keys.platform_public_key_id.clone(),
            apiv3_key: keys.apiv3_key.expose().clone(),
        };
        let text = serde_json::to_string_pretty(&file)
            .map_err(|e| WechatPaySandboxError::Config(e.to_string()))?;
        std::fs::create_dir_all(dir)?;
        write_private_file(&path, text.as_bytes())?;
        Ok(keys)
    }

    /// The sandbox configuration matching these keys, with defaults for the rest.
    pub fn sandbox_config(&self, mchid: &str, appid: &str) -> WechatPaySandboxConfig {
        WechatPaySandboxConfig {
            mchid: mchid.to_string(),
            appid: appid.to_string(),
            merchant_serial_no: self.merchant_serial_no.clone(),
            merchant_public_key_pem: self.merchant_public_key_pem.clone(),
            apiv3_key: self.apiv3_key.clone(),
            platform_private_key_pem: self.platform_private_key_pem.clone(),
            platform_public_key_id: self.platform_public_key_id.clone(),
            certificate_private_key_pem: None,
            sign_with: PlatformMode::PublicKey,
            refund_delay_secs: 60,
            duplicate_percent: 10,
            allow_loopback_http_notify: true,
        }
    }
}

#[cfg(unix)]
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)
}

#[cfg(not(unix))]
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

fn generate_rsa_pem() -> Result<(Secret<String>, String), WechatPaySandboxError> {
    let mut rng = rsa::rand_core::OsRng;
    let key = RsaPrivateKey::new(&mut rng, 2048)
        .map_err(|e| WechatPaySandboxError::KeyGeneration(e.to_string()))?;
    let private_pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| WechatPaySandboxError::KeyGeneration(e.to_string()))?;
    let public_pem = RsaPublicKey::from(&key)
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| WechatPaySandboxError::KeyGeneration(e.to_string()))?;
    Ok((Secret::new(private_pem.to_string()), public_pem))
}

/// A self-signed platform certificate, as `GET /v3/certificates` hands out.
pub(crate) struct PlatformCertificate {
    /// Upper-case hex of the serial number, as WeChat writes it.
    pub serial: String,
    pub pem: String,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
}

pub(crate) fn self_signed_certificate(
    key: &RsaPrivateKey,
    now: Timestamp,
) -> Result<PlatformCertificate, WechatPaySandboxError> {
    let fail = |e: &dyn std::fmt::Display| WechatPaySandboxError::Certificate(e.to_string());
    let mut serial: [u8; 20] = random_bytes()?;
    // A positive INTEGER whose DER form is exactly these 20 bytes.
    serial[0] = (serial[0] & 0x7f) | 0x10;
    let not_before = now.minus(TimeDelta::days(1));
    let not_after = now.plus(TimeDelta::days(5 * 365));
    let utc = |at: Timestamp| -> Result<Time, WechatPaySandboxError> {
        let seconds = u64::try_from(at.unix_seconds()).map_err(|e| fail(&e))?;
        UtcTime::from_unix_duration(Duration::from_secs(seconds))
            .map(Time::UtcTime)
            .map_err(|e| fail(&e))
    };
    let validity = Validity {
        not_before: utc(not_before)?,
        not_after: utc(not_after)?,
    };
    let subject = Name::from_str("CN=Tenpay.com Sandbox Platform,O=Topup Sandbox,C=CN")
        .map_err(|e| fail(&e))?;
    let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(key.clone());
    let spki =
        SubjectPublicKeyInfoOwned::from_key(RsaPublicKey::from(key)).map_err(|e| fail(&e))?;
    let builder = CertificateBuilder::new(
        Profile::Root,
        SerialNumber::new(&serial).map_err(|e| fail(&e))?,
        validity,
        subject,
        spki,
        &signer,
    )
    .map_err(|e| fail(&e))?;
    let certificate = builder
        .build::<rsa::pkcs1v15::Signature>()
        .map_err(|e| fail(&e))?;
    let pem = certificate.to_pem(LineEnding::LF).map_err(|e| fail(&e))?;
    Ok(PlatformCertificate {
        serial: serial.iter().map(|b| format!("{b:02X}")).collect(),
        pem,
        not_before,
        not_after,
    })
}
