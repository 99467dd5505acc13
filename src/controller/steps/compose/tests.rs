//! Status composition, table-driven: each state of an integration and every condition it shows.

use super::*;
use crate::controller::conditions::Reason;
use crate::controller::state::{
    AccessCheck, AccessKey, AccessState, JobSlot, Problem, Results, RunningJob, SyncRecord,
};
use crate::crd::{OktaIntegrationSpec, Summary};
use crate::okta::Fingerprint;

fn integration(suspend: bool, generation: i64) -> OktaIntegration {
    let spec: OktaIntegrationSpec = serde_json::from_value(serde_json::json!({
        "domain": "acme.okta.com",
        "credentials": {"apiToken": {"secretRef": {"name": "okta"}}},
        "suspend": suspend,
        "maxAppsInStatus": 2,
    }))
    .expect("spec");
    let mut obj = OktaIntegration::new("acme", spec);
    obj.metadata.generation = Some(generation);
    obj
}

fn access(problem: Option<Problem>) -> Option<AccessCheck> {
    Some(AccessCheck {
        key: AccessKey { origin: "https://acme.okta.com".into(), fingerprint: Fingerprint([1; 8]), generation: 1 },
        permissions: crate::crd::AccessStatus::default(),
        problem,
        checked_at: std::time::Instant::now(),
    })
}

fn last(result: SyncResult, message: &str) -> Option<LastSync> {
    Some(LastSync {
        started_at: time(Utc::now()),
        completed_at: Some(time(Utc::now())),
        duration_seconds: Some(1.0),
        result,
        mode: None,
        api_requests: 5,
        rate_limit_wait_seconds: 0.0,
        users_scanned: 1,
        events_scanned: 1,
        skipped_records: 0,
        message: Some(message.into()),
    })
}

fn results(generation: i64) -> Option<Results> {
    Some(Results {
        summary: Summary { apps: 3, ..Summary::default() },
        apps: vec![],
        unused_apps: vec![],
        apps_total: 3,
        generation: Some(generation),
    })
}

fn running(rt: &tokio::runtime::Runtime) -> Option<RunningJob> {
    let handle = rt.spawn(std::future::pending::<()>());
    Some(RunningJob {
        id: 1,
        generation: 1,
        fingerprint: Fingerprint([1; 8]),
        started: Utc::now(),
        abort: handle.abort_handle(),
    })
}

/// (type, status, reason) of every condition, in status order.
fn shown(st: &IntegrationState, obj: &OktaIntegration) -> Vec<(String, String, String)> {
    status(st, obj, Utc::now()).conditions.into_iter().map(|c| (c.type_, c.status, c.reason)).collect()
}

fn want(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    list.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect()
}

/// A state, the object, and the conditions (type, status, reason) status must show for them.
type Case = (&'static str, IntegrationState, OktaIntegration, Vec<(&'static str, &'static str, &'static str)>);

/// Before access was checked, and the first sync.
fn before_any_sync(rt: &tokio::runtime::Runtime) -> Vec<Case> {
    let ok = |st: IntegrationState| IntegrationState {
        access: AccessState { check: access(None), ..AccessState::default() },
        ..st
    };
    vec![
        (
            "not checked yet",
            IntegrationState::default(),
            integration(false, 1),
            vec![
                ("Ready", "False", "Progressing"),
                ("AccessValidated", "False", "NotChecked"),
                ("Synced", "False", "Pending"),
                ("Reconciling", "True", "Progressing"),
            ],
        ),
        (
            "first sync running",
            ok(IntegrationState {
                job: JobSlot { running: running(rt), ..JobSlot::default() },
                ..IntegrationState::default()
            }),
            integration(false, 1),
            vec![
                ("Ready", "False", "Progressing"),
                ("AccessValidated", "True", "Valid"),
                ("Synced", "False", "InProgress"),
                ("Reconciling", "True", "Progressing"),
            ],
        ),
    ]
}

/// A state whose precheck (Secret, domain, spec) found `problem`.
fn prechecked(problem: Problem) -> IntegrationState {
    IntegrationState { access: AccessState { precheck: Some(problem), ..AccessState::default() }, ..Default::default() }
}

/// A state whose access check found `problem`.
fn rejected(problem: Problem) -> IntegrationState {
    IntegrationState {
        access: AccessState { check: access(Some(problem)), ..AccessState::default() },
        ..Default::default()
    }
}

/// A Secret or the credentials in it that do not get through.
fn credential_problems() -> Vec<Case> {
    vec![
        (
            "secret missing",
            prechecked(Problem::new(Reason::SecretNotFound, "no")),
            integration(false, 1),
            vec![
                ("Ready", "False", "SecretNotFound"),
                ("AccessValidated", "False", "SecretNotFound"),
                ("Synced", "False", "Pending"),
                ("Stalled", "True", "SecretNotFound"),
            ],
        ),
        (
            "secret unreadable (transient)",
            prechecked(Problem::new(Reason::SecretUnreadable, "timeout")),
            integration(false, 1),
            vec![
                ("Ready", "False", "SecretUnreadable"),
                ("AccessValidated", "False", "SecretUnreadable"),
                ("Synced", "False", "Pending"),
            ],
        ),
        (
            "token rejected",
            rejected(Problem::new(Reason::InvalidToken, "E0000011")),
            integration(false, 1),
            vec![
                ("Ready", "False", "InvalidToken"),
                ("AccessValidated", "False", "InvalidToken"),
                ("Synced", "False", "Pending"),
                ("Stalled", "True", "InvalidToken"),
            ],
        ),
        (
            "okta unreachable",
            rejected(Problem::new(Reason::Unreachable, "reset")),
            integration(false, 1),
            vec![
                ("Ready", "False", "Unreachable"),
                ("AccessValidated", "False", "Unreachable"),
                ("Synced", "False", "Pending"),
            ],
        ),
    ]
}

/// A finished sync, and a spec changed since.
fn after_a_sync(rt: &tokio::runtime::Runtime) -> Vec<Case> {
    let ok = |st: IntegrationState| IntegrationState {
        access: AccessState { check: access(None), ..AccessState::default() },
        ..st
    };
    vec![
        (
            "synced",
            ok(IntegrationState {
                record: SyncRecord {
                    last_sync: last(SyncResult::Succeeded, "full"),
                    last_sync_ok: true,
                    results: results(1),
                    ..SyncRecord::default()
                },
                ..IntegrationState::default()
            }),
            integration(false, 1),
            vec![("Ready", "True", "Succeeded"), ("AccessValidated", "True", "Valid"), ("Synced", "True", "Succeeded")],
        ),
        (
            "synced, spec changed, resync running",
            ok(IntegrationState {
                job: JobSlot { running: running(rt), ..JobSlot::default() },
                record: SyncRecord {
                    last_sync: last(SyncResult::Succeeded, "full"),
                    last_sync_ok: true,
                    results: results(1),
                    ..SyncRecord::default()
                },
                ..IntegrationState::default()
            }),
            integration(false, 2),
            vec![
                ("Ready", "False", "Progressing"),
                ("AccessValidated", "True", "Valid"),
                ("Synced", "True", "InProgress"),
                ("Reconciling", "True", "Progressing"),
            ],
        ),
    ]
}

/// Failed and panicked syncs.
fn failed_syncs() -> Vec<Case> {
    let ok = |st: IntegrationState| IntegrationState {
        access: AccessState { check: access(None), ..AccessState::default() },
        ..st
    };
    vec![
        (
            "failed with last good data: still Ready, Synced says why",
            ok(IntegrationState {
                record: SyncRecord {
                    last_sync: last(SyncResult::Failed, "HTTP 503"),
                    last_sync_ok: false,
                    results: results(1),
                    ..SyncRecord::default()
                },
                ..IntegrationState::default()
            }),
            integration(false, 1),
            vec![("Ready", "True", "Succeeded"), ("AccessValidated", "True", "Valid"), ("Synced", "False", "Failed")],
        ),
        (
            "panicked with last good data",
            ok(IntegrationState {
                record: SyncRecord { panicked: true, results: results(1), ..SyncRecord::default() },
                ..IntegrationState::default()
            }),
            integration(false, 1),
            vec![
                ("Ready", "True", "Succeeded"),
                ("AccessValidated", "True", "Valid"),
                ("Synced", "False", "SyncPanicked"),
            ],
        ),
        (
            "first sync failed",
            ok(IntegrationState {
                record: SyncRecord { last_sync: last(SyncResult::Failed, "HTTP 503"), ..SyncRecord::default() },
                ..IntegrationState::default()
            }),
            integration(false, 1),
            vec![("Ready", "False", "SyncFailed"), ("AccessValidated", "True", "Valid"), ("Synced", "False", "Failed")],
        ),
    ]
}

/// Suspended syncs, and access lost.
fn suspension_and_lost_access() -> Vec<Case> {
    let ok = |st: IntegrationState| IntegrationState {
        access: AccessState { check: access(None), ..AccessState::default() },
        ..st
    };
    vec![
        (
            "suspended after a sync",
            ok(IntegrationState {
                record: SyncRecord {
                    last_sync: last(SyncResult::Succeeded, "full"),
                    last_sync_ok: true,
                    results: results(1),
                    ..SyncRecord::default()
                },
                ..IntegrationState::default()
            }),
            integration(true, 2),
            vec![("Ready", "True", "Succeeded"), ("AccessValidated", "True", "Valid"), ("Synced", "True", "Suspended")],
        ),
        (
            "suspended before any sync",
            ok(IntegrationState::default()),
            integration(true, 1),
            vec![
                ("Ready", "False", "Suspended"),
                ("AccessValidated", "True", "Valid"),
                ("Synced", "False", "Suspended"),
            ],
        ),
        (
            "permission lost after a good sync",
            IntegrationState {
                access: AccessState {
                    check: access(Some(Problem::new(Reason::PermissionDenied, "View System Log"))),
                    ..AccessState::default()
                },
                record: SyncRecord {
                    last_sync: last(SyncResult::Failed, "403"),
                    results: results(1),
                    ..SyncRecord::default()
                },
                ..IntegrationState::default()
            },
            integration(false, 1),
            vec![
                ("Ready", "False", "PermissionDenied"),
                ("AccessValidated", "False", "PermissionDenied"),
                ("Synced", "False", "Failed"),
                ("Stalled", "True", "PermissionDenied"),
            ],
        ),
    ]
}

#[test]
fn every_condition_in_each_state() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let cases = before_any_sync(&rt)
        .into_iter()
        .chain(credential_problems())
        .chain(after_a_sync(&rt))
        .chain(failed_syncs())
        .chain(suspension_and_lost_access());
    for (name, st, obj, expected) in cases {
        assert_eq!(shown(&st, &obj), want(&expected), "{name}");
    }
}

#[test]
fn status_keeps_the_last_good_results_and_caps_lists() {
    let app = |id: &str| crate::crd::AppSummary {
        id: id.into(),
        name: "n".into(),
        label: id.into(),
        status: "ACTIVE".into(),
        sign_on_mode: "SAML_2_0".into(),
        built_in: false,
        assigned_users: 1,
        active_users: 1,
        unused_seats: 0,
        sso_events: 1,
        last_used: None,
        reclaim: None,
    };
    let mut r = results(1).expect("results");
    r.apps = vec![app("a"), app("b"), app("c")];
    let st = IntegrationState {
        access: AccessState { check: access(None), ..AccessState::default() },
        record: SyncRecord {
            last_sync: last(SyncResult::Failed, "boom"),
            results: Some(r),
            next_sync_at: Some(Utc::now()),
            ..SyncRecord::default()
        },
        ..IntegrationState::default()
    };
    let s = status(&st, &integration(false, 1), Utc::now());
    assert_eq!(s.summary.map(|s| s.apps), Some(3), "a failed sync keeps the last good summary");
    assert_eq!(s.apps.len(), 2, "maxAppsInStatus caps the list");
    assert_eq!(s.apps_truncated, Some(true));
    assert!(s.next_sync_at.is_some());
    assert_eq!(s.last_sync.map(|l| l.api_requests), Some(5));
    let again = status(
        &IntegrationState { conditions: status(&st, &integration(false, 1), Utc::now()).conditions, ..st },
        &integration(false, 1),
        Utc::now() + chrono::Duration::hours(1),
    );
    assert_eq!(
        again.conditions.iter().map(|c| c.last_transition_time.clone()).collect::<Vec<_>>(),
        status(
            &IntegrationState {
                access: AccessState { check: access(None), ..AccessState::default() },
                record: SyncRecord {
                    last_sync: last(SyncResult::Failed, "boom"),
                    results: results(1),
                    ..SyncRecord::default()
                },
                ..IntegrationState::default()
            },
            &integration(false, 1),
            Utc::now()
        )
        .conditions
        .iter()
        .map(|c| c.last_transition_time.clone())
        .collect::<Vec<_>>(),
        "an idle resync keeps transition times"
    );
}
