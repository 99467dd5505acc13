//! The per-user export for licence reclaim: one CSV row per assignment of an inventory app, with the
//! user's last sign-in to the app in the window, the days since the last one ever observed, and the
//! verdict on the seat. Personal data: written by
//! `sync --per-user` to a file, or (opted in with spec.reclaim.userList) to a Secret, never to status.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use super::assignments::{Scope, UNKNOWN_TIME};
use super::reclaim::{ReclaimRules, Verdict, judge};
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

impl ExportTimes {
    /// The times of an export at `now_ms` for a sync with this window and these rules.
    pub(crate) fn at(now_ms: i64, window_days: u32, rules: &ReclaimRules) -> ExportTimes {
        ExportTimes {
            now_ms,
            window_start_ms: now_ms - i64::from(window_days) * DAY_MS,
            cutoff_ms: now_ms - rules.inactive_after_ms,
        }
    }
}

/// Which assignments an export holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rows {
    /// Every assignment of an inventory app.
    All,
    /// Only seats to reclaim.
    Reclaimable,
}

/// Rows an export wrote, of how many it would have written without a limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Written {
    pub(crate) rows: u64,
    pub(crate) total: u64,
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

/// Writes the assignments of the inventory's apps, app by app (ordered by label), user by user, up to
/// `limit` rows (the rest only counted).
pub(crate) fn write_per_user(
    state: &OrgState,
    times: ExportTimes,
    rows: Rows,
    limit: u64,
    out: &mut impl Write,
) -> std::io::Result<Written> {
    out.write_all(HEADER.as_bytes())?;
    let mut apps: Vec<_> = state.inventory().collect();
    apps.sort_by(|a, b| (&a.record.label, &a.record.id).cmp(&(&b.record.label, &b.record.id)));
    let mut written = Written { rows: 0, total: 0 };
    for entry in apps {
        let Some(assignments) = &entry.assignments else {
            continue;
        };
        let app = &entry.record;
        for (row, verdict) in judge(state, &app.id, assignments, times.cutoff_ms) {
            if rows == Rows::Reclaimable && !matches!(verdict, Verdict::Reclaim(_)) {
                continue;
            }
            written.total += 1;
            if written.rows >= limit {
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
            written.rows += 1;
        }
    }
    Ok(written)
}

/// The export gzip'd within a size cap, for a Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CompressedList {
    pub(crate) gzip: Vec<u8>,
    pub(crate) written: Written,
    /// SHA-256 of the uncompressed CSV, hex: unchanged content is not written again.
    pub(crate) sha256: String,
}

/// Hashes what passes through to the compressor.
struct Hashing<W: Write> {
    hash: Sha256,
    inner: W,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn compress(state: &OrgState, times: ExportTimes, rows: Rows, limit: u64) -> std::io::Result<CompressedList> {
    let mut out = Hashing { hash: Sha256::new(), inner: GzEncoder::new(Vec::new(), Compression::new(6)) };
    let written = write_per_user(state, times, rows, limit, &mut out)?;
    let sha256 = out.hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(CompressedList { gzip: out.inner.finish()?, written, sha256 })
}

/// The export of `rows`, at most `max_rows` of them and `max_bytes` compressed: the CSV is compressed
/// as it is written (never held whole) and, when over the byte cap, written again with fewer rows.
pub(crate) fn compressed_list(
    state: &OrgState,
    times: ExportTimes,
    rows: Rows,
    max_rows: u64,
    max_bytes: usize,
) -> std::io::Result<CompressedList> {
    let mut limit = max_rows;
    loop {
        let list = compress(state, times, rows, limit)?;
        if list.gzip.len() <= max_bytes || list.written.rows == 0 {
            return Ok(list);
        }
        // Rows compress alike: scale the limit to the cap, with a margin, and try again.
        let scaled = (list.written.rows as f64 * max_bytes as f64 / list.gzip.len() as f64 * 0.95) as u64;
        limit = scaled.min(list.written.rows - 1);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::discovery::checkpoint::tests::sample;

    const NOW_MS: i64 = 1_700_000_300_000;

    fn times(inactive_days: i64) -> ExportTimes {
        let rules = ReclaimRules { inactive_after_ms: inactive_days * DAY_MS, exempt_groups: Vec::new() };
        ExportTimes::at(NOW_MS, 30, &rules)
    }

    fn text(list: &CompressedList) -> String {
        let mut out = String::new();
        flate2::read::GzDecoder::new(&list.gzip[..]).read_to_string(&mut out).expect("gzip");
        out
    }

    #[test]
    fn rows_follow_the_verdicts_and_the_limit_only_counts_the_rest() {
        let state = sample();
        let mut all = Vec::new();
        let w = write_per_user(&state, times(1), Rows::All, u64::MAX, &mut all).expect("write");
        assert_eq!(w, Written { rows: 2, total: 2 });
        let all = String::from_utf8(all).expect("utf-8");
        assert!(all.starts_with(HEADER), "{all}");
        let user0 = all.lines().find(|l| l.starts_with("00u0,")).expect("user 0's row");
        assert!(user0.ends_with(",direct"), "{user0}");
        let mut capped = Vec::new();
        let w = write_per_user(&state, times(1), Rows::All, 1, &mut capped).expect("write");
        assert_eq!(w, Written { rows: 1, total: 2 });
        assert_eq!(String::from_utf8(capped).expect("utf-8").lines().count(), 2, "header and one row");
    }

    #[test]
    fn the_compressed_list_fits_its_cap_and_hashes_its_content() {
        let state = sample();
        let whole = compressed_list(&state, times(1), Rows::All, 100, 1 << 20).expect("list");
        assert_eq!(whole.written, Written { rows: 2, total: 2 });
        let csv = text(&whole);
        assert_eq!(whole.sha256, Sha256::digest(csv.as_bytes()).iter().map(|b| format!("{b:02x}")).collect::<String>());
        let again = compressed_list(&state, times(1), Rows::All, 100, 1 << 20).expect("list");
        assert_eq!(again.gzip, whole.gzip, "the same content compresses to the same bytes");
        let tight = compressed_list(&state, times(1), Rows::All, 100, whole.gzip.len() - 1).expect("list");
        assert!(tight.written.rows < 2 && tight.written.total == 2, "{:?}", tight.written);
        assert!(text(&tight).starts_with(HEADER));
    }
}
