//! Compact per-app usage columns. An xlarge org holds millions of (app, user) pairs and millions of
//! app-hours: a `HashMap<u32, i64>` costs about 30 bytes a pair and a `BTreeMap<i64, u32>` about 18
//! bytes an hour, where these cost 12 and 8 (plus a small buffer of newcomers).

use std::collections::HashMap;

/// Grows `v` by a quarter when full instead of doubling: these vectors hold most of the sync's memory,
/// and a doubled one is half empty on average.
fn reserve_gently<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        v.reserve_exact(v.len() / 4 + 8);
    }
}

/// Sign-ins per hour, sorted by hour (hours since the Unix epoch).
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hourly(Vec<(u32, u32)>);

fn hour_index(hour: i64) -> u32 {
    u32::try_from(hour.max(0)).unwrap_or(u32::MAX)
}

impl Hourly {
    /// Adds `n` sign-ins to `hour`; the newest hour is the common case (the log is mostly in order).
    pub(crate) fn add(&mut self, hour: i64, n: u32) {
        let h = hour_index(hour);
        match self.0.last_mut() {
            Some((last, count)) if *last == h => *count = count.saturating_add(n),
            Some((last, _)) if *last > h => match self.0.binary_search_by_key(&h, |p| p.0) {
                Ok(i) => self.0[i].1 = self.0[i].1.saturating_add(n),
                Err(i) => {
                    reserve_gently(&mut self.0);
                    self.0.insert(i, (h, n));
                }
            },
            _ => {
                reserve_gently(&mut self.0);
                self.0.push((h, n));
            }
        }
    }

    /// From (hour, sign-ins) pairs already strictly ascending by hour (a checkpoint's, checked by its reader):
    /// one move, where adding them one by one in descending order would be quadratic.
    pub(crate) fn from_sorted(hours: Vec<(u32, u32)>) -> Hourly {
        debug_assert!(hours.windows(2).all(|w| w[0].0 < w[1].0));
        Hourly(hours)
    }

    fn start(&self, first_hour: i64) -> usize {
        self.0.partition_point(|p| i64::from(p.0) < first_hour)
    }

    /// Forgets the hours before `first_hour`.
    pub(crate) fn drop_before(&mut self, first_hour: i64) {
        let start = self.start(first_hour);
        self.0.drain(..start);
        self.0.shrink_to(self.0.len() + self.0.len() / 8);
    }

    /// (hour, sign-ins) from `first_hour` on, oldest first.
    pub(crate) fn since(&self, first_hour: i64) -> impl Iterator<Item = (i64, u32)> + '_ {
        self.0[self.start(first_hour)..].iter().map(|&(h, n)| (i64::from(h), n))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One pair: a user index and a time in milliseconds, 12 bytes (two halves keep the alignment at 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seen {
    user: u32,
    high: u32,
    low: u32,
}

impl Seen {
    fn new(user: u32, at_ms: i64) -> Seen {
        let bits = at_ms as u64;
        Seen { user, high: (bits >> 32) as u32, low: bits as u32 }
    }

    fn at(self) -> i64 {
        ((u64::from(self.high) << 32) | u64::from(self.low)) as i64
    }
}

/// When each user last signed in to one app: a run sorted by user, and the newcomers since the last
/// merge in a small map (merged when it passes an eighth of the run, so lookups stay logarithmic).
#[derive(Default, Debug, Clone)]
pub(crate) struct LastSeen {
    sorted: Vec<Seen>,
    fresh: HashMap<u32, i64>,
}

impl LastSeen {
    /// Records a sign-in by `user` at `at_ms`, keeping the newest.
    pub(crate) fn note(&mut self, user: u32, at_ms: i64) {
        if let Ok(i) = self.sorted.binary_search_by_key(&user, |s| s.user) {
            if at_ms > self.sorted[i].at() {
                self.sorted[i] = Seen::new(user, at_ms);
            }
            return;
        }
        let seen = self.fresh.entry(user).or_insert(at_ms);
        *seen = (*seen).max(at_ms);
        if self.fresh.len() > 32 + self.sorted.len() / 8 {
            self.merge();
        }
    }

    /// Moves the newcomers into the sorted run.
    fn merge(&mut self) {
        if self.fresh.is_empty() {
            return;
        }
        let mut fresh: Vec<Seen> = self.fresh.drain().map(|(u, at)| Seen::new(u, at)).collect();
        self.fresh.shrink_to_fit();
        fresh.sort_unstable_by_key(|s| s.user);
        let mut merged = Vec::with_capacity(self.sorted.len() + fresh.len());
        let (mut a, mut b) = (self.sorted.iter().peekable(), fresh.into_iter().peekable());
        while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
            if x.user < y.user {
                merged.push(**x);
                a.next();
            } else {
                merged.push(*y);
                b.next();
            }
        }
        merged.extend(a.copied());
        merged.extend(b);
        self.sorted = merged;
    }

    pub(crate) fn get(&self, user: u32) -> Option<i64> {
        match self.sorted.binary_search_by_key(&user, |s| s.user) {
            Ok(i) => Some(self.sorted[i].at()),
            Err(_) => self.fresh.get(&user).copied(),
        }
    }

    /// Every (user, last sign-in), in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, i64)> + '_ {
        self.sorted.iter().map(|s| (s.user, s.at())).chain(self.fresh.iter().map(|(&u, &at)| (u, at)))
    }

    /// Keeps the pairs `keep` wants and merges the newcomers (a sync's end leaves one compact run).
    pub(crate) fn retain(&mut self, keep: impl Fn(u32, i64) -> bool) {
        self.merge();
        self.sorted.retain(|s| keep(s.user, s.at()));
        self.sorted.shrink_to(self.sorted.len() + self.sorted.len() / 8);
    }

    pub(crate) fn len(&self) -> usize {
        self.sorted.len() + self.fresh.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl FromIterator<(u32, i64)> for LastSeen {
    fn from_iter<I: IntoIterator<Item = (u32, i64)>>(pairs: I) -> LastSeen {
        let mut seen = LastSeen::default();
        for (user, at) in pairs {
            let newest = seen.fresh.entry(user).or_insert(at);
            *newest = (*newest).max(at);
        }
        seen.merge();
        seen
    }
}

/// Equal when they hold the same pairs, however they are split between the run and the newcomers.
impl PartialEq for LastSeen {
    fn eq(&self, other: &LastSeen) -> bool {
        let sorted = |l: &LastSeen| {
            let mut v: Vec<(u32, i64)> = l.iter().collect();
            v.sort_unstable();
            v
        };
        sorted(self) == sorted(other)
    }
}

impl Eq for LastSeen {}

/// Which open periods each user was active in (one bit a period), for one app: a run sorted by user and
/// the newcomers since the last merge, 8 bytes a user. Only users active in a period not yet closed are held.
#[derive(Default, Debug, Clone)]
pub(crate) struct Flags {
    sorted: Vec<(u32, u32)>,
    fresh: HashMap<u32, u32>,
}

impl Flags {
    /// Sets `bits` for `user`.
    pub(crate) fn set(&mut self, user: u32, bits: u32) {
        if let Ok(i) = self.sorted.binary_search_by_key(&user, |p| p.0) {
            self.sorted[i].1 |= bits;
            return;
        }
        *self.fresh.entry(user).or_default() |= bits;
        if self.fresh.len() > 32 + self.sorted.len() / 8 {
            self.merge();
        }
    }

    fn merge(&mut self) {
        if self.fresh.is_empty() {
            return;
        }
        self.sorted.extend(self.fresh.drain());
        self.fresh.shrink_to_fit();
        self.sorted.sort_unstable_by_key(|p| p.0);
    }

    /// Users with any of `mask` set.
    pub(crate) fn count(&self, mask: u32) -> u64 {
        self.iter().filter(|&(_, bits)| bits & mask != 0).count() as u64
    }

    /// Clears `mask` everywhere and forgets users left with no bit.
    pub(crate) fn clear(&mut self, mask: u32) {
        self.merge();
        self.sorted.retain_mut(|p| {
            p.1 &= !mask;
            p.1 != 0
        });
        self.sorted.shrink_to(self.sorted.len() + self.sorted.len() / 8);
    }

    /// Every (user, bits), in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.sorted.iter().copied().chain(self.fresh.iter().map(|(&u, &b)| (u, b)))
    }

    /// Renumbers users after the directory compacted (users it dropped are dropped here too).
    pub(crate) fn remap(&mut self, remap: &[Option<u32>]) {
        *self = self.iter().filter_map(|(u, b)| Some((remap.get(u as usize).copied().flatten()?, b))).collect();
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.sorted.len() + self.fresh.len()
    }
}

impl FromIterator<(u32, u32)> for Flags {
    fn from_iter<I: IntoIterator<Item = (u32, u32)>>(pairs: I) -> Flags {
        let mut flags = Flags::default();
        for (user, bits) in pairs {
            *flags.fresh.entry(user).or_default() |= bits;
        }
        flags.merge();
        flags
    }
}

/// Equal when they hold the same users with the same bits, however split.
impl PartialEq for Flags {
    fn eq(&self, other: &Flags) -> bool {
        let sorted = |f: &Flags| {
            let mut v: Vec<(u32, u32)> = f.iter().collect();
            v.sort_unstable();
            v
        };
        sorted(self) == sorted(other)
    }
}

impl Eq for Flags {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_seen_keeps_the_newest_sign_in_per_user_across_merges() {
        let mut seen = LastSeen::default();
        for round in 0..3i64 {
            for user in (0..2_000u32).rev() {
                seen.note(user, 1_767_225_600_000 + round * 1000 + i64::from(user % 7));
            }
        }
        seen.note(5, 1); // older than what is held: ignored
        assert_eq!(seen.len(), 2_000);
        assert_eq!(seen.get(5), Some(1_767_225_600_000 + 2000 + 5));
        assert_eq!(seen.get(2_000), None);
        let before = seen.clone();
        seen.retain(|user, _| user % 2 == 0);
        assert_eq!(seen.len(), 1_000);
        assert!(seen.fresh.is_empty(), "retain leaves one sorted run");
        assert_eq!(before, before.iter().collect::<LastSeen>());
        assert_eq!(Seen::new(1, -5).at(), -5, "times before 1970 survive the split");
    }

    #[test]
    fn flags_accumulate_bits_per_user_count_and_clear_them() {
        let mut flags = Flags::default();
        for round in 0..3u32 {
            for user in (0..500u32).rev() {
                flags.set(user, 1 << ((user + round) % 4));
            }
        }
        assert_eq!(flags.len(), 500);
        assert_eq!(flags.count(0b0001), 375, "users whose three rounds touched bit 0");
        flags.clear(0b0111);
        assert_eq!(flags.len(), 375, "users with only bits 0..2 are forgotten");
        assert_eq!(flags.count(0b1000), 375);
        let renumbered: Vec<Option<u32>> = (0..500u32).map(|u| (u % 2 == 0).then_some(u / 2)).collect();
        let mut copy = flags.clone();
        copy.remap(&renumbered);
        assert_eq!(copy.len(), flags.iter().filter(|(u, _)| u % 2 == 0).count());
        assert_eq!(flags, flags.iter().collect::<Flags>());
    }

    #[test]
    fn hourly_counts_in_and_out_of_order_and_forgets_old_hours() {
        let mut h = Hourly::default();
        for hour in [10, 11, 11, 13, 12, 10, 14] {
            h.add(hour, 1);
        }
        assert_eq!(h.since(0).collect::<Vec<_>>(), vec![(10, 2), (11, 2), (12, 1), (13, 1), (14, 1)]);
        assert_eq!(h.since(12).map(|p| p.1).sum::<u32>(), 3);
        h.drop_before(13);
        assert_eq!(h.len(), 2);
        h.add(-3, 1); // a nonsense time goes to hour 0, never panics
        assert_eq!(h.since(0).next(), Some((0, 1)));
    }
}
