//! Staff logins and API-token names: validated once, at the edge.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "login must be 2–32 characters: lowercase latin letters, digits, '.', '_' or '-', starting with a letter or digit"
)]
pub struct BadLogin;

impl Login {
    pub fn parse(raw: &str) -> Result<Self, BadLogin> {
        let login = raw.trim().to_lowercase();
        let mut bytes = login.bytes();
        let first_ok = bytes
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let rest_ok = bytes.all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
        if first_ok && rest_ok && (2..=32).contains(&login.len()) {
            Ok(Self(login))
        } else {
            Err(BadLogin)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "token name must be 1–64 characters: latin letters, digits, '.', '_' or '-', starting with a letter or digit"
)]
pub struct BadTokenName;

impl TokenName {
    pub fn parse(raw: &str) -> Result<Self, BadTokenName> {
        let name = raw.trim();
        let mut bytes = name.bytes();
        let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric());
        let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if first_ok && rest_ok && name.len() <= 64 {
            Ok(Self(name.to_owned()))
        } else {
            Err(BadTokenName)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins() {
        assert_eq!(Login::parse(" Anna.K ").unwrap().as_str(), "anna.k");
        for bad in ["", "a", "-anna", "анна", "a b", &"x".repeat(33)] {
            assert_eq!(Login::parse(bad), Err(BadLogin), "{bad:?}");
        }
    }

    #[test]
    fn token_names() {
        assert_eq!(
            TokenName::parse("crm-sync_2").unwrap().as_str(),
            "crm-sync_2"
        );
        for bad in ["", "_x", "a/b", &"x".repeat(65)] {
            assert_eq!(TokenName::parse(bad), Err(BadTokenName), "{bad:?}");
        }
    }
}
