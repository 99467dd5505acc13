//! The write gate: every status, event, OktaApp and checkpoint write passes it. It is open while this
//! process's lease holds (the leader's, or a shard's own) and, when sharded, only for the integrations
//! this replica owns.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::membership::Membership;
use super::shared::IntegrationKey;
use crate::crd::OktaIntegration;
use crate::sync::lock;

/// A write was refused: this process does not (or may no longer) hold the lease.
#[derive(Debug, thiserror::Error)]
#[error("not the leader: writes are fenced off")]
pub(crate) struct Fenced;

struct FenceState {
    leased: bool,
    valid_until: Mutex<Option<Instant>>,
    closed: AtomicBool,
}

/// The write gate every status, event, OktaApp and checkpoint write passes: open while this process's
/// lease holds and, when sharded, only for the integrations this replica owns.
#[derive(Clone)]
pub(crate) struct Fence {
    state: Arc<FenceState>,
    shards: Option<Arc<Membership>>,
}

impl Fence {
    /// Without leader election: always open.
    pub(crate) fn open() -> Fence {
        let state = FenceState { leased: false, valid_until: Mutex::new(None), closed: AtomicBool::new(false) };
        Fence { state: Arc::new(state), shards: None }
    }

    pub(super) fn leased() -> Fence {
        let state = FenceState { leased: true, valid_until: Mutex::new(None), closed: AtomicBool::new(false) };
        Fence { state: Arc::new(state), shards: None }
    }

    /// The same gate, open per integration only where `membership` says this replica owns it.
    pub(crate) fn sharded(&self, membership: Arc<Membership>) -> Fence {
        Fence { state: self.state.clone(), shards: Some(membership) }
    }

    /// Open for writes that belong to no one integration.
    pub(crate) fn check(&self) -> Result<(), Fenced> {
        if self.state.closed.load(Ordering::SeqCst) {
            return Err(Fenced);
        }
        if self.state.leased && lock(&self.state.valid_until).is_none_or(|until| Instant::now() >= until) {
            return Err(Fenced);
        }
        Ok(())
    }

    /// Open for writes of integration `key`: the lease holds and, when sharded, this replica owns it.
    pub(crate) fn check_for(&self, key: &IntegrationKey) -> Result<(), Fenced> {
        self.check()?;
        if self.owns(key) { Ok(()) } else { Err(Fenced) }
    }

    /// Open for writes of integration `obj` (see [`Fence::check_for`]).
    pub(crate) fn check_integration(&self, obj: &OktaIntegration) -> Result<(), Fenced> {
        match IntegrationKey::of(obj) {
            Some(key) => self.check_for(&key),
            None => Err(Fenced), // the API server always sets a namespace: nothing to write for such an object
        }
    }

    /// Whether a write of `key` refused now may be allowed soon: the fence is not shut for good and this
    /// replica still owns `key`, so only the lease's renewal is late.
    pub(crate) fn may_reopen_for(&self, key: &IntegrationKey) -> bool {
        !self.state.closed.load(Ordering::SeqCst) && self.owns(key)
    }

    /// Whether this replica syncs `key` (always without sharding).
    pub(crate) fn owns(&self, key: &IntegrationKey) -> bool {
        self.shards.as_ref().is_none_or(|m| m.owns(key, Instant::now()))
    }

    /// This replica's shard identity, when sharded.
    pub(crate) fn shard(&self) -> Option<&str> {
        self.shards.as_deref().map(Membership::me)
    }

    pub(super) fn extend(&self, until: Instant) {
        let mut valid = lock(&self.state.valid_until);
        *valid = Some(valid.map_or(until, |v| v.max(until)));
    }

    /// Closes the gate for good (lease lost, or shutting down).
    pub(crate) fn close(&self) {
        self.state.closed.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_fence_opens_only_within_the_renew_deadline() {
        assert!(Fence::open().check().is_ok());
        let f = Fence::leased();
        assert!(f.check().is_err(), "closed before the first renewal");
        f.extend(Instant::now() + Duration::from_secs(5));
        assert!(f.check().is_ok());
        f.extend(Instant::now() - Duration::from_secs(1));
        assert!(f.check().is_ok(), "an older deadline never shortens a newer one");
        f.close();
        assert!(f.check().is_err());
        let stale = Fence::leased();
        stale.extend(Instant::now() - Duration::from_millis(1));
        assert!(stale.check().is_err(), "past its deadline the fence is shut without any renewal");
    }

    #[test]
    fn a_lapsed_fence_may_reopen_and_one_shut_for_good_may_not() {
        let key = IntegrationKey::new("team-a", "acme");
        let lapsed = Fence::leased();
        lapsed.extend(Instant::now() - Duration::from_millis(1));
        assert!(lapsed.check_for(&key).is_err() && lapsed.may_reopen_for(&key), "a late renewal may still come");
        lapsed.close();
        assert!(!lapsed.may_reopen_for(&key), "the lease is lost: nothing reopens it");
        let membership = Arc::new(Membership::new("r1".into(), Duration::from_secs(15)));
        let elsewhere = Fence::leased().sharded(membership);
        assert!(!elsewhere.may_reopen_for(&key), "not this replica's integration (it owns none yet)");
    }
}
