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
    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.0.capacity() * 8
    }

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

    /// Sets `hour`'s sign-ins to `n` (0 forgets the hour).
    pub(crate) fn set(&mut self, hour: i64, n: u32) {
        let h = hour_index(hour);
        match (self.0.binary_search_by_key(&h, |p| p.0), n) {
            (Ok(i), 0) => {
                self.0.remove(i);
            }
            (Ok(i), n) => self.0[i].1 = n,
            (Err(_), 0) => {}
            (Err(i), n) => self.0.insert(i, (h, n)),
        }
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

/// Milliseconds since 1970 fit in 42 bits until the year 2109; the other 22 bits of the high half hold the
/// pair's history flags (one bit per open month or week, see `history::Period::bit`).
const TIME_BITS_HIGH: u32 = 10;
const MAX_TIME_MS: i64 = (1 << (32 + TIME_BITS_HIGH)) - 1;
/// The flags a pair can hold.
pub(crate) const FLAG_BITS: u32 = (1 << (32 - TIME_BITS_HIGH)) - 1;

/// One pair: a user index, a time in milliseconds and the history flags, 12 bytes (two halves keep the
/// alignment at 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seen {
    user: u32,
    high: u32,
    low: u32,
}

impl Seen {
    /// Times are clamped to 1970..2109 (Okta's and the checkpoint's are checked long before).
    fn new(user: u32, at_ms: i64, flags: u32) -> Seen {
        let bits = at_ms.clamp(0, MAX_TIME_MS) as u64;
        Seen { user, high: ((flags & FLAG_BITS) << TIME_BITS_HIGH) | (bits >> 32) as u32, low: bits as u32 }
    }

    fn at(self) -> i64 {
        ((u64::from(self.high & ((1 << TIME_BITS_HIGH) - 1)) << 32) | u64::from(self.low)) as i64
    }

    fn flags(self) -> u32 {
        self.high >> TIME_BITS_HIGH
    }

    /// The newer time of the two, and both flags.
    fn merged(self, at_ms: i64, flags: u32) -> Seen {
        Seen::new(self.user, self.at().max(at_ms), self.flags() | flags)
    }
}

/// When each user last signed in to one app, and which open history periods they were active in: a run
/// sorted by user, and the newcomers since the last merge in a small map (merged when it passes an eighth
/// of the run, so lookups stay logarithmic). The flags cost nothing: they live in the time's spare bits.
#[derive(Default, Debug, Clone)]
pub(crate) struct LastSeen {
    sorted: Vec<Seen>,
    fresh: HashMap<u32, (i64, u32)>,
}

impl LastSeen {
    /// Heap bytes held, approximately (a hash map entry taken as 24 bytes).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.sorted.capacity() * std::mem::size_of::<Seen>() + self.fresh.capacity() * 24
    }

    /// Records a sign-in by `user` at `at_ms` active in the open periods `flags`, keeping the newest time.
    pub(crate) fn note(&mut self, user: u32, at_ms: i64, flags: u32) {
        if let Ok(i) = self.sorted.binary_search_by_key(&user, |s| s.user) {
            self.sorted[i] = self.sorted[i].merged(at_ms, flags);
            return;
        }
        let seen = self.fresh.entry(user).or_insert((at_ms, 0));
        *seen = (seen.0.max(at_ms), seen.1 | flags);
        if self.fresh.len() > 32 + self.sorted.len() / 8 {
            self.merge();
        }
    }

    /// Moves the newcomers into the sorted run.
    fn merge(&mut self) {
        if self.fresh.is_empty() {
            return;
        }
        let mut fresh: Vec<Seen> = self.fresh.drain().map(|(u, (at, f))| Seen::new(u, at, f)).collect();
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
            Err(_) => self.fresh.get(&user).map(|f| f.0),
        }
    }

    /// Every (user, last sign-in), in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, i64)> + '_ {
        self.entries().map(|(u, at, _)| (u, at))
    }

    /// Every (user, last sign-in, flags), in no particular order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (u32, i64, u32)> + '_ {
        let run = self.sorted.iter().map(|s| (s.user, s.at(), s.flags()));
        run.chain(self.fresh.iter().map(|(&u, &(at, f))| (u, at, f & FLAG_BITS)))
    }

    /// Users with any of `mask` set.
    #[cfg(test)]
    pub(crate) fn count(&self, mask: u32) -> u64 {
        self.entries().filter(|&(_, _, f)| f & mask != 0).count() as u64
    }

    /// Clears `mask` from every pair.
    pub(crate) fn clear(&mut self, mask: u32) {
        self.merge();
        for s in &mut self.sorted {
            *s = Seen::new(s.user, s.at(), s.flags() & !mask);
        }
    }

    /// Keeps the pairs `keep` wants (user, time, flags) and merges the newcomers (a sync's end leaves one
    /// compact run).
    pub(crate) fn retain(&mut self, keep: impl Fn(u32, i64, u32) -> bool) {
        self.merge();
        self.sorted.retain(|s| keep(s.user, s.at(), s.flags()));
        self.sorted.shrink_to(self.sorted.len() + self.sorted.len() / 8);
    }

    pub(crate) fn len(&self) -> usize {
        self.sorted.len() + self.fresh.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl FromIterator<(u32, i64, u32)> for LastSeen {
    fn from_iter<I: IntoIterator<Item = (u32, i64, u32)>>(pairs: I) -> LastSeen {
        let mut seen = LastSeen::default();
        for (user, at, flags) in pairs {
            let newest = seen.fresh.entry(user).or_insert((at, 0));
            *newest = (newest.0.max(at), newest.1 | flags);
        }
        seen.merge();
        seen
    }
}

impl FromIterator<(u32, i64)> for LastSeen {
    fn from_iter<I: IntoIterator<Item = (u32, i64)>>(pairs: I) -> LastSeen {
        pairs.into_iter().map(|(u, at)| (u, at, 0)).collect()
    }
}

/// Equal when they hold the same pairs, however they are split between the run and the newcomers.
impl PartialEq for LastSeen {
    fn eq(&self, other: &LastSeen) -> bool {
        let sorted = |l: &LastSeen| {
            let mut v: Vec<(u32, i64, u32)> = l.entries().collect();
            v.sort_unstable();
            v
        };
        sorted(self) == sorted(other)
    }
}

impl Eq for LastSeen {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_seen_keeps_the_newest_sign_in_per_user_across_merges() {
        let mut seen = LastSeen::default();
        for round in 0..3i64 {
            for user in (0..2_000u32).rev() {
                seen.note(user, 1_767_225_600_000 + round * 1000 + i64::from(user % 7), 1 << (user % 3));
            }
        }
        seen.note(5, 1, 0); // older than what is held: ignored
        assert_eq!(seen.len(), 2_000);
        assert_eq!(seen.get(5), Some(1_767_225_600_000 + 2000 + 5));
        assert_eq!(seen.get(2_000), None);
        let before = seen.clone();
        seen.retain(|user, _, _| user % 2 == 0);
        assert_eq!(seen.len(), 1_000);
        assert!(seen.fresh.is_empty(), "retain leaves one sorted run");
        assert_eq!(before, before.entries().collect::<LastSeen>());
        assert_eq!(Seen::new(1, -5, 0).at(), 0, "times before 1970 are clamped");
        let pair = Seen::new(1, MAX_TIME_MS, FLAG_BITS);
        assert_eq!((pair.at(), pair.flags()), (MAX_TIME_MS, FLAG_BITS), "time and flags never overlap");
        assert_eq!(before.count(0b001), 667);
        let mut cleared = before.clone();
        cleared.clear(0b011);
        assert_eq!((cleared.count(0b011), cleared.count(0b100), cleared.len()), (0, 666, 2_000));
        assert_eq!(cleared.get(5), before.get(5), "clearing flags keeps the time");
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
