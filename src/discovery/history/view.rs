//! The history as the JSON contract shows it: `history: {months: [...], weeks: [...]}`, newest first,
//! the periods still open (the current month and week, and one that ended less than the lag ago) marked
//! `inProgress`.

use serde::{Deserialize, Serialize};

use super::{History, Period, Retention, Series, Span, Tally};
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

impl HistoryView {
    fn push(&mut self, row: Row) {
        let t = row.tally;
        match t.period.span {
            Span::Month => self.months.push(MonthRow {
                month: t.period.label(),
                active_users: t.active_users,
                sign_ins: t.sign_ins,
                seats: t.seats,
                partial: t.partial,
                in_progress: row.in_progress,
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
    fn count(&self, period: Period) -> u64 {
        match self {
            Active::App(usage, id) => usage.flagged(id, period.bit()),
            Active::Org(words) => words.iter().filter(|&&w| w & period.bit() != 0).count() as u64,
        }
    }
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
    pub(crate) fn view(
        &self,
        series: &Series,
        active: Active<'_>,
        org: bool,
        now_ms: i64,
        retention: Retention,
    ) -> HistoryView {
        let mut rows: Vec<Row> = series.closed.iter().map(|&tally| Row { tally, in_progress: false }).collect();
        for span in Span::ALL {
            for period in self.open_periods(span, now_ms) {
                let open = series.open.get(&period).copied().unwrap_or_default();
                let sign_ins = if org {
                    self.apps.values().filter_map(|a| a.series.open.get(&period)).map(|o| o.sign_ins).sum()
                } else {
                    open.sign_ins
                };
                let partial = self.coverage_ms.is_none_or(|c| period.start_ms() < c);
                let tally = Tally { period, active_users: active.count(period), sign_ins, seats: open.seats, partial };
                rows.push(Row { tally, in_progress: true });
            }
        }
        rows.sort_by_key(|r| std::cmp::Reverse(r.tally.period));
        let mut view = HistoryView::default();
        for span in Span::ALL {
            let keep = retention.keep(span) as usize;
            rows.iter().filter(|r| r.tally.period.span == span).take(keep).for_each(|&r| view.push(r));
        }
        view
    }
}
