//! Which replicas are alive and which integrations each owns: rendezvous (highest random weight) hashing
//! of an integration's namespace/name over the live replicas of its pool (an integration labelled
//! `dti.dev/shard-pool` is pinned to the replicas started with that `--shard-pool`; the others share the
//! default pool), and the handover rule that keeps two replicas from writing one integration (see
//! `shards`). Imports nothing else from the controller.

use std::collections::{BTreeMap, VecDeque};
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

/// The one of `members` that owns `key`: the one with the highest weight.
fn highest<'a>(members: impl Iterator<Item = &'a str>, key: &str) -> Option<&'a str> {
    members.max_by_key(|m| (weight(m, key), *m))
}

pub(crate) fn key_text(key: &IntegrationKey) -> String {
    format!("{}/{}", key.namespace, key.name)
}

/// A live replica and the pool it serves ("" is the default pool).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Member {
    pub(crate) name: String,
    pub(crate) pool: String,
}

/// What one round saw: the live replicas, and the integrations pinned to a pool (by namespace/name).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct View {
    members: Vec<Member>,
    pins: BTreeMap<String, String>,
}

impl View {
    pub(crate) fn new(mut members: Vec<Member>, pins: BTreeMap<String, String>) -> View {
        members.sort();
        members.dedup_by(|a, b| a.name == b.name);
        View { members, pins }
    }

    /// The owner of `key`: the highest-weight live replica of its pool (none while that pool has none).
    fn owner(&self, key: &str) -> Option<&str> {
        let pool = self.pins.get(key).map_or("", String::as_str);
        highest(self.members.iter().filter(|m| m.pool == pool).map(|m| m.name.as_str()), key)
    }

    fn has(&self, name: &str) -> bool {
        self.members.iter().any(|m| m.name == name)
    }

    /// Pinned integrations whose pool has no live replica: nobody syncs them.
    pub(crate) fn stranded(&self) -> Vec<(&str, &str)> {
        let served = |pool: &str| self.members.iter().any(|m| m.pool == pool);
        self.pins.iter().filter(|(_, p)| !served(p)).map(|(k, p)| (k.as_str(), p.as_str())).collect()
    }
}

struct Views {
    /// What the last round saw.
    current: View,
    /// Views replaced within the handover time, with when they were replaced.
    replaced: VecDeque<(Instant, View)>,
    /// When this replica joined, until the handover time has passed: replicas started with it may not
    /// have a Lease yet (each would see itself alone and take everything), so it takes nothing meanwhile.
    joining: Option<Instant>,
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
        let views = Views { current: View::default(), replaced: VecDeque::new(), joining: None };
        Membership { me, handover, views: Mutex::new(views) }
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
        let joined = v.joining.is_some_and(|at| now.saturating_duration_since(at) >= handover);
        if joined {
            v.joining = None;
        }
        v.replaced.len() < before || joined
    }

    /// Records the view seen now; true when it changed.
    pub(crate) fn update(&self, live: View, now: Instant) -> bool {
        let mut v = lock(&self.views);
        if v.current == live {
            return false;
        }
        if v.current.members.is_empty() {
            v.joining = Some(now);
        } else {
            let before = std::mem::take(&mut v.current);
            v.replaced.push_back((now, before));
        }
        v.current = live;
        true
    }

    /// The live replicas' names.
    pub(crate) fn members(&self) -> Vec<String> {
        lock(&self.views).current.members.iter().map(|m| m.name.clone()).collect()
    }

    /// The owner of `key` in the current view.
    #[cfg(test)]
    pub(crate) fn owner_of(&self, key: &IntegrationKey) -> Option<String> {
        lock(&self.views).current.owner(&key_text(key)).map(str::to_string)
    }

    /// Whether this replica may sync and write `key` now: it owns it in the current view, and in every
    /// view replaced within the handover time it owned it too or its owner then is gone now.
    pub(crate) fn owns(&self, key: &IntegrationKey, now: Instant) -> bool {
        let text = key_text(key);
        let v = lock(&self.views);
        if v.current.owner(&text) != Some(self.me.as_str()) {
            return false;
        }
        if v.joining.is_some_and(|at| now.saturating_duration_since(at) < self.handover) {
            return false;
        }
        v.replaced
            .iter()
            .filter(|(at, _)| now.saturating_duration_since(*at) < self.handover)
            .all(|(_, then)| then.owner(&text).is_none_or(|o| o == self.me || !v.current.has(o)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: usize) -> IntegrationKey {
        IntegrationKey::new("ns", &format!("org-{i}"))
    }

    fn member(name: &str, pool: &str) -> Member {
        Member { name: name.into(), pool: pool.into() }
    }

    /// A view of replicas in the default pool, nothing pinned.
    fn members(names: &[&str]) -> View {
        View::new(names.iter().map(|n| member(n, "")).collect(), BTreeMap::new())
    }

    fn owner<'a>(view: &'a View, key: &str) -> Option<&'a str> {
        view.owner(key)
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
    fn replicas_started_together_each_seeing_itself_alone_take_nothing_until_the_handover() {
        let t0 = Instant::now();
        let handover = Duration::from_secs(25);
        let (a, b) = (Membership::new("a".into(), handover), Membership::new("b".into(), handover));
        // Each one's first round ran before the other's Lease existed.
        assert!(a.update(members(&["a"]), t0) && b.update(members(&["b"]), t0));
        assert!((0..50).map(key).all(|k| !a.owns(&k, t0) && !b.owns(&k, t0 + Duration::from_secs(24))));
        // The next rounds see both; after the handover each owns its share, and nothing is owned twice.
        let t1 = t0 + Duration::from_secs(2);
        assert!(a.update(members(&["a", "b"]), t1) && b.update(members(&["a", "b"]), t1));
        assert!(!a.expire(t0 + Duration::from_secs(24)));
        assert!(a.expire(t0 + handover), "the end of the join wait moves integrations");
        let at = t1 + handover;
        assert!((0..50).map(key).all(|k| a.owns(&k, at) != b.owns(&k, at)));
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
    fn alone_a_replica_owns_everything_after_the_join_wait() {
        let now = Instant::now();
        let handover = Duration::from_secs(15);
        let m = Membership::new("solo".into(), handover);
        assert!(!m.owns(&key(1), now), "nothing before the first round");
        m.update(members(&["solo"]), now);
        assert!(!m.owns(&key(1), now), "another replica may be starting too");
        assert!((0..20).map(key).all(|k| m.owns(&k, now + handover)));
    }

    #[test]
    fn a_pinned_integration_goes_to_its_pool_and_the_others_never_do() {
        let now = Instant::now();
        let pins = BTreeMap::from([(key_text(&key(1)), "vip".to_string()), (key_text(&key(2)), "none".to_string())]);
        let view = View::new(vec![member("a", ""), member("b", ""), member("v", "vip")], pins);
        let m = Membership::new("v".into(), Duration::from_secs(15));
        m.update(view.clone(), now);
        let later = now + Duration::from_secs(15);
        assert!(m.owns(&key(1), later), "the only replica of the pool owns what is pinned to it");
        assert!((3..40).map(key).all(|k| !m.owns(&k, later)), "and nothing else");
        assert_eq!(view.owner(&key_text(&key(2))), None, "a pool with no replica: nobody");
        assert_eq!(view.stranded(), vec![(key_text(&key(2)).as_str(), "none")]);
        let unpinned: Vec<Option<&str>> = (3..40).map(|i| view.owner(&key_text(&key(i)))).collect();
        assert!(unpinned.iter().all(|o| matches!(o, Some("a") | Some("b"))), "{unpinned:?}");
    }

    #[test]
    fn pinning_moves_an_integration_only_after_the_handover_and_releases_it_at_once() {
        let t0 = Instant::now();
        let handover = Duration::from_secs(15);
        let k = key(7);
        let plain = View::new(vec![member("a", ""), member("v", "vip")], BTreeMap::new());
        let pinned = View::new(plain.members.clone(), BTreeMap::from([(key_text(&k), "vip".to_string())]));
        let (a, v) = (Membership::new("a".into(), handover), Membership::new("v".into(), handover));
        for m in [&a, &v] {
            m.update(plain.clone(), t0);
            m.expire(t0 + handover);
        }
        assert!(a.owns(&k, t0 + handover) && !v.owns(&k, t0 + handover));
        let t1 = t0 + Duration::from_secs(60);
        assert!(v.update(pinned.clone(), t1), "the pin is a change of view");
        assert!(!v.owns(&k, t1 + Duration::from_secs(14)), "a, alive, may not have seen the label yet");
        assert!(v.owns(&k, t1 + handover));
        assert!(a.update(pinned, t1 + Duration::from_secs(2)));
        assert!(!a.owns(&k, t1 + Duration::from_secs(2)), "a gives it up as soon as it sees the pin");
    }
}
