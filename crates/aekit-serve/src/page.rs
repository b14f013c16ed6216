//! The browser page at `/`: plain HTML and one script compiled into the binary (no CDN, works
//! offline). It reads `GET /v1/models` and shows, per model, what its routes allow: a VAE's
//! latent-space explorer, an anomaly run's drop zone, a restoration run's before/after.

use axum::http::header;
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("page/index.html");
const SCRIPT: &str = include_str!("page/app.js");

pub async fn index() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], INDEX).into_response()
}

pub async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], SCRIPT).into_response()
}
