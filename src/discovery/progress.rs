//! Live counters of a running sync (a leaf: the engine and the log reader both feed it).

use std::sync::atomic::AtomicU64;

/// Live counters a caller can show while a sync runs.
#[derive(Default, Debug)]
pub(crate) struct Progress {
    pub(crate) apps_total: AtomicU64,
    pub(crate) apps_done: AtomicU64,
    pub(crate) users: AtomicU64,
    pub(crate) events: AtomicU64,
}
