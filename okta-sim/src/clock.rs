//! okta-sim's time: the system's, plus an offset that a test moves forward (only when started with
//! --movable-clock), so months of an org's life pass in minutes. Rate-limit windows, tokens and nonces
//! stay on the system clock: they pace real requests.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};

#[derive(Default)]
pub struct SimClock {
    movable: bool,
    offset_ms: AtomicI64,
}

impl SimClock {
    pub fn new(movable: bool) -> SimClock {
        SimClock { movable, offset_ms: AtomicI64::new(0) }
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves the clock forward to `to`; never back (Okta's log only grows).
    pub fn advance_to(&self, to: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
        if !self.movable {
            return Err("the clock is fixed: start okta-sim with --movable-clock".into());
        }
        let now = self.now();
        if to < now {
            return Err(format!("the clock only moves forward (it is {})", now.to_rfc3339()));
        }
        self.offset_ms.fetch_add((to - now).num_milliseconds(), Ordering::Relaxed);
        Ok(self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_forward_only_and_only_when_movable() {
        let fixed = SimClock::new(false);
        assert!(fixed.advance_to(Utc::now() + chrono::Duration::days(1)).is_err());
        let clock = SimClock::new(true);
        let later = Utc::now() + chrono::Duration::days(40);
        let now = clock.advance_to(later).unwrap_or_default();
        assert!((now - later).num_seconds().abs() < 2);
        assert!(clock.advance_to(later - chrono::Duration::days(1)).is_err());
    }
}
