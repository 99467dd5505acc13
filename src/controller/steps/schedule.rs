//! Step 3, schedule the sync: cancel a job that no longer fits (the spec or the credentials changed,
//! access broke), start one when it is due, and say when to look again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use kube::ResourceExt;

use super::validate::Validated;
use crate::controller::context::{Context, Options};
use crate::controller::jobs;
use crate::controller::shared::IntegrationKey;
use crate::controller::state::IntegrationState;
use crate::crd::{OktaIntegration, SYNC_REQUESTED_ANNOTATION};
use crate::sync::lock;

/// Whether a sync should start now (none is running).
pub(crate) fn due(st: &IntegrationState, generation: i64, new_request: bool, now: DateTime<Utc>) -> bool {
    new_request || st.attempted_generation != Some(generation) || st.next_sync_at.is_none_or(|t| now >= t)
}

/// When to reconcile again.
pub(crate) fn requeue(st: &IntegrationState, suspended: bool, now: DateTime<Utc>, options: &Options) -> Duration {
    match st.problem() {
        Some(p) if p.reason.stalled() => return options.stalled_recheck,
        Some(_) => return options.transient_recheck,
        None => {}
    }
    if st.access.is_none() {
        return options.transient_recheck;
    }
    if st.running.is_some() || suspended {
        // A finished job asks for a reconcile itself; this is only the safety net.
        return Duration::from_secs(600);
    }
    match st.next_sync_at {
        Some(t) => (t - now).to_std().unwrap_or_default().max(Duration::from_secs(1)),
        None => options.transient_recheck,
    }
}

/// Runs the step; returns when to reconcile again.
pub(crate) fn run(
    ctx: &Arc<Context>,
    key: &IntegrationKey,
    obj: &OktaIntegration,
    state: &Arc<Mutex<IntegrationState>>,
    validated: Option<Validated>,
    now: DateTime<Utc>,
) -> Duration {
    let generation = obj.metadata.generation.unwrap_or(0);
    let mut st = lock(state);
    let fingerprint = validated.as_ref().map(|v| v.fingerprint);
    // An unreadable Secret during an API server outage is no reason to stop a sync; other credentials,
    // a new spec or a problem that needs a person are.
    let blocked = st.problem().is_some_and(|p| p.reason.stalled());
    let stale = st.running.as_ref().is_some_and(|job| {
        job.generation != generation || fingerprint.is_some_and(|f| f != job.fingerprint) || blocked
    });
    if stale {
        tracing::info!("the spec or the credentials changed: cancelling the running sync");
        jobs::cancel(&mut st);
    }
    let requested = obj.annotations().get(SYNC_REQUESTED_ANNOTATION).cloned();
    let new_request = requested.is_some() && requested != st.last_handled_request;
    if let Some(v) = validated
        && !obj.spec.suspend
        && st.running.is_none()
        && due(&st, generation, new_request, now)
    {
        jobs::start(ctx, key, &mut st, obj, v, requested.filter(|_| new_request));
    }
    requeue(&st, obj.spec.suspend, now, &ctx.options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::conditions::Reason;
    use crate::controller::state::{AccessCheck, AccessKey, Problem};
    use crate::crd::AccessStatus;
    use crate::okta::Fingerprint;

    fn checked(problem: Option<Problem>) -> IntegrationState {
        IntegrationState {
            access: Some(AccessCheck {
                key: AccessKey {
                    origin: "https://acme.okta.com".into(),
                    fingerprint: Fingerprint([0; 8]),
                    generation: 1,
                },
                permissions: AccessStatus::default(),
                problem,
                checked_at: std::time::Instant::now(),
            }),
            ..IntegrationState::default()
        }
    }

    #[test]
    fn requeue_times() {
        let options = Options::default();
        let now = Utc::now();
        let cases: Vec<(IntegrationState, bool, Duration)> = vec![
            (IntegrationState::default(), false, options.transient_recheck),
            (checked(Some(Problem::new(Reason::InvalidToken, "x"))), false, options.stalled_recheck),
            (checked(Some(Problem::new(Reason::Unreachable, "x"))), false, options.transient_recheck),
            (checked(None), true, Duration::from_secs(600)),
            (
                IntegrationState { next_sync_at: Some(now + chrono::Duration::seconds(90)), ..checked(None) },
                false,
                Duration::from_secs(90),
            ),
            (
                IntegrationState { next_sync_at: Some(now - chrono::Duration::seconds(90)), ..checked(None) },
                false,
                Duration::from_secs(1),
            ),
            (
                IntegrationState { precheck: Some(Problem::new(Reason::SecretUnreadable, "x")), ..checked(None) },
                false,
                options.transient_recheck,
            ),
        ];
        for (i, (st, suspended, want)) in cases.into_iter().enumerate() {
            let got = requeue(&st, suspended, now, &options);
            assert!(got.abs_diff(want) < Duration::from_secs(2), "case {i}: {got:?} != {want:?}");
        }
    }

    #[test]
    fn a_sync_is_due_for_a_new_generation_a_new_request_or_its_time() {
        let now = Utc::now();
        let st = IntegrationState {
            attempted_generation: Some(2),
            next_sync_at: Some(now + chrono::Duration::hours(1)),
            ..IntegrationState::default()
        };
        assert!(!due(&st, 2, false, now));
        assert!(due(&st, 3, false, now));
        assert!(due(&st, 2, true, now));
        assert!(due(&st, 2, false, now + chrono::Duration::hours(2)));
    }
}
