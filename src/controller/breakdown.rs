//! Breakdowns between the engine's report and status: status keeps the top values per attribute and one
//! row summing the rest (an OktaApp stays small however many departments an org has); the CLI's report
//! reads status back.

use crate::crd::{AttributeValue, UsageBreakdown};
use crate::discovery::breakdown::{Breakdown, ValueUsage, top};

/// Values per attribute in an OktaApp's status; the rest are summed into one `other` row.
pub(crate) const APP_VALUES: usize = 20;
/// Values per attribute in the OktaIntegration's summary, which also holds the top apps with their
/// history: 10 keep the largest possible object under 256 KiB (`sync` and `report` give every value).
pub(crate) const ORG_VALUES: usize = 10;

/// Status's copy: the top `n` values per attribute and one `other` row.
pub(crate) fn status_of(b: &Breakdown, n: usize) -> UsageBreakdown {
    top(b, n)
        .into_iter()
        .map(|(name, rows)| {
            let values = rows
                .into_iter()
                .map(|r| AttributeValue {
                    value: r.value,
                    other: r.other,
                    seats: r.seats,
                    active_users: r.active_users,
                    unused_seats: r.unused_seats,
                })
                .collect();
            (name, values)
        })
        .collect()
}

/// The report's breakdown from status (the CLI's `report`).
pub(crate) fn breakdown_view(b: &UsageBreakdown) -> Breakdown {
    b.iter()
        .map(|(name, rows)| {
            let values = rows
                .iter()
                .map(|r| ValueUsage {
                    value: r.value.clone(),
                    other: r.other,
                    seats: r.seats,
                    active_users: r.active_users,
                    unused_seats: r.unused_seats,
                })
                .collect();
            (name.clone(), values)
        })
        .collect()
}
