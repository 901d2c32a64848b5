//! The two cookies we set, read and clear. Both are HttpOnly, and Secure
//! when the request came over https (through a trusted TLS-terminating proxy
//! that sets `X-Forwarded-Proto`, see [`super::client`]).

use axum::http::{HeaderMap, HeaderValue, header};

/// The session id (256 random bits); only its hash is stored.
pub const SESSION: &str = "hsl_session";
/// The login form's CSRF nonce, before there is a session.
pub const LOGIN: &str = "hsl_login";

/// The value of cookie `name` in the request, if present and non-empty.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|value| !value.is_empty())
}

pub struct Cookie<'a> {
    pub name: &'a str,
    pub value: &'a str,
    pub path: &'a str,
    pub max_age_secs: i64,
    pub same_site: &'a str,
    pub secure: bool,
}

impl Cookie<'_> {
    pub fn header(&self) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let value = format!(
            "{}={}; Path={}; Max-Age={}; HttpOnly; SameSite={}{secure}",
            self.name, self.value, self.path, self.max_age_secs, self.same_site
        );
        HeaderValue::from_str(&value).expect("cookie values are base64url")
    }
}

/// A `Set-Cookie` that removes cookie `name` set with `path`.
pub fn clear(name: &str, path: &str, secure: bool) -> HeaderValue {
    Cookie {
        name,
        value: "",
        path,
        max_age_secs: 0,
        same_site: "Lax",
        secure,
    }
    .header()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_cookie_among_several_headers_and_pairs() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; hsl_session=abc"),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("hsl_login=xyz"));
        assert_eq!(get(&headers, SESSION), Some("abc"));
        assert_eq!(get(&headers, LOGIN), Some("xyz"));
        assert_eq!(get(&headers, "missing"), None);
        headers.insert(header::COOKIE, HeaderValue::from_static("hsl_session="));
        assert_eq!(get(&headers, SESSION), None);
    }

    #[test]
    fn secure_only_behind_https() {
        let cookie = Cookie {
            name: SESSION,
            value: "v",
            path: "/",
            max_age_secs: 60,
            same_site: "Lax",
            secure: true,
        };
        assert_eq!(
            cookie.header(),
            "hsl_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        assert_eq!(
            clear(LOGIN, "/login", false),
            "hsl_login=; Path=/login; Max-Age=0; HttpOnly; SameSite=Lax"
        );
    }
}
