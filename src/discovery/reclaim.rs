//! Seats to reclaim: which seat holders a SaaS-management team would take a licence back from, and why.
//! Each seat counts under one reason, the first that applies in this order:
//! 1. leaver: the user's Okta status is SUSPENDED or DEPROVISIONED (UserStatus in Okta's spec: the person is
//!    blocked or gone, yet the app user stays; Zluri counts suspended users as holding a licence);
//! 2. never used: no sign-in to the app ever observed, and assigned before the cut-off (`now - inactiveAfter`);
//! 3. inactive: the last sign-in to the app observed is older than the cut-off.
//!
//! Members of an exempt group are never counted. `direct` and `group` split the same seats by grant (the
//! app user's `scope`: USER or GROUP; a GROUP seat leaves only with the group membership).

use serde::{Deserialize, Serialize};

use super::assignments::{Assignments, Row, Scope};
use super::directory::UserStatus;
use super::state::OrgState;

/// Why a seat can be taken back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    Leaver,
    NeverUsed,
    Inactive,
}

impl Reason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Reason::Leaver => "leaver",
            Reason::NeverUsed => "neverUsed",
            Reason::Inactive => "inactive",
        }
    }
}

/// The rules a sync judges seats by (spec.reclaim).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReclaimRules {
    /// A seat is idle when its last sign-in (or, with none, its assignment) is older than this.
    pub(crate) inactive_after_ms: i64,
    /// Okta group ids whose members are never counted.
    pub(crate) exempt_groups: Vec<String>,
}

impl ReclaimRules {
    /// `inactiveAfter` as the spec writes it (whole days).
    pub(crate) fn inactive_after_text(&self) -> String {
        format!("{}d", self.inactive_after_ms / DAY_MS)
    }
}

const DAY_MS: i64 = 86_400_000;

/// Seats to reclaim in one app or the org.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Reclaim {
    /// inactive + neverUsed + leavers (= direct + group).
    pub(crate) seats: u64,
    pub(crate) inactive: u64,
    pub(crate) never_used: u64,
    pub(crate) leavers: u64,
    pub(crate) direct: u64,
    pub(crate) group: u64,
}

impl Reclaim {
    fn count(&mut self, reason: Reason, scope: Scope) {
        self.seats += 1;
        *match reason {
            Reason::Leaver => &mut self.leavers,
            Reason::NeverUsed => &mut self.never_used,
            Reason::Inactive => &mut self.inactive,
        } += 1;
        *match scope {
            Scope::User => &mut self.direct,
            Scope::Group => &mut self.group,
        } += 1;
    }

    pub(crate) fn add(&mut self, other: &Reclaim) {
        self.seats += other.seats;
        self.inactive += other.inactive;
        self.never_used += other.never_used;
        self.leavers += other.leavers;
        self.direct += other.direct;
        self.group += other.group;
    }
}

/// One seat's reason, or None when it is in use (or too new to judge).
pub(crate) fn reason(
    status: UserStatus,
    last_sign_in_ms: Option<i64>,
    assigned_s: u32,
    cutoff_ms: i64,
) -> Option<Reason> {
    if matches!(status, UserStatus::Suspended | UserStatus::Deprovisioned) {
        return Some(Reason::Leaver);
    }
    match last_sign_in_ms {
        None if i64::from(assigned_s) * 1000 < cutoff_ms => Some(Reason::NeverUsed),
        Some(t) if t < cutoff_ms => Some(Reason::Inactive),
        _ => None,
    }
}

/// What becomes of one assignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Not a seat (its app-user status holds none).
    NoSeat,
    /// A seat in use, or too new to judge.
    InUse,
    /// A seat whose holder is in an exempt group.
    Exempt,
    Reclaim(Reason),
}

/// Judges one app's assignments: each row with its verdict, in user order.
pub(crate) fn judge<'a>(
    state: &'a OrgState,
    app: &'a str,
    assignments: &'a Assignments,
    cutoff_ms: i64,
) -> impl Iterator<Item = (Row, Verdict)> + 'a {
    assignments.rows().map(move |row| {
        let verdict = if !row.status.holds_seat() {
            Verdict::NoSeat
        } else if state.exemptions.exempt(state.directory.id(row.user)) {
            Verdict::Exempt
        } else {
            let status = state.directory.status(row.user);
            reason(status, state.usage.last_ever(app, row.user), row.assigned_s, cutoff_ms)
                .map_or(Verdict::InUse, Verdict::Reclaim)
        };
        (row, verdict)
    })
}

/// The seats to reclaim in one app.
pub(crate) fn app_reclaim(state: &OrgState, app: &str, assignments: &Assignments, cutoff_ms: i64) -> Reclaim {
    let mut out = Reclaim::default();
    for (row, verdict) in judge(state, app, assignments, cutoff_ms) {
        if let Verdict::Reclaim(reason) = verdict {
            out.count(reason, row.scope);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn each_seat_counts_under_the_first_reason_that_applies() {
        let cutoff = 100 * DAY;
        let old_s = 10 * 86_400; // assigned on day 10
        let new_s = 150 * 86_400;
        // A leaver is a leaver however recently they signed in.
        assert_eq!(reason(UserStatus::Suspended, Some(200 * DAY), new_s, cutoff), Some(Reason::Leaver));
        assert_eq!(reason(UserStatus::Deprovisioned, None, new_s, cutoff), Some(Reason::Leaver));
        // LOCKED_OUT is temporary: judged by use like anyone else.
        assert_eq!(reason(UserStatus::LockedOut, Some(200 * DAY), old_s, cutoff), None);
        assert_eq!(reason(UserStatus::Active, None, old_s, cutoff), Some(Reason::NeverUsed));
        assert_eq!(reason(UserStatus::Active, None, new_s, cutoff), None, "too new to call unused");
        assert_eq!(reason(UserStatus::Active, None, crate::discovery::assignments::UNKNOWN_TIME, cutoff), None);
        assert_eq!(reason(UserStatus::Active, Some(cutoff - 1), old_s, cutoff), Some(Reason::Inactive));
        assert_eq!(reason(UserStatus::Active, Some(cutoff), old_s, cutoff), None, "the cut-off itself is in use");
    }

    #[test]
    fn counts_split_by_grant_and_add_up() {
        let mut r = Reclaim::default();
        r.count(Reason::Leaver, Scope::Group);
        r.count(Reason::Inactive, Scope::User);
        r.count(Reason::NeverUsed, Scope::User);
        let mut org = Reclaim::default();
        org.add(&r);
        org.add(&r);
        assert_eq!(org, Reclaim { seats: 6, inactive: 2, never_used: 2, leavers: 2, direct: 4, group: 2 });
    }
}
