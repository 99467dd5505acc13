//! The one policy for poisoned locks: recover the guard and go on. Every value this crate keeps under a
//! std Mutex is plain bookkeeping (counters, caches, maps) that stays valid if a holder panicked half-way;
//! skipping the work instead (no rate limiting, no status write) would be worse than a stale count.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, recovering it if a panicking holder poisoned it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
