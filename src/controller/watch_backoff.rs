//! How every watch retries: one backoff for the OktaIntegration, Secret, OktaApp and AppContract watches
//! and the controllers' triggers, so none lists again at once while the API server is down.

use std::time::Duration;

/// Watch retries: 200 ms doubling to at most 3 s, with full jitter, starting over after a success.
#[derive(Clone, Debug, Default)]
pub(crate) struct CappedBackoff {
    attempt: u32,
}

const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(3);

impl Iterator for CappedBackoff {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        use rand::Rng;
        let ceiling = BACKOFF_MIN.saturating_mul(1 << self.attempt.min(8)).min(BACKOFF_MAX);
        self.attempt = self.attempt.saturating_add(1);
        Some(Duration::from_secs_f64(rand::rng().random_range(BACKOFF_MIN.as_secs_f64() / 2.0..=ceiling.as_secs_f64())))
    }
}

impl kube::runtime::utils::Backoff for CappedBackoff {
    fn reset(&mut self) {
        self.attempt = 0;
    }
}

pub(crate) fn backoff() -> CappedBackoff {
    CappedBackoff::default()
}
