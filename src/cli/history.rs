//! `report --history`: the months of the org (or of one app, `--app LABEL`) as a table with the change
//! against the month before and a sparkline of active users, the apps with their own sparklines, and as
//! CSV one row per app (and the org) and month. Every label is cleaned before it reaches the terminal.

use crate::discovery::{AppUsage, HistoryView, Report};
use crate::text::{clean, csv_cell};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Active users per month, oldest first, as bars scaled to the largest.
fn sparkline(values: &[u64]) -> String {
    let max = values.iter().copied().max().unwrap_or(0);
    values
        .iter()
        .map(|&v| if max == 0 { BARS[0] } else { BARS[((v as f64 / max as f64) * 7.0).round() as usize] })
        .collect()
}

/// The change from `before` to `now` in percent, or "—" where there is nothing to compare with.
fn change(now: u64, before: Option<u64>) -> String {
    match before {
        Some(b) if b > 0 => format!("{:+.1}%", (now as f64 - b as f64) * 100.0 / b as f64),
        _ => "—".into(),
    }
}

fn months_oldest_first(h: &HistoryView) -> Vec<u64> {
    h.months.iter().rev().map(|m| m.active_users).collect()
}

fn cell(text: &str) -> String {
    super::output::cell_of(text, 40)
}

/// One series' months: month, active users, change, sign-ins, seats; `*` in progress, `~` partial.
fn month_table(title: &str, h: &HistoryView) -> String {
    let mut out =
        format!("{title}\n{:<10} {:>12} {:>8} {:>10} {:>8}\n", "MONTH", "ACTIVE USERS", "CHANGE", "SIGN-INS", "SEATS");
    for (i, m) in h.months.iter().enumerate() {
        let before = h.months.get(i + 1).map(|p| p.active_users);
        let mark = if m.in_progress {
            "*"
        } else if m.partial {
            "~"
        } else {
            ""
        };
        let seats = m.seats.map_or_else(|| "—".to_string(), |s| s.to_string());
        out.push_str(&format!(
            "{:<10} {:>12} {:>8} {:>10} {:>8}\n",
            format!("{}{mark}", m.month),
            m.active_users,
            change(m.active_users, before),
            m.sign_ins,
            seats
        ));
    }
    let weeks: Vec<u64> = h.weeks.iter().rev().map(|w| w.active_users).collect();
    out.push_str(&format!("active users by month {}\n", sparkline(&months_oldest_first(h))));
    out.push_str(&format!("active users by week  {}\n", sparkline(&weeks)));
    out.push_str("* in progress · ~ partial (began before the oldest System Log event read)\n");
    out
}

/// Each app's latest closed month, its change, and a sparkline.
fn apps_table(apps: &[AppUsage]) -> String {
    let mut out = format!(
        "\n{:<40} {:>10} {:>12} {:>8}  {}\n",
        "APP", "MONTH", "ACTIVE USERS", "CHANGE", "BY MONTH (OLDEST FIRST)"
    );
    for a in apps {
        let closed: Vec<_> = a.history.months.iter().filter(|m| !m.in_progress).collect();
        let Some(last) = closed.first() else {
            continue;
        };
        let before = closed.get(1).map(|m| m.active_users);
        out.push_str(&format!(
            "{:<40} {:>10} {:>12} {:>8}  {}\n",
            cell(&a.label),
            last.month,
            last.active_users,
            change(last.active_users, before),
            sparkline(&months_oldest_first(&a.history))
        ));
    }
    out
}

/// The history table: the org's months and every app's line, or one app's months.
pub(crate) fn table(report: &Report, app: Option<&AppUsage>) -> String {
    match app {
        Some(a) => month_table(&format!("{} ({}) · usage history", cell(&a.label), cell(&a.id)), &a.history),
        None => {
            let title = format!("{} · usage history of the org (distinct users over all apps)", cell(&report.domain));
            let mut out = month_table(&title, &report.summary.history);
            out.push_str(&apps_table(&report.apps));
            out
        }
    }
}

/// One CSV row per series and month: the org first (empty id, label "(org)"), then each app.
pub(crate) fn csv(report: &Report, app: Option<&AppUsage>) -> String {
    let mut out = String::from("id,label,month,activeUsers,signIns,seats,partial,inProgress\n");
    let mut series: Vec<(&str, &str, &HistoryView)> = Vec::new();
    if app.is_none() {
        series.push(("", "(org)", &report.summary.history));
    }
    let apps: Vec<&AppUsage> = app.map_or_else(|| report.apps.iter().collect(), |a| vec![a]);
    series.extend(apps.iter().map(|a| (a.id.as_str(), a.label.as_str(), &a.history)));
    for (id, label, h) in series {
        for m in &h.months {
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{}\n",
                csv_cell(&clean(id, 256)),
                csv_cell(&clean(label, 256)),
                m.month,
                m.active_users,
                m.sign_ins,
                m.seats.map(|s| s.to_string()).unwrap_or_default(),
                m.partial,
                m.in_progress
            ));
        }
    }
    out
}

/// The app named by `label` (or by id), if any.
pub(crate) fn find<'a>(report: &'a Report, label: &str) -> Option<&'a AppUsage> {
    report.apps.iter().find(|a| a.label == label).or_else(|| report.apps.iter().find(|a| a.id == label))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::history::view::MonthRow;

    fn month(month: &str, active_users: u64, in_progress: bool) -> MonthRow {
        MonthRow {
            month: month.into(),
            active_users,
            sign_ins: active_users * 4,
            seats: Some(50),
            partial: false,
            in_progress,
            breakdown: Default::default(),
        }
    }

    #[test]
    fn sparklines_and_changes_read_oldest_to_newest() {
        assert_eq!(sparkline(&[0, 7, 14]), "▁▅█");
        assert_eq!(sparkline(&[0, 0]), "▁▁");
        assert_eq!(change(110, Some(100)), "+10.0%");
        assert_eq!(change(5, Some(0)), "—");
        let h = HistoryView {
            months: vec![month("2026-12", 9, true), month("2026-11", 8, false), month("2026-10", 10, false)],
            weeks: vec![],
        };
        let t = month_table("t", &h);
        assert!(t.contains("2026-12*") && t.contains("+12.5%") && t.contains("-20.0%") && t.contains("█▇▇"), "{t}");
    }

    #[test]
    fn hostile_labels_are_cleaned_in_table_and_csv() {
        let mut report = crate::cli::output::tests::report("=cmd|' /C calc'!A0\u{1b}[2J");
        report.apps[0].history.months = vec![month("2026-11", 3, false)];
        let csv = csv(&report, None);
        assert!(csv.lines().any(|l| l.starts_with("0oa1,'=cmd")), "a formula is neutralized: {csv}");
        let table = table(&report, None);
        assert!(!table.contains('\u{1b}'), "{table}");
        assert!(find(&report, "0oa1").is_some());
    }
}
