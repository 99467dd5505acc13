//! The per-user export for licence reclaim (CLI only: no personal data goes into the cluster): one CSV
//! row per assignment of an inventory app, with the user's last sign-in to the app in the window.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};

use super::state::OrgState;
use crate::text::csv_cell;

pub(crate) const HEADER: &str = "userId,login,appId,appLabel,scope,status,lastSignIn\n";

/// Writes every assignment of the inventory's apps, app by app (ordered by label), user by user.
pub(crate) fn write_per_user(state: &OrgState, window_start_ms: i64, out: &mut impl Write) -> std::io::Result<u64> {
    out.write_all(HEADER.as_bytes())?;
    let mut apps: Vec<_> = state.inventory().collect();
    apps.sort_by(|a, b| (&a.record.label, &a.record.id).cmp(&(&b.record.label, &b.record.id)));
    let mut rows = 0u64;
    for entry in apps {
        let Some(assignments) = &entry.assignments else {
            continue;
        };
        let app = &entry.record;
        for (user, scope, status) in assignments.rows() {
            let last = state
                .usage
                .last_sign_in(&app.id, user, window_start_ms)
                .and_then(DateTime::<Utc>::from_timestamp_millis)
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
                .unwrap_or_default();
            writeln!(
                out,
                "{},{},{},{},{},{},{}",
                csv_cell(state.directory.id(user)),
                csv_cell(state.directory.login(user).unwrap_or_default()),
                csv_cell(&app.id),
                csv_cell(&app.label),
                scope.as_str(),
                status.as_str(),
                last
            )?;
            rows += 1;
        }
    }
    Ok(rows)
}
