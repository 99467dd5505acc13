//! The rate governor: one per Okta org (shared by every integration on that domain), tracking each bucket's
//! X-Rate-Limit-Limit/Remaining/Reset so requests spend the budget without 429 storms, and capping requests
//! in flight well under Okta's concurrency limit (developer.okta.com/docs/reference/rl-best-practices).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long others wait for a bucket's first answer before trying too (the first may have failed).
const PROBE_PATIENCE: Duration = Duration::from_secs(2);

/// Okta's rate-limit buckets as seen from a read-only client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// /api/v1/apps and /api/v1/apps/{id}/users
    Apps,
    /// /api/v1/apps/{id}
    App,
    /// GET /api/v1/users
    Users,
    /// /api/v1/users/{id}
    User,
    /// /api/v1/logs
    Logs,
    /// everything else under /api/v1
    Other,
}

impl Bucket {
    pub fn for_path(path: &str) -> Bucket {
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
    pub fn label(self) -> &'static str {
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
    /// Requests sent and not yet answered.
    in_flight: i64,
    limit: Option<u64>,
    /// Requests we may still send in this window: the server's Remaining minus what we sent since.
    remaining: Option<i64>,
    reset_at: Option<Instant>,
    reset_epoch: u64,
}

pub struct OrgGovernor {
    in_flight: Arc<Semaphore>,
    buckets: Mutex<HashMap<Bucket, BucketState>>,
}

/// A slot to send one request; hold it until the answer is read.
pub struct Permit {
    /// Time spent waiting for the bucket's budget (not for an in-flight slot).
    pub waited: Duration,
    _slot: OwnedSemaphorePermit,
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// When a Reset (epoch seconds) happens on our clock. Reset and Date are whole seconds; when the server's
/// Date agrees with our clock we trust our clock (sub-second), otherwise we measure from Date (skew-proof).
fn reset_instant(headers: &HeaderMap, reset_epoch: u64) -> Instant {
    let now = Instant::now();
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let server_now = headers
        .get(reqwest::header::DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
        .map(|d| d.timestamp() as f64);
    let in_secs = match server_now {
        Some(date) if (date - wall).abs() > 2.0 => reset_epoch as f64 - date,
        _ => reset_epoch as f64 - wall,
    };
    now + Duration::from_secs_f64(in_secs.clamp(0.0, 120.0))
}

impl OrgGovernor {
    pub fn new(max_in_flight: usize) -> OrgGovernor {
        OrgGovernor {
            in_flight: Arc::new(Semaphore::new(max_in_flight.max(1))),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until the bucket has budget (or its window resets), then takes an in-flight slot.
    pub async fn acquire(&self, bucket: Bucket) -> Permit {
        let mut waited = Duration::ZERO;
        loop {
            let wait = {
                let Ok(mut buckets) = self.buckets.lock() else {
                    break;
                };
                let state = buckets.entry(bucket).or_default();
                let now = Instant::now();
                if state.reset_at.is_some_and(|r| now >= r) {
                    // A new window: the full limit until the server says otherwise.
                    state.remaining = state.limit.map(|l| l as i64);
                    state.reset_at = None;
                }
                let wait = match (state.remaining, state.reset_at) {
                    (Some(left), Some(reset)) if left <= 0 => Some(reset - now),
                    // Until the first answer says what the budget is, send one request at a time.
                    (None, _)
                        if state
                            .probing_since
                            .is_some_and(|t| now.duration_since(t) < PROBE_PATIENCE) =>
                    {
                        Some(Duration::from_millis(20))
                    }
                    (None, _) => {
                        state.probing_since = Some(now);
                        None
                    }
                    _ => {
                        if let Some(left) = state.remaining.as_mut() {
                            *left -= 1;
                        }
                        None
                    }
                };
                if wait.is_none() {
                    state.in_flight += 1;
                }
                wait
            };
            match wait {
                Some(d) => {
                    tokio::time::sleep(d).await;
                    waited += d;
                }
                None => break,
            }
        }
        let slot = loop {
            if let Ok(slot) = self.in_flight.clone().acquire_owned().await {
                break slot;
            }
        };
        Permit {
            waited,
            _slot: slot,
        }
    }

    /// Learns the bucket's state from an answer's X-Rate-Limit-* headers (absent headers: unlimited).
    pub fn observe(&self, bucket: Bucket, headers: &HeaderMap) {
        let (Some(limit), Some(remaining), Some(reset)) = (
            header_u64(headers, "x-rate-limit-limit"),
            header_u64(headers, "x-rate-limit-remaining"),
            header_u64(headers, "x-rate-limit-reset"),
        ) else {
            // No rate-limit headers: this endpoint is not limited; stop probing.
            if let Ok(mut buckets) = self.buckets.lock() {
                let state = buckets.entry(bucket).or_default();
                if state.limit.is_none() {
                    state.remaining = Some(i64::MAX / 2);
                    state.limit = Some(u64::MAX / 4);
                }
                state.probing_since = None;
            }
            return;
        };
        if limit == 0 {
            return; // a concurrency 429 reports Limit 0; it says nothing about the bucket
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            return;
        };
        let state = buckets.entry(bucket).or_default();
        if reset < state.reset_epoch {
            return; // a late answer from a window that has already ended
        }
        state.limit = Some(limit);
        if reset != state.reset_epoch {
            state.reset_epoch = reset;
            state.reset_at = Some(reset_instant(headers, reset));
            // Requests still in flight may land in this new window too: count them as spent.
            state.remaining = Some(remaining as i64 - (state.in_flight - 1).max(0));
        } else {
            state.remaining = Some(
                state
                    .remaining
                    .unwrap_or(remaining as i64)
                    .min(remaining as i64),
            );
        }
    }

    /// A request's answer (or failure) is in: it no longer counts as in flight.
    pub fn done(&self, bucket: Bucket) {
        if let Ok(mut buckets) = self.buckets.lock() {
            let state = buckets.entry(bucket).or_default();
            state.in_flight = (state.in_flight - 1).max(0);
        }
    }

    /// After a 429: nothing more until Reset.
    pub fn exhausted(&self, bucket: Bucket, headers: &HeaderMap) {
        let Ok(mut buckets) = self.buckets.lock() else {
            return;
        };
        let state = buckets.entry(bucket).or_default();
        state.remaining = Some(0);
        let reset = header_u64(headers, "x-rate-limit-reset");
        state.reset_at = Some(match reset {
            Some(r) => reset_instant(headers, r),
            None => Instant::now() + Duration::from_secs(1),
        });
        if let Some(r) = reset {
            state.reset_epoch = r;
        }
    }
}

/// Governors by Okta org host: integrations on the same domain share one budget.
#[derive(Default)]
pub struct GovernorRegistry {
    orgs: Mutex<HashMap<String, Arc<OrgGovernor>>>,
}

impl GovernorRegistry {
    pub fn for_org(&self, host: &str, max_in_flight: usize) -> Arc<OrgGovernor> {
        match self.orgs.lock() {
            Ok(mut orgs) => orgs
                .entry(host.to_ascii_lowercase())
                .or_insert_with(|| Arc::new(OrgGovernor::new(max_in_flight)))
                .clone(),
            Err(_) => Arc::new(OrgGovernor::new(max_in_flight)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn buckets() {
        assert_eq!(Bucket::for_path("/api/v1/apps"), Bucket::Apps);
        assert_eq!(Bucket::for_path("/api/v1/apps/0oa1/users"), Bucket::Apps);
        assert_eq!(Bucket::for_path("/api/v1/apps/0oa1"), Bucket::App);
        assert_eq!(Bucket::for_path("/api/v1/users"), Bucket::Users);
        assert_eq!(Bucket::for_path("/api/v1/users/me"), Bucket::User);
        assert_eq!(Bucket::for_path("/api/v1/logs"), Bucket::Logs);
    }

    #[tokio::test]
    async fn waits_for_reset_when_the_budget_is_spent() {
        let g = OrgGovernor::new(4);
        let mut h = HeaderMap::new();
        let reset = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 1;
        h.insert("x-rate-limit-limit", HeaderValue::from(60u64));
        h.insert("x-rate-limit-remaining", HeaderValue::from(1u64));
        h.insert("x-rate-limit-reset", HeaderValue::from(reset));
        g.observe(Bucket::Logs, &h);
        assert!(g.acquire(Bucket::Logs).await.waited < Duration::from_millis(50));
        let started = Instant::now();
        let p = g.acquire(Bucket::Logs).await;
        assert!(
            p.waited > Duration::from_millis(1) && started.elapsed() <= Duration::from_millis(1100),
            "{:?}",
            p.waited
        );
        // another bucket is independent
        assert!(g.acquire(Bucket::Users).await.waited < Duration::from_millis(50));
    }
}
