//! Typed settings read from the environment (and `.env`, loaded by `main`).
//!
//! Every variable is validated once at start-up; a bad value stops the process
//! with a message that names the variable. Secrets are wrapped in
//! [`SecretString`] so they never reach `Debug` output or logs.

use std::collections::HashMap;
use std::net::SocketAddr;

use chrono_tz::Tz;
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// `STALE_PENDING_DAYS` when unset.
pub const DEFAULT_STALE_PENDING_DAYS: u32 = 3;

/// Smallest accepted `SESSION_KEY`, in bytes.
pub const MIN_SESSION_KEY_LEN: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `None`: start the embedded PostgreSQL under `./.data`.
    pub database_url: Option<SecretString>,
    pub bind_addr: SocketAddr,
    pub telegram_bot_token: Option<SecretString>,
    pub telegram_api_url: Url,
    pub send_rate_per_sec: u32,
    pub school_timezone: Tz,
    pub session_key: Option<SecretString>,
    pub scheduler_enabled: bool,
    pub log_format: LogFormat,
    /// Header-read timeout and connection cap (defaults; tests shorten them).
    pub limits: crate::serve::Limits,
    /// Reverse proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` count.
    pub trusted_proxies: Vec<IpNet>,
    /// A pending booking (payment sent, not checked) older than this many
    /// days is flagged on `/workshops` and the stream page; 1..=365.
    pub stale_pending_days: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid configuration: {variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl ConfigError {
    fn new(variable: &'static str, problem: impl Into<String>) -> Self {
        Self {
            variable,
            problem: problem.into(),
        }
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Reads settings from a map of variables (the environment in production,
    /// a literal map in tests). Empty values count as unset.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            vars.get(name)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };

        let database_url = get("DATABASE_URL")
            .map(|raw| {
                let url = Url::parse(&raw).map_err(|_| {
                    ConfigError::new("DATABASE_URL", "not a valid URL (expected postgres://…)")
                })?;
                if !matches!(url.scheme(), "postgres" | "postgresql") {
                    return Err(ConfigError::new(
                        "DATABASE_URL",
                        "scheme must be postgres:// or postgresql://",
                    ));
                }
                Ok(SecretString::from(raw))
            })
            .transpose()?;

        let bind_addr = match get("BIND_ADDR") {
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
            Some(raw) => raw.parse().map_err(|_| {
                ConfigError::new("BIND_ADDR", "expected host:port, e.g. 127.0.0.1:3000")
            })?,
        };

        let telegram_bot_token = match get("TELEGRAM_BOT_TOKEN").or_else(|| get("BOT_TOKEN")) {
            None => None,
            Some(token) => {
                let variable = if get("TELEGRAM_BOT_TOKEN").is_some() {
                    "TELEGRAM_BOT_TOKEN"
                } else {
                    "BOT_TOKEN"
                };
                if !looks_like_bot_token(&token) {
                    return Err(ConfigError::new(
                        variable,
                        "does not look like a bot token (expected <digits>:<secret>)",
                    ));
                }
                Some(SecretString::from(token))
            }
        };

        let telegram_api_url = match get("TELEGRAM_API_URL") {
            None => Url::parse("https://api.telegram.org").expect("constant URL is valid"),
            Some(raw) => {
                let url = Url::parse(&raw)
                    .map_err(|_| ConfigError::new("TELEGRAM_API_URL", "not a valid URL"))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(ConfigError::new(
                        "TELEGRAM_API_URL",
                        "scheme must be http:// or https://",
                    ));
                }
                url
            }
        };

        let send_rate_per_sec = match get("SEND_RATE_PER_SEC") {
            None => 25,
            Some(raw) => match raw.parse::<u32>() {
                Ok(rate @ 1..=1000) => rate,
                _ => {
                    return Err(ConfigError::new(
                        "SEND_RATE_PER_SEC",
                        "must be an integer between 1 and 1000",
                    ));
                }
            },
        };

        let school_timezone = match get("SCHOOL_TIMEZONE") {
            None => chrono_tz::Europe::Moscow,
            Some(raw) => raw.parse::<Tz>().map_err(|_| {
                ConfigError::new(
                    "SCHOOL_TIMEZONE",
                    "not an IANA time zone name, e.g. Europe/Moscow",
                )
            })?,
        };

        let session_key = match get("SESSION_KEY") {
            None => None,
            Some(raw) if raw.len() < MIN_SESSION_KEY_LEN => {
                return Err(ConfigError::new(
                    "SESSION_KEY",
                    format!("must be at least {MIN_SESSION_KEY_LEN} bytes long"),
                ));
            }
            Some(raw) => Some(SecretString::from(raw)),
        };

        let scheduler_enabled = match get("SCHEDULER_ENABLED") {
            None => true,
            Some(raw) => parse_bool(&raw)
                .ok_or_else(|| ConfigError::new("SCHEDULER_ENABLED", "must be true or false"))?,
        };

        let log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(ConfigError::new("LOG_FORMAT", "must be pretty or json")),
        };

        let trusted_proxies = match get("TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(raw) => parse_networks(&raw).ok_or_else(|| {
                ConfigError::new(
                    "TRUSTED_PROXIES",
                    "expected comma-separated IP addresses or CIDR networks, e.g. 127.0.0.1,10.0.0.0/8",
                )
            })?,
        };

        let stale_pending_days = match get("STALE_PENDING_DAYS") {
            None => DEFAULT_STALE_PENDING_DAYS,
            Some(raw) => match raw.parse::<u32>() {
                Ok(days @ 1..=365) if !raw.starts_with('+') => days,
                _ => {
                    return Err(ConfigError::new(
                        "STALE_PENDING_DAYS",
                        "must be an integer between 1 and 365",
                    ));
                }
            },
        };

        Ok(Self {
            database_url,
            bind_addr,
            telegram_bot_token,
            telegram_api_url,
            send_rate_per_sec,
            school_timezone,
            session_key,
            scheduler_enabled,
            log_format,
            limits: crate::serve::Limits::default(),
            trusted_proxies,
            stale_pending_days,
        })
    }

    /// The database URL, for the few places that must connect. Never log it.
    pub fn database_url(&self) -> Option<&str> {
        self.database_url.as_ref().map(|s| s.expose_secret())
    }
}

fn parse_bool(raw: &str) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `10.0.0.1, 10.1.0.0/16, ::1`: a bare address is a network of one.
fn parse_networks(raw: &str) -> Option<Vec<IpNet>> {
    raw.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<IpNet>()
                .ok()
                .or_else(|| item.parse::<std::net::IpAddr>().ok().map(IpNet::from))
                .map(|net| net.trunc())
        })
        .collect()
}

fn looks_like_bot_token(token: &str) -> bool {
    match token.split_once(':') {
        Some((id, secret)) => {
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_digit())
                && !secret.is_empty()
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let config = Config::from_vars(&HashMap::new()).unwrap();
        assert!(config.database_url.is_none());
        assert_eq!(config.bind_addr.to_string(), "127.0.0.1:3000");
        assert!(config.telegram_bot_token.is_none());
        assert_eq!(
            config.telegram_api_url.as_str(),
            "https://api.telegram.org/"
        );
        assert_eq!(config.send_rate_per_sec, 25);
        assert_eq!(config.school_timezone, chrono_tz::Europe::Moscow);
        assert!(config.scheduler_enabled);
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert!(config.trusted_proxies.is_empty());
        assert_eq!(config.stale_pending_days, 3);
    }

    #[test]
    fn each_bad_variable_is_named() {
        let cases = [
            ("DATABASE_URL", "mysql://x"),
            ("DATABASE_URL", "not a url"),
            ("BIND_ADDR", "localhost"),
            ("TELEGRAM_BOT_TOKEN", "nocolon"),
            ("BOT_TOKEN", "abc:def"),
            ("TELEGRAM_API_URL", "ftp://x"),
            ("SEND_RATE_PER_SEC", "0"),
            ("SEND_RATE_PER_SEC", "25.5"),
            ("SCHOOL_TIMEZONE", "Mars/Olympus"),
            ("SESSION_KEY", "short"),
            ("SCHEDULER_ENABLED", "maybe"),
            ("LOG_FORMAT", "xml"),
            ("TRUSTED_PROXIES", "localhost"),
            ("TRUSTED_PROXIES", "10.0.0.0/33"),
            ("TRUSTED_PROXIES", "127.0.0.1,,x"),
            ("STALE_PENDING_DAYS", "0"),
            ("STALE_PENDING_DAYS", "366"),
            ("STALE_PENDING_DAYS", "+3"),
            ("STALE_PENDING_DAYS", "3.5"),
            ("STALE_PENDING_DAYS", "-1"),
            ("STALE_PENDING_DAYS", "три"),
        ];
        for (name, value) in cases {
            let err = Config::from_vars(&vars(&[(name, value)])).unwrap_err();
            assert_eq!(err.variable, name, "{name}={value}");
            assert!(err.to_string().contains(name));
        }
    }

    #[test]
    fn secrets_are_redacted_from_debug() {
        let config = Config::from_vars(&vars(&[
            ("DATABASE_URL", "postgres://app:hunter2@db/school"),
            ("TELEGRAM_BOT_TOKEN", "123456:SECRET-token_value"),
            ("SESSION_KEY", &"k".repeat(80)),
        ]))
        .unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!debug.contains("SECRET-token_value"), "{debug}");
        assert!(!debug.contains(&"k".repeat(80)), "{debug}");
        assert_eq!(
            config.database_url(),
            Some("postgres://app:hunter2@db/school")
        );
    }

    #[test]
    fn bot_token_alias_and_parsed_values() {
        let config = Config::from_vars(&vars(&[
            ("BOT_TOKEN", "42:abc"),
            ("SEND_RATE_PER_SEC", "1000"),
            ("SCHOOL_TIMEZONE", "Asia/Novosibirsk"),
            ("SCHEDULER_ENABLED", "false"),
            ("LOG_FORMAT", "json"),
            ("BIND_ADDR", "0.0.0.0:8080"),
            ("TRUSTED_PROXIES", " 127.0.0.1, 10.1.2.3/8 ,::1,fd00::/8"),
        ]))
        .unwrap();
        let proxies: Vec<String> = config
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            proxies,
            ["127.0.0.1/32", "10.0.0.0/8", "::1/128", "fd00::/8"]
        );
        assert_eq!(config.telegram_bot_token.unwrap().expose_secret(), "42:abc");
        assert_eq!(config.send_rate_per_sec, 1000);
        assert_eq!(config.school_timezone, chrono_tz::Asia::Novosibirsk);
        assert!(!config.scheduler_enabled);
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.bind_addr.port(), 8080);
    }
}
