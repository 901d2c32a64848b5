//! The two cookies we set, read and clear. Both are HttpOnly, and Secure
//! when the request came over https (through a trusted TLS-terminating proxy
//! that sets `X-Forwarded-Proto`, see [`super::client`]).

use axum::http::{HeaderMap, HeaderValue};
pub use axum_extra::extract::cookie::SameSite;
use axum_extra::extract::cookie::{Cookie as Jarred, CookieJar};

/// The session id (256 random bits); only its hash is stored.
pub const SESSION: &str = "hsl_session";
/// The login form's CSRF nonce, before there is a session.
pub const LOGIN: &str = "hsl_login";

/// The value of cookie `name` in the request, if present and non-empty.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(name)
        .map(|cookie| cookie.value_trimmed().to_owned())
        .filter(|value| !value.is_empty())
}

/// A cookie we set: always HttpOnly, Secure over https.
pub struct Cookie<'a> {
    pub name: &'a str,
    pub value: &'a str,
    pub path: &'a str,
    pub max_age_secs: i64,
    pub same_site: SameSite,
    pub secure: bool,
}

impl Cookie<'_> {
    pub fn header(&self) -> HeaderValue {
        let cookie = Jarred::build((self.name, self.value))
            .path(self.path)
            .max_age(time::Duration::seconds(self.max_age_secs))
            .http_only(true)
            .same_site(self.same_site)
            .secure(self.secure)
            .build();
        HeaderValue::from_str(&cookie.encoded().to_string())
            .expect("an encoded cookie is a valid header value")
    }
}

/// A `Set-Cookie` that removes cookie `name` set with `path`.
pub fn clear(name: &str, path: &str, secure: bool) -> HeaderValue {
    Cookie {
        name,
        value: "",
        path,
        max_age_secs: 0,
        same_site: SameSite::Lax,
        secure,
    }
    .header()
}

#[cfg(test)]
mod tests {
    use axum::http::header;

    use super::*;

    #[test]
    fn finds_a_cookie_among_several_headers_and_pairs() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; hsl_session=abc"),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("hsl_login=xyz"));
        assert_eq!(get(&headers, SESSION).as_deref(), Some("abc"));
        assert_eq!(get(&headers, LOGIN).as_deref(), Some("xyz"));
        assert_eq!(get(&headers, "missing"), None);
        headers.insert(header::COOKIE, HeaderValue::from_static("hsl_session="));
        assert_eq!(get(&headers, SESSION), None);
    }

    #[test]
    fn secure_only_behind_https() {
        let attributes = |header: HeaderValue| {
            let cookie = Jarred::parse(header.to_str().unwrap().to_owned()).unwrap();
            (
                cookie.name().to_owned(),
                cookie.value().to_owned(),
                cookie.path().map(str::to_owned),
                cookie.max_age().map(|age| age.whole_seconds()),
                cookie.http_only(),
                cookie.same_site(),
                cookie.secure(),
            )
        };
        let cookie = Cookie {
            name: SESSION,
            value: "v",
            path: "/",
            max_age_secs: 60,
            same_site: SameSite::Lax,
            secure: true,
        };
        assert_eq!(
            attributes(cookie.header()),
            (
                "hsl_session".into(),
                "v".into(),
                Some("/".into()),
                Some(60),
                Some(true),
                Some(SameSite::Lax),
                Some(true)
            )
        );
        let cleared = clear(LOGIN, "/login", false);
        assert!(!cleared.to_str().unwrap().contains("Secure"), "{cleared:?}");
        assert_eq!(
            attributes(cleared),
            (
                "hsl_login".into(),
                String::new(),
                Some("/login".into()),
                Some(0),
                Some(true),
                Some(SameSite::Lax),
                None
            )
        );
    }
}
