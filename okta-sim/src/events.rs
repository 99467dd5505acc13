//! The System Log, generated lazily: event i is a pure function of (seed, i), and its `published` time
//! grows with i, so any page of any query is produced on demand without holding the log in memory.
//!
//! Sign-ins follow a daily rhythm: each 24 h cycle, counted back from the simulator's start, opens with a
//! quiet hour. A usage window of whole days that starts within an hour of the start therefore covers exactly
//! the same events as the one `--truth` was computed for, which keeps ground truth exact in tests.

use std::sync::RwLock;

use chrono::{DateTime, Datelike, TimeZone, Utc, Weekday};

use super::org::Org;
use super::rng::Draws;

const TAG_EVENT: u64 = 11;
const DAY_MS: i64 = 86_400_000;
const QUIET_MS: i64 = 3_600_000;
/// Share of log events that are SSO sign-ins; the rest are other event types naming the same apps.
const SSO_SHARE: f64 = 0.85;
const FAILURE_SHARE: f64 = 0.05;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Sso,
    MembershipAdd,
    UnauthAccess,
    PolicyEvaluate,
    MfaVerify,
}

impl EventKind {
    pub fn event_type(self) -> &'static str {
        match self {
            EventKind::Sso => "user.authentication.sso",
            EventKind::MembershipAdd => "application.user_membership.add",
            EventKind::UnauthAccess => "app.generic.unauth_app_access_attempt",
            EventKind::PolicyEvaluate => "policy.evaluate_sign_on",
            EventKind::MfaVerify => "user.authentication.auth_via_mfa",
        }
    }
    pub fn display_message(self) -> &'static str {
        match self {
            EventKind::Sso => "User single sign on to app",
            EventKind::MembershipAdd => "Add user to application membership",
            EventKind::UnauthAccess => "User attempted unauthorized access to app",
            EventKind::PolicyEvaluate => "Evaluation of sign-on policy",
            EventKind::MfaVerify => "Authentication of user via MFA",
        }
    }
}

/// One System Log event, before rendering.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Event {
    pub index: u64,
    pub published_ms: i64,
    pub kind: EventKind,
    pub app: u32,
    pub user: u32,
    pub success: bool,
    /// Targets listed as [AppUser, AppInstance] rather than [AppInstance, AppUser].
    pub app_user_first: bool,
}

struct Cycle {
    start_ms: i64,
    count: u64,
}

/// The generated history plus events appended while running (`POST /__sim/events`).
pub struct EventLog {
    seed: u64,
    cycles: Vec<Cycle>,
    /// prefix[k] = events before cycle k.
    prefix: Vec<u64>,
    generated: u64,
    /// Cumulative pool sizes over apps, to draw an app in proportion to how many people use it.
    app_weights: Vec<u64>,
    appended: RwLock<Vec<Event>>,
}

impl EventLog {
    pub fn new(org: &Org) -> EventLog {
        let mut signing_users = vec![false; org.users.len()];
        for pool in &org.pools {
            for &u in pool {
                signing_users[u as usize] = true;
            }
        }
        let signers = signing_users.iter().filter(|&&s| s).count() as f64;
        let mut app_weights = Vec::with_capacity(org.pools.len());
        let mut acc = 0u64;
        for pool in &org.pools {
            acc += pool.len() as u64;
            app_weights.push(acc);
        }
        let anchor_ms = org.anchor.timestamp_millis();
        let days = org.size.days as i64;
        let mut cycles = Vec::with_capacity(days as usize);
        let mut prefix = Vec::with_capacity(days as usize + 1);
        let mut total = 0u64;
        for k in 0..days {
            let start_ms = anchor_ms - (days - k) * DAY_MS;
            let weekday = Utc
                .timestamp_millis_opt(start_ms + DAY_MS / 2)
                .single()
                .map(|t| t.weekday())
                .unwrap_or(Weekday::Mon);
            let factor = if matches!(weekday, Weekday::Sat | Weekday::Sun) {
                0.25
            } else {
                1.0
            };
            let count = if acc == 0 {
                0
            } else {
                (signers * org.size.signins_per_user_day * factor / SSO_SHARE).round() as u64
            };
            prefix.push(total);
            total += count;
            cycles.push(Cycle { start_ms, count });
        }
        prefix.push(total);
        EventLog {
            seed: org.seed,
            cycles,
            prefix,
            generated: total,
            app_weights,
            appended: RwLock::new(Vec::new()),
        }
    }

    /// Events in the log now (generated history plus appended ones).
    pub fn len(&self) -> u64 {
        self.generated + self.appended.read().map(|a| a.len() as u64).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn generated_len(&self) -> u64 {
        self.generated
    }

    fn generated_published_ms(&self, i: u64) -> i64 {
        // cycle k holds indices prefix[k]..prefix[k+1]
        let k = self.prefix.partition_point(|&p| p <= i) - 1;
        let cycle = &self.cycles[k];
        let j = (i - self.prefix[k]) as i128;
        let span = (DAY_MS - QUIET_MS) as i128;
        let step = (span / cycle.count as i128) as u64;
        // Sub-slot jitter gives realistic millisecond timestamps while keeping the order by index.
        let jitter = if step > 1 {
            super::rng::hash3(self.seed, TAG_EVENT ^ 1, i) % (step / 2).max(1)
        } else {
            0
        };
        cycle.start_ms + QUIET_MS + (j * span / cycle.count as i128) as i64 + jitter as i64
    }

    pub fn published_ms(&self, i: u64) -> Option<i64> {
        if i < self.generated {
            Some(self.generated_published_ms(i))
        } else {
            let appended = self.appended.read().ok()?;
            appended
                .get((i - self.generated) as usize)
                .map(|e| e.published_ms)
        }
    }

    /// The first index whose event was published at or after `ms` (len() when none).
    pub fn first_at_or_after(&self, ms: i64) -> u64 {
        let (mut lo, mut hi) = (0u64, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.published_ms(mid) {
                Some(p) if p < ms => lo = mid + 1,
                _ => hi = mid,
            }
        }
        lo
    }

    pub fn get(&self, org: &Org, i: u64) -> Option<Event> {
        if i < self.generated {
            Some(self.generate(org, i))
        } else {
            let appended = self.appended.read().ok()?;
            appended.get((i - self.generated) as usize).copied()
        }
    }

    fn generate(&self, org: &Org, i: u64) -> Event {
        let mut d = Draws::new(self.seed, TAG_EVENT, i);
        let total = *self.app_weights.last().unwrap_or(&0);
        let pick = d.below(total.max(1));
        let app = self
            .app_weights
            .partition_point(|&w| w <= pick)
            .min(org.apps.len().saturating_sub(1));
        let pool = &org.pools[app];
        let user = if pool.is_empty() {
            0
        } else {
            pool[d.below(pool.len() as u64) as usize]
        };
        let kind = if d.chance(SSO_SHARE) {
            EventKind::Sso
        } else {
            match d.below(4) {
                0 => EventKind::MembershipAdd,
                1 => EventKind::UnauthAccess,
                2 => EventKind::PolicyEvaluate,
                _ => EventKind::MfaVerify,
            }
        };
        Event {
            index: i,
            published_ms: self.generated_published_ms(i),
            kind,
            app: app as u32,
            user,
            success: !d.chance(FAILURE_SHARE),
            app_user_first: d.chance(0.3),
        }
    }

    /// Appends successful SSO sign-ins published now, spread over `users` (at most `count` distinct users of
    /// the app's assignees). Returns the index of the first new event.
    pub fn append_sso(
        &self,
        org: &Org,
        app: usize,
        count: u64,
        users: u64,
        now: DateTime<Utc>,
    ) -> Option<u64> {
        let candidates: Vec<u32> = org.assignments[app].iter().map(|a| a.user).collect();
        if candidates.is_empty() && count > 0 {
            return None;
        }
        let mut appended = self.appended.write().ok()?;
        let first = self.generated + appended.len() as u64;
        let last_ms = appended.last().map(|e| e.published_ms).unwrap_or(i64::MIN);
        let base_ms = now.timestamp_millis().max(last_ms);
        let distinct = users.clamp(1, candidates.len().max(1) as u64);
        for n in 0..count {
            appended.push(Event {
                index: first + n,
                published_ms: base_ms,
                kind: EventKind::Sso,
                app: app as u32,
                user: candidates[(n % distinct) as usize],
                success: true,
                app_user_first: n % 2 == 1,
            });
        }
        Some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::{Org, OrgSize};

    #[test]
    fn published_grows_with_index_and_skips_the_quiet_hour() {
        let anchor = Utc.timestamp_opt(1_790_000_000, 0).single().unwrap();
        let org = Org::generate(7, OrgSize::preset("small").unwrap(), anchor);
        let log = EventLog::new(&org);
        let mut last = i64::MIN;
        for i in 0..log.len() {
            let p = log.published_ms(i).unwrap();
            assert!(p >= last);
            let into_cycle = (anchor.timestamp_millis() - p).rem_euclid(DAY_MS);
            assert!(
                into_cycle == 0 || DAY_MS - into_cycle >= QUIET_MS,
                "event {i} in the quiet hour"
            );
            last = p;
        }
        assert!(last < anchor.timestamp_millis());
        let start = anchor.timestamp_millis() - 3 * DAY_MS;
        let first = log.first_at_or_after(start);
        assert!(
            log.published_ms(first).unwrap() >= start
                && log.published_ms(first - 1).unwrap() < start
        );
        // the same seed gives the same log
        let again = EventLog::new(&Org::generate(7, OrgSize::preset("small").unwrap(), anchor));
        assert_eq!(log.get(&org, 1234), again.get(&org, 1234));
    }
}
