//! Who is on the other end of a request: the client's address and whether
//! it came over https, believing `X-Forwarded-For` / `X-Forwarded-Proto`
//! only from the proxies in `TRUSTED_PROXIES`; and its request id, taken
//! from the client only when short and plain.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};
use ipnet::IpNet;

use crate::store::audit::Actor;
use crate::web::AppState;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Longest request id a client may choose.
const MAX_REQUEST_ID_LEN: usize = 128;

/// Where a request came from, for audit rows, throttling and cookies.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub client_addr: Option<IpAddr>,
    pub request_id: Option<String>,
    /// The client reached us over https (through a trusted TLS-terminating
    /// proxy that says so): cookies get `Secure`.
    pub https: bool,
}

impl RequestMeta {
    pub fn of(parts: &Parts, trusted_proxies: &[IpNet]) -> Self {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_canonical());
        let proxied = peer.is_some_and(|peer| is_trusted(trusted_proxies, peer));
        Self {
            client_addr: peer.map(|peer| {
                if proxied {
                    forwarded_client(peer, &parts.headers, trusted_proxies)
                } else {
                    peer
                }
            }),
            // [`plain_request_id`] has replaced a client's odd one by now.
            request_id: parts
                .headers
                .get(X_REQUEST_ID)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned),
            https: proxied && forwarded_https(&parts.headers),
        }
    }

    /// The audit actor `name` acting through this request.
    pub fn actor(&self, name: &str) -> Actor {
        Actor {
            name: name.to_owned(),
            client_addr: self.client_addr.map(|addr| addr.to_string()),
            request_id: self.request_id.clone(),
        }
    }
}

impl FromRequestParts<AppState> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts, &state.config.trusted_proxies))
    }
}

fn is_trusted(trusted_proxies: &[IpNet], addr: IpAddr) -> bool {
    trusted_proxies.iter().any(|net| net.contains(&addr))
}

/// Walks `X-Forwarded-For` from the right (the entries our own proxies
/// appended) to the first address that is not one of them. An entry that
/// is not an address ends the walk at the last proxy that vouched for it.
fn forwarded_client(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    let mut client = peer;
    for entry in entries.into_iter().rev() {
        let Some(addr) = parse_forwarded(entry) else {
            break;
        };
        client = addr;
        if !is_trusted(trusted_proxies, addr) {
            break;
        }
    }
    client
}

/// `203.0.113.9`, `2001:db8::1`, `[2001:db8::1]:4711` or `203.0.113.9:4711`.
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<IpAddr>()
                .ok()
        })
        .map(|addr| addr.to_canonical())
}

/// The first `X-Forwarded-Proto` value: what the client-facing proxy saw.
fn forwarded_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// A request id a client may choose: up to 128 of `A-Z a-z 0-9 . _ -`.
pub fn is_plain_request_id(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_LEN
        && id
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// Drops a client's request id unless it is one plain value, so the
/// request-id layer generates one instead; the response, the logs and the
/// audit rows then all carry the generated id.
pub async fn plain_request_id(mut request: Request) -> Request {
    let headers = request.headers_mut();
    let mut ids = headers.get_all(X_REQUEST_ID).iter();
    let keep = match (ids.next(), ids.next()) {
        (None, _) => true,
        (Some(id), None) => is_plain_request_id(id.as_bytes()),
        (Some(_), Some(_)) => false,
    };
    if !keep {
        headers.remove(X_REQUEST_ID);
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|net| net.parse().unwrap()).collect()
    }

    fn client(peer: &str, xff: &[&str], trusted: &[&str]) -> String {
        let mut headers = HeaderMap::new();
        for value in xff {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        forwarded_client(peer.parse().unwrap(), &headers, &nets(trusted)).to_string()
    }

    #[test]
    fn the_right_most_address_that_is_not_a_trusted_proxy() {
        let proxies = ["127.0.0.1/32", "10.0.0.0/8"];
        assert_eq!(client("127.0.0.1", &[], &proxies), "127.0.0.1");
        assert_eq!(
            client("127.0.0.1", &["1.1.1.1, 2.2.2.2"], &proxies),
            "2.2.2.2"
        );
        assert_eq!(
            client("127.0.0.1", &["1.1.1.1, 2.2.2.2", "10.0.0.5"], &proxies),
            "2.2.2.2",
            "our own proxy's hop is skipped, across header lines too"
        );
        assert_eq!(
            client("127.0.0.1", &["10.0.0.9, 10.0.0.5"], &proxies),
            "10.0.0.9",
            "all proxies: the farthest"
        );
        assert_eq!(
            client("127.0.0.1", &["1.1.1.1, garbage, 10.0.0.5"], &proxies),
            "10.0.0.5",
            "junk stops the walk at the last proxy that vouched"
        );
        assert_eq!(
            client("127.0.0.1", &["[2001:db8::1]:4711"], &proxies),
            "2001:db8::1"
        );
        assert_eq!(
            client("127.0.0.1", &["203.0.113.9:80"], &proxies),
            "203.0.113.9"
        );
        assert_eq!(
            client("127.0.0.1", &["::ffff:192.0.2.1"], &proxies),
            "192.0.2.1"
        );
    }

    #[test]
    fn request_ids_must_be_short_and_plain() {
        assert!(is_plain_request_id(b"req-42.A_b"));
        assert!(is_plain_request_id(&[b'a'; 128]));
        assert!(!is_plain_request_id(&[b'a'; 129]));
        for odd in [&b""[..], b"two words", b"<script>", b"a;b", "ид".as_bytes()] {
            assert!(!is_plain_request_id(odd), "{odd:?}");
        }
    }

    #[tokio::test]
    async fn odd_or_repeated_request_ids_are_dropped() {
        let request = |ids: &[&str]| {
            let mut request = Request::new(axum::body::Body::empty());
            for id in ids {
                request
                    .headers_mut()
                    .append(X_REQUEST_ID, id.parse().unwrap());
            }
            request
        };
        let kept = plain_request_id(request(&["abc-1"])).await;
        assert_eq!(kept.headers()[X_REQUEST_ID], "abc-1");
        for ids in [&["a b"][..], &["abc-1", "abc-2"]] {
            let dropped = plain_request_id(request(ids)).await;
            assert!(!dropped.headers().contains_key(X_REQUEST_ID), "{ids:?}");
        }
    }
}
