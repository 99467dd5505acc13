//! The history as the JSON contract shows it: `history: {months: [...], weeks: [...]}`, newest first,
//! the periods still open (the current month and week, and one that ended less than the lag ago) marked
//! `inProgress`.

use serde::{Deserialize, Serialize};

use super::by_value::{self, MonthBreakdown};
use super::{History, Period, Retention, Series, Span, Tally};
use crate::discovery::attributes::ProfileAttributes;
use crate::discovery::usage::UsageLedger;

/// One month of one app or of the org.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MonthRow {
    pub(crate) month: String,
    pub(crate) active_users: u64,
    pub(crate) sign_ins: u64,
    pub(crate) seats: Option<u64>,
    pub(crate) partial: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) in_progress: bool,
    /// Active users per value of each breakdown attribute (see `by_value`); absent for months closed
    /// before the attribute was configured.
    #[serde(default, skip_serializing_if = "MonthBreakdown::is_empty")]
    pub(crate) breakdown: MonthBreakdown,
}

/// One ISO week of one app or of the org.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WeekRow {
    pub(crate) week: String,
    pub(crate) active_users: u64,
    pub(crate) sign_ins: u64,
    pub(crate) partial: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) in_progress: bool,
}

/// Months and weeks, newest first.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct HistoryView {
    pub(crate) months: Vec<MonthRow>,
    pub(crate) weeks: Vec<WeekRow>,
}

/// A period's numbers, closed or open.
#[derive(Clone, Copy)]
pub(crate) struct Row {
    pub(crate) tally: Tally,
    pub(crate) in_progress: bool,
}

/// The value under which [`HistoryView::months_by`] lists the rows that stand for a month's values beyond
/// its top ones (status keeps the top few per month, each month's rest under "(N more)").
pub(crate) const OTHER_VALUES: &str = "(other values)";

impl MonthRow {
    /// The month's active users with `value` of `attribute` (0 when none had it).
    pub(crate) fn active_with(&self, attribute: &str, value: &str) -> u64 {
        let rows = self.breakdown.get(attribute).into_iter().flatten();
        let wanted =
            |v: &&by_value::MonthValue| if value == OTHER_VALUES { v.other } else { !v.other && v.value == value };
        rows.filter(wanted).map(|v| v.active_users).sum()
    }
}

impl HistoryView {
    /// The most recent `n` months with active users by `attribute`, oldest first, and the values seen in
    /// them: the newest month's in its order (most active first), then those only older months have.
    pub(crate) fn months_by(&self, attribute: &str, n: usize) -> (Vec<&MonthRow>, Vec<&str>) {
        let mut months: Vec<&MonthRow> =
            self.months.iter().filter(|m| m.breakdown.contains_key(attribute)).take(n).collect();
        let mut values: Vec<&str> = Vec::new();
        let mut other = false;
        for v in months.iter().flat_map(|m| &m.breakdown[attribute]) {
            other |= v.other;
            if !v.other && !values.contains(&v.value.as_str()) {
                values.push(&v.value);
            }
        }
        if other {
            values.push(OTHER_VALUES); // each month's "(N more)" row, whatever its N, in one row, last
        }
        months.reverse();
        (months, values)
    }

    fn push(&mut self, row: Row, breakdown: MonthBreakdown) {
        let t = row.tally;
        match t.period.span {
            Span::Month => self.months.push(MonthRow {
                month: t.period.label(),
                active_users: t.active_users,
                sign_ins: t.sign_ins,
                seats: t.seats,
                partial: t.partial,
                in_progress: row.in_progress,
                breakdown,
            }),
            Span::Week => self.weeks.push(WeekRow {
                week: t.period.label(),
                active_users: t.active_users,
                sign_ins: t.sign_ins,
                partial: t.partial,
                in_progress: row.in_progress,
            }),
        }
    }
}

/// Who was active in the open periods: one app's pairs in the usage ledger, or the org's (a word per user).
pub(crate) enum Active<'a> {
    App(&'a UsageLedger, &'a str),
    Org(&'a [u32]),
}

impl Active<'_> {
    fn users(&self, period: Period) -> Vec<u32> {
        match self {
            Active::App(usage, id) => usage.flagged_users(id, period.bit()),
            Active::Org(words) => super::flagged(words, period.bit()),
        }
    }
}

/// What the history's view shows besides the series: who was active in the open periods, whether it is
/// the org's (sign-ins summed over apps), and the users' breakdown values.
pub(crate) struct ViewOf<'a> {
    pub(crate) active: Active<'a>,
    pub(crate) org: bool,
    pub(crate) attributes: Option<&'a ProfileAttributes>,
}

impl History {
    /// The open periods of `span` at `now_ms`: after the newest closed one (or from the coverage's) to now's.
    fn open_periods(&self, span: Span, now_ms: i64) -> impl Iterator<Item = Period> + use<> {
        let current = Period::containing(span, now_ms).index;
        let first = match (self.closed_through.get(&span), self.coverage_ms) {
            (Some(&c), _) => c.saturating_add(1),
            (None, Some(coverage)) => Period::containing(span, coverage).index,
            (None, None) => current.saturating_add(1),
        };
        (first.max(current.saturating_sub(16))..=current).map(move |index| Period { span, index })
    }

    /// One series (an app's, or the org's with sign-ins summed over apps) as the contract shows it.
    pub(crate) fn view(&self, series: &Series, of: ViewOf<'_>, now_ms: i64, retention: Retention) -> HistoryView {
        let names = of.attributes.map_or(&[][..], ProfileAttributes::names);
        let mut rows: Vec<(Row, MonthBreakdown)> = series
            .closed
            .iter()
            .map(|&tally| {
                let counts = (tally.period.span == Span::Month).then(|| series.by_value.get(&tally.period.index));
                let breakdown = counts.flatten().map(|c| by_value::view(c, names)).unwrap_or_default();
                (Row { tally, in_progress: false }, breakdown)
            })
            .collect();
        for span in Span::ALL {
            for period in self.open_periods(span, now_ms) {
                let open = series.open.get(&period).copied().unwrap_or_default();
                let sign_ins = if of.org {
                    self.apps.values().filter_map(|a| a.series.open.get(&period)).map(|o| o.sign_ins).sum()
                } else {
                    open.sign_ins
                };
                let partial = self.coverage_ms.is_none_or(|c| period.start_ms() < c);
                let users = of.active.users(period);
                let breakdown = match (span, of.attributes) {
                    (Span::Month, Some(a)) => by_value::view(&by_value::count(a, &users), names),
                    _ => MonthBreakdown::new(),
                };
                let tally = Tally { period, active_users: users.len() as u64, sign_ins, seats: open.seats, partial };
                rows.push((Row { tally, in_progress: true }, breakdown));
            }
        }
        rows.sort_by_key(|(r, _)| std::cmp::Reverse(r.tally.period));
        let mut view = HistoryView::default();
        for span in Span::ALL {
            let keep = retention.keep(span) as usize;
            let of_span = rows.iter().filter(|(r, _)| r.tally.period.span == span).take(keep);
            of_span.for_each(|(r, b)| view.push(*r, b.clone()));
        }
        view
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::history::by_value::MonthValue;

    fn month(label: &str, rows: &[(&str, bool, u64)]) -> MonthRow {
        let rows = rows.iter().map(|&(v, other, n)| MonthValue { value: v.into(), other, active_users: n });
        MonthRow {
            month: label.into(),
            active_users: rows.clone().map(|r| r.active_users).sum(),
            sign_ins: 0,
            seats: None,
            partial: false,
            in_progress: false,
            breakdown: [("department".to_string(), rows.collect())].into_iter().collect(),
        }
    }

    #[test]
    fn each_months_rest_is_one_row_whatever_its_count() {
        let history = HistoryView {
            months: vec![
                month("2026-12", &[("Sales", false, 9), ("Legal", false, 4), ("(8 more)", true, 12)]),
                month("2026-11", &[("Finance", false, 7), ("Sales", false, 5), ("(7 more)", true, 10)]),
            ],
            weeks: vec![],
        };
        let (months, values) = history.months_by("department", 6);
        assert_eq!(months.iter().map(|m| m.month.as_str()).collect::<Vec<_>>(), vec!["2026-11", "2026-12"]);
        assert_eq!(values, vec!["Sales", "Legal", "Finance", OTHER_VALUES], "the newest month's order, the rest last");
        let column = |m: &MonthRow| values.iter().map(|v| m.active_with("department", v)).collect::<Vec<_>>();
        assert_eq!(column(months[0]), vec![5, 0, 7, 10]);
        assert_eq!(column(months[1]), vec![9, 4, 0, 12]);
        assert!(months.iter().all(|m| column(m).iter().sum::<u64>() == m.active_users), "each month adds up");
    }
}
