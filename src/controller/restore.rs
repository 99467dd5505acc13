//! Seeding an integration's memory from its status, so a restarted operator (or a new leader) keeps
//! showing the last good result and the metrics computed from it, instead of starting blank.

use chrono::DateTime;

use super::conditions::ConditionType;
use super::state::{IntegrationState, Results, Vouched};
use crate::crd::{OktaIntegrationStatus, Permission, SyncResult};

/// Fills `st` from `status` (once per process and object).
pub(crate) fn restore(st: &mut IntegrationState, status: Option<&OktaIntegrationStatus>) {
    st.restored = true;
    let Some(status) = status else { return };
    st.conditions = status.conditions.clone();
    st.record.last_sync = status.last_sync.clone().filter(|s| s.completed_at.is_some());
    st.record.last_sync_ok =
        status.summary.is_some() && st.record.last_sync.as_ref().is_some_and(|s| s.result == SyncResult::Succeeded);
    st.record.results = status.summary.as_ref().map(|summary| Results {
        summary: summary.clone(),
        apps: status.apps.clone(),
        unused_apps: status.unused_apps.clone(),
        apps_total: summary.apps as usize,
        generation: if st.record.last_sync_ok { status.observed_generation } else { None },
    });
    st.record.next_sync_at = status.next_sync_at.as_ref().and_then(|t| DateTime::from_timestamp(t.0.as_second(), 0));
    st.record.last_handled_request = status.last_handled_sync_request.clone();
    if st.record.last_sync.is_some() {
        st.job.attempted_generation = status.observed_generation;
    }
    st.record.checkpoint = status.checkpoint.clone();
    st.record.user_list = status.reclaim_user_list.clone();
    st.access.vouched = vouched(status);
}

/// The access check status shows as passed, with the generation and the Secret it was made with.
fn vouched(status: &OktaIntegrationStatus) -> Option<Vouched> {
    let access = status.access.as_ref()?;
    let granted = [access.users, access.applications, access.system_log].iter().all(|p| *p == Permission::Granted);
    let condition = status.conditions.iter().find(|c| c.type_ == ConditionType::AccessValidated.as_str())?;
    (granted && condition.status == "True").then_some(())?;
    Some(Vouched {
        generation: condition.observed_generation?,
        secret_resource_version: access.secret_resource_version.clone()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::shared::time;
    use crate::crd::{LastSync, Summary};

    fn last(result: SyncResult) -> LastSync {
        LastSync {
            started_at: time(chrono::Utc::now()),
            completed_at: Some(time(chrono::Utc::now())),
            duration_seconds: Some(1.0),
            result,
            mode: None,
            api_requests: 3,
            rate_limit_wait_seconds: 0.0,
            users_scanned: 1,
            events_scanned: 1,
            skipped_records: 0,
            message: None,
        }
    }

    #[test]
    fn restores_what_status_shows() {
        let cases = [
            (None, None, false, None),
            (Some(last(SyncResult::Succeeded)), Some(Summary { apps: 7, ..Summary::default() }), true, Some(4)),
            (Some(last(SyncResult::Failed)), Some(Summary { apps: 7, ..Summary::default() }), false, None),
            (Some(last(SyncResult::Succeeded)), None, false, None),
        ];
        for (i, (last_sync, summary, ok, generation)) in cases.into_iter().enumerate() {
            let status = OktaIntegrationStatus {
                observed_generation: Some(4),
                last_sync,
                summary: summary.clone(),
                last_handled_sync_request: Some("r1".into()),
                ..OktaIntegrationStatus::default()
            };
            let mut st = IntegrationState::default();
            restore(&mut st, Some(&status));
            assert!(st.restored);
            assert_eq!(st.record.last_sync_ok, ok, "case {i}");
            assert_eq!(st.record.results.as_ref().map(|r| r.apps_total), summary.map(|s| s.apps as usize), "case {i}");
            assert_eq!(st.record.results.as_ref().and_then(|r| r.generation), generation, "case {i}");
            assert_eq!(st.record.last_handled_request.as_deref(), Some("r1"));
        }
        let vouching = |granted: Permission, condition: &str| {
            let access = crate::crd::AccessStatus {
                users: Permission::Granted,
                applications: granted,
                system_log: Permission::Granted,
                secret_resource_version: Some("81".into()),
            };
            let validated = k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
                type_: "AccessValidated".into(),
                status: condition.into(),
                observed_generation: Some(3),
                last_transition_time: time(chrono::Utc::now()),
                message: String::new(),
                reason: "Valid".into(),
            };
            let status =
                OktaIntegrationStatus { access: Some(access), conditions: vec![validated], ..Default::default() };
            let mut st = IntegrationState::default();
            restore(&mut st, Some(&status));
            st.access.vouched
        };
        let passed = Vouched { generation: 3, secret_resource_version: "81".into() };
        assert_eq!(vouching(Permission::Granted, "True"), Some(passed));
        assert_eq!(vouching(Permission::Denied, "True"), None, "a denied permission vouches for nothing");
        assert_eq!(vouching(Permission::Granted, "False"), None, "nor does a failed check");
        let mut blank = IntegrationState::default();
        restore(&mut blank, None);
        assert!(blank.restored && blank.record.results.is_none());
    }
}
