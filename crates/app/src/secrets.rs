//! Secrets generated on first start and kept in the data directory, readable only by us.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use topup_auth::InitialAdmin;
use topup_core::Secret;

use crate::AppError;

fn secret_error(path: &Path) -> impl FnOnce(std::io::Error) -> AppError + '_ {
    move |cause| AppError::Secret {
        path: path.display().to_string(),
        cause,
    }
}

/// Creates `path` with mode 0600, failing if it exists.
pub(crate) fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

pub(crate) fn private_dir(path: &Path) -> Result<(), AppError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path).map_err(secret_error(path))
}

pub fn jwt_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("secrets").join("jwt.key")
}

/// A key kept in a private file: read from `path`, or generated there (mode 0600) on first
/// start. `check` says what is wrong with the bytes of an existing file, if anything.
fn load_or_create_key(
    path: &Path,
    what: &str,
    generate: impl FnOnce() -> Result<Secret<Vec<u8>>, AppError>,
    check: impl FnOnce(usize) -> Option<String>,
) -> Result<Secret<Vec<u8>>, AppError> {
    if let Some(dir) = path.parent() {
        private_dir(dir)?;
    }
    match create_private(path) {
        Ok(mut file) => {
            let key = generate()?;
            file.write_all(key.expose())
                .and_then(|()| file.sync_all())
                .map_err(secret_error(path))?;
            tracing::info!(path = %path.display(), "generated the {what}");
            Ok(key)
        }
        Err(error) if error.kind() == ErrorKind::AlreadyExists => {
            let mut bytes = Vec::new();
            std::fs::File::open(path)
                .and_then(|mut file| file.read_to_end(&mut bytes))
                .map_err(secret_error(path))?;
            if let Some(problem) = check(bytes.len()) {
                return Err(AppError::Config(format!(
                    "{} holds {} bytes; {problem}",
                    path.display(),
                    bytes.len()
                )));
            }
            Ok(Secret::new(bytes))
        }
        Err(error) => Err(secret_error(path)(error)),
    }
}

/// The HS256 signing key for staff access tokens and app tokens: read from
/// `<data-dir>/secrets/jwt.key`, or generated there (mode 0600) on first start, so tokens
/// survive restarts.
pub fn load_or_create_jwt_key(data_dir: &Path) -> Result<Secret<Vec<u8>>, AppError> {
    load_or_create_key(
        &jwt_key_path(data_dir),
        "JWT signing key",
        || Ok(topup_auth::generate_signing_key()?),
        |len| {
            (len < 32).then(|| {
                "a signing key needs at least 32 (delete it to generate a new one)".to_owned()
            })
        },
    )
}

pub fn at_rest_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("secrets").join("at-rest.key")
}

/// The AES-256-GCM key that encrypts secrets stored in documents (WeChat session keys):
/// read from `<data-dir>/secrets/at-rest.key`, or generated there (mode 0600) on first
/// start. Losing it makes those values unreadable; back it up with the database.
pub fn load_or_create_at_rest_key(data_dir: &Path) -> Result<Secret<Vec<u8>>, AppError> {
    load_or_create_key(
        &at_rest_key_path(data_dir),
        "at-rest encryption key",
        || Ok(topup_auth::generate_at_rest_key()?),
        |len| {
            (len != topup_auth::AT_REST_KEY_LEN).then(|| {
                format!(
                    "an at-rest key is exactly {} (restore the right file; a new key cannot read existing data)",
                    topup_auth::AT_REST_KEY_LEN
                )
            })
        },
    )
}

pub fn initial_password_path(data_dir: &Path) -> PathBuf {
    data_dir.join("initial-admin-password")
}

/// Writes the first administrator's password to `<data-dir>/initial-admin-password`
/// (mode 0600, replacing a stale one) and prints it once to the console.
pub fn publish_initial_admin(data_dir: &Path, admin: &InitialAdmin) -> Result<(), AppError> {
    let path = initial_password_path(data_dir);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(error) if error.kind() == ErrorKind::NotFound => {}
        Err(error) => return Err(secret_error(&path)(error)),
    }
    let mut file = create_private(&path).map_err(secret_error(&path))?;
    writeln!(file, "{}", admin.password.expose())
        .and_then(|()| file.sync_all())
        .map_err(secret_error(&path))?;
    // Deliberately not through `tracing`: it must not end up in collected logs.
    eprintln!(
        "\n  First start: created staff user {:?} with password\n\n      {}\n\n  (also in {}). \
         You must change it at first login.\n",
        admin.username,
        admin.password.expose(),
        path.display()
    );
    tracing::warn!(
        username = %admin.username,
        path = %path.display(),
        "created the first administrator; the password was printed to stderr and written to the file"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_signing_key_is_generated_once_privately_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create_jwt_key(dir.path()).unwrap();
        assert_eq!(first.expose().len(), 64);
        #[cfg(unix)]
        assert_eq!(mode(&jwt_key_path(dir.path())), 0o600);
        let second = load_or_create_jwt_key(dir.path()).unwrap();
        assert_eq!(first.expose(), second.expose());
    }

    #[test]
    fn the_at_rest_key_is_generated_once_privately_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create_at_rest_key(dir.path()).unwrap();
        assert_eq!(first.expose().len(), 32);
        #[cfg(unix)]
        assert_eq!(mode(&at_rest_key_path(dir.path())), 0o600);
        let second = load_or_create_at_rest_key(dir.path()).unwrap();
        assert_eq!(first.expose(), second.expose());
        std::fs::write(at_rest_key_path(dir.path()), [1u8; 40]).unwrap();
        let error = load_or_create_at_rest_key(dir.path())
            .unwrap_err()
            .to_string();
        assert!(error.contains("exactly 32"), "{error}");
    }

    #[test]
    fn a_truncated_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("secrets")).unwrap();
        std::fs::write(jwt_key_path(dir.path()), b"short").unwrap();
        let error = load_or_create_jwt_key(dir.path()).unwrap_err().to_string();
        assert!(error.contains("at least 32"), "{error}");
    }
}
