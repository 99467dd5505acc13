//! Usage history in the cluster: status's view of the engine's months and weeks (OktaApp and
//! OktaIntegration), the basis they were counted under, and, when no checkpoint can be used, the closed
//! months and weeks read back from status so that a lost checkpoint loses none of them.

use sha2::{Digest, Sha256};

use super::events::{EventReason, Notice};
use crate::crd::{MonthUsage, MonthValue, OktaIntegration, UsageHistory, WeekUsage};
use crate::discovery::history::by_value::{self, MonthBreakdown};
use crate::discovery::history::view::{MonthRow, WeekRow};
use crate::discovery::{ClosedRow, History, HistoryView, Span, StateKey};

/// Status's copy of a month's breakdown: the top `values` per attribute and one `other` row.
fn month_values(b: &MonthBreakdown, values: usize) -> std::collections::BTreeMap<String, Vec<MonthValue>> {
    let rows = |rows: Vec<by_value::MonthValue>| {
        rows.into_iter().map(|r| MonthValue { value: r.value, other: r.other, active_users: r.active_users }).collect()
    };
    by_value::top(b, values).into_iter().map(|(name, r)| (name, rows(r))).collect()
}

/// Status's copy of one history view, each month's breakdown cut to the top `values` per attribute.
pub(crate) fn status_of(view: &HistoryView, values: usize) -> UsageHistory {
    UsageHistory {
        months: view
            .months
            .iter()
            .map(|m| MonthUsage {
                month: m.month.clone(),
                active_users: m.active_users,
                sign_ins: m.sign_ins,
                seats: m.seats,
                partial: m.partial,
                in_progress: m.in_progress,
                breakdown: month_values(&m.breakdown, values),
            })
            .collect(),
        weeks: view
            .weeks
            .iter()
            .map(|w| WeekUsage {
                week: w.week.clone(),
                active_users: w.active_users,
                sign_ins: w.sign_ins,
                partial: w.partial,
                in_progress: w.in_progress,
            })
            .collect(),
    }
}

/// The report's copy of a status history (`report` from the cluster): the inverse of [`status_of`].
pub(crate) fn history_view(h: &UsageHistory) -> HistoryView {
    HistoryView {
        months: h
            .months
            .iter()
            .map(|m| MonthRow {
                month: m.month.clone(),
                active_users: m.active_users,
                sign_ins: m.sign_ins,
                seats: m.seats,
                partial: m.partial,
                in_progress: m.in_progress,
                breakdown: m
                    .breakdown
                    .iter()
                    .map(|(name, rows)| {
                        let rows = rows.iter().map(|r| by_value::MonthValue {
                            value: r.value.clone(),
                            other: r.other,
                            active_users: r.active_users,
                        });
                        (name.clone(), rows.collect())
                    })
                    .collect(),
            })
            .collect(),
        weeks: h
            .weeks
            .iter()
            .map(|w| WeekRow {
                week: w.week.clone(),
                active_users: w.active_users,
                sign_ins: w.sign_ins,
                partial: w.partial,
                in_progress: w.in_progress,
            })
            .collect(),
    }
}

/// What history counted under `key` means: a digest of its org, sign-in event types and inventory rule
/// (the usage window does not change what a month's sign-ins are).
pub(crate) fn basis(key: &StateKey) -> String {
    let mut hash = Sha256::new();
    hash.update(key.origin.as_bytes());
    hash.update(b"\n");
    for t in &key.event_types {
        hash.update(t.as_bytes());
        hash.update(b"\n");
    }
    hash.update(if key.include_okta_apps { b"okta-apps:1" } else { b"okta-apps:0" });
    let digest = hash.finalize();
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The closed rows of a status history (rows in progress are the engine's to rebuild).
fn closed_rows(h: &UsageHistory) -> Vec<ClosedRow<'_>> {
    let months = h.months.iter().filter(|m| !m.in_progress).map(|m| ClosedRow {
        span: Span::Month,
        label: &m.month,
        active_users: m.active_users,
        sign_ins: m.sign_ins,
        seats: m.seats,
        partial: m.partial,
    });
    let weeks = h.weeks.iter().filter(|w| !w.in_progress).map(|w| ClosedRow {
        span: Span::Week,
        label: &w.week,
        active_users: w.active_users,
        sign_ins: w.sign_ins,
        seats: None,
        partial: w.partial,
    });
    months.chain(weeks).collect()
}

/// The history to start from when no checkpoint can be used: status's closed months and weeks when they
/// were counted under this basis, with an event either way once something was there.
pub(crate) fn from_status(
    obj: &OktaIntegration,
    apps: &[(String, UsageHistory)],
    key: &StateKey,
    now_ms: i64,
) -> (History, Option<Notice>) {
    let Some(summary) = obj.status.as_ref().and_then(|s| s.summary.as_ref()).filter(|s| !s.history.is_empty()) else {
        return (History::default(), None);
    };
    if summary.history_basis != basis(key) {
        return (History::default(), Some(reset_notice()));
    }
    let app_rows = apps.iter().map(|(id, h)| (id.clone(), closed_rows(h))).collect();
    let history = History::restored(closed_rows(&summary.history), app_rows, now_ms);
    let months = history.org.closed.iter().filter(|t| t.period.span == Span::Month).count();
    let note = format!(
        "no usable checkpoint: {months} closed month(s) and the closed weeks of the org and {} app(s) restored from status; the open ones are rebuilt from the System Log",
        history.apps.len()
    );
    (history, Some(Notice::new(false, EventReason::HistoryRestored, "Sync", note)))
}

/// History counted under other sign-in rules is dropped.
pub(crate) fn reset_notice() -> Notice {
    Notice::new(
        true,
        EventReason::HistoryReset,
        "Sync",
        "spec.usage.eventTypes or spec.includeOktaApps changed: usage history starts afresh from the 90 days Okta still holds",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_report_histories_convert_both_ways() {
        let status = UsageHistory {
            months: vec![MonthUsage {
                month: "2026-11".into(),
                active_users: 3,
                sign_ins: 9,
                seats: Some(4),
                partial: true,
                in_progress: false,
                breakdown: [(
                    "department".to_string(),
                    vec![MonthValue { value: "R&D".into(), other: false, active_users: 3 }],
                )]
                .into(),
            }],
            weeks: vec![WeekUsage {
                week: "2026-W48".into(),
                active_users: 2,
                sign_ins: 5,
                partial: false,
                in_progress: true,
            }],
        };
        assert_eq!(status_of(&history_view(&status), 20), status);
    }

    #[test]
    fn the_basis_follows_what_a_sign_in_is_and_nothing_else() {
        let key = StateKey {
            origin: "https://a.okta.com".into(),
            window_days: 30,
            event_types: vec!["x.y".into()],
            ..StateKey::default()
        };
        let other_window = StateKey { window_days: 7, history: false, ..key.clone() };
        assert_eq!(basis(&key), basis(&other_window));
        assert_ne!(basis(&key), basis(&StateKey { origin: "https://b.okta.com".into(), ..key.clone() }));
        assert_ne!(basis(&key), basis(&StateKey { include_okta_apps: true, ..key.clone() }));
        assert_ne!(basis(&key), basis(&StateKey { event_types: vec!["x.z".into()], ..key.clone() }));
        assert_eq!(basis(&key).len(), "sha256:".len() + 24);
    }
}
