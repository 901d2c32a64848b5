//! Random secrets and their hashes.
//!
//! Passwords are hashed with argon2id (slow on purpose, so on a blocking
//! thread). Session ids and API tokens are 256-bit random values: SHA-256 is
//! enough to store them, and a lookup by hash stays a single index probe.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Prefix of API tokens, so a leaked one is recognisable in a scan.
pub const API_TOKEN_PREFIX: &str = "hsl_";

/// 32 random bytes, base64url without padding (43 characters).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random number generator is available");
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn new_api_token() -> String {
    format!("{API_TOKEN_PREFIX}{}", random_secret())
}

/// A password for generated accounts: 20 characters of base64url.
pub fn random_password() -> String {
    random_secret()[..20].to_owned()
}

pub fn sha256(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_BYTES: usize = 256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("password must be at least {MIN_PASSWORD_CHARS} characters long")]
    TooShort,
    #[error("password must be at most {MAX_PASSWORD_BYTES} bytes long")]
    TooLong,
}

pub fn check_password_strength(password: &str) -> Result<(), PasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        Err(PasswordError::TooShort)
    } else if password.len() > MAX_PASSWORD_BYTES {
        Err(PasswordError::TooLong)
    } else {
        Ok(())
    }
}

/// argon2id hash in PHC format, computed off the async runtime.
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    Ok(tokio::task::spawn_blocking(move || password_auth::generate_hash(password)).await?)
}

/// Whether `password` matches the stored hash. Slow (argon2): call it off
/// the async runtime. With no stored hash (unknown login) it still does the
/// same work against a fixed hash, so timing does not reveal whether the
/// login exists.
pub fn password_matches(password: &str, stored: Option<&str>) -> bool {
    let hash = stored.unwrap_or(&DUMMY_HASH);
    password_auth::verify_password(password.as_bytes(), hash).is_ok() && stored.is_some()
}

/// Makes freed argon2 buffers (19 MiB a hash) go back to the OS at once.
///
/// glibc serves big allocations with `mmap` until the first one is freed,
/// then raises its threshold and keeps later ones in its per-thread arenas,
/// where each arena held on to ~58 MiB of old hash buffers under a login
/// flood (350 MiB in all). A fixed threshold turns that adjustment off.
/// Call once at start-up, before other threads exist.
pub fn return_big_buffers_to_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called before any
    // other thread allocates.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
    }
}

static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| password_auth::generate_hash(random_secret()));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_url_safe() {
        let a = random_secret();
        let b = random_secret();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert!(new_api_token().starts_with(API_TOKEN_PREFIX));
        assert_eq!(sha256("x").len(), 32);
    }

    #[test]
    fn password_strength() {
        assert_eq!(
            check_password_strength("short"),
            Err(PasswordError::TooShort)
        );
        assert_eq!(
            check_password_strength(&"x".repeat(300)),
            Err(PasswordError::TooLong)
        );
        assert_eq!(check_password_strength("длинный-пароль"), Ok(()));
    }

    #[tokio::test]
    async fn hashes_verify_only_the_right_password() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(password_matches("correct horse", Some(&hash)));
        assert!(!password_matches("wrong horse", Some(&hash)));
        assert!(!password_matches("correct horse", None));
    }
}
