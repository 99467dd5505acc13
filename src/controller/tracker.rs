//! The operator's own work in flight, as leaf types the context holds: how many sync jobs are alive (a
//! shutdown waits for none before the lease goes), and which OktaApps it is deleting itself (their watch
//! events cause no sync).

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::sync::lock;

#[derive(Default)]
struct Live {
    jobs: AtomicUsize,
    ended: Notify,
}

/// Counts live job tasks.
#[derive(Clone, Default)]
pub(crate) struct Tracker(Arc<Live>);

/// Held by a job task; dropped when it ends or is aborted.
pub(crate) struct Alive(Tracker);

impl Drop for Alive {
    fn drop(&mut self) {
        let live = &self.0.0;
        live.jobs.fetch_sub(1, Ordering::SeqCst);
        live.ended.notify_waiters();
    }
}

impl Tracker {
    pub(crate) fn enter(&self) -> Alive {
        self.0.jobs.fetch_add(1, Ordering::SeqCst);
        Alive(self.clone())
    }

    pub(crate) fn live(&self) -> usize {
        self.0.jobs.load(Ordering::SeqCst)
    }

    /// Waits until no job task is alive (or `timeout` passed); true when idle.
    pub(crate) async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let ended = self.0.ended.notified();
            if self.live() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, ended).await.is_err() {
                return self.live() == 0;
            }
        }
    }
}

/// Deletions announced and not yet seen; past this many the set is cleared (a missed watch event must
/// not let it grow for ever: at worst one extra sync).
const MAX_EXPECTED: usize = 100_000;

/// Names ("namespace/name") of OktaApps the operator is deleting itself.
#[derive(Default)]
pub(crate) struct ExpectedDeletions(Mutex<HashSet<String>>);

impl ExpectedDeletions {
    /// Called before the operator deletes an OktaApp.
    pub(crate) fn expect(&self, namespace: &str, name: &str) {
        let mut set = lock(&self.0);
        if set.len() >= MAX_EXPECTED {
            set.clear();
        }
        set.insert(format!("{namespace}/{name}"));
    }

    /// Whether the deletion was the operator's own (and forgets it).
    pub(crate) fn take(&self, namespace: &str, name: &str) -> bool {
        lock(&self.0).remove(&format!("{namespace}/{name}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operators_own_deletions_are_told_apart_and_the_set_stays_bounded() {
        let expected = ExpectedDeletions::default();
        expected.expect("team-a", "acme-0oa1");
        assert!(expected.take("team-a", "acme-0oa1"));
        assert!(!expected.take("team-a", "acme-0oa1"), "seen once");
        assert!(!expected.take("team-a", "acme-0oa2"), "a deletion by someone else");
        for i in 0..MAX_EXPECTED + 10 {
            expected.expect("ns", &format!("n{i}"));
        }
        assert!(lock(&expected.0).len() <= MAX_EXPECTED);
    }

    #[tokio::test]
    async fn idle_once_every_job_has_ended() {
        let tracker = Tracker::default();
        let alive = tracker.enter();
        assert_eq!(tracker.live(), 1);
        assert!(!tracker.wait_idle(Duration::from_millis(20)).await, "a job is still alive");
        let waiter = tokio::spawn({
            let t = tracker.clone();
            async move { t.wait_idle(Duration::from_secs(5)).await }
        });
        drop(alive);
        assert!(waiter.await.unwrap_or(false));
    }
}
