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
    new_request || st.job.attempted_generation != Some(generation) || st.record.next_sync_at.is_none_or(|t| now >= t)
}

/// When to reconcile again.
pub(crate) fn requeue(st: &IntegrationState, suspended: bool, now: DateTime<Utc>, options: &Options) -> Duration {
    match st.problem() {
        Some(p) if p.reason.stalled() => return options.stalled_recheck,
        Some(_) => return options.transient_recheck,
        None => {}
    }
    if st.access.check.is_none() {
        return options.transient_recheck;
    }
    if st.job.running.is_some() || suspended {
        // A finished job asks for a reconcile itself; this is only the safety net.
        return Duration::from_secs(600);
    }
    match st.record.next_sync_at {
        Some(t) => (t - now).to_std().unwrap_or_default().max(Duration::from_secs(1)),
        None => options.transient_recheck,
    }
}

/// What the step decided: cancel the running job, start one (for a sync request, if one is new).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) cancel: bool,
    pub(crate) start: Option<Start>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Start {
    /// The sync request (annotation value) this job answers, if it answers a new one.
    pub(crate) request: Option<String>,
}

/// Decides from what the integration shows now; changes nothing.
pub(crate) fn plan(
    st: &IntegrationState,
    obj: &OktaIntegration,
    validated: Option<&Validated>,
    now: DateTime<Utc>,
) -> Plan {
    let generation = obj.metadata.generation.unwrap_or(0);
    let fingerprint = validated.map(|v| v.fingerprint);
    // An unreadable Secret during an API server outage is no reason to stop a sync; other credentials,
    // a new spec or a problem that needs a person are.
    let blocked = st.problem().is_some_and(|p| p.reason.stalled());
    let cancel = st.job.running.as_ref().is_some_and(|job| {
        job.generation != generation || fingerprint.is_some_and(|f| f != job.fingerprint) || blocked
    });
    let requested = obj.annotations().get(SYNC_REQUESTED_ANNOTATION).cloned();
    let new_request = requested.is_some() && requested != st.record.last_handled_request;
    let idle = cancel || st.job.running.is_none();
    let start = (validated.is_some() && !obj.spec.suspend && idle && due(st, generation, new_request, now))
        .then(|| Start { request: requested.filter(|_| new_request) });
    Plan { cancel, start }
}

/// Runs the step: carries out the plan on the job slot; returns when to reconcile again.
pub(crate) fn run(
    ctx: &Arc<Context>,
    key: &IntegrationKey,
    obj: &OktaIntegration,
    state: &Arc<Mutex<IntegrationState>>,
    validated: Option<Validated>,
    now: DateTime<Utc>,
) -> Duration {
    let mut st = lock(state);
    let plan = plan(&st, obj, validated.as_ref(), now);
    if plan.cancel {
        tracing::info!("the spec or the credentials changed: cancelling the running sync");
        st.job.stop();
    }
    if let (Some(start), Some(validated)) = (plan.start, validated) {
        let keepable = st.record.keepable();
        let job = jobs::start(ctx, key, obj, validated, start.request, keepable);
        st.job.begin(job);
    }
    requeue(&st, obj.spec.suspend, now, &ctx.options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::conditions::Reason;
    use crate::controller::state::{AccessCheck, AccessKey, AccessState, Problem};
    use crate::crd::AccessStatus;
    use crate::okta::Fingerprint;

    fn checked(problem: Option<Problem>) -> IntegrationState {
        let check = Some(AccessCheck {
            key: AccessKey { origin: "https://acme.okta.com".into(), fingerprint: Fingerprint([0; 8]), generation: 1 },
            permissions: AccessStatus::default(),
            problem,
            checked_at: std::time::Instant::now(),
        });
        IntegrationState { access: AccessState { check, ..AccessState::default() }, ..IntegrationState::default() }
    }

    fn next_sync_in(seconds: i64, mut st: IntegrationState) -> IntegrationState {
        st.record.next_sync_at = Some(Utc::now() + chrono::Duration::seconds(seconds));
        st
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
            (next_sync_in(90, checked(None)), false, Duration::from_secs(90)),
            (next_sync_in(-90, checked(None)), false, Duration::from_secs(1)),
            (
                {
                    let mut st = checked(None);
                    st.access.precheck = Some(Problem::new(Reason::SecretUnreadable, "x"));
                    st
                },
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
        let mut st = next_sync_in(3600, IntegrationState::default());
        st.job.attempted_generation = Some(2);
        assert!(!due(&st, 2, false, now));
        assert!(due(&st, 3, false, now));
        assert!(due(&st, 2, true, now));
        assert!(due(&st, 2, false, now + chrono::Duration::hours(2)));
    }

    fn validated(fingerprint: u8) -> Validated {
        let obj = crate::controller::testing::integration();
        let org = crate::okta::DomainPolicy::default().check(&obj.spec.domain).expect("an Okta domain");
        let clock = crate::discovery::Clock::System;
        let (config, interval) = super::super::validate::spec_settings(&obj, &org.origin(), &clock).expect("settings");
        let token = crate::okta::ApiToken::parse(b"00abcSECRET").expect("a token");
        let (auth, kind) = (crate::okta::Auth::Ssws(token), crate::discovery::CredentialKind::ApiToken);
        Validated { org, auth, kind, fingerprint: Fingerprint([fingerprint; 8]), config, interval }
    }

    fn with_job(mut st: IntegrationState, rt: &tokio::runtime::Runtime, generation: i64) -> IntegrationState {
        let abort = rt.spawn(std::future::pending::<()>()).abort_handle();
        let fingerprint = Fingerprint([1; 8]);
        st.job.begin(crate::controller::state::RunningJob {
            id: 1,
            generation,
            fingerprint,
            started: Utc::now(),
            abort,
        });
        st
    }

    #[test]
    fn the_plan_cancels_what_no_longer_fits_and_starts_what_is_due() {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let now = Utc::now();
        let obj = crate::controller::testing::integration(); // generation 1
        let start = |request: Option<&str>| Some(Start { request: request.map(str::to_string) });
        let idle = next_sync_in(3600, checked(None));
        let synced_once = || {
            let mut st = next_sync_in(3600, checked(None));
            st.job.attempted_generation = Some(1);
            st
        };
        let synced = synced_once();
        let mut requested = obj.clone();
        requested.metadata.annotations =
            Some([(SYNC_REQUESTED_ANNOTATION.to_string(), "r2".to_string())].into_iter().collect());
        let mut suspended = obj.clone();
        suspended.spec.suspend = true;
        let mut stalled = with_job(checked(None), &rt, 1);
        stalled.access.precheck = Some(Problem::new(Reason::SecretNotFound, "gone"));
        let cases = [
            (
                "never synced this generation",
                &idle,
                &obj,
                Some(validated(1)),
                Plan { cancel: false, start: start(None) },
            ),
            ("synced, not yet due", &synced, &obj, Some(validated(1)), Plan::default()),
            (
                "a new request",
                &synced,
                &requested,
                Some(validated(1)),
                Plan { cancel: false, start: start(Some("r2")) },
            ),
            ("suspended", &idle, &suspended, Some(validated(1)), Plan::default()),
            ("blocked", &idle, &obj, None, Plan::default()),
            ("running for this spec", &with_job(checked(None), &rt, 1), &obj, Some(validated(1)), Plan::default()),
            (
                "running for an older spec",
                &with_job(checked(None), &rt, 0),
                &obj,
                Some(validated(1)),
                Plan { cancel: true, start: start(None) },
            ),
            (
                "running with rotated credentials",
                &with_job(synced_once(), &rt, 1),
                &obj,
                Some(validated(2)),
                Plan { cancel: true, start: None },
            ),
            ("running, then a problem that needs a person", &stalled, &obj, None, Plan { cancel: true, start: None }),
        ];
        for (name, st, obj, validated, want) in cases {
            assert_eq!(plan(st, obj, validated.as_ref(), now), want, "{name}");
        }
    }
}
