//! Step 4, compose status: the whole status from what the operator knows. Status is written by one field
//! manager with server-side apply, so every write carries all of it; nothing here depends on the clock
//! except timestamps of real transitions, so an idle resync composes the same status and writes nothing.

use chrono::{DateTime, Utc};

use crate::controller::conditions::{ConditionType, Desired, Reason, merge};
use crate::controller::state::{IntegrationState, Problem};
use crate::crd::{LastSync, OktaIntegration, OktaIntegrationStatus, SyncResult};

pub(crate) use crate::controller::shared::time;

fn summary_line(st: &IntegrationState, window: &str) -> String {
    match &st.record.results {
        Some(r) => {
            let s = &r.summary;
            format!(
                "{} apps ({} used, {} unused), {} users ({} active), {} unused seats over {}",
                s.apps, s.used_apps, s.unused_apps, s.users, s.active_users, s.unused_seats, window
            )
        }
        None => "no results yet".into(),
    }
}

fn access_condition(st: &IntegrationState) -> Desired {
    match st.problem() {
        Some(p) => Desired::new(ConditionType::AccessValidated, false, p.reason, &p.message),
        None if st.access_valid() => Desired::new(
            ConditionType::AccessValidated,
            true,
            Reason::Valid,
            "the credentials can view users, applications and the System Log",
        ),
        None => {
            Desired::new(ConditionType::AccessValidated, false, Reason::NotChecked, "access has not been checked yet")
        }
    }
}

fn failed_last(st: &IntegrationState) -> bool {
    st.job.running.is_none()
        && (st.record.panicked || st.record.last_sync.as_ref().is_some_and(|s| s.result == SyncResult::Failed))
}

fn synced_condition(st: &IntegrationState, obj: &OktaIntegration) -> Desired {
    let synced = |status, reason, message: String| Desired::new(ConditionType::Synced, status, reason, message);
    if obj.spec.suspend {
        return synced(
            st.record.last_sync_ok,
            Reason::Suspended,
            "syncs are suspended (spec.suspend is true); the last results stay in status".into(),
        );
    }
    if let Some(job) = &st.job.running {
        let since = job.started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        return if st.record.last_sync_ok {
            synced(
                true,
                Reason::InProgress,
                format!("a sync is running since {since}; status shows the last successful sync"),
            )
        } else {
            synced(false, Reason::InProgress, format!("a sync is running since {since}"))
        };
    }
    let kept = if st.record.results.is_some() { "; status keeps the last successful results" } else { "" };
    if st.record.panicked {
        return synced(
            false,
            Reason::SyncPanicked,
            format!("the last sync job panicked (a bug; see the operator's log) and was rescheduled{kept}"),
        );
    }
    match &st.record.last_sync {
        Some(s) if s.result == SyncResult::Succeeded => {
            synced(true, Reason::Succeeded, summary_line(st, &obj.spec.usage_window))
        }
        Some(s) => synced(
            false,
            Reason::Failed,
            format!("the last sync failed: {}{kept}", s.message.clone().unwrap_or_default()),
        ),
        None => synced(false, Reason::Pending, "waiting for the first sync".into()),
    }
}

fn ready_condition(st: &IntegrationState, obj: &OktaIntegration, synced: &Desired) -> Desired {
    let generation = obj.metadata.generation;
    let current = st.record.results.as_ref().is_some_and(|r| r.generation == generation);
    let suspended = obj.spec.suspend;
    // Ready: the org is readable and status holds results for the current spec. A failed sync that kept
    // those results leaves the integration Ready (Synced says why; kstatus reads it as Current) and the
    // data's age shows in summary.lastSuccessfulSyncTime.
    let ready = st.access_valid() && st.record.results.is_some() && (current || suspended);
    let not_ready = |reason, message: &str| Desired::new(ConditionType::Ready, false, reason, message);
    if ready {
        let mut message = summary_line(st, &obj.spec.usage_window);
        if failed_last(st) {
            message = format!("{message}; {}", synced.message);
        }
        Desired::new(ConditionType::Ready, true, Reason::Succeeded, crate::text::message(&message))
    } else if let Some(p) = st.problem() {
        not_ready(p.reason, &p.message)
    } else if suspended {
        not_ready(Reason::Suspended, "syncs are suspended before any sync succeeded")
    } else if failed_last(st) {
        not_ready(Reason::SyncFailed, &synced.message)
    } else {
        not_ready(Reason::Progressing, "syncing the org for the current spec")
    }
}

fn conditions(st: &IntegrationState, obj: &OktaIntegration) -> Vec<Desired> {
    let access = access_condition(st);
    let synced = synced_condition(st, obj);
    let ready = ready_condition(st, obj, &synced);
    let problem: Option<&Problem> = st.problem();
    let reconciling = !ready.status && problem.is_none() && !obj.spec.suspend && !failed_last(st);
    let mut desired = vec![ready, access, synced];
    if reconciling {
        desired.push(Desired::new(
            ConditionType::Reconciling,
            true,
            Reason::Progressing,
            "syncing the org for the current spec",
        ));
    }
    if let Some(p) = problem.filter(|p| p.reason.stalled()) {
        desired.push(Desired::new(ConditionType::Stalled, true, p.reason, &p.message));
    }
    desired
}

fn last_sync(st: &IntegrationState) -> Option<LastSync> {
    match (&st.record.last_sync, &st.job.running) {
        (None, Some(job)) => Some(crate::controller::outcome::in_progress(job.started)),
        (last, _) => last.clone(),
    }
}

/// The status the integration should show now.
pub(crate) fn status(st: &IntegrationState, obj: &OktaIntegration, now: DateTime<Utc>) -> OktaIntegrationStatus {
    let generation = obj.metadata.generation;
    let limit = obj.spec.max_apps_in_status as usize;
    let blocked = obj.spec.suspend || st.job.running.is_some() || st.problem().is_some();
    OktaIntegrationStatus {
        observed_generation: generation,
        conditions: merge(&st.conditions, &conditions(st, obj), generation, time(now).0),
        access: Some(
            st.access
                .check
                .as_ref()
                .filter(|_| st.access.precheck.is_none())
                .map(|c| c.permissions.clone())
                .unwrap_or_default(),
        ),
        last_sync: last_sync(st),
        next_sync_at: st.record.next_sync_at.filter(|_| !blocked).map(time),
        summary: st.record.results.as_ref().map(|r| r.summary.clone()),
        apps: st.record.results.iter().flat_map(|r| r.apps.iter().take(limit).cloned()).collect(),
        unused_apps: st.record.results.iter().flat_map(|r| r.unused_apps.iter().take(limit).cloned()).collect(),
        apps_truncated: st.record.results.as_ref().map(|r| r.apps_total > limit),
        last_handled_sync_request: st.record.last_handled_request.clone(),
        checkpoint: st.record.checkpoint.clone(),
        reclaim_user_list: st.record.user_list.clone(),
        shard: None, // the reconcile names this replica when sharded
    }
}

#[cfg(test)]
mod tests;
