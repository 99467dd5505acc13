//! Seats to reclaim between the engine's report and status: one conversion each way (the CLI's report
//! reads status back).

use crate::crd::{ReclaimBasis, ReclaimSeats};
use crate::discovery::reclaim::Reclaim;
use crate::discovery::report::ReclaimBasis as ReportBasis;
use crate::text;

pub(crate) fn status_of(r: &Reclaim) -> ReclaimSeats {
    ReclaimSeats {
        seats: r.seats,
        inactive: r.inactive,
        never_used: r.never_used,
        leavers: r.leavers,
        direct: r.direct,
        group: r.group,
    }
}

/// The report's counts from status (the CLI's `report`).
pub(crate) fn reclaim_view(r: &ReclaimSeats) -> Reclaim {
    Reclaim {
        seats: r.seats,
        inactive: r.inactive,
        never_used: r.never_used,
        leavers: r.leavers,
        direct: r.direct,
        group: r.group,
    }
}

/// Group ids are the user's own text echoed back: cleaned before status.
pub(crate) fn basis_status(b: &ReportBasis) -> ReclaimBasis {
    ReclaimBasis {
        inactive_after: b.inactive_after.clone(),
        observed_since: b.observed_since,
        exempt_groups: b.exempt_groups,
        unknown_exempt_groups: b.unknown_exempt_groups.iter().take(20).map(|g| text::field(g)).collect(),
    }
}

pub(crate) fn basis_view(b: &ReclaimBasis) -> ReportBasis {
    ReportBasis {
        inactive_after: b.inactive_after.clone(),
        observed_since: b.observed_since,
        exempt_groups: b.exempt_groups,
        unknown_exempt_groups: b.unknown_exempt_groups.clone(),
    }
}
