//! The System Log. History is generated lazily: event i is a pure function of (seed, i) and its
//! `published` time grows with i, so any page is produced on demand without holding the log in memory.
//! Events appended at run time (sign-ins, and the changes the living org makes) are kept.
//!
//! Okta's log is late and out of order (developer.okta.com/docs/reference/system-log-query: polling
//! returns events in the order Okta stored them; okta/okta-cli#22: events appear some seconds after
//! `published`): each event becomes visible `lag` after it was published, lag drawn per event up to
//! `--log-lag`, and "storage order" is the order of visibility.
//!
//! Sign-ins follow a daily rhythm: each 24 h cycle, counted back from the simulator's start, is quiet
//! from an hour before its boundary to an hour after it. A usage window of whole days that starts within
//! an hour of the start therefore covers exactly the events `--truth` counted, even for a client that
//! expires its counts hour by hour.

use std::collections::{BTreeSet, BinaryHeap};
use std::sync::RwLock;

use chrono::{Datelike, TimeZone, Utc, Weekday};

use super::org::{AppKind, Org, SignInStyle};
use super::rng::{Draws, hash3};

const TAG_EVENT: u64 = 11;
const TAG_LAG: u64 = 16;
const DAY_MS: i64 = 86_400_000;
const QUIET_MS: i64 = 3_600_000;
/// Share of generated events that are sign-ins; the rest are other event types naming the same apps.
const SIGN_IN_SHARE: f64 = 0.85;
const FAILURE_SHARE: f64 = 0.05;
/// Share of OIDC sign-ins that also write `user.authentication.sso` in the same transaction. Okta's event
/// catalogue (okta/okta-developer-docs, data/event-types.json) lists both types but does not say whether one
/// sign-in writes both, so okta-sim does both and the product must count such a pair once.
const OIDC_TWIN_SHARE: f64 = 0.4;
/// Share of Office 365 sign-ins from desktop rich clients (`user.authentication.auth_via_richclient`).
const RICH_CLIENT_SHARE: f64 = 0.3;

/// What an event records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    Sso,
    OidcSignOn,
    /// The `user.authentication.sso` twin of the OIDC sign-in just before it (same transaction).
    OidcSsoTwin,
    Radius,
    RichClient,
    UnauthAccess,
    PolicyEvaluate,
    MfaVerify,
    SessionStart,
    /// A service client's client-credentials token grant: the actor is the client, not a User.
    ServiceToken,
    AppUserAdd,
    AppUserRemove,
    AppUserUpdate,
    GroupMemberAdd,
    GroupMemberRemove,
    GroupAppAdd,
    GroupAppRemove,
    AppCreate,
    AppActivate,
    AppDeactivate,
    AppDelete,
    UserActivate,
    UserDeactivate,
    UserSuspend,
    UserUnsuspend,
    UserLock,
    UserUnlock,
    UserUpdateProfile,
}

impl EventKind {
    /// (eventType, displayMessage) as Okta's event-type catalogue names them
    /// (okta-developer-docs data/event-types.json, release 2026.08.1).
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            EventKind::Sso | EventKind::OidcSsoTwin => ("user.authentication.sso", "User single sign on to app"),
            EventKind::OidcSignOn => ("app.oauth2.signon", "User performed OIDC single sign on to app"),
            EventKind::Radius => ("user.authentication.auth_via_radius", "Authentication of user via Radius"),
            EventKind::RichClient => {
                ("user.authentication.auth_via_richclient", "Authentication of a user via Rich Client")
            }
            EventKind::UnauthAccess => {
                ("app.generic.unauth_app_access_attempt", "User attempted unauthorized access to app")
            }
            EventKind::PolicyEvaluate => ("policy.evaluate_sign_on", "Evaluation of sign-on policy"),
            EventKind::MfaVerify => ("user.authentication.auth_via_mfa", "Authentication of user via MFA"),
            EventKind::SessionStart => ("user.session.start", "User login to Okta"),
            EventKind::ServiceToken => ("app.oauth2.as.token.grant.access_token", "OAuth2 access token is granted"),
            EventKind::AppUserAdd => ("application.user_membership.add", "Add user to application membership"),
            EventKind::AppUserRemove => ("application.user_membership.remove", "Remove user's application membership"),
            EventKind::AppUserUpdate => ("application.user_membership.update", "Updated user application property"),
            EventKind::GroupMemberAdd => ("group.user_membership.add", "Add user to group membership"),
            EventKind::GroupMemberRemove => ("group.user_membership.remove", "Remove user from group membership"),
            EventKind::GroupAppAdd => ("group.application_assignment.add", "Add assigned application to group"),
            EventKind::GroupAppRemove => {
                ("group.application_assignment.remove", "Remove assigned application from group")
            }
            EventKind::AppCreate => ("application.lifecycle.create", "Create application"),
            EventKind::AppActivate => ("application.lifecycle.activate", "Activate application"),
            EventKind::AppDeactivate => ("application.lifecycle.deactivate", "Deactivate application"),
            EventKind::AppDelete => ("application.lifecycle.delete", "Delete application"),
            EventKind::UserActivate => ("user.lifecycle.activate", "Activate Okta user"),
            EventKind::UserDeactivate => ("user.lifecycle.deactivate", "Deactivate Okta user"),
            EventKind::UserSuspend => ("user.lifecycle.suspend", "Suspend Okta user"),
            EventKind::UserUnsuspend => ("user.lifecycle.unsuspend", "Unsuspend Okta user"),
            EventKind::UserLock => ("user.account.lock", "Auto-lock user account for Okta"),
            EventKind::UserUnlock => ("user.account.unlock_by_admin", "User account unlock by admin"),
            EventKind::UserUpdateProfile => ("user.account.update_profile", "Update user profile for Okta"),
        }
    }

    pub fn event_type(self) -> &'static str {
        self.names().0
    }

    /// A sign-in by a user to an app (the twin is one too, in the same transaction).
    pub fn is_sign_in(self) -> bool {
        matches!(
            self,
            EventKind::Sso | EventKind::OidcSignOn | EventKind::OidcSsoTwin | EventKind::Radius | EventKind::RichClient
        )
    }

    /// Whether the actor is a user (otherwise the admin who made a change, or a client app).
    pub fn user_actor(self) -> bool {
        self.is_sign_in()
            || matches!(
                self,
                EventKind::UnauthAccess | EventKind::PolicyEvaluate | EventKind::MfaVerify | EventKind::SessionStart
            )
    }
}

/// One System Log event, before rendering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub index: u64,
    pub published_ms: i64,
    /// When a polling query can first see it (storage order).
    pub visible_ms: i64,
    pub kind: EventKind,
    pub app: u32,
    pub user: u32,
    pub group: u32,
    pub success: bool,
    /// Targets listed as [AppUser, AppInstance] rather than [AppInstance, AppUser].
    pub app_user_first: bool,
    /// The transaction (one request, one id: a sign-in and its twin share it).
    pub transaction: u64,
}

struct Cycle {
    start_ms: i64,
    count: u64,
}

#[derive(Default)]
struct Appended {
    events: Vec<Event>,
    /// (visible, index): storage order.
    by_visible: BTreeSet<(i64, u64)>,
    /// (published, index): a bounded query's order.
    by_published: BTreeSet<(i64, u64)>,
}

/// The generated history plus events appended while running.
pub struct EventLog {
    seed: u64,
    cycles: Vec<Cycle>,
    /// prefix[k] = events before cycle k.
    prefix: Vec<u64>,
    generated: u64,
    /// Cumulative pool sizes over apps, to draw an app in proportion to how many people use it.
    app_weights: Vec<u64>,
    styles: Vec<SignInStyle>,
    service_clients: Vec<u32>,
    /// The largest delay between `published` and visibility, in ms.
    lag_ms: u64,
    appended: RwLock<Appended>,
}

/// A position in storage order (or, for bounded queries, in published order): (time, index).
pub type Position = (i64, u64);

impl EventLog {
    pub fn new(org: &Org, lag_ms: u64) -> EventLog {
        let mut signers = vec![false; org.users.len()];
        org.pools.iter().flatten().for_each(|&u| signers[u as usize] = true);
        let signers = signers.iter().filter(|&&s| s).count() as f64;
        let mut app_weights = Vec::with_capacity(org.pools.len());
        let mut acc = 0u64;
        for pool in &org.pools {
            acc += pool.len() as u64;
            app_weights.push(acc);
        }
        let anchor_ms = org.anchor.timestamp_millis();
        let days = org.size.days as i64;
        let (mut cycles, mut prefix, mut total) = (Vec::new(), Vec::new(), 0u64);
        for k in 0..days {
            let start_ms = anchor_ms - (days - k) * DAY_MS;
            let weekday =
                Utc.timestamp_millis_opt(start_ms + DAY_MS / 2).single().map(|t| t.weekday()).unwrap_or(Weekday::Mon);
            let factor = if matches!(weekday, Weekday::Sat | Weekday::Sun) { 0.25 } else { 1.0 };
            let count = if acc == 0 {
                0
            } else {
                (signers * org.size.signins_per_user_day * factor / SIGN_IN_SHARE).round() as u64
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
            styles: org.apps.iter().map(|a| a.style).collect(),
            service_clients: org
                .apps
                .iter()
                .enumerate()
                .filter(|(_, a)| a.kind == AppKind::ServiceClient)
                .map(|(i, _)| i as u32)
                .collect(),
            lag_ms,
            appended: RwLock::new(Appended::default()),
        }
    }

    pub fn generated_len(&self) -> u64 {
        self.generated
    }

    fn lag(&self, index: u64) -> i64 {
        if self.lag_ms == 0 { 0 } else { (hash3(self.seed, TAG_LAG, index) % (self.lag_ms + 1)) as i64 }
    }

    fn generated_published_ms(&self, i: u64) -> i64 {
        // cycle k holds indices prefix[k]..prefix[k+1], spread over its active span
        let k = self.prefix.partition_point(|&p| p <= i) - 1;
        let cycle = &self.cycles[k];
        let j = (i - self.prefix[k]) as i128;
        let span = (DAY_MS - 2 * QUIET_MS) as i128;
        let step = (span / cycle.count as i128) as u64;
        // Sub-slot jitter gives realistic millisecond timestamps while keeping the order by index.
        let jitter = if step > 1 { hash3(self.seed, TAG_EVENT ^ 1, i) % (step / 2).max(1) } else { 0 };
        cycle.start_ms + QUIET_MS + (j * span / cycle.count as i128) as i64 + jitter as i64
    }

    /// The first generated index published at or after `ms` (generated_len() when none).
    pub fn first_generated_at_or_after(&self, ms: i64) -> u64 {
        let (mut lo, mut hi) = (0u64, self.generated);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.generated_published_ms(mid) < ms { lo = mid + 1 } else { hi = mid }
        }
        lo
    }

    fn sign_in_kind(&self, app: u32, d: &mut Draws) -> EventKind {
        match self.styles.get(app as usize) {
            Some(SignInStyle::Oidc) => EventKind::OidcSignOn,
            Some(SignInStyle::Radius) => EventKind::Radius,
            Some(SignInStyle::Office) if d.chance(RICH_CLIENT_SHARE) => EventKind::RichClient,
            _ => EventKind::Sso,
        }
    }

    /// Generated event i, ignoring the twin rule.
    fn base(&self, org: &Org, i: u64) -> Event {
        let mut d = Draws::new(self.seed, TAG_EVENT, i);
        let total = *self.app_weights.last().unwrap_or(&0);
        let pick = d.below(total.max(1));
        let app = self.app_weights.partition_point(|&w| w <= pick).min(org.pools.len().saturating_sub(1));
        let pool = &org.pools[app];
        let user = if pool.is_empty() { 0 } else { pool[d.below(pool.len() as u64) as usize] };
        let mut app = app as u32;
        let kind = if d.chance(SIGN_IN_SHARE) {
            self.sign_in_kind(app, &mut d)
        } else {
            match d.below(5) {
                0 => EventKind::UnauthAccess,
                1 => EventKind::PolicyEvaluate,
                2 => EventKind::MfaVerify,
                3 => EventKind::SessionStart,
                _ if !self.service_clients.is_empty() => {
                    app = self.service_clients[d.below(self.service_clients.len() as u64) as usize];
                    EventKind::ServiceToken
                }
                _ => EventKind::SessionStart,
            }
        };
        let published_ms = self.generated_published_ms(i);
        Event {
            index: i,
            published_ms,
            visible_ms: published_ms + self.lag(i),
            kind,
            app,
            user,
            group: 0,
            success: !d.chance(FAILURE_SHARE),
            app_user_first: d.chance(0.3),
            transaction: hash3(self.seed, TAG_EVENT ^ 2, i),
        }
    }

    /// Generated event i: an OIDC sign-in's twin takes the place of the event after it.
    fn generate(&self, org: &Org, i: u64) -> Event {
        if i > 0 {
            let before = self.base(org, i - 1);
            if before.kind == EventKind::OidcSignOn
                && hash3(self.seed, TAG_EVENT ^ 3, i - 1) % 1000 < (OIDC_TWIN_SHARE * 1000.0) as u64
            {
                // One sign-in writes both events at the same instant, in one transaction.
                return Event {
                    index: i,
                    kind: EventKind::OidcSsoTwin,
                    visible_ms: before.published_ms + self.lag(i),
                    ..before
                };
            }
        }
        self.base(org, i)
    }

    /// Appends an event published at `published_ms` (which may lie in the past: a late event); it
    /// becomes visible `lag` after max(published, now). Returns its index.
    pub fn append(&self, mut event: Event, now_ms: i64) -> u64 {
        let mut appended = self.appended.write().unwrap_or_else(|p| p.into_inner());
        let index = self.generated + appended.events.len() as u64;
        event.index = index;
        event.visible_ms = event.published_ms.max(now_ms) + self.lag(index);
        appended.by_visible.insert((event.visible_ms, index));
        appended.by_published.insert((event.published_ms, index));
        appended.events.push(event);
        index
    }

    /// Generated events published at or after `from_ms`, in published order: the one walk of the generated
    /// history that the three query kinds (polling, bounded, the truth's scan) share.
    fn generated_from<'a>(&'a self, org: &'a Org, from_ms: i64) -> impl Iterator<Item = Event> + 'a {
        (self.first_generated_at_or_after(from_ms)..self.generated).map(move |i| self.generate(org, i))
    }

    /// Events a polling query returns after `after` (storage order), those published at or after
    /// `since_ms`, visible by `now_ms`, that `keep` accepts: at most `limit`, with the position to resume
    /// from (the same position when there is nothing new).
    pub fn poll(
        &self,
        org: &Org,
        after: Option<Position>,
        since_ms: i64,
        now_ms: i64,
        limit: usize,
        keep: &dyn Fn(&Event) -> bool,
    ) -> (Vec<Event>, Position) {
        let after = after.unwrap_or((i64::MIN, 0));
        let mut best: BinaryHeap<(i64, u64)> = BinaryHeap::new();
        let mut events = std::collections::HashMap::new();
        let mut offer = |e: Event, best: &mut BinaryHeap<(i64, u64)>| {
            let key = (e.visible_ms, e.index);
            let fresh = after.0 == i64::MIN || key > after;
            if fresh && e.visible_ms <= now_ms && e.published_ms >= since_ms && keep(&e) {
                best.push(key);
                events.insert(e.index, e);
                if best.len() > limit
                    && let Some((_, dropped)) = best.pop()
                {
                    events.remove(&dropped);
                }
            }
        };
        // Generated history: an event visible after `after` was published at most lag before it.
        let from = since_ms.max(after.0.saturating_sub(self.lag_ms as i64));
        for e in self.generated_from(org, from) {
            let published = e.published_ms;
            if published > now_ms || (best.len() >= limit && best.peek().is_some_and(|&(v, _)| published > v)) {
                break;
            }
            offer(e, &mut best);
        }
        if let Ok(appended) = self.appended.read() {
            let start = if after.0 == i64::MIN { (i64::MIN, 0) } else { (after.0, after.1.saturating_add(1)) };
            for &(visible, index) in appended.by_visible.range(start..) {
                if visible > now_ms || (best.len() >= limit && best.peek().is_some_and(|&top| (visible, index) > top)) {
                    break;
                }
                if let Some(e) = appended.events.get((index - self.generated) as usize) {
                    offer(*e, &mut best);
                }
            }
        }
        let mut keys = best.into_sorted_vec();
        keys.truncate(limit);
        let next = keys.last().copied().unwrap_or(after);
        let page = keys.iter().filter_map(|(_, i)| events.get(i).copied()).collect();
        (page, next)
    }

    /// Events of a bounded query (published in [since, until), visible by `now_ms`) in published order
    /// after `after`, at most `limit`, with the position of the last one and whether more remain.
    pub fn bounded(
        &self,
        org: &Org,
        after: Option<Position>,
        window: std::ops::Range<i64>,
        now_ms: i64,
        limit: usize,
        keep: &dyn Fn(&Event) -> bool,
    ) -> (Vec<Event>, Option<Position>) {
        let (since_ms, until_ms) = (window.start, window.end);
        let fresh = |e: &Event| match after {
            Some(a) => (e.published_ms, e.index) > a,
            None => e.published_ms >= since_ms,
        };
        let from = after.map_or(since_ms, |a| a.0.max(since_ms));
        let mut out: Vec<Event> = Vec::new();
        self.published_between(org, from, until_ms.saturating_sub(1), |e| {
            if fresh(e) && e.visible_ms <= now_ms && keep(e) {
                out.push(*e);
            }
            out.len() <= limit
        });
        out.sort_by_key(|e| (e.published_ms, e.index));
        let more = out.len() > limit;
        out.truncate(limit);
        let last = out.last().map(|e| (e.published_ms, e.index));
        (out, if more { last } else { None })
    }

    /// Every event published in [since, until] and visible by `visible_by`, in no particular order (truth).
    pub fn scan(&self, org: &Org, since_ms: i64, until_ms: i64, visible_by: i64, mut each: impl FnMut(&Event)) {
        self.published_between(org, since_ms, until_ms, |e| {
            if e.visible_ms <= visible_by {
                each(e);
            }
            true
        });
    }

    /// Every event published in [from_ms, until_ms], in published order within the generated history and
    /// within the appended events (the walk the bounded query and the truth share; polling walks by
    /// visibility instead, Okta's order for a polling request). `each` returning false ends the generated
    /// walk early (it has enough of it); the appended events are always all offered, as any of them may sort
    /// before what was taken.
    fn published_between(&self, org: &Org, from_ms: i64, until_ms: i64, mut each: impl FnMut(&Event) -> bool) {
        for e in self.generated_from(org, from_ms) {
            if e.published_ms < from_ms {
                continue; // a twin at the first index carries its sign-in's earlier time, before the window
            }
            if e.published_ms > until_ms || !each(&e) {
                break;
            }
        }
        if let Ok(appended) = self.appended.read() {
            for &(published, index) in appended.by_published.range((from_ms, 0)..) {
                if published > until_ms {
                    break;
                }
                if let Some(e) = appended.events.get((index - self.generated) as usize) {
                    each(e);
                }
            }
        }
    }

    /// Events in the log now (generated history plus appended ones).
    pub fn len(&self) -> u64 {
        self.generated + self.appended.read().map(|a| a.events.len() as u64).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::{Org, OrgSize};

    fn log(lag: u64) -> (Org, EventLog) {
        let anchor = Utc.timestamp_opt(1_790_000_000, 0).single().unwrap();
        let org = Org::generate(7, OrgSize::preset("small").unwrap(), anchor);
        let log = EventLog::new(&org, lag);
        (org, log)
    }

    #[test]
    fn published_grows_with_index_and_skips_the_quiet_hours() {
        let (org, log) = log(0);
        let anchor = org.anchor.timestamp_millis();
        let mut last = i64::MIN;
        for i in 0..log.generated_len() {
            let p = log.generated_published_ms(i);
            assert!(p >= last);
            let into_cycle = (anchor - p).rem_euclid(DAY_MS);
            assert!(into_cycle >= QUIET_MS && DAY_MS - into_cycle >= QUIET_MS, "event {i} in a quiet period");
            last = p;
        }
        assert!(last < anchor);
        let again = EventLog::new(&Org::generate(7, OrgSize::preset("small").unwrap(), org.anchor), 0);
        assert_eq!(log.generate(&org, 1234), again.generate(&org, 1234));
    }

    #[test]
    fn a_scan_never_yields_an_event_published_before_its_start() {
        let (org, log) = log(0);
        // Twins take their sign-in's time, earlier than their own slot's: start a scan at such a slot.
        let twins: Vec<u64> = (1..log.generated_len())
            .filter(|&i| log.generate(&org, i).published_ms < log.generated_published_ms(i))
            .take(50)
            .collect();
        assert!(!twins.is_empty(), "the small org has OIDC twins");
        for i in twins {
            let from = log.generated_published_ms(i);
            let mut earliest = i64::MAX;
            log.scan(&org, from, from + DAY_MS, i64::MAX, |e| earliest = earliest.min(e.published_ms));
            assert!(earliest >= from, "a scan from {from} yielded an event published at {earliest}");
        }
    }

    #[test]
    fn polling_returns_each_event_once_in_storage_order_whatever_the_lag() {
        let (org, log) = log(120_000);
        let anchor = org.anchor.timestamp_millis();
        let since = anchor - 3 * DAY_MS;
        let now = anchor + 10 * 60_000;
        let mut after = None;
        let mut seen = std::collections::HashSet::new();
        let mut last = (i64::MIN, 0);
        let mut out_of_published_order = false;
        loop {
            let (page, next) = log.poll(&org, after, since, now, 500, &|_| true);
            if page.is_empty() {
                break;
            }
            for e in &page {
                assert!((e.visible_ms, e.index) > last);
                out_of_published_order |= e.published_ms < last.0.saturating_sub(1);
                last = (e.visible_ms, e.index);
                assert!(seen.insert(e.index), "event {} twice", e.index);
            }
            after = Some(next);
        }
        let expected = log.generated_len() - log.first_generated_at_or_after(since);
        assert_eq!(seen.len() as u64, expected);
        assert!(out_of_published_order, "with a lag, storage order differs from published order");
    }
}
