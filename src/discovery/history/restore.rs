//! A history rebuilt from closed months and weeks kept outside the checkpoint (in the cluster's status),
//! when no checkpoint can be used. What is read back is untrusted: a row whose label is not a period's
//! canonical spelling, that has not ended, or repeats one already read is left out, and at most the
//! retention's maximum of each span is kept.
//! Status keeps only the top values of each month's breakdown, so the counts per value are not restored:
//! the months closed from then on have them again.

use std::collections::BTreeMap;

use super::{AppHistory, History, MAX_MONTHS, MAX_WEEKS, Period, Series, Span, Tally};
use crate::discovery::inventory::valid_app_id;

/// One closed month or week as status shows it.
#[derive(Clone, Debug)]
pub(crate) struct ClosedRow<'a> {
    pub(crate) span: Span,
    pub(crate) label: &'a str,
    pub(crate) active_users: u64,
    pub(crate) sign_ins: u64,
    pub(crate) seats: Option<u64>,
    pub(crate) partial: bool,
}

/// The rows that name a period ended by `now_ms`, each period once, oldest first, at most the most
/// recent `MAX_*` of each span, and none later than `through` where given.
fn tallies<'a>(
    rows: impl IntoIterator<Item = ClosedRow<'a>>,
    now_ms: i64,
    through: &BTreeMap<Span, i32>,
) -> Vec<Tally> {
    let mut by_period: BTreeMap<Period, Tally> = BTreeMap::new();
    for row in rows {
        let Some(period) = Period::parse(row.span, row.label).filter(|p| p.end_ms() <= now_ms) else {
            continue;
        };
        if through.get(&period.span).is_some_and(|&c| period.index > c) {
            continue;
        }
        let tally = Tally {
            period,
            active_users: row.active_users,
            sign_ins: row.sign_ins,
            seats: row.seats,
            partial: row.partial,
        };
        by_period.entry(period).or_insert(tally);
    }
    let mut out: Vec<Tally> = Vec::with_capacity(by_period.len());
    for span in Span::ALL {
        let max = match span {
            Span::Month => MAX_MONTHS,
            Span::Week => MAX_WEEKS,
        } as usize;
        let of_span: Vec<Tally> = by_period.values().filter(|t| t.period.span == span).copied().collect();
        out.extend(of_span.iter().skip(of_span.len().saturating_sub(max)));
    }
    out.sort_by_key(|t| t.period);
    out
}

impl History {
    /// The org's and the apps' closed periods; the org's newest closed month and week become the newest
    /// closed ones (an app's later rows are left out: the org closes first).
    pub(crate) fn restored<'a>(
        org: Vec<ClosedRow<'a>>,
        apps: Vec<(String, Vec<ClosedRow<'a>>)>,
        now_ms: i64,
    ) -> History {
        let mut history = History::default();
        let org = tallies(org, now_ms, &BTreeMap::new());
        for span in Span::ALL {
            if let Some(newest) = org.iter().filter(|t| t.period.span == span).map(|t| t.period.index).max() {
                history.closed_through.insert(span, newest);
            }
        }
        history.org = Series { closed: org, ..Series::default() };
        for (id, rows) in apps {
            let closed = tallies(rows, now_ms, &history.closed_through);
            if valid_app_id(&id) && !closed.is_empty() {
                let series = Series { closed, ..Series::default() };
                history.apps.insert(id, AppHistory { series, kept: true, ..AppHistory::default() });
            }
        }
        history
    }

    /// Whether anything was counted (a history to keep or to lose).
    pub(crate) fn is_empty(&self) -> bool {
        self.org.is_empty() && self.apps.values().all(|a| a.series.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(span: Span, label: &str, active_users: u64) -> ClosedRow<'_> {
        ClosedRow { span, label, active_users, sign_ins: active_users * 3, seats: Some(9), partial: false }
    }

    #[test]
    fn only_ended_canonical_periods_are_restored_once_each() {
        let now =
            chrono::DateTime::parse_from_rfc3339("2026-12-05T00:00:00Z").map(|t| t.timestamp_millis()).unwrap_or(0);
        let org = vec![
            row(Span::Month, "2026-11", 10),
            row(Span::Month, "2026-11", 99),
            row(Span::Month, "2026-12", 5),
            row(Span::Month, "2026-9", 5),
            row(Span::Month, "2026-10", 8),
            row(Span::Week, "2026-W48", 4),
        ];
        let apps = vec![
            ("0oa1".to_string(), vec![row(Span::Month, "2026-10", 2), row(Span::Week, "2026-W49", 1)]),
            ("../x".to_string(), vec![row(Span::Month, "2026-10", 2)]),
        ];
        let h = History::restored(org, apps, now);
        let months: Vec<(String, u64)> = h
            .org
            .closed
            .iter()
            .filter(|t| t.period.span == Span::Month)
            .map(|t| (t.period.label(), t.active_users))
            .collect();
        assert_eq!(months, vec![("2026-10".into(), 8), ("2026-11".into(), 10)]);
        assert_eq!(
            h.closed_through.get(&Span::Week).map(|&i| Period { span: Span::Week, index: i }.label()),
            Some("2026-W48".into())
        );
        assert_eq!(h.apps.keys().collect::<Vec<_>>(), vec!["0oa1"], "an id that is not Okta's is left out");
        assert_eq!(h.apps["0oa1"].series.closed.len(), 1, "W49 has not ended, and is after the org's newest");
        assert!(!h.is_empty() && History::default().is_empty());
    }
}
