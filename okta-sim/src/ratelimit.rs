//! Okta's rate limits: per-bucket per-minute limits, a default 50% share of each bucket per token, a
//! concurrency limit per org, and X-Rate-Limit-* headers on every answer (developer.okta.com rate-limits).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The buckets of Okta's Workforce default table (last published before its removal in Dec 2025).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bucket {
    /// /api/v1/apps and /api/v1/apps/{id}/users: 100/min
    Apps,
    /// /api/v1/apps/{id}: 500/min
    App,
    /// GET /api/v1/users: 600/min
    Users,
    /// GET /api/v1/users/{id} (and /me): 2000/min
    User,
    /// /api/v1/groups: 500/min
    Groups,
    /// /api/v1/logs: 120/min
    Logs,
    /// any other /api/v1 path: 1200/min
    Other,
}

impl Bucket {
    pub const ALL: [Bucket; 7] =
        [Bucket::Apps, Bucket::App, Bucket::Users, Bucket::User, Bucket::Groups, Bucket::Logs, Bucket::Other];
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Apps => "apps",
            Bucket::App => "app",
            Bucket::Users => "users",
            Bucket::User => "user",
            Bucket::Groups => "groups",
            Bucket::Logs => "logs",
            Bucket::Other => "other",
        }
    }
    pub fn default_limit(self) -> u64 {
        match self {
            Bucket::Apps => 100,
            Bucket::App => 500,
            Bucket::Users => 600,
            Bucket::User => 2000,
            Bucket::Groups => 500,
            Bucket::Logs => 120,
            Bucket::Other => 1200,
        }
    }
    pub fn parse(name: &str) -> Option<Bucket> {
        Bucket::ALL.into_iter().find(|b| b.name() == name)
    }
    /// Which bucket a GET path falls in.
    pub fn of_path(path: &str) -> Bucket {
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        match segments.as_slice() {
            ["", "api", "v1", "apps"] | ["", "api", "v1", "apps", _, "users", ..] => Bucket::Apps,
            ["", "api", "v1", "apps", _] => Bucket::App,
            ["", "api", "v1", "apps", ..] => Bucket::Apps,
            ["", "api", "v1", "users"] => Bucket::Users,
            ["", "api", "v1", "users", _] => Bucket::User,
            ["", "api", "v1", "groups", ..] => Bucket::Groups,
            ["", "api", "v1", "logs"] => Bucket::Logs,
            _ => Bucket::Other,
        }
    }
}

pub struct Settings {
    pub enabled: bool,
    pub limits: HashMap<Bucket, u64>,
    /// Share of a bucket one token may use (Okta's default: 50%).
    pub token_share: f64,
    pub concurrency: usize,
    /// Okta's minute runs this many times faster.
    pub time_scale: f64,
}

struct Window {
    started: Instant,
    used: u64,
}

/// What to put in the X-Rate-Limit-* headers, and whether the request may proceed.
pub struct Verdict {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    /// UTC epoch seconds at which the window resets.
    pub reset: u64,
}

pub struct RateLimiter {
    settings: Settings,
    windows: Mutex<HashMap<(Bucket, Option<String>), Window>>,
    in_flight: AtomicUsize,
}

/// Releases a concurrency slot when the request ends, however it ends.
pub struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn epoch_seconds_ceil(at: Instant) -> u64 {
    let now = Instant::now();
    let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let target = if at > now { wall + (at - now) } else { wall };
    target.as_secs() + u64::from(target.subsec_nanos() > 0)
}

impl RateLimiter {
    pub fn new(settings: Settings) -> Self {
        RateLimiter { settings, windows: Mutex::new(HashMap::new()), in_flight: AtomicUsize::new(0) }
    }

    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    fn window_length(&self) -> Duration {
        Duration::from_secs_f64(60.0 / self.settings.time_scale.max(0.001))
    }

    /// Takes a concurrency slot, or None when the org already has the maximum in flight.
    pub fn enter(&self) -> Option<Slot<'_>> {
        let previous = self.in_flight.fetch_add(1, Ordering::SeqCst);
        let slot = Slot(&self.in_flight);
        (!self.settings.enabled || previous < self.settings.concurrency).then_some(slot)
    }

    /// A concurrency 429 reports Limit and Remaining as 0.
    pub fn concurrency_verdict(&self) -> Verdict {
        Verdict {
            allowed: false,
            limit: 0,
            remaining: 0,
            reset: epoch_seconds_ceil(Instant::now() + Duration::from_secs(1)),
        }
    }

    /// Counts a request against the org's bucket and the token's share of it.
    pub fn check(&self, bucket: Bucket, token: Option<&str>) -> Verdict {
        let org_limit = *self.settings.limits.get(&bucket).unwrap_or(&bucket.default_limit());
        let token_limit = ((org_limit as f64) * self.settings.token_share).floor().max(1.0) as u64;
        let length = self.window_length();
        let now = Instant::now();
        let Ok(mut windows) = self.windows.lock() else {
            return Verdict { allowed: true, limit: org_limit, remaining: org_limit, reset: 0 };
        };
        let mut fresh = |key: (Bucket, Option<String>)| {
            let w = windows.entry(key).or_insert(Window { started: now, used: 0 });
            // Windows are not clock-aligned: each starts with the first request after the last one ended.
            if now.duration_since(w.started) >= length {
                w.started = now;
                w.used = 0;
            }
            (w.used, w.started + length)
        };
        let (org_used, org_reset) = fresh((bucket, None));
        let (token_used, token_reset) = match token {
            Some(t) => fresh((bucket, Some(t.to_string()))),
            None => (org_used, org_reset),
        };
        let token_left = token_limit.saturating_sub(token_used);
        let org_left = org_limit.saturating_sub(org_used);
        // The headers report the ceiling that applies to this request: the token's share unless the org is tighter.
        let (limit, left, reset) = if token.is_some() && token_left <= org_left {
            (token_limit, token_left, token_reset)
        } else {
            (org_limit, org_left, org_reset)
        };
        if !self.settings.enabled {
            return Verdict { allowed: true, limit, remaining: left, reset: epoch_seconds_ceil(reset) };
        }
        if left == 0 {
            return Verdict { allowed: false, limit, remaining: 0, reset: epoch_seconds_ceil(reset) };
        }
        if let Some(w) = windows.get_mut(&(bucket, None)) {
            w.used += 1;
        }
        if let Some(t) = token
            && let Some(w) = windows.get_mut(&(bucket, Some(t.to_string())))
        {
            w.used += 1;
        }
        Verdict { allowed: true, limit, remaining: left - 1, reset: epoch_seconds_ceil(reset) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(scale: f64) -> RateLimiter {
        RateLimiter::new(Settings {
            enabled: true,
            limits: HashMap::new(),
            token_share: 0.5,
            concurrency: 75,
            time_scale: scale,
        })
    }

    #[test]
    fn buckets_by_path() {
        assert_eq!(Bucket::of_path("/api/v1/apps"), Bucket::Apps);
        assert_eq!(Bucket::of_path("/api/v1/apps/0oa1/users"), Bucket::Apps);
        assert_eq!(Bucket::of_path("/api/v1/apps/0oa1"), Bucket::App);
        assert_eq!(Bucket::of_path("/api/v1/users"), Bucket::Users);
        assert_eq!(Bucket::of_path("/api/v1/users/me"), Bucket::User);
        assert_eq!(Bucket::of_path("/api/v1/logs"), Bucket::Logs);
        assert_eq!(Bucket::of_path("/api/v1/groups"), Bucket::Groups);
        assert_eq!(Bucket::of_path("/api/v1/meta/types/user"), Bucket::Other);
    }

    #[test]
    fn a_token_gets_half_of_a_bucket_and_the_window_resets() {
        let rl = limiter(600.0); // a 0.1 s minute
        let allowed = (0..100).filter(|_| rl.check(Bucket::Logs, Some("a")).allowed).count();
        assert_eq!(allowed, 60, "50% of 120");
        // a second token gets the other half, and then the org is exhausted
        let second = (0..100).filter(|_| rl.check(Bucket::Logs, Some("b")).allowed).count();
        assert_eq!(second, 60);
        assert!(!rl.check(Bucket::Logs, Some("c")).allowed);
        std::thread::sleep(Duration::from_millis(120));
        let v = rl.check(Bucket::Logs, Some("a"));
        assert!(v.allowed);
        assert_eq!((v.limit, v.remaining), (60, 59));
    }
}
