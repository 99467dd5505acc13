//! Usage aggregated from sign-ins. Memory grows with distinct (app, user) pairs and hours with sign-ins,
//! never with the number of events: each event updates counters and is dropped. Sign-ins leave the window
//! hour by hour (an hour counts while any part of it is inside); active users and the last use are exact.

use std::collections::{HashMap, HashSet, VecDeque};

use super::compact::{Hourly, LastSeen};

pub(crate) const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// Recent event uuids and sign-in keys remembered to drop repeats (a server re-serving a page under a new
/// cursor, or one sign-in recorded under two event types).
const RECENT_KEYS: usize = 16_384;

/// One app's usage: when each user last signed in, sign-ins per hour, and the newest sign-in.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppUsage {
    pub(crate) last_seen: LastSeen,
    pub(crate) hourly: Hourly,
    pub(crate) last_used_ms: Option<i64>,
}

/// Usage counts of one app over the window.
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AppCounts {
    pub(crate) active_users: u64,
    pub(crate) sign_ins: u64,
    pub(crate) last_used_ms: Option<i64>,
}

/// A bounded set of recent keys, oldest forgotten first.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecentKeys {
    order: VecDeque<u64>,
    set: HashSet<u64>,
}

impl RecentKeys {
    /// False when `key` was seen recently (a repeat).
    pub(crate) fn insert(&mut self, key: u64) -> bool {
        if !self.set.insert(key) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > RECENT_KEYS
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }

    /// False when a sign-in repeats an event (by uuid) or a sign-in (by key) seen recently.
    pub(crate) fn fresh_sign_in(&mut self, uuid: Option<u64>, key: Option<u64>) -> bool {
        !(uuid.is_some_and(|u| !self.insert(u)) || key.is_some_and(|k| !self.insert(k ^ 0x5349_474e)))
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.order.iter().copied()
    }
}

/// Usage accumulated across syncs.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub(crate) struct UsageLedger {
    pub(crate) apps: HashMap<Box<str>, AppUsage>,
    pub(crate) recent: RecentKeys,
}

impl UsageLedger {
    /// Heap bytes held, approximately.
    pub(crate) fn heap_bytes(&self) -> usize {
        let apps: usize =
            self.apps.iter().map(|(id, u)| id.len() + 64 + u.last_seen.heap_bytes() + u.hourly.heap_bytes()).sum();
        apps + self.recent.order.capacity() * 8 + self.recent.set.capacity() * 16
    }

    /// Counts one sign-in; false when it is a repeat of an event or of a sign-in already counted.
    #[cfg(test)]
    pub(crate) fn add(&mut self, app: &str, user: u32, at_ms: i64, uuid: Option<u64>, key: Option<u64>) -> bool {
        let fresh = self.first_time(uuid, key);
        if fresh {
            self.record(app, user, at_ms, 0, true);
        }
        fresh
    }

    /// False when a sign-in is a repeat of an event (by uuid) or of a sign-in already counted (by key).
    pub(crate) fn first_time(&mut self, uuid: Option<u64>, key: Option<u64>) -> bool {
        self.recent.fresh_sign_in(uuid, key)
    }

    /// Counts one sign-in known not to be a repeat: in the window's hours when `in_window`, and in the
    /// pair's history `flags` (the open periods it falls in). A sign-in before the window only moves the
    /// pair's last sign-in (what seats to reclaim are judged by) and marks flags.
    pub(crate) fn record(&mut self, app: &str, user: u32, at_ms: i64, flags: u32, in_window: bool) {
        let usage = match self.apps.get_mut(app) {
            Some(u) => u,
            None => self.apps.entry(app.into()).or_default(),
        };
        usage.last_seen.note(user, at_ms, flags);
        if in_window {
            usage.hourly.add(at_ms.div_euclid(HOUR_MS), 1);
            usage.last_used_ms = usage.last_used_ms.max(Some(at_ms));
        }
    }

    /// The users of `app` with any of the history flags in `mask`.
    pub(crate) fn flagged_users(&self, app: &str, mask: u32) -> Vec<u32> {
        let entries = self.apps.get(app).into_iter().flat_map(|u| u.last_seen.entries());
        entries.filter(|&(_, _, f)| f & mask != 0).map(|(user, _, _)| user).collect()
    }

    /// Clears history flags `mask` from every pair (their periods closed).
    pub(crate) fn clear_flags(&mut self, mask: u32) {
        self.apps.values_mut().for_each(|u| u.last_seen.clear(mask));
    }

    /// Each user's flags over every app (the org's distinct users per open period), indexed by user.
    pub(crate) fn org_flags(&self) -> Vec<u32> {
        let pairs = || self.apps.values().flat_map(|a| a.last_seen.entries());
        let users = pairs().map(|(u, _, _)| u as usize + 1).max().unwrap_or(0);
        let mut flags = vec![0u32; users];
        for (user, _, bits) in pairs() {
            flags[user as usize] |= bits;
        }
        flags
    }

    /// A repeat of an event already read (by uuid), for events that are not sign-ins.
    pub(crate) fn repeated(&mut self, uuid: Option<u64>) -> bool {
        uuid.is_some_and(|u| !self.recent.insert(u))
    }

    /// Forgets what is wholly older than `start_ms`, and apps left with nothing. A pair stays while it is
    /// active in an open history period, or while the user holds a seat (`seat_holders(app)`, ascending):
    /// a seat holder's last sign-in is kept however old, so "no sign-in ever observed" means just that.
    pub(crate) fn prune(&mut self, start_ms: i64, seat_holders: impl Fn(&str) -> Vec<u32>) {
        let first_hour = start_ms.div_euclid(HOUR_MS);
        self.apps.retain(|id, app| {
            let holders = seat_holders(id);
            let holds = |user: u32| holders.binary_search(&user).is_ok();
            app.last_seen.retain(|user, seen, flags| seen >= start_ms || flags != 0 || holds(user));
            app.hourly.drop_before(first_hour);
            app.last_used_ms = app.last_seen.iter().map(|(_, at)| at).filter(|&at| at >= start_ms).max();
            !app.last_seen.is_empty() || !app.hourly.is_empty()
        });
    }

    /// Whether any app has sign-ins in `hour`.
    pub(crate) fn holds_hour(&self, hour: i64) -> bool {
        self.apps.values().any(|a| a.hourly.since(hour).next().is_some_and(|(h, _)| h == hour))
    }

    /// Sets every app's sign-ins in `hour` to `counts` (none for apps it leaves out).
    pub(crate) fn set_hour(&mut self, hour: i64, counts: &HashMap<String, u32>) {
        for (id, usage) in &mut self.apps {
            usage.hourly.set(hour, counts.get(&**id).copied().unwrap_or(0));
        }
    }

    /// Keeps only apps `keep` wants (the inventory).
    pub(crate) fn retain_apps(&mut self, keep: impl Fn(&str) -> bool) {
        self.apps.retain(|id, _| keep(id));
    }

    /// One app's counts over the window starting at `start_ms`.
    pub(crate) fn counts(&self, app: &str, start_ms: i64) -> AppCounts {
        let Some(usage) = self.apps.get(app) else {
            return AppCounts::default();
        };
        let first_hour = start_ms.div_euclid(HOUR_MS);
        AppCounts {
            active_users: usage.last_seen.iter().filter(|&(_, s)| s >= start_ms).count() as u64,
            sign_ins: usage.hourly.since(first_hour).map(|(_, n)| u64::from(n)).sum(),
            last_used_ms: usage.last_seen.iter().map(|(_, s)| s).filter(|&s| s >= start_ms).max(),
        }
    }

    /// Whether `user` signed in to `app` in the window.
    pub(crate) fn active(&self, app: &str, user: u32, start_ms: i64) -> bool {
        self.apps.get(app).and_then(|u| u.last_seen.get(user)).is_some_and(|s| s >= start_ms)
    }

    /// `user`'s last sign-in to `app` ever observed (kept while the user holds a seat).
    pub(crate) fn last_ever(&self, app: &str, user: u32) -> Option<i64> {
        self.apps.get(app)?.last_seen.get(user)
    }

    /// Distinct users active in the window over the apps `include` wants.
    pub(crate) fn active_users(&self, start_ms: i64, include: impl Fn(&str) -> bool) -> u64 {
        self.active_set(start_ms, include).len() as u64
    }

    /// The users active in the window over the apps `include` wants.
    pub(crate) fn active_set(&self, start_ms: i64, include: impl Fn(&str) -> bool) -> HashSet<u32> {
        let mut users: HashSet<u32> = HashSet::new();
        for (id, usage) in &self.apps {
            if include(id) {
                users.extend(usage.last_seen.iter().filter(|&(_, s)| s >= start_ms).map(|(u, _)| u));
            }
        }
        users
    }

    /// The users active in `app` in the window.
    pub(crate) fn active_in(&self, app: &str, start_ms: i64) -> impl Iterator<Item = u32> + '_ {
        self.apps
            .get(app)
            .into_iter()
            .flat_map(move |u| u.last_seen.iter().filter(move |&(_, s)| s >= start_ms).map(|(u, _)| u))
    }

    /// Sign-ins per UTC day for the `days` days ending with the day of `now_ms`, oldest first; hours
    /// before `start_ms` are left out.
    pub(crate) fn daily(&self, app: &str, start_ms: i64, now_ms: i64, days: u32) -> Vec<u64> {
        let mut out = vec![0u64; days as usize];
        let Some(usage) = self.apps.get(app) else {
            return out;
        };
        let last_day = now_ms.div_euclid(DAY_MS);
        let first_hour = start_ms.div_euclid(HOUR_MS);
        for (hour, n) in usage.hourly.since(first_hour) {
            let back = last_day - (hour * HOUR_MS).div_euclid(DAY_MS);
            if (0..i64::from(days)).contains(&back) {
                out[days as usize - 1 - back as usize] += u64::from(n);
            }
        }
        out
    }

    /// Users that some pair refers to.
    pub(crate) fn users(&self) -> HashSet<u32> {
        self.apps.values().flat_map(|a| a.last_seen.iter().map(|(u, _)| u)).collect()
    }

    /// Renumbers users after the directory compacted.
    pub(crate) fn remap(&mut self, remap: &[Option<u32>]) {
        for usage in self.apps.values_mut() {
            usage.last_seen = usage
                .last_seen
                .entries()
                .filter_map(|(u, s, f)| Some((remap.get(u as usize).copied().flatten()?, s, f)))
                .collect();
        }
    }

    /// Distinct (app, user) pairs held: what the ledger's memory follows.
    #[cfg(test)]
    pub(crate) fn pairs(&self) -> usize {
        self.apps.values().map(|a| a.last_seen.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    #[test]
    fn counts_distinct_users_sign_ins_and_last_use_and_expires_old_hours() {
        let mut l = UsageLedger::default();
        assert!(l.add("0oa1", 1, T0 + 600_000, Some(1), None));
        assert!(l.add("0oa1", 2, T0 + 2 * DAY_MS, Some(2), None));
        assert!(l.add("0oa1", 1, T0 + DAY_MS, Some(3), None));
        assert!(!l.add("0oa1", 1, T0 + DAY_MS, Some(3), None), "a repeated uuid counts once");
        let all = l.counts("0oa1", T0 - DAY_MS);
        assert_eq!(all, AppCounts { active_users: 2, sign_ins: 3, last_used_ms: Some(T0 + 2 * DAY_MS) });
        assert_eq!(l.active_users(T0 - DAY_MS, |_| true), 2);
        assert_eq!(l.daily("0oa1", T0 - DAY_MS, T0 + 2 * DAY_MS, 4), vec![0, 1, 1, 1]);
        let later = l.counts("0oa1", T0 + DAY_MS);
        assert_eq!((later.active_users, later.sign_ins), (2, 2));
        l.prune(T0 + DAY_MS + 12 * HOUR_MS, |_| Vec::new());
        let pruned = l.counts("0oa1", T0 + DAY_MS + 12 * HOUR_MS);
        assert_eq!((pruned.active_users, pruned.sign_ins), (1, 1));
        assert_eq!(l.pairs(), 1);
        l.prune(T0 + 10 * DAY_MS, |_| Vec::new());
        assert!(l.apps.is_empty(), "an app without pairs or hours is dropped");
    }

    #[test]
    fn one_sign_in_under_two_event_types_counts_once() {
        let mut l = UsageLedger::default();
        assert!(l.add("0oa1", 1, T0, Some(10), Some(99)));
        assert!(!l.add("0oa1", 1, T0 + 5, Some(11), Some(99)));
        assert_eq!(l.counts("0oa1", T0).sign_ins, 1);
    }

    #[test]
    fn recent_keys_are_bounded() {
        let mut r = RecentKeys::default();
        for k in 0..(RECENT_KEYS as u64 + 10) {
            assert!(r.insert(k));
        }
        assert_eq!(r.keys().count(), RECENT_KEYS);
        assert!(r.insert(0), "the oldest keys are forgotten");
        assert!(!r.insert(RECENT_KEYS as u64 + 9));
    }

    #[test]
    fn an_hour_set_again_replaces_its_count_and_an_empty_one_goes() {
        let mut l = UsageLedger::default();
        for (i, at) in [T0 + 60_000, T0 + 1_800_000, T0 + HOUR_MS + 60_000].into_iter().enumerate() {
            assert!(l.add("0oa1", i as u32, at, Some(i as u64), None));
        }
        assert!(l.add("0oa2", 7, T0 + 120_000, Some(9), None));
        let hour = T0.div_euclid(HOUR_MS);
        assert!(l.holds_hour(hour) && !l.holds_hour(hour - 1));
        l.set_hour(hour, &HashMap::from([("0oa1".to_string(), 1)]));
        assert_eq!(l.counts("0oa1", T0).sign_ins, 2, "one in the first hour, one in the next");
        assert_eq!(l.counts("0oa2", T0).sign_ins, 0, "an app the count leaves out has none left in that hour");
        l.set_hour(hour, &HashMap::new());
        assert!(!l.holds_hour(hour));
        assert_eq!(l.counts("0oa1", T0).sign_ins, 1);
    }
}
