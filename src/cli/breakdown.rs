//! `report --by ATTRIBUTE [--app LABEL]`: seats, active users and unused seats per value of one
//! breakdown attribute, for the org or one app; as CSV every app's rows too. Values are Okta text: cleaned
//! before they reach the terminal, and neutralised as CSV cells.

use crate::discovery::breakdown::ValueUsage;
use crate::discovery::{AppUsage, HistoryView, NO_VALUE, Report};
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

/// Months shown side by side, and values listed, in the table of active users per month by value.
const TABLE_MONTHS: usize = 6;
const TABLE_VALUES: usize = 15;

/// Active users per month by value, the most recent months with counts for `attribute` (oldest left),
/// values in the order of the newest month; empty when no month has them.
fn months_table(history: &HistoryView, attribute: &str) -> String {
    let (months, values) = history.months_by(attribute, TABLE_MONTHS);
    if months.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\nactive users per month by {} (a closed month as the values stood when it closed)\n{:<40}",
        clean(attribute, 60),
        "VALUE"
    );
    for m in &months {
        let label = if m.in_progress { format!("{}*", m.month) } else { m.month.clone() };
        out.push_str(&format!(" {:>9}", clean(&label, 9)));
    }
    out.push('\n');
    for value in values.iter().take(TABLE_VALUES) {
        out.push_str(&format!("{:<40}", super::output::cell_of(shown(value), 40)));
        for m in &months {
            let n = m.active_with(attribute, value);
            out.push_str(&format!(" {n:>9}"));
        }
        out.push('\n');
    }
    if values.len() > TABLE_VALUES {
        out.push_str(&format!("({} more values: --format csv or json)\n", values.len() - TABLE_VALUES));
    }
    if months.iter().any(|m| m.in_progress) {
        out.push_str("* in progress\n");
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
            let history = app.map_or(&report.summary.history, |a| &a.history);
            table(&format!("{whose} · by {}", clean(attribute, 60)), found) + &months_table(history, attribute)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::history::by_value::MonthValue;
    use crate::discovery::history::view::MonthRow;

    fn month(label: &str, in_progress: bool, values: &[(&str, u64)]) -> MonthRow {
        let rows = values.iter().map(|(v, n)| MonthValue { value: (*v).into(), other: false, active_users: *n });
        MonthRow {
            month: label.into(),
            active_users: values.iter().map(|(_, n)| n).sum(),
            sign_ins: 0,
            seats: None,
            partial: false,
            in_progress,
            breakdown: [("department".to_string(), rows.collect())].into(),
        }
    }

    #[test]
    fn months_side_by_side_oldest_left_values_in_the_newest_months_order() {
        let history = HistoryView {
            months: vec![
                month("2026-12", true, &[("Sales", 5), ("", 1)]),
                month("2026-11", false, &[("R&D", 7), ("Sales", 2), ("\u{1b}[31mX", 1)]),
            ],
            weeks: Vec::new(),
        };
        let table = months_table(&history, "department");
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[2].ends_with("2026-11  2026-12*"), "{table}");
        let cells = |line: &str| line.split_whitespace().rev().take(2).collect::<Vec<_>>().join(" ");
        assert!(lines[3].starts_with("Sales") && cells(lines[3]) == "5 2", "{table}");
        assert!(lines[4].starts_with("(none)") && cells(lines[4]) == "1 0", "{table}");
        assert!(lines[5].starts_with("R&D") && cells(lines[5]) == "0 7", "{table}");
        assert!(!table.contains('\u{1b}'), "Okta text is cleaned before the terminal");
        assert!(table.ends_with("* in progress\n"));
        assert_eq!(months_table(&history, "costCenter"), "", "no months by that attribute");
    }
}
