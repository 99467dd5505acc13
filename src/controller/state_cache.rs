//! The engine's sync states between syncs, bounded: at rest an integration holds only what reconcile
//! needs, and its sync state comes back from this cache (the most recently used ones, up to
//! `--state-cache-mib`) or else from its checkpoint when its next sync starts. A job takes its state out
//! (no two jobs of one integration share it) and puts it back when it succeeds; a failed job's state is
//! dropped, as it may be half-fed.

use std::collections::HashMap;
use std::sync::Mutex;

use super::shared::IntegrationKey;
use crate::discovery::OrgState;
use crate::sync::lock;

struct Entry {
    uid: String,
    state: OrgState,
    bytes: usize,
    used: u64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<IntegrationKey, Entry>,
    bytes: usize,
    clock: u64,
}

/// Sync states by integration, least recently used evicted past the cap.
pub(crate) struct StateCache {
    cap_bytes: usize,
    inner: Mutex<Inner>,
}

/// What the cache holds, for the metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CacheUse {
    pub(crate) states: usize,
    pub(crate) bytes: usize,
}

impl StateCache {
    pub(crate) fn new(cap_bytes: usize) -> StateCache {
        StateCache { cap_bytes, inner: Mutex::new(Inner::default()) }
    }

    /// Takes the state of the integration with this uid out of the cache (None: load the checkpoint).
    pub(crate) fn take(&self, key: &IntegrationKey, uid: &str) -> Option<OrgState> {
        let mut inner = lock(&self.inner);
        let entry = inner.entries.remove(key)?;
        inner.bytes -= entry.bytes;
        (entry.uid == uid).then_some(entry.state)
    }

    /// Keeps a state after a successful sync, evicting the least recently used past the cap; a state
    /// larger than the whole cap is not kept. Returns how many states were evicted.
    pub(crate) fn put(&self, key: &IntegrationKey, uid: &str, state: OrgState) -> usize {
        let bytes = state.approx_bytes();
        let mut inner = lock(&self.inner);
        if let Some(old) = inner.entries.remove(key) {
            inner.bytes -= old.bytes;
        }
        if bytes > self.cap_bytes {
            return 0;
        }
        let mut evicted = 0;
        while inner.bytes + bytes > self.cap_bytes {
            let Some(oldest) = inner.entries.iter().min_by_key(|(_, e)| e.used).map(|(k, _)| k.clone()) else {
                break;
            };
            if let Some(e) = inner.entries.remove(&oldest) {
                inner.bytes -= e.bytes;
                evicted += 1;
            }
        }
        inner.clock += 1;
        let used = inner.clock;
        inner.bytes += bytes;
        inner.entries.insert(key.clone(), Entry { uid: uid.to_string(), state, bytes, used });
        evicted
    }

    /// Forgets an integration's state (deleted, replaced, out of scope).
    pub(crate) fn forget(&self, key: &IntegrationKey) {
        let mut inner = lock(&self.inner);
        if let Some(e) = inner.entries.remove(key) {
            inner.bytes -= e.bytes;
        }
    }

    pub(crate) fn usage(&self) -> CacheUse {
        let inner = lock(&self.inner);
        CacheUse { states: inner.entries.len(), bytes: inner.bytes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::StateKey;

    fn state(origin: &str) -> OrgState {
        OrgState::new(StateKey { origin: origin.into(), ..StateKey::default() })
    }

    #[test]
    fn least_recently_used_go_first_and_a_state_over_the_cap_is_not_kept() {
        let one = state("https://a.okta.com").approx_bytes();
        let cache = StateCache::new(one * 2 + one / 2);
        let (a, b, c) =
            (IntegrationKey::new("ns", "a"), IntegrationKey::new("ns", "b"), IntegrationKey::new("ns", "c"));
        assert_eq!(cache.put(&a, "ua", state("https://a.okta.com")), 0);
        assert_eq!(cache.put(&b, "ub", state("https://b.okta.com")), 0);
        assert_eq!(cache.put(&c, "uc", state("https://c.okta.com")), 1, "a, the oldest, goes");
        assert!(cache.take(&a, "ua").is_none());
        assert_eq!(cache.take(&b, "ub").map(|s| s.key.origin), Some("https://b.okta.com".into()));
        assert!(cache.take(&b, "ub").is_none(), "taken out: a second job finds nothing");
        assert!(cache.take(&c, "another uid").is_none(), "a recreated integration never gets the old state");
        assert_eq!(cache.usage(), CacheUse::default());
        let tiny = StateCache::new(one - 1);
        tiny.put(&a, "ua", state("https://a.okta.com"));
        assert_eq!(tiny.usage().states, 0, "larger than the cap: not kept");
    }
}
