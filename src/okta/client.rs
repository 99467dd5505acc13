//! One Okta org's HTTP client: every GET goes through the governor, is retried when transient, and ends in
//! a typed error naming the endpoint.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap};
use serde::de::DeserializeOwned;
use url::Url;

use super::domain::{OrgUrl, guarded_resolver};
use super::error::OktaError;
use super::governor::{Bucket, OrgGovernor};
use super::links::next_link;
use super::token::ApiToken;

#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Deadline of one request, body included.
    pub request_timeout: Duration,
    /// Retries of a transient failure (5xx, timeout, broken connection) before giving up.
    pub max_retries: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// 429 answers tolerated for one request before giving up (each waits for Reset).
    pub max_rate_limited: u32,
    /// Requests in flight per org (Okta allows 75 per org, shared by every client of it).
    pub max_in_flight: usize,
    /// Development and tests only: allow connecting to loopback addresses.
    pub allow_local: bool,
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
            allow_local: false,
        }
    }
}

/// Counters of one client, read for status and metrics.
#[derive(Default, Debug)]
pub struct RequestStats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub rate_limited: AtomicU64,
    /// Wall time during which at least one request waited for rate-limit budget (overlapping waits count once).
    waits: std::sync::Mutex<WaitClock>,
}

#[derive(Default, Debug)]
struct WaitClock {
    total: Duration,
    covered_until: Option<Instant>,
}

impl RequestStats {
    pub fn rate_limit_wait(&self) -> Duration {
        self.waits.lock().map(|w| w.total).unwrap_or_default()
    }
    fn add_wait(&self, started: Instant, waited: Duration) {
        if waited.is_zero() {
            return;
        }
        let end = started + waited;
        if let Ok(mut w) = self.waits.lock() {
            let from = w.covered_until.map_or(started, |c| c.max(started));
            if end > from {
                w.total += end - from;
                w.covered_until = Some(end);
            }
        }
    }
}

/// Told of every answer: the operator's metrics listen here.
pub trait RequestObserver: Send + Sync {
    /// An answer with its HTTP status, or None when no answer came (timeout, broken connection).
    fn on_answer(&self, bucket: Bucket, status: Option<u16>);
    /// Time spent waiting for the bucket's budget before a request.
    fn on_wait(&self, bucket: Bucket, waited: Duration);
}

#[derive(Clone)]
pub struct OktaClient {
    http: reqwest::Client,
    org: OrgUrl,
    token: ApiToken,
    governor: Arc<OrgGovernor>,
    options: ClientOptions,
    stats: Arc<RequestStats>,
    observer: Option<Arc<dyn RequestObserver>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    error_code: String,
    #[serde(default)]
    error_summary: String,
}

fn endpoint_of(url: &Url) -> String {
    format!("GET {}", url.path())
}

impl OktaClient {
    pub fn new(
        org: OrgUrl,
        token: ApiToken,
        governor: Arc<OrgGovernor>,
        options: ClientOptions,
    ) -> Result<OktaClient, OktaError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("dti-operator/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(guarded_resolver(options.allow_local))
            .connect_timeout(Duration::from_secs(10))
            // A redirect could carry the token to another host: never follow one.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OktaError::Transport {
                endpoint: org.base.to_string(),
                message: e.to_string(),
            })?;
        Ok(OktaClient {
            http,
            org,
            token,
            governor,
            options,
            stats: Arc::new(RequestStats::default()),
            observer: None,
        })
    }

    pub fn with_observer(mut self, observer: Arc<dyn RequestObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    pub fn stats(&self) -> &RequestStats {
        &self.stats
    }

    pub fn org(&self) -> &OrgUrl {
        &self.org
    }

    /// An absolute URL on the org for a path and query.
    pub fn url(&self, path_and_query: &str) -> Url {
        self.org
            .base
            .join(path_and_query)
            .unwrap_or_else(|_| self.org.base.clone())
    }

    /// GETs one page and returns it with its `rel="next"` link, which must stay on the org's origin.
    pub async fn get_page<T: DeserializeOwned>(
        &self,
        url: &Url,
    ) -> Result<(T, Option<Url>), OktaError> {
        let endpoint = endpoint_of(url);
        let (body, headers) = self.get_bytes(url).await?;
        let value: T = serde_json::from_slice(&body).map_err(|e| OktaError::Malformed {
            endpoint: endpoint.clone(),
            message: e.to_string(),
        })?;
        let next = match next_link(&headers) {
            None => None,
            Some(link) => {
                let parsed = Url::parse(&link).map_err(|_| OktaError::ForeignLink {
                    endpoint: endpoint.clone(),
                    link: link.clone(),
                })?;
                // Follow next links exactly as given, but never send the token to another origin.
                if parsed.origin() != self.org.base.origin() {
                    return Err(OktaError::ForeignLink { endpoint, link });
                }
                Some(parsed)
            }
        };
        Ok((value, next))
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .options
            .backoff_base
            .saturating_mul(1 << attempt.min(16))
            .min(self.options.backoff_max);
        // Full jitter: retries of many clients spread out instead of arriving together.
        Duration::from_secs_f64(rand::rng().random_range(0.0..=ceiling.as_secs_f64()))
    }

    async fn get_bytes(&self, url: &Url) -> Result<(bytes::Bytes, HeaderMap), OktaError> {
        let endpoint = endpoint_of(url);
        let bucket = Bucket::for_path(url.path());
        let (mut attempt, mut limited) = (0u32, 0u32);
        loop {
            let asked = Instant::now();
            let permit = self.governor.acquire(bucket).await;
            self.stats.add_wait(asked, permit.waited);
            if let (Some(o), false) = (&self.observer, permit.waited.is_zero()) {
                o.on_wait(bucket, permit.waited);
            }
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let answered = Answered(&self.governor, bucket);
            let outcome = self.send_once(url, &endpoint, bucket).await;
            drop(answered);
            drop(permit);
            let err = match outcome {
                Ok(answer) => return Ok(answer),
                Err(Failure::RateLimited) => {
                    limited += 1;
                    self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                    if limited > self.options.max_rate_limited {
                        return Err(OktaError::Api {
                            endpoint,
                            status: 429,
                            code: "E0000047".into(),
                            summary: format!(
                                "still rate limited after {limited} waits for the limit to reset"
                            ),
                        });
                    }
                    continue;
                }
                Err(Failure::Error(e)) => e,
            };
            if err.is_transient() && attempt < self.options.max_retries {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(self.backoff(attempt)).await;
                attempt += 1;
                continue;
            }
            return Err(err);
        }
    }

    async fn send_once(
        &self,
        url: &Url,
        endpoint: &str,
        bucket: Bucket,
    ) -> Result<(bytes::Bytes, HeaderMap), Failure> {
        let timeout = self.options.request_timeout;
        let request = self
            .http
            .get(url.clone())
            .header(AUTHORIZATION, self.token.authorization())
            .header(ACCEPT, "application/json")
            .timeout(timeout);
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                self.notify(bucket, None);
                return Err(Failure::Error(transport(endpoint, timeout, &e)));
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        self.governor.observe(bucket, &headers);
        self.notify(bucket, Some(status.as_u16()));
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.governor.exhausted(bucket, &headers);
            return Err(Failure::RateLimited);
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| Failure::Error(transport(endpoint, timeout, &e)))?;
        if status.is_success() {
            return Ok((body, headers));
        }
        Err(Failure::Error(
            match serde_json::from_slice::<ErrorBody>(&body) {
                Ok(e) => OktaError::Api {
                    endpoint: endpoint.to_string(),
                    status: status.as_u16(),
                    code: e.error_code,
                    summary: e.error_summary,
                },
                Err(_) => OktaError::Status {
                    endpoint: endpoint.to_string(),
                    status: status.as_u16(),
                },
            },
        ))
    }

    fn notify(&self, bucket: Bucket, status: Option<u16>) {
        if let Some(o) = &self.observer {
            o.on_answer(bucket, status);
        }
    }
}

/// Marks a request as no longer in flight when it ends, also when its future is dropped (a cancelled sync).
struct Answered<'a>(&'a OrgGovernor, Bucket);

impl Drop for Answered<'_> {
    fn drop(&mut self) {
        self.0.done(self.1);
    }
}

enum Failure {
    RateLimited,
    Error(OktaError),
}

fn transport(endpoint: &str, timeout: Duration, e: &reqwest::Error) -> OktaError {
    if e.is_timeout() {
        OktaError::Timeout {
            endpoint: endpoint.to_string(),
            timeout,
        }
    } else {
        // reqwest's Display omits the URL's query only partly; our message names the endpoint and the cause.
        let mut message = e.without_url_ref().to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            message = format!("{message}: {s}");
            source = s.source();
        }
        OktaError::Transport {
            endpoint: endpoint.to_string(),
            message,
        }
    }
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        if self.is_body() {
            "the connection broke while reading the answer".into()
        } else if self.is_connect() {
            "connection failed".into()
        } else {
            "request failed".into()
        }
    }
}
