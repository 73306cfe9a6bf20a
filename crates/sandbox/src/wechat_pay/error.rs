use thiserror::Error;

/// Failures setting up the WeChat Pay sandbox (bad keys or config). Request-time problems
/// are answered over HTTP in WeChat's own error shape instead.
#[derive(Debug, Error)]
pub enum WechatPaySandboxError {
    #[error("invalid sandbox configuration: {0}")]
    Config(String),
    #[error("invalid key: {0}")]
    Key(String),
    #[error("cannot build the platform certificate: {0}")]
    Certificate(String),
    #[error("key generation failed: {0}")]
    KeyGeneration(String),
    #[error("the system random generator failed")]
    Random,
    /// A cashier action WeChat would refuse (expired prepay_id, closed order, …).
    #[error("refused: {code} {message}")]
    Refused { code: &'static str, message: String },
    #[error("sandbox key files: {0}")]
    Io(#[from] std::io::Error),
}
