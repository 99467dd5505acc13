//! The rate governor: one per Okta org origin (shared by every integration on that org), tracking each
//! bucket's X-Rate-Limit-Limit/Remaining/Reset so requests spend the budget without 429 storms, and
//! capping requests in flight well under Okta's concurrency limit
//! (developer.okta.com/docs/reference/rl-best-practices). Header values are untrusted: every piece of
//! arithmetic on them saturates, and a reset that is absent, past or absurd is replaced by a backoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::Rng;
use reqwest::header::{DATE, HeaderMap, RETRY_AFTER};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::sync::lock;

/// How long others wait for a bucket's first answer before trying too (the first may have failed).
const PROBE_PATIENCE: Duration = Duration::from_secs(2);
/// The longest a window can be: Okta's windows are a minute.
const MAX_RESET: Duration = Duration::from_secs(120);
/// After a 429 without a usable reset: at least this long, doubling per repeated 429, at most MAX_BACKOFF.
const MIN_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Rate-limit header values above this are nonsense; they are treated as this.
const HEADER_CEILING: u64 = 1 << 40;

/// Okta's rate-limit buckets as seen from a read-only client (rl-global-mgmt, last published table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Bucket {
    /// /api/v1/apps and every /api/v1/apps/{id}/... path (users, groups)
    Apps,
    /// GET /api/v1/apps/{id}
    App,
    /// GET /api/v1/users
    Users,
    /// GET /api/v1/users/{id}
    User,
    /// /api/v1/logs
    Logs,
    /// everything else
    Other,
}

impl Bucket {
    pub(crate) fn for_path(path: &str) -> Bucket {
        let parts: Vec<&str> = path.trim_end_matches('/').split('/').skip(3).collect();
        match (parts.first().copied(), parts.len()) {
            (Some("apps"), 2) => Bucket::App,
            (Some("apps"), _) => Bucket::Apps,
            (Some("users"), 1) => Bucket::Users,
            (Some("users"), _) => Bucket::User,
            (Some("logs"), _) => Bucket::Logs,
            _ => Bucket::Other,
        }
    }
    pub(crate) fn label(self) -> &'static str {
        match self {
            Bucket::Apps => "apps",
            Bucket::App => "app",
            Bucket::Users => "users",
            Bucket::User => "user",
            Bucket::Logs => "logs",
            Bucket::Other => "other",
        }
    }
}

#[derive(Default)]
struct BucketState {
    /// A first request is out to learn the bucket's limits: others wait for its answer (for a while).
    probing_since: Option<Instant>,
    /// Answers carry no rate-limit headers: the endpoint is not limited.
    unlimited: bool,
    /// Requests sent and not yet answered.
    in_flight: u64,
    limit: Option<u64>,
    /// Requests we may still send in this window: the server's Remaining minus what we sent since.
    remaining: Option<u64>,
    reset_at: Option<Instant>,
    reset_epoch: u64,
    /// 429 answers in a row, for the backoff when the server gives no usable reset.
    rejections: u32,
}

impl BucketState {
    /// Takes one request's budget now, or says how long to wait for it.
    fn admit(&mut self, now: Instant) -> Option<Duration> {
        if self.reset_at.is_some_and(|r| now >= r) {
            // A new window: the full limit until the server says otherwise.
            self.remaining = self.limit;
            self.reset_at = None;
        }
        if self.unlimited {
            self.in_flight = self.in_flight.saturating_add(1);
            return None;
        }
        match (self.remaining, self.reset_at) {
            (Some(0), Some(reset)) => return Some(reset.saturating_duration_since(now)),
            (Some(0), None) => {
                // Spent, with a reset that was past or absurd: try again after a backoff rather than never.
                self.reset_at = Some(now + MIN_BACKOFF);
                return Some(MIN_BACKOFF);
            }
            (None, _) => {
                if self.probing_since.is_some_and(|t| now.duration_since(t) < PROBE_PATIENCE) {
                    return Some(Duration::from_millis(20));
                }
                self.probing_since = Some(now);
            }
            (Some(left), _) => self.remaining = Some(left - 1),
        }
        self.in_flight = self.in_flight.saturating_add(1);
        None
    }
}

/// One org's governor.
pub(crate) struct OrgGovernor {
    slots: Arc<Semaphore>,
    buckets: Mutex<HashMap<Bucket, BucketState>>,
    last_used: Mutex<Instant>,
}

/// A slot to send one request. Dropping it (answered, failed or cancelled) gives back the in-flight
/// slot and the bucket's in-flight count.
pub(crate) struct Permit {
    governor: Arc<OrgGovernor>,
    bucket: Bucket,
    /// Time spent waiting for the bucket's budget (not for an in-flight slot).
    pub(crate) waited: Duration,
    _slot: OwnedSemaphorePermit,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut buckets = lock(&self.governor.buckets);
        let state = buckets.entry(self.bucket).or_default();
        state.in_flight = state.in_flight.saturating_sub(1);
    }
}

/// A header as a number: digits only, saturating at [`HEADER_CEILING`].
fn header_number(headers: &HeaderMap, name: &str) -> Option<u64> {
    let text = headers.get(name)?.to_str().ok()?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse::<u64>().unwrap_or(u64::MAX).min(HEADER_CEILING))
}

fn wall_seconds() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default()
}

/// The server's clock from its Date header, in epoch seconds.
fn server_seconds(headers: &HeaderMap) -> Option<f64> {
    let date = headers.get(DATE)?.to_str().ok()?;
    chrono::DateTime::parse_from_rfc2822(date).ok().map(|d| d.timestamp() as f64)
}

/// How long until a Reset (epoch seconds) on our clock; None when it is past or absurd. Reset and Date
/// are whole seconds; when the server's Date agrees with our clock we trust ours (sub-second),
/// otherwise we measure from Date (skew-proof).
fn until_reset(headers: &HeaderMap, reset_epoch: u64) -> Option<Duration> {
    let wall = wall_seconds();
    let reference = match server_seconds(headers) {
        Some(date) if (date - wall).abs() > 2.0 => date,
        _ => wall,
    };
    let seconds = reset_epoch as f64 - reference;
    (seconds > 0.0 && seconds <= MAX_RESET.as_secs_f64()).then(|| Duration::from_secs_f64(seconds))
}

/// Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3), at most [`MAX_RESET`].
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let seconds = match value.parse::<u64>() {
        Ok(s) => s as f64,
        Err(_) => chrono::DateTime::parse_from_rfc2822(value).ok()?.timestamp() as f64 - wall_seconds(),
    };
    (seconds > 0.0).then(|| Duration::from_secs_f64(seconds.min(MAX_RESET.as_secs_f64())))
}

fn backoff(rejections: u32) -> Duration {
    let base = MIN_BACKOFF.saturating_mul(1u32 << rejections.min(5)).min(MAX_BACKOFF);
    base + Duration::from_millis(rand::rng().random_range(0..500))
}

impl OrgGovernor {
    pub(crate) fn new(max_in_flight: usize) -> OrgGovernor {
        OrgGovernor {
            slots: Arc::new(Semaphore::new(max_in_flight.max(1))),
            buckets: Mutex::new(HashMap::new()),
            last_used: Mutex::new(Instant::now()),
        }
    }

    /// Waits until the bucket has budget and an in-flight slot is free, then holds both. Cancel-safe:
    /// nothing is counted until the permit exists, and the permit gives everything back on drop.
    pub(crate) async fn acquire(self: &Arc<Self>, bucket: Bucket) -> Permit {
        let mut waited = Duration::ZERO;
        *lock(&self.last_used) = Instant::now();
        loop {
            let Ok(slot) = self.slots.clone().acquire_owned().await else {
                // The semaphore is never closed; if it were, pace instead of spinning.
                tokio::time::sleep(MIN_BACKOFF).await;
                continue;
            };
            let wait = lock(&self.buckets).entry(bucket).or_default().admit(Instant::now());
            match wait {
                None => {
                    return Permit { governor: self.clone(), bucket, waited, _slot: slot };
                }
                Some(d) => {
                    drop(slot);
                    tokio::time::sleep(d).await;
                    waited += d;
                }
            }
        }
    }

    /// Learns the bucket's state from an answer's X-Rate-Limit-* headers (absent headers: unlimited).
    pub(crate) fn observe(&self, bucket: Bucket, headers: &HeaderMap) {
        let values = (
            header_number(headers, "x-rate-limit-limit"),
            header_number(headers, "x-rate-limit-remaining"),
            header_number(headers, "x-rate-limit-reset"),
        );
        let mut buckets = lock(&self.buckets);
        let state = buckets.entry(bucket).or_default();
        state.probing_since = None;
        let (Some(limit), Some(remaining), Some(reset)) = values else {
            if state.limit.is_none() {
                state.unlimited = true;
            }
            return;
        };
        if limit == 0 || reset < state.reset_epoch {
            return; // a concurrency 429 (Limit 0), or a late answer from a window that has ended
        }
        state.unlimited = false;
        state.rejections = 0;
        state.limit = Some(limit);
        if reset != state.reset_epoch {
            state.reset_epoch = reset;
            state.reset_at = until_reset(headers, reset).map(|d| Instant::now() + d);
            // Requests still in flight may land in this new window too: count them as spent.
            state.remaining = Some(remaining.saturating_sub(state.in_flight.saturating_sub(1)));
        } else {
            state.remaining = Some(state.remaining.unwrap_or(remaining).min(remaining));
        }
    }

    /// After a 429: nothing more until the reset, Retry-After, or a backoff of at least a second.
    pub(crate) fn rejected(&self, bucket: Bucket, headers: &HeaderMap) -> Duration {
        let mut buckets = lock(&self.buckets);
        let state = buckets.entry(bucket).or_default();
        let from_reset =
            header_number(headers, "x-rate-limit-reset").and_then(|r| until_reset(headers, r).map(|d| (r, d)));
        let wait = match (from_reset, retry_after(headers)) {
            (Some((epoch, d)), _) if d >= Duration::from_millis(50) => {
                state.reset_epoch = state.reset_epoch.max(epoch);
                d
            }
            (_, Some(d)) => d.max(MIN_BACKOFF),
            _ => backoff(state.rejections),
        };
        state.rejections = state.rejections.saturating_add(1);
        state.unlimited = false;
        state.remaining = Some(0);
        state.reset_at = Some(Instant::now() + wait);
        wait
    }

    /// Each known bucket's (limit, remaining) as last learnt, for metrics.
    pub(crate) fn budgets(&self) -> Vec<(Bucket, u64, u64)> {
        let buckets = lock(&self.buckets);
        let mut out: Vec<(Bucket, u64, u64)> =
            buckets.iter().filter_map(|(b, s)| Some((*b, s.limit?, s.remaining?))).collect();
        out.sort();
        out
    }

    pub(crate) fn idle_for(&self) -> Duration {
        lock(&self.last_used).elapsed()
    }

    /// Requests in flight right now over all buckets.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> u64 {
        lock(&self.buckets).values().map(|s| s.in_flight).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(limit: u64, remaining: u64, reset: u64) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-rate-limit-limit", HeaderValue::from(limit));
        h.insert("x-rate-limit-remaining", HeaderValue::from(remaining));
        h.insert("x-rate-limit-reset", HeaderValue::from(reset));
        h
    }

    fn now_epoch() -> u64 {
        wall_seconds() as u64
    }

    #[test]
    fn buckets() {
        assert_eq!(Bucket::for_path("/api/v1/apps"), Bucket::Apps);
        assert_eq!(Bucket::for_path("/api/v1/apps/0oa1/users"), Bucket::Apps);
        assert_eq!(Bucket::for_path("/api/v1/apps/0oa1/groups"), Bucket::Apps);
        assert_eq!(Bucket::for_path("/api/v1/apps/0oa1"), Bucket::App);
        assert_eq!(Bucket::for_path("/api/v1/users"), Bucket::Users);
        assert_eq!(Bucket::for_path("/api/v1/users/me"), Bucket::User);
        assert_eq!(Bucket::for_path("/api/v1/logs"), Bucket::Logs);
    }

    #[tokio::test]
    async fn waits_for_reset_when_the_budget_is_spent() {
        let g = Arc::new(OrgGovernor::new(4));
        g.observe(Bucket::Logs, &headers(60, 1, now_epoch() + 1));
        assert!(g.acquire(Bucket::Logs).await.waited < Duration::from_millis(50));
        let started = Instant::now();
        let p = g.acquire(Bucket::Logs).await;
        assert!(
            p.waited > Duration::from_millis(1) && started.elapsed() <= Duration::from_millis(2100),
            "{:?}",
            p.waited
        );
        // another bucket is independent
        assert!(g.acquire(Bucket::Users).await.waited < Duration::from_millis(50));
    }

    #[tokio::test]
    async fn cancelled_waits_cost_nothing() {
        let g = Arc::new(OrgGovernor::new(2));
        g.observe(Bucket::Apps, &headers(50, 50, now_epoch() + 30));
        let holders = [g.acquire(Bucket::Apps).await, g.acquire(Bucket::Apps).await];
        // every slot is taken: 1,000 requests give up while waiting
        for _ in 0..1000 {
            let attempt = tokio::time::timeout(Duration::from_micros(10), g.acquire(Bucket::Apps));
            assert!(attempt.await.is_err());
        }
        drop(holders);
        assert_eq!(g.in_flight(), 0);
        assert_eq!(g.budgets(), vec![(Bucket::Apps, 50, 48)]);
        // and the budget is still there for real requests
        for _ in 0..48 {
            let p = tokio::time::timeout(Duration::from_secs(1), g.acquire(Bucket::Apps)).await;
            assert!(p.is_ok());
        }
    }

    #[test]
    fn absurd_headers_saturate_instead_of_panicking() {
        let g = OrgGovernor::new(4);
        let mut h = HeaderMap::new();
        for name in ["x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"] {
            h.insert(name, HeaderValue::from_static("9223372036854775808"));
        }
        g.observe(Bucket::Users, &h);
        g.observe(Bucket::Users, &headers(u64::MAX, u64::MAX, u64::MAX));
        h.insert("x-rate-limit-remaining", HeaderValue::from_static("-5"));
        g.observe(Bucket::Users, &h);
        assert!(g.rejected(Bucket::Users, &h) >= MIN_BACKOFF);
    }

    #[test]
    fn a_429_with_a_past_reset_backs_off_at_least_a_second_and_doubles() {
        let g = OrgGovernor::new(4);
        let past = headers(60, 0, now_epoch().saturating_sub(30));
        let first = g.rejected(Bucket::Logs, &past);
        let second = g.rejected(Bucket::Logs, &past);
        let third = g.rejected(Bucket::Logs, &past);
        assert!(first >= Duration::from_secs(1) && first < Duration::from_millis(1600), "{first:?}");
        assert!(second >= Duration::from_secs(2), "{second:?}");
        assert!(third >= Duration::from_secs(4), "{third:?}");
        let mut retry = HeaderMap::new();
        retry.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(g.rejected(Bucket::Apps, &retry), Duration::from_secs(7));
        let soon = headers(60, 0, now_epoch() + 3);
        let wait = g.rejected(Bucket::Users, &soon);
        assert!(wait > Duration::from_secs(1) && wait <= Duration::from_secs(3), "{wait:?}");
    }

    #[tokio::test]
    async fn a_spent_budget_with_a_past_reset_is_retried_not_waited_on_forever() {
        let g = Arc::new(OrgGovernor::new(4));
        // the answer of a window that just ended: nothing left, and a reset already past
        g.observe(Bucket::Apps, &headers(50, 0, now_epoch().saturating_sub(1)));
        let p = tokio::time::timeout(Duration::from_secs(3), g.acquire(Bucket::Apps)).await;
        let waited = p.expect("the governor lets a request through after a backoff").waited;
        assert!(waited >= MIN_BACKOFF, "{waited:?}");
    }
}
