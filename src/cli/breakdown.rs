//! `report --by ATTRIBUTE [--app LABEL]`: seats, active users and unused seats per value of one
//! breakdown attribute, for the org or one app; as CSV every app's rows too. Values are Okta text: cleaned
//! before they reach the terminal, and neutralised as CSV cells.

use crate::discovery::breakdown::ValueUsage;
use crate::discovery::{AppUsage, NO_VALUE, Report};
use crate::text::{clean, csv_cell};

use super::output::Format;

fn shown(value: &str) -> &str {
    if value.is_empty() { NO_VALUE } else { value }
}

/// The rows of `attribute` for the org or `app`; an error names the attributes there are.
fn rows<'a>(report: &'a Report, app: Option<&'a AppUsage>, attribute: &str) -> Result<&'a [ValueUsage], String> {
    let breakdown = app.map_or(&report.summary.breakdown, |a| &a.breakdown);
    breakdown.get(attribute).map(Vec::as_slice).ok_or_else(|| {
        let known: Vec<&str> = report.summary.breakdown.keys().map(String::as_str).collect();
        if known.is_empty() {
            "this integration has no breakdown: set spec.breakdown.attributes (or sync --breakdown)".to_string()
        } else {
            format!("no breakdown by {:?}; there is one by {}", clean(attribute, 60), known.join(", "))
        }
    })
}

fn table(title: &str, rows: &[ValueUsage]) -> String {
    let mut out = format!("{title}\n{:<40} {:>8} {:>13} {:>13}\n", "VALUE", "SEATS", "ACTIVE USERS", "UNUSED SEATS");
    for r in rows {
        out.push_str(&format!(
            "{:<40} {:>8} {:>13} {:>13}\n",
            super::output::cell_of(shown(&r.value), 40),
            r.seats,
            r.active_users,
            r.unused_seats
        ));
    }
    out
}

fn csv(report: &Report, app: Option<&AppUsage>, attribute: &str) -> String {
    let mut out = String::from("appId,appLabel,attribute,value,other,seats,activeUsers,unusedSeats\n");
    let mut series: Vec<(&str, &str, &[ValueUsage])> = Vec::new();
    if app.is_none() {
        series.push(("", "(org)", report.summary.breakdown.get(attribute).map_or(&[], Vec::as_slice)));
    }
    let apps: Vec<&AppUsage> = app.map_or_else(|| report.apps.iter().collect(), |a| vec![a]);
    series.extend(
        apps.iter()
            .map(|a| (a.id.as_str(), a.label.as_str(), a.breakdown.get(attribute).map_or(&[][..], Vec::as_slice))),
    );
    for (id, label, rows) in series {
        for r in rows {
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{}\n",
                csv_cell(&clean(id, 256)),
                csv_cell(&clean(label, 256)),
                csv_cell(attribute),
                csv_cell(&clean(&r.value, 256)),
                r.other,
                r.seats,
                r.active_users,
                r.unused_seats
            ));
        }
    }
    out
}

/// The breakdown by `attribute` in `format`, for the org (and, as CSV, every app) or one app.
pub(crate) fn render(
    report: &Report,
    app: Option<&AppUsage>,
    attribute: &str,
    format: Format,
) -> Result<String, String> {
    let found = rows(report, app, attribute)?;
    Ok(match format {
        Format::Csv => csv(report, app, attribute),
        Format::Json | Format::Html => {
            serde_json::to_string_pretty(found).map(|s| s + "\n").map_err(|e| e.to_string())?
        }
        Format::Table => {
            let whose = match app {
                Some(a) => format!("{} ({})", super::output::cell_of(&a.label, 40), clean(&a.id, 40)),
                None => format!("{} · the org (active users distinct over all apps)", clean(&report.domain, 80)),
            };
            table(&format!("{whose} · by {}", clean(attribute, 60)), found)
        }
    })
}
