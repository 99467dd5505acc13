//! One Okta org's HTTP client: every GET goes through the org's governor, carries the credentials' headers,
//! is read under a size cap, is retried when transient, and ends in a typed error naming the endpoint.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap};
use serde::de::DeserializeOwned;
use url::Url;

use super::body::{ERROR_LIMIT, PAGE_LIMIT, read_capped};
use super::domain::OrgUrl;
use super::error::OktaError;
use super::governor::{Bucket, OrgGovernor};
use super::links::next_link;
use super::oauth::{Challenge, OAuthSession, challenge};
use super::token::ApiToken;
use super::transport::{Transport, TransportOptions, describe_transport};
use crate::sync::lock;
use crate::text;

#[derive(Clone, Debug)]
pub(crate) struct ClientOptions {
    /// Deadline of one request, body included.
    pub(crate) request_timeout: Duration,
    /// Retries of a transient failure (5xx, timeout, broken connection) before giving up.
    pub(crate) max_retries: u32,
    pub(crate) backoff_base: Duration,
    pub(crate) backoff_max: Duration,
    /// 429 answers tolerated for one request before giving up (each waits for the reset).
    pub(crate) max_rate_limited: u32,
    /// Requests in flight per org (Okta allows 75 per org, shared by every client of it).
    pub(crate) max_in_flight: usize,
    pub(crate) transport: TransportOptions,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            request_timeout: Duration::from_secs(30),
            max_retries: 5,
            backoff_base: Duration::from_millis(200),
            backoff_max: Duration::from_secs(10),
            max_rate_limited: 30,
            max_in_flight: 8,
            transport: TransportOptions::default(),
        }
    }
}

/// How requests authenticate.
#[derive(Clone)]
pub(crate) enum Auth {
    /// An SSWS API token.
    Ssws(ApiToken),
    /// An OAuth 2.0 service app with DPoP-bound tokens.
    OAuth(Arc<OAuthSession>),
}

/// Counters of one client, read for status and metrics.
#[derive(Default, Debug)]
pub(crate) struct RequestStats {
    pub(crate) requests: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    /// Wall time during which at least one request waited for rate-limit budget (overlapping waits count once).
    waits: std::sync::Mutex<WaitClock>,
}

#[derive(Default, Debug)]
struct WaitClock {
    total: Duration,
    covered_until: Option<Instant>,
}

impl RequestStats {
    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
    pub(crate) fn rate_limit_wait(&self) -> Duration {
        lock(&self.waits).total
    }
    fn add_wait(&self, started: Instant, waited: Duration) {
        if waited.is_zero() {
            return;
        }
        let end = started + waited;
        let mut w = lock(&self.waits);
        let from = w.covered_until.map_or(started, |c| c.max(started));
        if end > from {
            w.total += end - from;
            w.covered_until = Some(end);
        }
    }
}

/// Told of every answer: the operator's metrics listen here.
pub(crate) trait RequestObserver: Send + Sync {
    /// An answer with its HTTP status, or None when no answer came (timeout, broken connection).
    fn on_answer(&self, origin: &str, bucket: Bucket, status: Option<u16>);
    /// Time spent waiting for the bucket's budget before a request.
    fn on_wait(&self, origin: &str, bucket: Bucket, waited: Duration);
}

/// One page: its (capped) body and its `rel="next"` link, which stays on the org's origin.
pub(crate) struct Page {
    pub(crate) body: Bytes,
    pub(crate) next: Option<Url>,
}

#[derive(Clone)]
pub(crate) struct OktaClient {
    transport: Arc<Transport>,
    org: OrgUrl,
    auth: Auth,
    governor: Arc<OrgGovernor>,
    options: ClientOptions,
    stats: Arc<RequestStats>,
    observer: Option<Arc<dyn RequestObserver>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    error_summary: Option<String>,
}

enum Failure {
    /// 429: the governor now holds the bucket until its reset.
    RateLimited,
    /// The credentials asked for a repeat (a DPoP nonce, an expired access token).
    AuthRetry,
    Error(OktaError),
}

pub(crate) fn endpoint_of(url: &Url) -> String {
    format!("GET {}", url.path())
}

impl OktaClient {
    pub(crate) fn new(
        org: OrgUrl,
        auth: Auth,
        governor: Arc<OrgGovernor>,
        options: ClientOptions,
    ) -> Result<OktaClient, OktaError> {
        let transport = Transport::new(&org.host, &options.transport)
            .map_err(|message| OktaError::Transport { endpoint: org.base.to_string(), message })?;
        Ok(OktaClient {
            transport: Arc::new(transport),
            org,
            auth,
            governor,
            options,
            stats: Arc::new(RequestStats::default()),
            observer: None,
        })
    }

    pub(crate) fn with_observer(mut self, observer: Arc<dyn RequestObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    pub(crate) fn stats(&self) -> &RequestStats {
        &self.stats
    }

    /// An absolute URL on the org for a path and query.
    pub(crate) fn url(&self, path_and_query: &str) -> Url {
        self.org.base.join(path_and_query).unwrap_or_else(|_| self.org.base.clone())
    }

    /// GETs one page with its next link.
    pub(crate) async fn get_page(&self, url: &Url) -> Result<Page, OktaError> {
        let (body, headers) = self.get_bytes(url).await?;
        let next = self.next_of(url, &headers)?;
        Ok(Page { body, next })
    }

    /// GETs one object.
    pub(crate) async fn get_json<T: DeserializeOwned>(&self, url: &Url) -> Result<T, OktaError> {
        let (body, _) = self.get_bytes(url).await?;
        serde_json::from_slice(&body)
            .map_err(|e| OktaError::Malformed { endpoint: endpoint_of(url), message: text::field(&e.to_string()) })
    }

    /// Whether `url` is on the org's own origin: the one rule for every request this client sends (a next
    /// link, a saved System Log position, a built URL), so credentials never go anywhere else.
    fn is_own(&self, url: &Url) -> bool {
        url.origin() == self.org.base.origin() && url.username().is_empty() && url.password().is_none()
    }

    /// The `rel="next"` link, followed exactly as given but never to another origin.
    fn next_of(&self, url: &Url, headers: &HeaderMap) -> Result<Option<Url>, OktaError> {
        let Some(link) = next_link(headers) else {
            return Ok(None);
        };
        let foreign = || OktaError::ForeignLink { endpoint: endpoint_of(url) };
        let parsed = Url::parse(&link).map_err(|_| foreign())?;
        if !self.is_own(&parsed) {
            return Err(foreign());
        }
        Ok(Some(parsed))
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.options.backoff_base.saturating_mul(1 << attempt.min(16)).min(self.options.backoff_max);
        // Full jitter: retries of many clients spread out instead of arriving together.
        Duration::from_secs_f64(rand::rng().random_range(0.0..=ceiling.as_secs_f64()))
    }

    async fn get_bytes(&self, url: &Url) -> Result<(Bytes, HeaderMap), OktaError> {
        let endpoint = endpoint_of(url);
        if !self.is_own(url) {
            return Err(OktaError::ForeignLink { endpoint });
        }
        let bucket = Bucket::for_path(url.path());
        let (mut attempt, mut limited, mut auth_retries) = (0u32, 0u32, 0u32);
        loop {
            let asked = Instant::now();
            let permit = self.governor.acquire(bucket).await;
            self.stats.add_wait(asked, permit.waited);
            if let (Some(o), false) = (&self.observer, permit.waited.is_zero()) {
                o.on_wait(&self.org.origin(), bucket, permit.waited);
            }
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let outcome = self.send_once(url, &endpoint, bucket).await;
            drop(permit);
            let err = match outcome {
                Ok(answer) => return Ok(answer),
                Err(Failure::RateLimited) => {
                    limited += 1;
                    self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                    if limited > self.options.max_rate_limited {
                        return Err(OktaError::RateLimited { endpoint, waits: limited });
                    }
                    continue;
                }
                Err(Failure::AuthRetry) if auth_retries < 2 => {
                    auth_retries += 1;
                    continue;
                }
                Err(Failure::AuthRetry) => OktaError::Status { endpoint: endpoint.clone(), status: 401 },
                Err(Failure::Error(e)) => e,
            };
            if err.is_retryable_now() && attempt < self.options.max_retries {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(self.backoff(attempt)).await;
                attempt += 1;
                continue;
            }
            return Err(err);
        }
    }

    async fn send_once(&self, url: &Url, endpoint: &str, bucket: Bucket) -> Result<(Bytes, HeaderMap), Failure> {
        let timeout = self.options.request_timeout;
        let transport_error =
            |message: String| Failure::Error(OktaError::Transport { endpoint: endpoint.to_string(), message });
        self.transport.check_target().await.map_err(transport_error)?;
        let mut request = self.transport.http.get(url.clone()).header(ACCEPT, "application/json").timeout(timeout);
        request = match &self.auth {
            Auth::Ssws(token) => request.header(AUTHORIZATION, token.header().clone()),
            Auth::OAuth(session) => {
                request.headers(session.headers(&self.transport.http, "GET", url).await.map_err(Failure::Error)?)
            }
        };
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                self.notify(bucket, None);
                return Err(Failure::Error(if e.is_timeout() {
                    OktaError::Timeout { endpoint: endpoint.to_string(), timeout }
                } else {
                    OktaError::Transport { endpoint: endpoint.to_string(), message: describe_transport(&e) }
                }));
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        self.notify(bucket, Some(status.as_u16()));
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.governor.rejected(bucket, &headers);
            return Err(Failure::RateLimited);
        }
        self.governor.observe(bucket, &headers);
        if let Auth::OAuth(session) = &self.auth {
            session.observe(&headers);
            if status == StatusCode::UNAUTHORIZED && session.on_unauthorized(&headers).await {
                return Err(Failure::AuthRetry);
            }
        }
        if status.is_success() {
            let body = read_capped(response, PAGE_LIMIT, endpoint)
                .await
                .map_err(|e| Failure::Error(self.timeout_aware(e, timeout)))?;
            return Ok((body, headers));
        }
        let body = read_capped(response, ERROR_LIMIT, endpoint).await.unwrap_or_default();
        Err(Failure::Error(error_of(endpoint, status.as_u16(), &headers, &body)))
    }

    fn timeout_aware(&self, e: OktaError, timeout: Duration) -> OktaError {
        match e {
            OktaError::Transport { endpoint, message } if message.contains("timed out") => {
                OktaError::Timeout { endpoint, timeout }
            }
            other => other,
        }
    }

    fn notify(&self, bucket: Bucket, status: Option<u16>) {
        if let Some(o) = &self.observer {
            o.on_answer(&self.org.origin(), bucket, status);
        }
    }
}

/// An error answer as a typed error: Okta's errorCode when it sent one (a body without it, from a proxy
/// or a load balancer, is only a status), a missing OAuth scope when WWW-Authenticate names one.
fn error_of(endpoint: &str, status: u16, headers: &HeaderMap, body: &[u8]) -> OktaError {
    if status == 403
        && let Challenge::InsufficientScope(scope) = challenge(headers)
        && !scope.is_empty()
    {
        return OktaError::MissingScope { endpoint: endpoint.to_string(), scope };
    }
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    match parsed.and_then(|b| Some((b.error_code.filter(|c| !c.trim().is_empty())?, b.error_summary))) {
        Some((code, summary)) => OktaError::Api {
            endpoint: endpoint.to_string(),
            status,
            code: text::clean(&code, 32),
            summary: text::field(&summary.unwrap_or_default()),
        },
        None => OktaError::Status { endpoint: endpoint.to_string(), status },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, WWW_AUTHENTICATE};

    #[tokio::test]
    async fn no_request_ever_leaves_the_org_whatever_url_it_is_given() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let port = listener.local_addr().expect("an address").port();
        let accepted = Arc::new(AtomicU64::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((_conn, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        let policy = super::super::DomainPolicy::new(&[], true).expect("a policy");
        let org = policy.check("127.0.0.1:1").expect("a loopback org");
        let token = ApiToken::parse(b"00abcdefghijklmnopqrstuvwxyz0123456789ABCD").expect("a token");
        let options = ClientOptions { max_retries: 0, ..ClientOptions::default() };
        let client = OktaClient::new(org, Auth::Ssws(token), Arc::new(OrgGovernor::new(2)), options).expect("a client");
        for url in [
            format!("http://127.0.0.1:{port}/api/v1/logs?after=x"),
            "http://localhost:1/api/v1/logs".to_string(),
            "http://user:pw@127.0.0.1:1/api/v1/logs".to_string(),
        ] {
            let url = Url::parse(&url).expect("a URL");
            let got = client.get_page(&url).await;
            assert!(matches!(got, Err(OktaError::ForeignLink { .. })), "{url}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 0, "no connection to another origin");
        assert_eq!(client.stats().requests(), 0);
    }

    #[test]
    fn error_bodies_are_classified_once_and_made_safe() {
        let none = HeaderMap::new();
        let e = error_of(
            "GET /api/v1/users",
            401,
            &none,
            br#"{"errorCode":"E0000011","errorSummary":"Invalid token provided"}"#,
        );
        assert!(matches!(e, OktaError::Api { status: 401, ref code, .. } if code == "E0000011"));
        let proxy = error_of("GET /api/v1/users", 403, &none, b"<html>Forbidden</html>");
        assert!(matches!(proxy, OktaError::Status { status: 403, .. }));
        let empty_code = error_of("GET /api/v1/users", 401, &none, br#"{"errorCode":"","errorSummary":"x"}"#);
        assert!(matches!(empty_code, OktaError::Status { .. }));
        let huge = format!(r#"{{"errorCode":"E0000006","errorSummary":"{}"}}"#, "\\u001b[2J".repeat(50_000));
        let e = error_of("GET /api/v1/logs", 403, &none, huge.as_bytes());
        assert!(e.to_string().len() < 400 && !e.to_string().contains('\u{1b}'), "{e}");
        let mut scoped = HeaderMap::new();
        scoped.insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Bearer error="insufficient_scope", scope="okta.logs.read""#),
        );
        let e = error_of("GET /api/v1/logs", 403, &scoped, br#"{"errorCode":"E0000006"}"#);
        assert!(matches!(e, OktaError::MissingScope { ref scope, .. } if scope == "okta.logs.read"));
    }
}
