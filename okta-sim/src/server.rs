//! The HTTP front of okta-sim: concurrency limit, authentication (SSWS tokens, or OAuth access tokens with
//! DPoP), rate limits, permissions or scopes, faults, then the endpoint; the OAuth token endpoint; and
//! the `/__sim/` control endpoints for tests and benchmarks.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use chrono::Utc;
use serde_json::{Value, json};

use super::admin;
use super::auth::{Permission, Principal};
use super::errors::OktaError;
use super::faults::FaultKind;
use super::handlers::{self, Page, Query};
use super::hostile;
use super::oauth::OAuthRefusal;
use super::ratelimit::{Bucket, Verdict};
use super::state::SimState;

pub type Shared = Arc<SimState>;

pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
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

/// The URL the client used, for links (Okta pagination: follow links, do not build them).
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
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

fn route(state: &SimState, base: &str, path: &str, q: &Query, principal: &Principal) -> Result<Page, OktaError> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match segments.as_slice() {
        ["", "api", "v1", "users"] => handlers::list_users(state, base, q),
        ["", "api", "v1", "users", id] => handlers::get_user(state, base, id),
        ["", "api", "v1", "apps"] => handlers::list_apps(state, base, q),
        ["", "api", "v1", "apps", id] => handlers::get_app(state, base, id),
        ["", "api", "v1", "apps", id, "users"] => handlers::list_app_users(state, base, id, q),
        ["", "api", "v1", "apps", id, "groups"] => handlers::list_app_groups(state, base, id, q),
        ["", "api", "v1", "groups"] => handlers::list_groups(state, base, q),
        ["", "api", "v1", "groups", id, "users"] => handlers::list_group_users(state, base, id, q),
        ["", "api", "v1", "logs"] => handlers::list_logs(state, q, state.clock.now(), &principal.name),
        _ => Err(OktaError::not_found(path, "Resource")),
    }
}

/// Every request.
pub async fn dispatch(State(state): State<Shared>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    if path.starts_with("/__sim/") {
        return admin::handle(&state, request).await;
    }
    state.requests.fetch_add(1, Ordering::Relaxed);
    if path == "/oauth2/v1/token" {
        return token(&state, request).await;
    }
    let bucket = Bucket::of_path(&path);
    let response = serve(&state, bucket, &path, request).await;
    state.record(bucket, response.status().as_u16());
    response
}

fn oauth_refusal(refusal: &OAuthRefusal, api: bool) -> Response {
    let mut r = if api && refusal.error == "invalid_token" {
        // The management API answers a dead token with Okta's own error body too.
        json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"errorCode": "E0000011", "errorSummary": "Invalid token provided", "errorLink": "E0000011", "errorId": "oae1", "errorCauses": []}),
        )
    } else {
        json_response(
            StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::BAD_REQUEST),
            &json!({"error": refusal.error, "error_description": refusal.description}),
        )
    };
    if api
        && let Ok(v) = HeaderValue::from_str(&format!(
            "DPoP error=\"{}\", error_description=\"{}\"",
            refusal.error, refusal.description
        ))
    {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    if let Some(nonce) = &refusal.nonce
        && let Ok(v) = HeaderValue::from_str(nonce)
    {
        r.headers_mut().insert("dpop-nonce", v);
    }
    r
}

/// `POST /oauth2/v1/token` on the org authorization server.
async fn token(state: &SimState, request: Request) -> Response {
    if request.method() != Method::POST {
        return json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"error": "invalid_request", "error_description": "The token endpoint takes POST."}),
        );
    }
    let url = format!("{}/oauth2/v1/token", base_url(request.headers()));
    let dpop = request.headers().get("dpop").and_then(|v| v.to_str().ok()).map(String::from);
    let body = axum::body::to_bytes(request.into_body(), 64 * 1024).await.unwrap_or_default();
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    match state.oauth.token(&form, dpop.as_deref(), &url) {
        Ok(answer) => json_response(StatusCode::OK, &answer),
        Err(refusal) => oauth_refusal(&refusal, false),
    }
}

/// Who is asking: an SSWS token, or an OAuth access token with its DPoP proof.
fn authenticate(state: &SimState, headers: &HeaderMap, url: &str) -> Result<Principal, Box<Response>> {
    let auth = headers.get(header::AUTHORIZATION).and_then(|h| h.to_str().ok());
    if let Some(a) = auth.filter(|a| a.starts_with("DPoP ") || a.starts_with("Bearer ")) {
        let dpop = headers.get("dpop").and_then(|v| v.to_str().ok());
        return state
            .oauth
            .check(a, dpop, "GET", url)
            .map(|(client, scopes)| Principal::oauth(client, scopes))
            .map_err(|r| Box::new(oauth_refusal(&r, true)));
    }
    state.tokens.authenticate(auth).ok_or_else(|| Box::new(error_response(state, &OktaError::invalid_token(), None)))
}

/// 403 for a missing permission; for an OAuth token, naming the scope in WWW-Authenticate as Okta does.
fn forbidden(
    state: &SimState,
    principal: &Principal,
    p: Permission,
    path: &str,
    verdict: Option<&Verdict>,
) -> Response {
    let mut r = error_response(state, &OktaError::forbidden(), verdict);
    if principal.is_oauth()
        && let Ok(v) = HeaderValue::from_str(&format!(
            "Bearer authorization_uri=\"/oauth2/v1/authorize\", realm=\"IdP\", scope=\"{}\", error=\"insufficient_scope\", error_description=\"The access token provided does not contain the required scopes.\", resource=\"{path}\"",
            p.scope()
        ))
    {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

/// Faults that answer instead of the endpoint.
async fn early_fault(state: &SimState, kind: FaultKind, ms: u64, verdict: &Verdict) -> Option<Response> {
    Some(match kind {
        FaultKind::Latency | FaultKind::Slow => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            return None;
        }
        FaultKind::Status(500) => error_response(state, &OktaError::internal(), Some(verdict)),
        FaultKind::Status(code) => {
            let mut r = Response::new(Body::from(format!("<html><body>{code} Service Unavailable</body></html>")));
            *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            r
        }
        FaultKind::RateLimited => {
            let reset = (Utc::now() + chrono::Duration::milliseconds(ms as i64)).timestamp() as u64 + 1;
            let forced = Verdict { allowed: false, limit: verdict.limit, remaining: 0, reset };
            error_response(state, &OktaError::rate_limited(), Some(&forced))
        }
        FaultKind::StaleReset => {
            let past = Verdict {
                allowed: false,
                limit: verdict.limit,
                remaining: 0,
                reset: (Utc::now().timestamp() - 30).max(0) as u64,
            };
            error_response(state, &OktaError::rate_limited(), Some(&past))
        }
        FaultKind::GzipBomb => hostile::gzip_bomb(),
        FaultKind::HugeBody => hostile::huge_body(),
        FaultKind::HugeError => hostile::huge_error(),
        FaultKind::LongError => hostile::long_error(),
        FaultKind::PlainUnauthorized => hostile::plain(StatusCode::UNAUTHORIZED),
        FaultKind::PlainForbidden => hostile::plain(StatusCode::FORBIDDEN),
        _ => return None,
    })
}

async fn serve(state: &SimState, bucket: Bucket, path: &str, request: Request) -> Response {
    let Some(_slot) = state.limiter.enter() else {
        // Okta's concurrency limit: 75 requests in flight per org; the 429 shows Limit and Remaining as 0.
        return error_response(state, &OktaError::rate_limited(), Some(&state.limiter.concurrency_verdict()));
    };
    let headers = request.headers().clone();
    let base = base_url(&headers);
    let principal = match authenticate(state, &headers, &format!("{base}{path}")) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let verdict = state.limiter.check(bucket, Some(&principal.name));
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
        && !principal.allows(p)
    {
        return forbidden(state, &principal, p, path, rate_headers);
    }
    let fired: Vec<(FaultKind, u64)> = match state.faults.read() {
        Ok(faults) => faults.iter().filter(|f| f.fires(state.org().seed, path)).map(|f| (f.kind, f.ms)).collect(),
        Err(_) => Vec::new(),
    };
    for &(kind, ms) in &fired {
        if let Some(response) = early_fault(state, kind, ms, &verdict).await {
            return response;
        }
    }
    let query = Query::parse(request.uri().query());
    let page = match route(state, &base, path, &query, &principal) {
        Ok(page) => page,
        Err(err) => return error_response(state, &err, rate_headers),
    };
    let kinds: Vec<FaultKind> = fired.iter().map(|f| f.0).collect();
    answer(page, &base, path, &query, &kinds, rate_headers)
}

/// A page as Okta sends it: JSON, rate-limit headers, Link headers for lists; hostile faults applied.
fn answer(
    mut page: Page,
    base: &str,
    path: &str,
    query: &Query,
    kinds: &[FaultKind],
    rate: Option<&Verdict>,
) -> Response {
    if kinds.contains(&FaultKind::ControlChars) {
        hostile::control_chars(&mut page.body);
    }
    if kinds.contains(&FaultKind::Nulls) {
        hostile::nulls(&mut page.body);
    }
    let mut response = render(page.body.to_string(), kinds);
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(v) = rate {
        add_rate_headers(h, v);
    }
    if kinds.contains(&FaultKind::HugeRateHeaders) {
        for name in ["x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"] {
            h.insert(name, HeaderValue::from_static("9223372036854775808"));
        }
    }
    if page.is_list {
        links(h, base, path, query, page.next, kinds);
    }
    response
}

/// The body, cut off mid-stream (reset) or mid-JSON (malformed) when asked.
fn render(body: String, kinds: &[FaultKind]) -> Response {
    if kinds.contains(&FaultKind::Reset) {
        let half = Bytes::from(body[..body.len() / 2].to_string());
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            vec![Ok(half), Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "simulated reset"))];
        return Response::new(Body::from_stream(futures::stream::iter(chunks)));
    }
    if kinds.contains(&FaultKind::Malformed) {
        return Response::new(Body::from(format!("{}{{\"truncated", &body[..body.len() / 2])));
    }
    Response::new(Body::from(body))
}

/// One Link header line per relation (Okta pagination); a repeating fault points next at the page itself.
fn links(h: &mut HeaderMap, base: &str, path: &str, query: &Query, next: Option<String>, kinds: &[FaultKind]) {
    let self_link = format!("<{base}{path}?{}>; rel=\"self\"", query.encoded());
    if let Ok(v) = HeaderValue::from_str(&self_link) {
        h.append(header::LINK, v);
    }
    let repeat =
        kinds.contains(&FaultKind::RepeatNext) || (kinds.contains(&FaultKind::RepeatLogPage) && path == "/api/v1/logs");
    let target = if repeat {
        Some(format!("{base}{path}?{}", query.encoded()))
    } else {
        next.map(|c| format!("{base}{path}?{}", query.with_after(&c)))
    };
    if let Some(t) = target
        && let Ok(v) = HeaderValue::from_str(&format!("<{t}>; rel=\"next\""))
    {
        h.append(header::LINK, v);
    }
}
