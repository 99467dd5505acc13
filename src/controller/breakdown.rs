//! Breakdowns between the engine's report and status: status keeps the top values per attribute and one
//! row summing the rest (an OktaApp stays small however many departments an org has); the CLI's report
//! reads status back.

use crate::crd::{AttributeValue, UsageBreakdown};
use crate::discovery::breakdown::{Breakdown, ValueUsage, top};

/// Values per attribute in an OktaApp's status; the rest are summed into one `other` row.
pub(crate) const APP_VALUES: usize = 20;
/// Values per attribute in each month of an OktaApp's history in status: 25 months of 3 attributes stay
/// under 150 KiB even with Okta's longest values.
pub(crate) const APP_MONTH_VALUES: usize = 5;
/// Values per attribute in each month of the OktaIntegration's summary history, and in its summary: with
/// the top apps it also holds, the largest possible object stays under 512 KiB, a third of etcd's 1.5 MiB
/// limit (`sync` and `report --format json` from the engine give every value).
pub(crate) const ORG_VALUES: usize = 10;
pub(crate) const ORG_MONTH_VALUES: usize = 3;

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
