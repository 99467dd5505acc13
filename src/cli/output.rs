//! The report as JSON (the contract), CSV (one row per app, cells that cannot become formulas) or a table
//! for people (every cell cleaned of control characters, so an app label cannot repaint the terminal).

use chrono::SecondsFormat;
use clap::ValueEnum;

use crate::discovery::Report;
use crate::text::{clean, csv_cell};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Format {
    Table,
    Json,
    Csv,
    /// One self-contained page with charts, for people to open, mail or print.
    Html,
}

pub(crate) fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Json => json(report),
        Format::Csv => csv(report),
        Format::Table => table(report),
        Format::Html => super::html::render(report).unwrap_or_else(|e| super::html::error_page(&e)),
    }
}

/// Prints the report on stdout; JSON is written as it is serialised (a large org's report with its history
/// runs to megabytes, never held as one string).
pub(crate) fn print(report: &Report, format: Format) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, report).map_err(std::io::Error::other)?;
            out.write_all(b"\n")?;
        }
        other => out.write_all(render(report, other).as_bytes())?,
    }
    out.flush()
}

fn json(report: &Report) -> String {
    match serde_json::to_string_pretty(report) {
        Ok(s) => format!("{s}\n"),
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}

fn csv(report: &Report) -> String {
    let mut out = String::from(
        "id,name,label,status,signOnMode,builtIn,assignedUsers,activeUsers,unusedSeats,ssoEvents,lastUsed\n",
    );
    let c = |s: &str| csv_cell(&clean(s, 256));
    for a in &report.apps {
        let last = a.last_used.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)).unwrap_or_default();
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{}\n",
            c(&a.id),
            c(&a.name),
            c(&a.label),
            c(&a.status),
            c(&a.sign_on_mode),
            a.built_in,
            a.assigned_users,
            a.active_users,
            a.unused_seats,
            a.sso_events,
            last
        ));
    }
    out
}

/// A table cell: one line, no control characters, at most `width` characters wide.
pub(crate) fn cell_of(text: &str, width: usize) -> String {
    let cleaned = clean(text, 240);
    if cleaned.chars().count() > width {
        let cut: String = cleaned.chars().take(width - 1).collect();
        format!("{cut}…")
    } else {
        cleaned
    }
}

fn cell(text: &str) -> String {
    cell_of(text, 60)
}

fn header(report: &Report) -> String {
    let s = &report.summary;
    let by_status: Vec<String> = s.users_by_status.iter().map(|(k, v)| format!("{} {v}", k.to_lowercase())).collect();
    format!(
        "Okta org {} · usage over the last {} · generated {}\n\
         users {} ({}) · active users {}\n\
         apps {} ({} active, {} excluded: Okta's own and service clients) · used {} · unused {}\n\
         seats {} · unused seats {} · sign-ins {}{}\n\
         seats to reclaim {} (leavers {}, never used {}, inactive over {}: {}; direct {}, through groups {})\n\n",
        cell(&report.domain),
        report.usage_window,
        report.generated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        s.users,
        by_status.join(", "),
        s.active_users,
        s.apps,
        s.active_apps,
        s.excluded_apps,
        s.used_apps,
        s.unused_apps,
        s.assigned_users,
        s.unused_seats,
        s.sso_events,
        if s.skipped_records > 0 {
            format!(" · {} unusable records skipped", s.skipped_records)
        } else {
            String::new()
        },
        s.reclaim.seats,
        s.reclaim.leavers,
        s.reclaim.never_used,
        cell(&s.reclaim_basis.inactive_after),
        s.reclaim.inactive,
        s.reclaim.direct,
        s.reclaim.group,
    )
}

fn table(report: &Report) -> String {
    let headers =
        ["APP", "STATUS", "SIGN-ON", "ASSIGNED", "ACTIVE", "UNUSED SEATS", "RECLAIM", "SIGN-INS", "LAST USED"];
    let rows: Vec<[String; 9]> = report
        .apps
        .iter()
        .map(|a| {
            [
                cell(&a.label),
                cell(&a.status),
                cell(&a.sign_on_mode),
                a.assigned_users.to_string(),
                a.active_users.to_string(),
                a.unused_seats.to_string(),
                a.reclaim.seats.to_string(),
                a.sso_events.to_string(),
                a.last_used.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "never".into()),
            ]
        })
        .collect();
    let mut widths = headers.map(|h| h.chars().count());
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            let pad = w.saturating_sub(c.chars().count());
            if (3..8).contains(&i) {
                l.push_str(&" ".repeat(pad));
                l.push_str(c);
            } else {
                l.push_str(c);
                l.push_str(&" ".repeat(pad));
            }
            l.push_str("  ");
        }
        format!("{}\n", l.trim_end())
    };
    let mut out = header(report);
    out.push_str(&line(&headers.map(String::from)));
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::discovery::{AppUsage, Summary};

    pub(crate) fn report(label: &str) -> Report {
        Report {
            domain: "acme.okta.com".into(),
            generated_at: chrono::Utc::now(),
            usage_window: "30d".into(),
            summary: Summary::default(),
            apps: vec![AppUsage {
                id: "0oa1".into(),
                name: "x".into(),
                label: label.into(),
                status: "ACTIVE".into(),
                sign_on_mode: "SAML_2_0".into(),
                built_in: false,
                assigned_users: 3,
                active_users: 1,
                unused_seats: 2,
                sso_events: 4,
                last_used: None,
                history: Default::default(),
                reclaim: Default::default(),
                breakdown: Default::default(),
            }],
        }
    }

    #[test]
    fn hostile_labels_are_escaped_in_every_format() {
        let r = report("=HYPERLINK(\"http://evil\")\u{1b}[2J\nsecond line");
        let csv = render(&r, Format::Csv);
        assert!(csv.contains("\"'=HYPERLINK("), "{csv}");
        assert!(!csv.contains('\u{1b}'));
        let table = render(&r, Format::Table);
        assert!(!table.contains('\u{1b}') && !table.contains("\nsecond line"), "{table}");
        let json = render(&r, Format::Json);
        assert!(json.contains("\\u001b"), "JSON escapes control characters itself");
    }
}
