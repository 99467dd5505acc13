//! Which replicas are alive and which integrations each owns: rendezvous (highest random weight) hashing
//! of an integration's namespace/name over the live replicas, and the handover rule that keeps two
//! replicas from writing one integration (see `shards`). Imports nothing else from the controller.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::shared::IntegrationKey;
use crate::sync::lock;

/// The rendezvous weight of `member` for `key`: the first 8 bytes of SHA-256 over both (the same on
/// every replica and every build, unlike std's hasher).
fn weight(member: &str, key: &str) -> u64 {
    let digest = Sha256::new().chain_update(member).chain_update([0]).chain_update(key).finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The member that owns `key` among `members`: the one with the highest weight.
pub(crate) fn owner<'a>(members: &'a [String], key: &str) -> Option<&'a str> {
    members.iter().max_by_key(|m| (weight(m, key), m.as_str())).map(String::as_str)
}

fn key_text(key: &IntegrationKey) -> String {
    format!("{}/{}", key.namespace, key.name)
}

struct Views {
    /// The live members now, sorted.
    current: Vec<String>,
    /// Views replaced within the handover time, with when they were replaced.
    replaced: VecDeque<(Instant, Vec<String>)>,
}

/// Which replicas are alive, as this replica last saw them, and what it may therefore write.
pub(crate) struct Membership {
    me: String,
    handover: Duration,
    views: Mutex<Views>,
}

impl Membership {
    /// Before the first round this replica owns nothing.
    pub(crate) fn new(me: String, handover: Duration) -> Membership {
        Membership { me, handover, views: Mutex::new(Views { current: Vec::new(), replaced: VecDeque::new() }) }
    }

    pub(crate) fn me(&self) -> &str {
        &self.me
    }

    /// Forgets views replaced longer than the handover time ago; true when one went (integrations that
    /// waited for it may be taken now).
    pub(crate) fn expire(&self, now: Instant) -> bool {
        let mut v = lock(&self.views);
        let before = v.replaced.len();
        let handover = self.handover;
        v.replaced.retain(|(at, _)| now.saturating_duration_since(*at) < handover);
        v.replaced.len() < before
    }

    /// Records the live members seen now; true when they changed.
    pub(crate) fn update(&self, mut live: Vec<String>, now: Instant) -> bool {
        live.sort();
        live.dedup();
        let mut v = lock(&self.views);
        if v.current == live {
            return false;
        }
        // Joining: the view before we were there had everyone else, who may own what is now ours.
        let before = if v.current.is_empty() {
            live.iter().filter(|m| **m != self.me).cloned().collect()
        } else {
            std::mem::take(&mut v.current)
        };
        v.replaced.push_back((now, before));
        v.current = live;
        true
    }

    pub(crate) fn members(&self) -> Vec<String> {
        lock(&self.views).current.clone()
    }

    /// The owner of `key` in the current view.
    #[cfg(test)]
    pub(crate) fn owner_of(&self, key: &IntegrationKey) -> Option<String> {
        owner(&lock(&self.views).current, &key_text(key)).map(str::to_string)
    }

    /// Whether this replica may sync and write `key` now: it owns it in the current view, and in every
    /// view replaced within the handover time it owned it too or its owner then is gone now.
    pub(crate) fn owns(&self, key: &IntegrationKey, now: Instant) -> bool {
        let text = key_text(key);
        let v = lock(&self.views);
        if owner(&v.current, &text) != Some(self.me.as_str()) {
            return false;
        }
        v.replaced.iter().filter(|(at, _)| now.saturating_duration_since(*at) < self.handover).all(|(_, members)| {
            owner(members, &text)
                .is_none_or(|o| o == self.me || v.current.binary_search_by(|m| m.as_str().cmp(o)).is_err())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn key(i: usize) -> IntegrationKey {
        IntegrationKey::new("ns", &format!("org-{i}"))
    }

    fn members(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn rendezvous_spreads_evenly_and_moves_only_what_it_must() {
        let three = members(&["a", "b", "c"]);
        let four = members(&["a", "b", "c", "d"]);
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let mut moved = 0;
        for i in 0..3000 {
            let k = key_text(&key(i));
            let (before, after) = (owner(&three, &k).unwrap_or(""), owner(&four, &k).unwrap_or(""));
            *counts.entry(before).or_default() += 1;
            if before != after {
                assert_eq!(after, "d", "a joiner takes from others, others never swap among themselves");
                moved += 1;
            }
            let two = members(&["a", "c"]);
            if before != "b" {
                assert_eq!(owner(&two, &k), Some(before), "b leaving moves only b's");
            }
        }
        assert!(counts.values().all(|&n| (900..=1100).contains(&n)), "{counts:?}");
        assert!((600..=900).contains(&moved), "about a quarter move to the fourth: {moved}");
    }

    #[test]
    fn a_live_owners_integrations_are_taken_only_after_the_handover_time() {
        let t0 = Instant::now();
        let handover = Duration::from_secs(15);
        let b = Membership::new("b".into(), handover);
        // b joins a group where a is alive: whatever it now owns, a may still be writing.
        assert!(b.update(members(&["a", "b"]), t0));
        let mine: Vec<IntegrationKey> = (0..50).map(key).filter(|k| b.owner_of(k).as_deref() == Some("b")).collect();
        assert!(!mine.is_empty());
        assert!(mine.iter().all(|k| !b.owns(k, t0 + Duration::from_secs(14))), "a has not noticed yet");
        assert!(mine.iter().all(|k| b.owns(k, t0 + handover)));
        // a dies (its Lease unchanged for its duration): its integrations are b's at once.
        let t1 = t0 + Duration::from_secs(30);
        assert!(b.update(members(&["b"]), t1));
        assert!((0..50).map(key).all(|k| b.owns(&k, t1)), "a dead owner's fence is already shut");
        // c joins: b gives c's up at once.
        let t2 = t1 + Duration::from_secs(30);
        assert!(b.update(members(&["b", "c"]), t2));
        let to_c: Vec<IntegrationKey> = (0..50).map(key).filter(|k| b.owner_of(k).as_deref() == Some("c")).collect();
        assert!(!to_c.is_empty() && to_c.iter().all(|k| !b.owns(k, t2)));
        assert!(!b.update(members(&["c", "b"]), t2), "the same members in another order are no change");
    }

    #[test]
    fn alone_a_replica_owns_everything_at_once() {
        let now = Instant::now();
        let m = Membership::new("solo".into(), Duration::from_secs(15));
        assert!(!m.owns(&key(1), now), "nothing before the first round");
        m.update(members(&["solo"]), now);
        assert!((0..20).map(key).all(|k| m.owns(&k, now)));
    }
}
