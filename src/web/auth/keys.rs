//! The session key: `SESSION_KEY`, or one generated once and kept in the
//! database so every server process agrees on it. It signs the login form's
//! CSRF nonce (there is no session yet to hold a token).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use sqlx::PgPool;
use tokio::sync::OnceCell;

use crate::secrets::random_secret;
use crate::store::settings;

const SETTING: &str = "session_key";

pub struct SessionKey {
    configured: Option<SecretString>,
    loaded: OnceCell<SecretString>,
}

impl SessionKey {
    pub fn new(configured: Option<SecretString>) -> Self {
        Self {
            configured,
            loaded: OnceCell::new(),
        }
    }

    async fn key(&self, pool: &PgPool) -> sqlx::Result<&SecretString> {
        if let Some(key) = &self.configured {
            return Ok(key);
        }
        self.loaded
            .get_or_try_init(|| async {
                // 86 characters of base64url: 512 random bits.
                let key = settings::get_or_create(pool, SETTING, || {
                    format!("{}{}", random_secret(), random_secret())
                })
                .await?;
                Ok(SecretString::from(key))
            })
            .await
    }

    fn mac(key: &SecretString, purpose: &str, value: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key.expose_secret().as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(value.as_bytes());
        mac
    }

    /// HMAC-SHA256 of `value` for `purpose`, base64url.
    pub async fn sign(&self, pool: &PgPool, purpose: &str, value: &str) -> sqlx::Result<String> {
        let key = self.key(pool).await?;
        Ok(URL_SAFE_NO_PAD.encode(Self::mac(key, purpose, value).finalize().into_bytes()))
    }

    /// Whether `signature` is [`sign`](Self::sign) of `value`, compared in
    /// constant time.
    pub async fn verify(
        &self,
        pool: &PgPool,
        purpose: &str,
        value: &str,
        signature: &str,
    ) -> sqlx::Result<bool> {
        let key = self.key(pool).await?;
        let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
            return Ok(false);
        };
        Ok(Self::mac(key, purpose, value)
            .verify_slice(&signature)
            .is_ok())
    }

    /// A signature of `value` that carries its issue time, `<unix secs>.<mac>`,
    /// so [`verify_fresh`](Self::verify_fresh) can refuse old ones.
    pub async fn sign_fresh(
        &self,
        pool: &PgPool,
        purpose: &str,
        value: &str,
        now: i64,
    ) -> sqlx::Result<String> {
        let signature = self.sign(pool, purpose, &format!("{value}.{now}")).await?;
        Ok(format!("{now}.{signature}"))
    }

    /// Whether `signed` is [`sign_fresh`](Self::sign_fresh) of `value`, issued
    /// at most `max_age_secs` before `now` (and not in the future, give or
    /// take a minute of clock skew between replicas).
    pub async fn verify_fresh(
        &self,
        pool: &PgPool,
        purpose: &str,
        value: &str,
        signed: &str,
        now: i64,
        max_age_secs: i64,
    ) -> sqlx::Result<bool> {
        let Some((issued, signature)) = signed.split_once('.') else {
            return Ok(false);
        };
        let fresh = issued
            .parse::<i64>()
            .is_ok_and(|at| (-60..=max_age_secs).contains(&(now - at)));
        Ok(fresh
            && self
                .verify(pool, purpose, &format!("{value}.{issued}"), signature)
                .await?)
    }
}
