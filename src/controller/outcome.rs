//! What a finished sync job hands to the controller, and how it lands in the integration's state (the
//! controller writes status from there). `LastSync` is built here and only here; a failed sync keeps the
//! request counters it spent and never overwrites the last good results.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::conditions::reason_for;
use super::events::{EventReason, Notice};
use super::shared::time;
use super::state::{AccessFinding, IntegrationState, Problem, Results, RunningJob, Saving};
use super::user_list::ListChange;
use crate::crd::{AppSummary, LastSync, Summary, SyncMode, SyncResult};
use crate::discovery::{AppUsage, Mode, OrgState, Report, SyncError, SyncOutput};
use crate::okta::ErrorClass;

/// Requests and waits a sync spent, failed or not.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Spent {
    pub(crate) requests: u64,
    pub(crate) rate_limit_wait: Duration,
    pub(crate) users_scanned: u64,
    pub(crate) events_scanned: u64,
}

pub(crate) struct Success {
    pub(crate) output: SyncOutput,
    pub(crate) engine: OrgState,
    pub(crate) spent: Spent,
    /// What became of the checkpoint: written, kept as it was, or a failed save.
    pub(crate) saving: Saving,
    /// What became of the per-user list (spec.reclaim.userList).
    pub(crate) user_list: ListChange,
    /// Events the job wants published (apps not written, checkpoint unusable or skipped).
    pub(crate) notices: Vec<Notice>,
}

pub(crate) enum Outcome {
    Succeeded(Box<Success>),
    Failed { error: SyncError, spent: Spent },
    Panicked { message: String },
}

/// What the job was started with.
pub(crate) struct JobInfo {
    pub(crate) interval: Duration,
    pub(crate) retry_after_failure: Duration,
    pub(crate) request: Option<String>,
    pub(crate) generation: i64,
}

/// The sync message's note of sign-ins read after their period closed, when there were any.
fn late_note(late: u64) -> String {
    if late == 0 { String::new() } else { format!("; {late} sign-in(s) too late for their closed month and week") }
}

fn rounded(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

fn last_sync(
    job: &RunningJob,
    now: DateTime<Utc>,
    result: SyncResult,
    mode: Option<SyncMode>,
    spent: Spent,
    skipped: u64,
    message: String,
) -> LastSync {
    LastSync {
        started_at: time(job.started),
        completed_at: Some(time(now)),
        duration_seconds: Some(rounded((now - job.started).num_milliseconds() as f64 / 1000.0)),
        result,
        mode,
        api_requests: spent.requests,
        rate_limit_wait_seconds: rounded(spent.rate_limit_wait.as_secs_f64()),
        users_scanned: spent.users_scanned,
        events_scanned: spent.events_scanned,
        skipped_records: skipped,
        message: Some(crate::text::message(&message)),
    }
}

/// The first sync's record while it runs (status shows it started).
pub(crate) fn in_progress(started: DateTime<Utc>) -> LastSync {
    LastSync {
        started_at: time(started),
        completed_at: None,
        duration_seconds: None,
        result: SyncResult::InProgress,
        mode: None,
        api_requests: 0,
        rate_limit_wait_seconds: 0.0,
        users_scanned: 0,
        events_scanned: 0,
        skipped_records: 0,
        message: None,
    }
}

pub(crate) fn app_summary(a: &AppUsage) -> AppSummary {
    AppSummary {
        id: a.id.clone(),
        name: a.name.clone(),
        label: a.label.clone(),
        status: a.status.clone(),
        sign_on_mode: a.sign_on_mode.clone(),
        built_in: a.built_in,
        assigned_users: a.assigned_users,
        active_users: a.active_users,
        unused_seats: a.unused_seats,
        sso_events: a.sso_events,
        last_used: a.last_used,
        reclaim: Some(super::reclaim::status_of(&a.reclaim)),
    }
}

/// Status's view of a report: the summary, the most used apps and the most unused ACTIVE apps (at most
/// 100 of each, the largest spec.maxAppsInStatus).
pub(crate) fn results(report: &Report, generation: i64, completed: DateTime<Utc>, history_basis: String) -> Results {
    let s = &report.summary;
    let summary = Summary {
        users: s.users,
        users_by_status: s.users_by_status.clone(),
        active_users: s.active_users,
        apps: s.apps,
        active_apps: s.active_apps,
        used_apps: s.used_apps,
        unused_apps: s.unused_apps,
        excluded_apps: s.excluded_apps,
        assigned_users: s.assigned_users,
        unused_seats: s.unused_seats,
        sso_events: s.sso_events,
        skipped_records: s.skipped_records,
        last_successful_sync_time: Some(time(completed)),
        window_end: Some(time(report.generated_at)),
        history: super::history::status_of(&s.history, super::breakdown::ORG_MONTH_VALUES),
        history_basis,
        reclaim: Some(super::reclaim::status_of(&s.reclaim)),
        reclaim_basis: Some(super::reclaim::basis_status(&s.reclaim_basis)),
        breakdown: super::breakdown::status_of(&s.breakdown, super::breakdown::ORG_VALUES),
    };
    let mut unused: Vec<&AppUsage> = report.apps.iter().filter(|a| a.status == "ACTIVE" && a.sso_events == 0).collect();
    unused.sort_by(|a, b| {
        b.unused_seats.cmp(&a.unused_seats).then_with(|| a.label.cmp(&b.label)).then_with(|| a.id.cmp(&b.id))
    });
    Results {
        summary,
        apps: report.apps.iter().take(100).map(app_summary).collect(),
        unused_apps: unused.into_iter().take(100).map(app_summary).collect(),
        apps_total: report.apps.len(),
        generation: Some(generation),
    }
}

fn new_apps_notice(engine: &OrgState, started: DateTime<Utc>, first_sync: bool) -> Option<Notice> {
    if first_sync {
        return None;
    }
    let since = started.timestamp_millis();
    let mut labels: Vec<&str> =
        engine.inventory().filter(|a| a.first_seen_ms >= since).map(|a| a.record.label.as_str()).collect();
    if labels.is_empty() {
        return None;
    }
    labels.sort_unstable();
    let more = labels.len().saturating_sub(10);
    let named = labels.iter().take(10).copied().collect::<Vec<_>>().join(", ");
    let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
    Some(Notice::new(
        false,
        EventReason::NewAppsDiscovered,
        "Sync",
        format!("{} new app(s) since the previous sync: {named}{tail}", labels.len()),
    ))
}

fn record_success(
    st: &mut IntegrationState,
    job: &RunningJob,
    success: Success,
    info: &JobInfo,
    now: DateTime<Utc>,
) -> OrgState {
    let Success { output, engine, spent, saving, user_list, notices } = success;
    let report = &output.report;
    let s = &report.summary;
    let incremental = output.mode == Mode::Incremental;
    st.notify(Notice::new(
        false,
        EventReason::SyncSucceeded,
        "Sync",
        format!(
            "synced {} apps ({} used, {} unused), {} users ({} active), {} sign-ins and {} unused seats over {} in {:.1}s with {} Okta requests{}",
            s.apps, s.used_apps, s.unused_apps, s.users, s.active_users, s.sso_events, s.unused_seats,
            report.usage_window, (now - job.started).num_milliseconds() as f64 / 1000.0, spent.requests,
            if incremental { " (incremental)" } else { "" }
        ),
    ));
    if let Some(n) = new_apps_notice(&engine, job.started, st.record.results.is_none()) {
        st.notify(n);
    }
    notices.into_iter().for_each(|n| st.notify(n));
    let message = if incremental {
        format!(
            "incremental: new System Log events, {} app(s) re-listed, {} user(s) looked up{}",
            output.apps_relisted,
            output.users_looked_up,
            late_note(output.history_late)
        )
    } else {
        format!("full: every listing and the whole usage window{}", late_note(output.history_late))
    };
    let mode = if incremental { SyncMode::Incremental } else { SyncMode::Full };
    st.record.last_sync =
        Some(last_sync(job, now, SyncResult::Succeeded, Some(mode), spent, output.skipped_records, message));
    st.record.results = Some(results(report, info.generation, now, super::history::basis(&engine.key)));
    if output.history_reset {
        st.notify(super::history::reset_notice());
    }
    st.record.last_sync_ok = true;
    st.record.record_saving(saving);
    match user_list {
        ListChange::Keep => {}
        ListChange::Set(list) => st.record.user_list = Some(list),
        ListChange::Clear => st.record.user_list = None,
    }
    st.record.next_sync_at = Some(now + chrono::Duration::from_std(info.interval).unwrap_or_default());
    engine
}

/// A failure that says something about the credentials is recorded for the next access check (which
/// applies it only if it is still for the credentials the job ran with).
fn record_access_finding(st: &mut IntegrationState, job: &RunningJob, error: &SyncError) {
    if !matches!(error.class(), ErrorClass::Credentials | ErrorClass::Permission) {
        return;
    }
    let denied = match error {
        SyncError::Permission { need, .. } => Some(*need),
        _ => None,
    };
    let problem = Problem::new(reason_for(error), error.to_string());
    st.record.finding = Some(AccessFinding { fingerprint: job.fingerprint, denied, problem });
}

fn record_failure(
    st: &mut IntegrationState,
    job: &RunningJob,
    error: SyncError,
    spent: Spent,
    info: &JobInfo,
    now: DateTime<Utc>,
) {
    record_access_finding(st, job, &error);
    let message = error.to_string();
    st.notify(Notice::new(
        true,
        EventReason::SyncFailed,
        "Sync",
        format!("sync failed after {:.1}s: {message}", (now - job.started).num_milliseconds() as f64 / 1000.0),
    ));
    st.record.last_sync = Some(last_sync(job, now, SyncResult::Failed, None, spent, 0, message));
    st.record.last_sync_ok = false;
    retry_later(st, info, now);
}

/// After a failed or panicked job the next sync runs after the failure delay (capped by the interval).
fn retry_later(st: &mut IntegrationState, info: &JobInfo, now: DateTime<Utc>) {
    let retry = info.retry_after_failure.min(info.interval);
    st.record.next_sync_at = Some(now + chrono::Duration::from_std(retry).unwrap_or_default());
}

/// Records a finished job's outcome; a success hands back its sync state for the state cache (a failed
/// or panicked job's may be half-fed and is dropped: the next sync resumes from the checkpoint).
pub(crate) fn record(
    st: &mut IntegrationState,
    job: RunningJob,
    outcome: Outcome,
    info: JobInfo,
    now: DateTime<Utc>,
) -> Option<OrgState> {
    st.record.panicked = false;
    if info.request.is_some() {
        st.record.last_handled_request = info.request.clone();
    }
    match outcome {
        Outcome::Succeeded(success) => return Some(record_success(st, &job, *success, &info, now)),
        Outcome::Failed { error, spent } => record_failure(st, &job, error, spent, &info, now),
        Outcome::Panicked { message } => {
            st.record.panicked = true;
            st.record.last_sync_ok = false;
            st.notify(Notice::new(
                true,
                EventReason::SyncPanicked,
                "Sync",
                format!("the sync job panicked and was rescheduled: {message}"),
            ));
            retry_later(st, &info, now);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::conditions::Reason;
    use crate::discovery::CredentialKind;
    use crate::okta::{Fingerprint, OktaError};

    fn job(started: DateTime<Utc>) -> RunningJob {
        RunningJob {
            id: 1,
            generation: 1,
            fingerprint: Fingerprint([1; 8]),
            started,
            abort: tokio::spawn(async {}).abort_handle(),
        }
    }

    fn info(request: Option<&str>) -> JobInfo {
        JobInfo {
            interval: Duration::from_secs(3600),
            retry_after_failure: Duration::from_secs(300),
            request: request.map(str::to_string),
            generation: 1,
        }
    }

    fn spent() -> Spent {
        Spent { requests: 12, rate_limit_wait: Duration::from_millis(1500), users_scanned: 40, events_scanned: 900 }
    }

    #[tokio::test]
    async fn a_failed_sync_keeps_the_last_good_data_retries_later_and_says_why() {
        let now = Utc::now();
        let mut st = IntegrationState::default();
        st.record.last_sync_ok = true;
        let error = SyncError::Okta(OktaError::Status { endpoint: "GET /api/v1/logs".into(), status: 503 });
        let started = now - chrono::Duration::seconds(20);
        let kept = record(&mut st, job(started), Outcome::Failed { error, spent: spent() }, info(Some("r1")), now);
        assert!(kept.is_none(), "the half-fed state goes: the next sync resumes from the checkpoint");
        assert_eq!(
            st.record.next_sync_at,
            Some(now + chrono::Duration::seconds(300)),
            "retried after the failure delay"
        );
        assert!(!st.record.last_sync_ok && st.record.results.is_none(), "no result is made up");
        let last = st.record.last_sync.as_ref().expect("a lastSync");
        assert_eq!((last.result, last.api_requests, last.rate_limit_wait_seconds), (SyncResult::Failed, 12, 1.5));
        assert_eq!(last.duration_seconds, Some(20.0));
        assert_eq!(st.record.last_handled_request.as_deref(), Some("r1"), "the request was handled, if unsuccessfully");
        assert!(
            st.notices.iter().any(|n| n.reason == EventReason::SyncFailed && n.note.contains("HTTP 503")),
            "{:?}",
            st.notices
        );
    }

    #[tokio::test]
    async fn a_credential_failure_in_a_job_marks_the_access_check_of_those_credentials_only() {
        use crate::controller::state::{AccessCheck, AccessKey, AccessState};
        use crate::controller::steps::validate::apply_finding;
        let now = Utc::now();
        let checked = |fingerprint: u8| AccessCheck {
            key: AccessKey {
                origin: "https://acme.okta.com".into(),
                fingerprint: Fingerprint([fingerprint; 8]),
                generation: 1,
            },
            permissions: crate::crd::AccessStatus::default(),
            problem: None,
            checked_at: std::time::Instant::now(),
        };
        let revoked = || {
            SyncError::classify(
                CredentialKind::ApiToken,
                crate::discovery::Need::Users,
                OktaError::Api {
                    endpoint: "GET /api/v1/users".into(),
                    status: 401,
                    code: "E0000011".into(),
                    summary: "Invalid token provided".into(),
                },
            )
        };
        let mut st = IntegrationState::default();
        record(&mut st, job(now), Outcome::Failed { error: revoked(), spent: Spent::default() }, info(None), now);
        let finding = st.record.finding.clone().expect("a finding about the job's credentials");
        let mut access = AccessState { check: Some(checked(1)), ..AccessState::default() };
        apply_finding(&mut access, finding.clone());
        let problem = access.check.as_ref().and_then(|c| c.problem.clone()).expect("the check now has a problem");
        assert_eq!(problem.reason, Reason::InvalidToken);
        // Credentials rotated since the job started: its finding says nothing about the new ones.
        let mut access = AccessState { check: Some(checked(2)), ..AccessState::default() };
        apply_finding(&mut access, finding);
        assert!(access.check.as_ref().is_some_and(|c| c.problem.is_none()), "the new credentials' check stands");
    }

    #[tokio::test]
    async fn a_panicked_job_is_reported_and_rescheduled_with_a_short_interval_capping_the_delay() {
        let now = Utc::now();
        let mut st = IntegrationState::default();
        let short = JobInfo { interval: Duration::from_secs(60), ..info(None) };
        let kept = record(&mut st, job(now), Outcome::Panicked { message: "boom".into() }, short, now);
        assert!(st.record.panicked && kept.is_none());
        assert_eq!(st.record.next_sync_at, Some(now + chrono::Duration::seconds(60)), "capped by the interval");
        assert!(st.notices.iter().any(|n| n.reason == EventReason::SyncPanicked && n.note.contains("boom")));
    }

    /// The largest status results can make: 10,000 apps with the longest texts Okta's answers are cut to,
    /// and the most history spec.history allows, with every number at its widest.
    #[test]
    fn the_largest_results_keep_the_object_under_512_kib() {
        use crate::discovery::history::view::{MonthRow, WeekRow};
        let text = crate::text::field(&"é".repeat(4096));
        let history = crate::discovery::HistoryView {
            months: (0..25)
                .map(|i| MonthRow {
                    month: format!("2026-{:02}", i % 12 + 1),
                    active_users: u64::MAX,
                    sign_ins: u64::MAX,
                    seats: Some(u64::MAX),
                    partial: true,
                    in_progress: true,
                    breakdown: Default::default(),
                })
                .collect(),
            weeks: (0..104)
                .map(|i| WeekRow {
                    week: format!("2026-W{:02}", i % 53 + 1),
                    active_users: u64::MAX,
                    sign_ins: u64::MAX,
                    partial: true,
                    in_progress: true,
                })
                .collect(),
        };
        let apps: Vec<AppUsage> = (0..10_000)
            .map(|i| AppUsage {
                id: format!("0oa{i:0>97}"),
                name: text.clone(),
                label: text.clone(),
                status: "ACTIVE".into(),
                sign_on_mode: text.chars().take(64).collect(),
                built_in: true,
                assigned_users: u64::MAX,
                active_users: u64::MAX,
                unused_seats: u64::MAX,
                sso_events: 0,
                last_used: Some(Utc::now()),
                history: history.clone(),
                reclaim: Default::default(),
                breakdown: Default::default(),
            })
            .collect();
        // Three attributes of 5,000 values each, as long as Okta text is cut to: status keeps the top 20.
        let values = |a: usize| {
            (0..5000)
                .map(|i| crate::discovery::breakdown::ValueUsage {
                    value: format!("{a}{i}{text}").chars().take(text.chars().count()).collect(),
                    other: false,
                    seats: u64::MAX,
                    active_users: u64::MAX,
                    unused_seats: u64::MAX,
                })
                .collect()
        };
        let breakdown: crate::discovery::breakdown::Breakdown =
            (0..3).map(|a| (format!("attribute{a}{}", "x".repeat(40)), values(a))).collect();
        // Each month of the org's history broken down by the same values: status keeps the top 5.
        let mut history = history;
        for m in &mut history.months {
            m.breakdown = breakdown
                .iter()
                .map(|(name, rows)| {
                    let rows = rows.iter().map(|r| crate::discovery::history::by_value::MonthValue {
                        value: r.value.clone(),
                        other: false,
                        active_users: u64::MAX,
                    });
                    (name.clone(), rows.collect())
                })
                .collect();
        }
        let summary = crate::discovery::Summary { history, breakdown, ..Default::default() };
        let report =
            Report { domain: text.clone(), generated_at: Utc::now(), usage_window: "90d".into(), summary, apps };
        let r = results(&report, 1, Utc::now(), "sha256:0123456789abcdef01234567".into());
        let status = crate::crd::OktaIntegrationStatus {
            summary: Some(r.summary),
            apps: r.apps,
            unused_apps: r.unused_apps,
            ..Default::default()
        };
        let bytes = serde_json::to_vec(&status).map(|v| v.len()).unwrap_or(usize::MAX);
        // Conditions, lastSync, access and checkpoint carry at most a few messages of 1 KiB each.
        eprintln!("{bytes} bytes of status results at most");
        assert!(bytes + 16 * 1024 < 512 * 1024, "{bytes} bytes of status results");
    }
}
