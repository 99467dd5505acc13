//! The discovery report: the JSON contract of `dti-operator sync --format json` (and of `report`),
//! built from a sync's state under the definitions in README "What the numbers mean".

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::breakdown::{Breakdown, app_breakdown, org_breakdown};
use super::history::view::{Active, ViewOf};
use super::history::{HistoryView, Retention};
use super::reclaim::{Reclaim, ReclaimRules, app_reclaim};
use super::state::OrgState;

/// One discovery run's result for one Okta org.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Report {
    /// The Okta domain that was read, as configured (host[:port]).
    pub(crate) domain: String,
    /// When the sync's log read caught up: the usage window ends here.
    pub(crate) generated_at: DateTime<Utc>,
    /// The usage window, e.g. `30d`.
    pub(crate) usage_window: String,
    pub(crate) summary: Summary,
    /// Every app of the inventory, sorted by activeUsers (most first), then label, then id.
    pub(crate) apps: Vec<AppUsage>,
}

/// Org-wide totals over the usage window.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Summary {
    pub(crate) users: u64,
    pub(crate) users_by_status: BTreeMap<String, u64>,
    pub(crate) active_users: u64,
    pub(crate) apps: u64,
    pub(crate) active_apps: u64,
    pub(crate) used_apps: u64,
    pub(crate) unused_apps: u64,
    pub(crate) excluded_apps: u64,
    pub(crate) assigned_users: u64,
    pub(crate) unused_seats: u64,
    pub(crate) sso_events: u64,
    pub(crate) skipped_records: u64,
    /// The org's months and weeks (distinct users over all apps), newest first.
    #[serde(default)]
    pub(crate) history: HistoryView,
    /// Seats to reclaim over every app (the apps' counts summed).
    #[serde(default)]
    pub(crate) reclaim: Reclaim,
    /// What the seats to reclaim were judged by.
    #[serde(default)]
    pub(crate) reclaim_basis: ReclaimBasis,
    /// Seats, active users and unused seats per value of each breakdown attribute (distinct users).
    #[serde(default, skip_serializing_if = "Breakdown::is_empty")]
    pub(crate) breakdown: Breakdown,
}

/// The rules and the evidence behind `reclaim`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReclaimBasis {
    /// spec.reclaim.inactiveAfter, e.g. `60d`.
    pub(crate) inactive_after: String,
    /// Sign-ins are known from here on ("never used" means none since then).
    pub(crate) observed_since: Option<DateTime<Utc>>,
    /// Exempt groups configured.
    pub(crate) exempt_groups: u64,
    /// Exempt groups Okta does not know (404): check the ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) unknown_exempt_groups: Vec<String>,
}

/// One app and its usage over the window.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AppUsage {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) label: String,
    pub(crate) status: String,
    pub(crate) sign_on_mode: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) built_in: bool,
    pub(crate) assigned_users: u64,
    pub(crate) active_users: u64,
    pub(crate) unused_seats: u64,
    pub(crate) sso_events: u64,
    pub(crate) last_used: Option<DateTime<Utc>>,
    /// The app's months and weeks, newest first.
    #[serde(default)]
    pub(crate) history: HistoryView,
    /// Seats to reclaim, by reason and by grant.
    #[serde(default)]
    pub(crate) reclaim: Reclaim,
    /// Seats, active users and unused seats per value of each breakdown attribute.
    #[serde(default, skip_serializing_if = "Breakdown::is_empty")]
    pub(crate) breakdown: Breakdown,
}

impl Report {
    /// Sorts apps as the contract says: most active users first, then by label, then id.
    pub(crate) fn sort_apps(apps: &mut [AppUsage]) {
        apps.sort_by(|a, b| {
            b.active_users.cmp(&a.active_users).then_with(|| a.label.cmp(&b.label)).then_with(|| a.id.cmp(&b.id))
        });
    }
}

fn time(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// Every inventory app's usage from the state, over the window starting at `start_ms` (its history as of
/// `history_ms`); seats idle since before `cutoff_ms` are to reclaim.
pub(crate) fn app_rows(
    state: &OrgState,
    start_ms: i64,
    history_ms: i64,
    cutoff_ms: i64,
    retention: Retention,
) -> Vec<AppUsage> {
    let mut rows: Vec<AppUsage> = state
        .inventory()
        .map(|entry| {
            let r = &entry.record;
            let counts = state.usage.counts(&r.id, start_ms);
            let holders: Vec<u32> = entry.assignments.as_ref().map(|a| a.seat_holders().collect()).unwrap_or_default();
            let unused = holders.iter().filter(|&&u| !state.usage.active(&r.id, u, start_ms)).count() as u64;
            let seats = holders.len() as u64;
            AppUsage {
                id: r.id.clone(),
                name: r.name.clone(),
                label: r.label.clone(),
                status: r.status.clone(),
                sign_on_mode: r.sign_on_mode.clone(),
                built_in: r.kind.built_in(),
                assigned_users: seats,
                active_users: counts.active_users,
                unused_seats: unused,
                sso_events: counts.sign_ins,
                last_used: counts.last_used_ms.and_then(time),
                history: app_history(state, &r.id, history_ms, retention),
                reclaim: entry
                    .assignments
                    .as_ref()
                    .map(|a| app_reclaim(state, &r.id, a, cutoff_ms))
                    .unwrap_or_default(),
                breakdown: app_breakdown(state, &r.id, &holders, start_ms),
            }
        })
        .collect();
    Report::sort_apps(&mut rows);
    rows
}

fn app_history(state: &OrgState, id: &str, now_ms: i64, retention: Retention) -> HistoryView {
    let h = &state.history;
    h.apps
        .get(id)
        .map(|a| {
            let of =
                ViewOf { active: Active::App(&state.usage, id), org: false, attributes: state.directory.attributes() };
            h.view(&a.series, of, now_ms, retention)
        })
        .unwrap_or_default()
}

/// When a report's figures hold.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Moments {
    /// The usage window ends here, and seats are judged idle from here: when the log read caught up.
    pub(crate) as_of: DateTime<Utc>,
    /// The history's periods were closed as of here: when the sync started.
    pub(crate) history_ms: i64,
}

/// The report for a state as of `moments`, with history kept as `retention` says and seats judged by
/// `rules`.
pub(crate) fn build(
    domain: &str,
    state: &OrgState,
    moments: Moments,
    skipped_records: u64,
    (retention, rules): (Retention, &ReclaimRules),
) -> Report {
    let days = state.key.window_days;
    let start_ms = (moments.as_of - chrono::Duration::days(i64::from(days))).timestamp_millis();
    let now_ms = moments.history_ms;
    let cutoff_ms = moments.as_of.timestamp_millis().saturating_sub(rules.inactive_after_ms);
    let apps = app_rows(state, start_ms, now_ms, cutoff_ms, retention);
    let mut reclaim = Reclaim::default();
    apps.iter().for_each(|a| reclaim.add(&a.reclaim));
    let reclaim_basis = ReclaimBasis {
        inactive_after: rules.inactive_after_text(),
        observed_since: state.observed_since_ms.and_then(time),
        exempt_groups: rules.exempt_groups.len() as u64,
        unknown_exempt_groups: state.exemptions.missing(),
    };
    let breakdown = org_breakdown(state, apps.iter().map(|a| &a.breakdown), start_ms);
    let org_users = state.usage.org_flags();
    let of = ViewOf { active: Active::Org(&org_users), org: true, attributes: state.directory.attributes() };
    let history = state.history.view(&state.history.org, of, now_ms, retention);
    let summary = Summary {
        users: state.directory.listed_users(),
        users_by_status: state.directory.by_status(),
        active_users: state.usage.active_users(start_ms, |id| state.in_inventory(id)),
        apps: apps.len() as u64,
        active_apps: apps.iter().filter(|a| a.status == "ACTIVE").count() as u64,
        used_apps: apps.iter().filter(|a| a.sso_events > 0).count() as u64,
        unused_apps: apps.iter().filter(|a| a.status == "ACTIVE" && a.sso_events == 0).count() as u64,
        excluded_apps: state.apps.values().filter(|a| a.record.kind.built_in() && !state.key.include_okta_apps).count()
            as u64,
        assigned_users: apps.iter().map(|a| a.assigned_users).sum(),
        unused_seats: apps.iter().map(|a| a.unused_seats).sum(),
        sso_events: apps.iter().map(|a| a.sso_events).sum(),
        skipped_records,
        history,
        reclaim,
        reclaim_basis,
        breakdown,
    };
    Report { domain: domain.to_string(), generated_at: moments.as_of, usage_window: format!("{days}d"), summary, apps }
}
