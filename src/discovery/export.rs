//! The per-user export for licence reclaim: one CSV row per assignment of an inventory app, with the
//! user's last sign-in to the app in the window, the days since the last one ever observed, and the
//! verdict on the seat. Personal data: written by
//! `sync --per-user` to a file, or (opted in with spec.reclaim.userList) to a Secret, never to status.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};

use super::assignments::{Scope, UNKNOWN_TIME};
use super::reclaim::{Verdict, judge};
use super::state::OrgState;
use crate::text::csv_cell;

pub(crate) const HEADER: &str =
    "userId,login,appId,appLabel,scope,status,lastSignIn,userStatus,assigned,daysSinceLastSignIn,reason,grant\n";

const DAY_MS: i64 = 86_400_000;

/// When and what to judge seats by.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ExportTimes {
    pub(crate) now_ms: i64,
    /// The usage window's start: `lastSignIn` is the last sign-in since then.
    pub(crate) window_start_ms: i64,
    /// Sign-ins (or, with none, assignments) before this are idle: `now - inactiveAfter`.
    pub(crate) cutoff_ms: i64,
}

fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// The reason column: why a seat can be taken back, `exempt`, or empty (in use, or not a seat).
fn reason_cell(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Reclaim(r) => r.as_str(),
        Verdict::Exempt => "exempt",
        Verdict::NoSeat | Verdict::InUse => "",
    }
}

/// Writes every assignment of the inventory's apps, app by app (ordered by label), user by user; with
/// `only_reclaim`, only seats to reclaim. Returns the rows written.
pub(crate) fn write_per_user(
    state: &OrgState,
    times: ExportTimes,
    only_reclaim: bool,
    out: &mut impl Write,
) -> std::io::Result<u64> {
    out.write_all(HEADER.as_bytes())?;
    let mut apps: Vec<_> = state.inventory().collect();
    apps.sort_by(|a, b| (&a.record.label, &a.record.id).cmp(&(&b.record.label, &b.record.id)));
    let mut rows = 0u64;
    for entry in apps {
        let Some(assignments) = &entry.assignments else {
            continue;
        };
        let app = &entry.record;
        for (row, verdict) in judge(state, &app.id, assignments, times.cutoff_ms) {
            if only_reclaim && !matches!(verdict, Verdict::Reclaim(_)) {
                continue;
            }
            let last = state.usage.last_ever(&app.id, row.user);
            let days = last.map(|t| (times.now_ms - t).max(0) / DAY_MS).map(|d| d.to_string()).unwrap_or_default();
            let assigned =
                if row.assigned_s == UNKNOWN_TIME { String::new() } else { rfc3339(i64::from(row.assigned_s) * 1000) };
            writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{}",
                csv_cell(state.directory.id(row.user)),
                csv_cell(state.directory.login(row.user).unwrap_or_default()),
                csv_cell(&app.id),
                csv_cell(&app.label),
                row.scope.as_str(),
                row.status.as_str(),
                last.filter(|&t| t >= times.window_start_ms).map(rfc3339).unwrap_or_default(),
                state.directory.status(row.user).as_str(),
                assigned,
                days,
                reason_cell(verdict),
                if row.scope == Scope::Group { "group" } else { "direct" },
            )?;
            rows += 1;
        }
    }
    Ok(rows)
}
