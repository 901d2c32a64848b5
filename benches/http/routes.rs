//! The measured routes and one route's measurement: a checked first
//! request, a 1 s warm-up, then wrk, with the server's RSS peak meanwhile.

use std::path::Path;

use anyhow::Context;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;

use super::Args;
use super::server::RssSampler;
use super::tools::{self, WrkResult};

/// What a path segment or query value keeps as it is (RFC 3986 unreserved).
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    /// `Authorization: Bearer` with the admin token.
    Token,
    /// The signed-in staff session's cookie.
    Session,
    Open,
}

#[derive(Debug, Clone)]
pub struct Route {
    /// As shown (`/users?search=анна`).
    pub label: String,
    /// As requested (percent-encoded).
    pub path: String,
    pub auth: Auth,
}

fn route(label: &str, auth: Auth) -> Route {
    Route {
        label: label.to_owned(),
        path: label.to_owned(),
        auth,
    }
}

/// Every measured route, the order; `stream_page` is the current
/// intake's page (`/workshops/{course}/{code}`) when there is one.
pub fn all(stream_page: Option<String>) -> Vec<Route> {
    let search = format!("/users?search={}", utf8_percent_encode("анна", ENCODE));
    let mut routes = vec![
        route("/api/course-streams", Auth::Token),
        route("/api/bookings?limit=50", Auth::Token),
        route("/api/bookings?status=1&limit=50", Auth::Token),
        route("/workshops", Auth::Session),
        route("/healthz", Auth::Open),
        route("/", Auth::Session),
        route("/users", Auth::Session),
        Route {
            label: "/users?search=анна".to_owned(),
            path: search,
            auth: Auth::Session,
        },
        route("/analytics", Auth::Session),
        route("/messages/new", Auth::Session),
    ];
    if let Some(page) = stream_page {
        routes.push(route(&page, Auth::Session));
    }
    routes
}

/// `/workshops/{courseId}/{code}` of the registry's current intake
/// (`GET /api/streams`, the `isCurrent` entry).
pub async fn current_stream_page(
    client: &reqwest::Client,
    base: &str,
    token: &str,
) -> anyhow::Result<Option<String>> {
    let response = client
        .get(format!("{base}/api/streams"))
        .bearer_auth(token)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "GET /api/streams: {}",
        response.status()
    );
    let body: serde_json::Value = response.json().await.context("GET /api/streams")?;
    let current = body["streams"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["isCurrent"].as_bool() == Some(true));
    let Some(stream) = current else {
        eprintln!("no current intake in /api/streams: its stream page is not measured");
        return Ok(None);
    };
    let course = stream["courseId"].as_i64().context("courseId")?;
    let code = stream["code"].as_str().context("code")?;
    let code = utf8_percent_encode(code, ENCODE);
    Ok(Some(format!("/workshops/{course}/{code}")))
}

pub struct Credentials<'a> {
    pub token: &'a str,
    /// `hsl_session=…`
    pub cookie: &'a str,
}

impl Credentials<'_> {
    /// The header (`Name: value`) wrk sends for `auth`.
    fn header(&self, auth: Auth) -> Option<(&'static str, String)> {
        match auth {
            Auth::Token => Some(("Authorization", format!("Bearer {}", self.token))),
            Auth::Session => Some(("Cookie", self.cookie.to_owned())),
            Auth::Open => None,
        }
    }
}

/// One route measured on one server.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    pub route: String,
    pub auth: Auth,
    #[serde(flatten)]
    pub wrk: Option<WrkResult>,
    pub peak_rss_mib: Option<f64>,
    /// Why there are no numbers (the route failed its first request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// `route` at `base` (a server, or the load balancer in front of several:
/// `samplers` are their memory).
pub async fn measure(
    client: &reqwest::Client,
    wrk: &Path,
    base: &str,
    samplers: &[&RssSampler],
    route: &Route,
    creds: &Credentials<'_>,
    args: &Args,
) -> Measured {
    let mut out = Measured {
        route: route.label.clone(),
        auth: route.auth,
        wrk: None,
        peak_rss_mib: None,
        problem: None,
    };
    let url = format!("{base}{}", route.path);
    let header = creds.header(route.auth);
    // One request first: a route that answers 3xx/4xx (e.g. a lost session
    // redirecting to /login) would otherwise look fast to wrk.
    let mut request = client.get(&url);
    if let Some((name, value)) = &header {
        request = request.header(*name, value);
    }
    match request.send().await {
        Ok(response) if response.status() == reqwest::StatusCode::OK => {}
        Ok(response) => {
            out.problem = Some(format!("first request answered {}", response.status()));
            return out;
        }
        Err(err) => {
            out.problem = Some(format!("first request failed: {err}"));
            return out;
        }
    }
    let headers: Vec<String> = header
        .into_iter()
        .map(|(name, value)| format!("{name}: {value}"))
        .collect();
    for rss in samplers {
        rss.set_label(Some(&route.label));
    }
    let run = async {
        tools::wrk(wrk, &url, &headers, args.connections, 1).await?;
        tools::wrk(wrk, &url, &headers, args.connections, args.seconds).await
    };
    match run.await {
        Ok(result) => out.wrk = Some(result),
        Err(err) => out.problem = Some(format!("{err:#}")),
    }
    for rss in samplers {
        rss.set_label(None);
    }
    out.peak_rss_mib = samplers
        .iter()
        .filter_map(|rss| rss.peak_mib(&route.label))
        .reduce(f64::max);
    out
}
