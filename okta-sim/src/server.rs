//! The HTTP front of okta-sim: concurrency limit, auth, rate limits, permissions, faults, then the endpoint;
//! plus the `/__sim/` control endpoints for tests and benchmarks.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use chrono::Utc;
use serde_json::{Value, json};

use super::auth::Permission;
use super::errors::OktaError;
use super::faults::{FaultKind, FaultRule};
use super::handlers::{self, Page, Query};
use super::ratelimit::{Bucket, Verdict};
use super::state::SimState;
use super::truth;

pub type Shared = Arc<SimState>;

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn add_rate_headers(headers: &mut HeaderMap, verdict: &Verdict) {
    for (name, value) in [
        ("x-rate-limit-limit", verdict.limit),
        ("x-rate-limit-remaining", verdict.remaining),
        ("x-rate-limit-reset", verdict.reset),
    ] {
        headers.insert(name, HeaderValue::from(value));
    }
}

fn error_response(state: &SimState, err: &OktaError, verdict: Option<&Verdict>) -> Response {
    let n = state.requests.load(Ordering::Relaxed);
    let mut response = json_response(err.status, &err.body(n));
    if let Some(v) = verdict {
        add_rate_headers(response.headers_mut(), v);
    }
    response
}

fn base_url(headers: &HeaderMap) -> String {
    // Links are absolute URLs on the host the client used (Okta pagination: follow links, do not build them).
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

fn permission_for(path: &str) -> Option<Permission> {
    match Bucket::of_path(path) {
        Bucket::Apps | Bucket::App => Some(Permission::Apps),
        Bucket::Users => Some(Permission::Users),
        Bucket::User if path.ends_with("/me") => None,
        Bucket::User => Some(Permission::Users),
        Bucket::Groups => Some(Permission::Groups),
        Bucket::Logs => Some(Permission::Logs),
        Bucket::Other => None,
    }
}

fn route(state: &SimState, base: &str, path: &str, q: &Query) -> Result<Page, OktaError> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match segments.as_slice() {
        ["", "api", "v1", "users"] => handlers::list_users(state, base, q),
        ["", "api", "v1", "users", id] => handlers::get_user(state, base, id),
        ["", "api", "v1", "apps"] => handlers::list_apps(state, base, q),
        ["", "api", "v1", "apps", id] => handlers::get_app(state, base, id),
        ["", "api", "v1", "apps", id, "users"] => handlers::list_app_users(state, base, id, q),
        ["", "api", "v1", "groups"] => handlers::list_groups(state, base, q),
        ["", "api", "v1", "logs"] => handlers::list_logs(state, q, Utc::now()),
        _ => Err(OktaError::not_found(path, "Resource")),
    }
}

/// Every request to the Okta API surface.
pub async fn dispatch(State(state): State<Shared>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    if path.starts_with("/__sim/") {
        return admin(&state, request).await;
    }
    state.requests.fetch_add(1, Ordering::Relaxed);
    let bucket = Bucket::of_path(&path);
    let response = serve(&state, bucket, &path, request).await;
    state.record(bucket, response.status().as_u16());
    response
}

async fn serve(state: &SimState, bucket: Bucket, path: &str, request: Request) -> Response {
    let Some(_slot) = state.limiter.enter() else {
        // Okta's concurrency limit: 75 requests in flight per org; the 429 shows Limit and Remaining as 0.
        return error_response(
            state,
            &OktaError::rate_limited(),
            Some(&state.limiter.concurrency_verdict()),
        );
    };
    let headers = request.headers();
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    let Some(token) = state.tokens.authenticate(auth) else {
        let verdict = state.limiter.check(bucket, None);
        return error_response(
            state,
            &OktaError::invalid_token(),
            state.limiter.enabled().then_some(&verdict),
        );
    };
    let verdict = state.limiter.check(bucket, Some(&token.name));
    let rate_headers = state.limiter.enabled().then_some(&verdict);
    if !verdict.allowed {
        return error_response(state, &OktaError::rate_limited(), rate_headers);
    }
    if request.method() != Method::GET {
        let err = OktaError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "E0000022",
            "The endpoint does not support the provided HTTP method",
        );
        return error_response(state, &err, rate_headers);
    }
    if let Some(p) = permission_for(path)
        && !token.allows(p)
    {
        return error_response(state, &OktaError::forbidden(), rate_headers);
    }
    let mut mangle = None;
    let fired: Vec<(FaultKind, u64)> = match state.faults.read() {
        Ok(faults) => faults
            .iter()
            .filter(|f| f.fires(state.org.seed, path))
            .map(|f| (f.kind, f.ms))
            .collect(),
        Err(_) => Vec::new(),
    };
    for (kind, ms) in fired {
        match kind {
            FaultKind::Latency | FaultKind::Slow => {
                tokio::time::sleep(Duration::from_millis(ms)).await
            }
            FaultKind::Status(500) => {
                return error_response(state, &OktaError::internal(), rate_headers);
            }
            FaultKind::Status(code) => {
                let mut r = Response::new(Body::from(format!(
                    "<html><body>{code} Service Unavailable</body></html>"
                )));
                *r.status_mut() =
                    StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                return r;
            }
            FaultKind::RateLimited => {
                let forced = Verdict {
                    allowed: false,
                    limit: verdict.limit,
                    remaining: 0,
                    reset: (Utc::now() + chrono::Duration::milliseconds(ms as i64)).timestamp()
                        as u64
                        + 1,
                };
                return error_response(state, &OktaError::rate_limited(), Some(&forced));
            }
            FaultKind::Reset | FaultKind::Malformed => mangle = Some(kind),
        }
    }
    let base = base_url(headers);
    let query = Query::parse(request.uri().query());
    let page = match route(state, &base, path, &query) {
        Ok(page) => page,
        Err(err) => return error_response(state, &err, rate_headers),
    };
    let body = page.body.to_string();
    let mut response = match mangle {
        // A page cut off mid-body: the connection drops before the JSON ends.
        Some(FaultKind::Reset) => {
            let half = Bytes::from(body[..body.len() / 2].to_string());
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(half),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "simulated reset",
                )),
            ];
            Response::new(Body::from_stream(futures::stream::iter(chunks)))
        }
        Some(_) => Response::new(Body::from(format!(
            "{}{{\"truncated",
            &body[..body.len() / 2]
        ))),
        None => Response::new(Body::from(body)),
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(v) = rate_headers {
        add_rate_headers(h, v);
    }
    if page.is_list {
        // One Link header line per relation (Okta pagination).
        let self_link = format!("<{base}{path}?{}>; rel=\"self\"", query.encoded());
        if let Ok(v) = HeaderValue::from_str(&self_link) {
            h.append(header::LINK, v);
        }
        if let Some(cursor) = page.next {
            let next = format!("<{base}{path}?{}>; rel=\"next\"", query.with_after(&cursor));
            if let Ok(v) = HeaderValue::from_str(&next) {
                h.append(header::LINK, v);
            }
        }
    }
    response
}

async fn admin(state: &SimState, request: Request) -> Response {
    let path = request.uri().path().to_string();
    let query = Query::parse(request.uri().query());
    let method = request.method().clone();
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let bad = |msg: String| json_response(StatusCode::BAD_REQUEST, &json!({"error": msg}));
    match (method, path.as_str()) {
        (Method::GET, "/__sim/stats") => json_response(StatusCode::OK, &state.stats()),
        (Method::GET, "/__sim/truth") => {
            let days = query
                .get("window")
                .and_then(|w| w.strip_suffix('d'))
                .and_then(|d| d.parse().ok())
                .unwrap_or(30);
            let domain = query.get("domain").unwrap_or("okta-sim").to_string();
            json_response(
                StatusCode::OK,
                &truth::report(state, &domain, days, Utc::now()),
            )
        }
        (Method::POST, "/__sim/events") => {
            let Some(app) = parsed["app"].as_str().and_then(|a| {
                state
                    .org
                    .app_index(a)
                    .or_else(|| state.org.apps.iter().position(|x| x.label == a))
            }) else {
                return bad("events: give \"app\" (an app id or label)".into());
            };
            let count = parsed["count"].as_u64().unwrap_or(1);
            let users = parsed["users"].as_u64().unwrap_or(count);
            match state
                .log
                .append_sso(&state.org, app, count, users, Utc::now())
            {
                Some(first) => json_response(
                    StatusCode::OK,
                    &json!({"appended": count, "firstIndex": first, "app": state.org.apps[app].id}),
                ),
                None => bad("events: that app has no assigned users".into()),
            }
        }
        (Method::PUT, "/__sim/faults") => {
            let specs: Vec<String> = serde_json::from_value(parsed).unwrap_or_default();
            match specs
                .iter()
                .map(|s| FaultRule::parse(s))
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(rules) => {
                    if let Ok(mut faults) = state.faults.write() {
                        *faults = rules;
                    }
                    json_response(StatusCode::OK, &json!({"faults": specs}))
                }
                Err(e) => bad(e),
            }
        }
        (Method::GET, "/__sim/faults") => {
            let faults: Vec<Value> = state
                .faults
                .read()
                .map(|f| {
                    f.iter()
                        .map(|r| json!({"spec": r.spec, "fired": r.fired()}))
                        .collect()
                })
                .unwrap_or_default();
            json_response(StatusCode::OK, &Value::Array(faults))
        }
        (Method::POST, p) if p.starts_with("/__sim/tokens/") && p.ends_with("/revoke") => {
            let name = p
                .trim_start_matches("/__sim/tokens/")
                .trim_end_matches("/revoke");
            match state.tokens.get(name) {
                Some(t) => {
                    t.revoke();
                    json_response(StatusCode::OK, &json!({"revoked": name}))
                }
                None => json_response(StatusCode::NOT_FOUND, &json!({"error": "no such token"})),
            }
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": "unknown control endpoint"}),
        ),
    }
}
