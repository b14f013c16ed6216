//! The HTTP routes (`/healthz`, `/metrics`, `/v1/models...`, the page) and their errors. Every
//! failure is a JSON body `{"error": {"status", "field", "message"}}` with a 4xx for the
//! client's mistakes and a 5xx only for the server's; the status list is in the README's "Serve".

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aekit::apps::endpoint::{parse_rows, FlagRule, Route, RowsOut};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http_body_util::BodyExt;
use serde::Deserialize;
use tokio::sync::Semaphore;

use crate::metrics::Metrics;
use crate::worker::{Answer, Refused, Work, Worker};

/// What one request may ask for.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body, bytes (413 above it).
    pub max_body: usize,
    /// Most samples in one request's `inputs` (413 above it).
    pub max_samples: usize,
    /// How long a body may take to arrive (408 after it): slow-loris bodies end here.
    pub body_timeout: Duration,
    /// How long a request may wait for the model (503 after it).
    pub request_timeout: Duration,
}

pub struct AppState {
    pub workers: BTreeMap<String, Worker>,
    pub limits: Limits,
    pub metrics: Arc<Metrics>,
    pub token: Option<String>,
    /// Requests being answered; a full set is a 503 (bounded memory whatever the load).
    pub inflight: Semaphore,
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub field: Option<String>,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, field: Option<&str>, message: impl Into<String>) -> Self {
        ApiError { status, field: field.map(String::from), message: message.into() }
    }
}

impl From<aekit::Error> for ApiError {
    fn from(e: aekit::Error) -> Self {
        let message = e.to_string();
        match e {
            aekit::Error::InvalidArgument { name: "route", .. } => ApiError::new(StatusCode::NOT_FOUND, Some("route"), message),
            aekit::Error::InvalidArgument { name, .. } => ApiError::new(StatusCode::BAD_REQUEST, Some(name), message),
            aekit::Error::Shape(_) => ApiError::new(StatusCode::BAD_REQUEST, Some("inputs"), message),
            e if e.is_bad_input() => ApiError::new(StatusCode::BAD_REQUEST, None, message),
            _ => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, None, message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "status": self.status.as_u16(), "field": self.field, "message": self.message } });
        let mut r = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(crate::page::index))
        .route("/app.js", get(crate::page::script))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/models", get(models))
        .route("/v1/models/{name}", get(model))
        .route("/v1/models/{name}/{route}", get(model_route).post(model_route))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Authentication, the in-flight bound, and metrics around every request.
async fn guard(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let path = req.uri().path().to_string();
    let (model, route) = metric_labels(&st, &path);
    let public = matches!(path.as_str(), "/" | "/app.js" | "/healthz");
    let response = if !public && !authorized(&st, req.headers()) {
        let mut r = ApiError::new(StatusCode::UNAUTHORIZED, Some("authorization"), "expected the header `Authorization: Bearer TOKEN` with the server's token").into_response();
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        r
    } else {
        match st.inflight.try_acquire() {
            Ok(_permit) => next.run(req).await,
            Err(_) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, None, "too many requests in flight; retry shortly").into_response(),
        }
    };
    st.metrics.request(&model, &route, response.status().as_u16(), start.elapsed());
    response
}

/// Labels with bounded cardinality: unknown models and routes are counted as "unknown".
fn metric_labels(st: &AppState, path: &str) -> (String, String) {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["v1", "models", name, route] => {
            let m = if st.workers.contains_key(*name) { name.to_string() } else { "unknown".into() };
            let r = Route::parse(route).map(|r| r.name()).unwrap_or("unknown");
            (m, r.into())
        }
        ["v1", "models", ..] => (String::new(), "models".into()),
        ["healthz"] | ["metrics"] | ["app.js"] => (String::new(), parts[0].into()),
        [""] => (String::new(), "page".into()),
        _ => (String::new(), "unknown".into()),
    }
}

fn authorized(st: &AppState, headers: &HeaderMap) -> bool {
    let Some(token) = &st.token else { return true };
    let Some(given) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")) else {
        return false;
    };
    // Constant time in the token's length: no early exit on the first differing byte.
    given.len() == token.len() && given.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

async fn healthz(State(st): State<Arc<AppState>>) -> Response {
    axum::Json(serde_json::json!({ "status": "ok", "models": st.workers.len() })).into_response()
}

async fn metrics(State(st): State<Arc<AppState>>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], st.metrics.render()).into_response()
}

async fn not_found(req: Request) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, None, format!("no route {} {}; see GET /v1/models", req.method(), req.uri().path()))
}

fn describe(w: &Worker) -> serde_json::Value {
    let mut v = serde_json::to_value(&*w.info).unwrap_or_default();
    v["routes"] = serde_json::json!(*w.routes);
    v
}

async fn models(State(st): State<Arc<AppState>>) -> Response {
    axum::Json(st.workers.values().map(describe).collect::<Vec<_>>()).into_response()
}

fn worker<'a>(st: &'a AppState, name: &str) -> Result<&'a Worker, ApiError> {
    st.workers.get(name).ok_or_else(|| {
        let names: Vec<&str> = st.workers.keys().map(String::as_str).collect();
        ApiError::new(StatusCode::NOT_FOUND, Some("model"), format!("no model named {name:?}; this server has {}", names.join(", ")))
    })
}

async fn model(State(st): State<Arc<AppState>>, Path(name): Path<String>) -> Result<Response, ApiError> {
    Ok(axum::Json(describe(worker(&st, &name)?)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RowsRequest {
    inputs: Vec<Vec<f64>>,
    #[serde(default)]
    alpha: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SampleRequest {
    #[serde(default = "one")]
    n: usize,
    #[serde(default)]
    seed: u64,
    #[serde(default = "unit")]
    temperature: f64,
}

fn one() -> usize {
    1
}
fn unit() -> f64 {
    1.0
}

#[derive(serde::Serialize)]
struct RowsResponse<'a> {
    model: &'a str,
    route: &'a str,
    n: usize,
    #[serde(flatten)]
    out: RowsOut,
}

async fn model_route(State(st): State<Arc<AppState>>, Path((name, route_name)): Path<(String, String)>, req: Request) -> Result<Response, ApiError> {
    let start = Instant::now();
    let w = worker(&st, &name)?;
    let route = Route::parse(&route_name).ok_or_else(|| {
        let names: Vec<&str> = Route::ALL.iter().map(|r| r.name()).collect();
        ApiError::new(StatusCode::NOT_FOUND, Some("route"), format!("no route {route_name:?}; routes are {}", names.join(", ")))
    })?;
    if !w.routes.contains(&route.name()) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            Some("route"),
            format!("{:?} is not offered by {name} (a {} run); it offers {}", route.name(), w.info.kind, w.routes.join(", ")),
        ));
    }
    let want_method = if route == Route::LatentMap { Method::GET } else { Method::POST };
    if req.method() != want_method {
        return Err(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, None, format!("{} takes {want_method}", route.name())));
    }
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let work = if route == Route::LatentMap {
        Work::LatentMap
    } else {
        let body = read_body(req.into_body(), &st.limits, declared).await?;
        if route.is_image() {
            let is_image = ["image/png", "image/jpeg", "image/bmp", "application/octet-stream"].iter().any(|t| content_type.starts_with(t));
            if !is_image {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    Some("content-type"),
                    format!("{content_type:?}: {} takes an image body (Content-Type image/png, image/jpeg or image/bmp)", route.name()),
                ));
            }
            Work::Image { bytes: body.to_vec() }
        } else {
            if !(content_type.is_empty() || content_type.starts_with("application/json")) {
                return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("content-type"), format!("{content_type:?}: expected application/json")));
            }
            if route == Route::Sample {
                let r: SampleRequest = parse_json(&body)?;
                Work::Sample { n: r.n, seed: r.seed, temperature: r.temperature }
            } else {
                let r: RowsRequest = parse_json(&body)?;
                let len = w.row_len(route).expect("offered row routes have a length");
                if r.inputs.len() > st.limits.max_samples {
                    return Err(ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        Some("inputs"),
                        format!("{} samples; at most {} per request", r.inputs.len(), st.limits.max_samples),
                    ));
                }
                if let Some(a) = r.alpha {
                    if route != Route::Score {
                        return Err(ApiError::new(StatusCode::BAD_REQUEST, Some("alpha"), "only score takes alpha"));
                    }
                    if !(a > 0.0 && a < 1.0) {
                        return Err(ApiError::new(StatusCode::BAD_REQUEST, Some("alpha"), format!("{a}: expected a level in (0, 1)")));
                    }
                }
                let x = parse_rows(&r.inputs, len, st.limits.max_samples)?;
                Work::Rows { x, n: r.inputs.len(), rule: FlagRule { alpha: r.alpha } }
            }
        }
    };
    let rx = w.submit(route, work).map_err(|e| match e {
        Refused::Busy => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, None, format!("the queue of {name} is full; retry shortly")),
        Refused::Gone => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, None, format!("the inference thread of {name} has stopped")),
    })?;
    let left = st.limits.request_timeout.saturating_sub(start.elapsed());
    let answer = match tokio::time::timeout(left, rx).await {
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                format!("{name} did not answer within {:?}; retry shortly", st.limits.request_timeout),
            ))
        }
        Ok(Err(_)) => return Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, None, "the model failed on this request (an aekit bug; see the server's log)")),
        Ok(Ok(a)) => a?,
    };
    Ok(match answer {
        Answer::Rows(out) => {
            let n = out.scores.as_ref().map(Vec::len).or(out.codes.as_ref().map(Vec::len)).or(out.outputs.as_ref().map(Vec::len)).unwrap_or(0);
            axum::Json(RowsResponse { model: &name, route: route.name(), n, out }).into_response()
        }
        Answer::Png(png) => ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
        Answer::Json(v) => axum::Json(v).into_response(),
    })
}

/// Reads the whole body within the limits: 413 above `max_body`, 408 when it is too slow.
async fn read_body(body: Body, limits: &Limits, declared: Option<u64>) -> Result<Bytes, ApiError> {
    if declared.is_some_and(|n| n > limits.max_body as u64) {
        return Err(too_large(limits));
    }
    let limited = http_body_util::Limited::new(body, limits.max_body);
    match tokio::time::timeout(limits.body_timeout, limited.collect()).await {
        Err(_) => Err(ApiError::new(StatusCode::REQUEST_TIMEOUT, Some("body"), format!("the body did not arrive within {:?}", limits.body_timeout))),
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => Err(too_large(limits)),
        Ok(Err(e)) => Err(ApiError::new(StatusCode::BAD_REQUEST, Some("body"), format!("cannot read the body: {e}"))),
        Ok(Ok(c)) => Ok(c.to_bytes()),
    }
}

fn too_large(limits: &Limits) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, Some("body"), format!("the body is larger than {} bytes (--max-body-bytes)", limits.max_body))
}

/// Parses a JSON body; errors name the field path (`inputs[3][17]`).
fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { None } else { Some(path.as_str()) };
        ApiError::new(StatusCode::BAD_REQUEST, field, format!("invalid JSON body{}: {}", field.map(|f| format!(" at {f}")).unwrap_or_default(), e.inner()))
    })
}
