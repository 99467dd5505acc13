//! Composes an integration's whole status from what the operator knows. Status is written with server-side
//! apply by one field manager, so every write carries the complete status; nothing in it depends on the
//! clock except timestamps of real transitions, so an idle resync composes the same status and writes nothing.

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::conditions::{self, ACCESS_VALIDATED, Desired, READY, RECONCILING, STALLED, SYNCED};
use super::state::IntegrationState;
use crate::crd::{
    AccessStatus, LastSync, OktaIntegration, OktaIntegrationStatus, Permission, SyncResult,
};

/// A metav1.Time; whole seconds, as the API server stores them (so a re-read status compares equal).
pub fn time(t: DateTime<Utc>) -> Time {
    Time(Timestamp::from_second(t.timestamp()).unwrap_or(Timestamp::UNIX_EPOCH))
}

fn sync_summary(st: &IntegrationState, window: &str) -> String {
    match &st.summary {
        Some(s) => format!(
            "{} apps ({} used, {} unused), {} users ({} active) over {}",
            s.apps, s.used_apps, s.unused_apps, s.users, s.active_users, window
        ),
        None => "no results yet".into(),
    }
}

pub fn compose(
    st: &IntegrationState,
    obj: &OktaIntegration,
    now: DateTime<Utc>,
) -> OktaIntegrationStatus {
    let generation = obj.metadata.generation;
    let problem = st
        .precheck_problem
        .clone()
        .or_else(|| st.access_check.as_ref().and_then(|c| c.problem.clone()));
    let access_valid = problem.is_none() && st.access_check.is_some();
    let suspended = obj.spec.suspend;
    let mut desired = Vec::new();

    desired.push(match &problem {
        Some(p) => Desired::new(ACCESS_VALIDATED, false, p.reason, p.message.clone()),
        None if access_valid => Desired::new(
            ACCESS_VALIDATED,
            true,
            "Valid",
            "the API token can view users, applications and the System Log",
        ),
        None => Desired::new(
            ACCESS_VALIDATED,
            false,
            "Unreachable",
            "access has not been checked yet",
        ),
    });

    let running = st.running.as_ref();
    let synced = if suspended {
        Desired::new(
            SYNCED,
            st.last_sync_ok,
            "Suspended",
            "syncs are suspended (spec.suspend is true); the last results stay in status",
        )
    } else if let Some(job) = running {
        let since = job
            .started
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        if st.last_sync_ok {
            Desired::new(
                SYNCED,
                true,
                "InProgress",
                format!("a sync is running since {since}; status shows the last successful sync"),
            )
        } else {
            Desired::new(
                SYNCED,
                false,
                "InProgress",
                format!("the first sync is running since {since}"),
            )
        }
    } else {
        match &st.last_sync {
            Some(s) if s.result == SyncResult::Succeeded => Desired::new(
                SYNCED,
                true,
                "Succeeded",
                sync_summary(st, &obj.spec.usage_window),
            ),
            Some(s) => {
                let cause = s.message.clone().unwrap_or_default();
                let kept = if st.summary.is_some() {
                    "; status keeps the last successful results"
                } else {
                    ""
                };
                Desired::new(
                    SYNCED,
                    false,
                    "Failed",
                    format!("the last sync failed: {cause}{kept}"),
                )
            }
            None => Desired::new(SYNCED, false, "InProgress", "waiting for the first sync"),
        }
    };
    let synced_ok = synced.status;
    desired.push(synced);

    let current = st.synced_generation == generation;
    let ready = access_valid && synced_ok && st.last_sync_ok && (current || suspended);
    desired.push(if ready {
        Desired::new(
            READY,
            true,
            "Succeeded",
            sync_summary(st, &obj.spec.usage_window),
        )
    } else if let Some(p) = &problem {
        Desired::new(READY, false, p.reason, p.message.clone())
    } else if suspended {
        Desired::new(
            READY,
            false,
            "Suspended",
            "syncs are suspended before any sync succeeded",
        )
    } else if st
        .last_sync
        .as_ref()
        .is_some_and(|s| s.result == SyncResult::Failed)
        && running.is_none()
    {
        Desired::new(READY, false, "SyncFailed", desired[1].message.clone())
    } else {
        Desired::new(
            READY,
            false,
            "Progressing",
            "syncing the org for the current spec",
        )
    });
    if !ready
        && problem.is_none()
        && !suspended
        && !st
            .last_sync
            .as_ref()
            .is_some_and(|s| s.result == SyncResult::Failed && running.is_none())
    {
        desired.push(Desired::new(
            RECONCILING,
            true,
            "Progressing",
            "syncing the org for the current spec",
        ));
    }
    if let Some(p) = problem.as_ref().filter(|p| p.stalled) {
        desired.push(Desired::new(STALLED, true, p.reason, p.message.clone()));
    }

    let conditions = conditions::merge(&st.conditions, &desired, generation, time(now).0);
    let access = st
        .access_check
        .as_ref()
        .filter(|_| st.precheck_problem.is_none())
        .map(|c| c.access.clone())
        .unwrap_or(AccessStatus {
            users: Permission::Unknown,
            applications: Permission::Unknown,
            system_log: Permission::Unknown,
        });
    let last_sync = match (&st.last_sync, running) {
        (None, Some(job)) => Some(LastSync {
            started_at: time(job.started),
            completed_at: None,
            duration_seconds: None,
            result: SyncResult::InProgress,
            api_requests: 0,
            rate_limit_wait_seconds: 0.0,
            users_scanned: 0,
            events_scanned: 0,
            message: None,
        }),
        (last, _) => last.clone(),
    };
    let limit = obj.spec.max_apps_in_status as usize;
    OktaIntegrationStatus {
        observed_generation: generation,
        conditions,
        access: Some(access),
        last_sync,
        next_sync_at: st
            .next_sync_at
            .filter(|_| !suspended && running.is_none() && problem.is_none())
            .map(time),
        summary: st.summary.clone(),
        apps: st.apps.iter().take(limit).cloned().collect(),
        apps_truncated: st.summary.as_ref().map(|_| st.apps_total > limit),
        last_handled_sync_request: st.last_handled_request.clone(),
    }
}
