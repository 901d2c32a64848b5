//! Static files, embedded in the binary so it runs from any directory.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::error::AppError;
use super::extract::Path;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../static/app.css"),
    },
    Asset {
        name: "users.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/users.js"),
    },
    Asset {
        name: "composer.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/composer.js"),
    },
    Asset {
        name: "message.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/message.js"),
    },
    // htmx 2.0.11, 0BSD, byte-identical to npm's dist/htmx.min.js (see static/VENDORED.md).
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/htmx.min.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../static/favicon.svg"),
    },
];

pub async fn serve(Path(name): Path<String>) -> Result<Response, AppError> {
    let asset = ASSETS
        .iter()
        .find(|asset| asset.name == name)
        .ok_or_else(AppError::not_found)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        asset.body,
    )
        .into_response())
}
