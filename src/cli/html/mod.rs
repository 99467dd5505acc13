//! The report as one self-contained HTML page (`--format html`): summary, seats to reclaim, usage over
//! time, every app in a sortable, filterable table with a sparkline, unused apps, and the breakdowns.
//! No external scripts, fonts or images: it works offline and as a mail attachment. Okta's text is
//! cleaned (control and bidi characters) and then HTML-escaped by the template engine (minijinja escapes
//! every value of an `.html` template); the charts are SVG with no text in them. A page for 10,000 apps
//! lists the 1,000 most used (the rest are in `--format csv`), so it stays a few megabytes and responsive.

mod charts;

use chrono::SecondsFormat;
use minijinja::Environment;
use serde::Serialize;

use super::contracts::ContractLine;
use crate::crd::AppContract;
use crate::discovery::{AppUsage, NO_VALUE, Report};
use crate::text::clean;

/// Apps listed in the page's table at most; the rest are counted and left to the CSV.
pub(crate) const MAX_APPS: usize = 1000;
/// Active apps without sign-ins listed at most.
const MAX_UNUSED: usize = 200;
/// The per-app breakdown: the org's most held values as columns (the rest summed in one), the most used apps.
const MATRIX_VALUES: usize = 8;
const MATRIX_APPS: usize = 200;
/// Active users per month by value: the most recent months and the values most active in the newest one.
const VALUE_MONTHS: usize = 13;
const MONTH_VALUES: usize = 10;

#[derive(Serialize)]
struct Card {
    key: &'static str,
    label: &'static str,
    value: u64,
}

#[derive(Serialize)]
struct AppRow {
    id: String,
    label: String,
    status: String,
    mode: String,
    assigned: u64,
    active: u64,
    unused: u64,
    reclaim: u64,
    sign_ins: u64,
    last_used: String,
    last_used_text: String,
    spark: Option<String>,
}

#[derive(Serialize)]
struct MonthLine {
    month: String,
    mark: &'static str,
    active_users: u64,
    sign_ins: u64,
    seats: String,
}

#[derive(Serialize)]
struct ValueLine {
    value: String,
    seats: u64,
    active: u64,
    unused: u64,
}

/// One app's seats and active users under one org-wide value (or the rest summed).
#[derive(Serialize, Default, Clone, Copy)]
struct Cell {
    seats: u64,
    active: u64,
}

#[derive(Serialize)]
struct MatrixRow {
    id: String,
    label: String,
    cells: Vec<Cell>,
    rest: Cell,
}

#[derive(Serialize)]
struct MonthValues {
    value: String,
    counts: Vec<u64>,
}

#[derive(Serialize)]
struct ByAttribute {
    attribute: String,
    rows: Vec<ValueLine>,
    /// The org's most held values: the per-app table's columns (`value` as the data, `shown` as the header).
    columns: Vec<(String, String)>,
    matrix: Vec<MatrixRow>,
    matrix_hidden: usize,
    /// Months (oldest first) with active users by this attribute, and the values' counts in them.
    months: Vec<String>,
    month_rows: Vec<MonthValues>,
    month_values_hidden: usize,
}

#[derive(Serialize)]
struct ReclaimView {
    inactive_after: String,
    seats: u64,
    leavers: u64,
    never_used: u64,
    inactive: u64,
    direct: u64,
    group: u64,
}

#[derive(Serialize)]
struct Page {
    version: &'static str,
    /// `kubectl dti ui`: reload every this many seconds (an exported file never reloads).
    refresh: Option<u32>,
    contracts: Vec<ContractLine>,
    /// Wasted spend summed per currency and period, never converted.
    contract_totals: Vec<String>,
    domain: String,
    window: String,
    generated: String,
    generated_text: String,
    cards: Vec<Card>,
    reclaim: Option<ReclaimView>,
    org_chart: Option<String>,
    months: Vec<MonthLine>,
    apps: Vec<AppRow>,
    apps_hidden: usize,
    unused: Vec<AppRow>,
    breakdown: Vec<ByAttribute>,
}

fn text(s: &str) -> String {
    clean(s, 256)
}

fn app_row(a: &AppUsage, spark: bool) -> AppRow {
    let months: Vec<u64> = a.history.months.iter().rev().map(|m| m.active_users).collect();
    AppRow {
        id: text(&a.id),
        label: text(&a.label),
        status: text(&a.status),
        mode: text(&a.sign_on_mode),
        assigned: a.assigned_users,
        active: a.active_users,
        unused: a.unused_seats,
        reclaim: a.reclaim.seats,
        sign_ins: a.sso_events,
        last_used: a.last_used.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)).unwrap_or_default(),
        last_used_text: a.last_used.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "never".into()),
        spark: if spark { charts::sparkline(&months) } else { None },
    }
}

fn cards(report: &Report) -> Vec<Card> {
    let s = &report.summary;
    vec![
        Card { key: "users", label: "users", value: s.users },
        Card { key: "activeUsers", label: "active users", value: s.active_users },
        Card { key: "apps", label: "apps", value: s.apps },
        Card { key: "usedApps", label: "apps used", value: s.used_apps },
        Card { key: "unusedApps", label: "active apps unused", value: s.unused_apps },
        Card { key: "assignedUsers", label: "seats", value: s.assigned_users },
        Card { key: "unusedSeats", label: "unused seats", value: s.unused_seats },
        Card { key: "ssoEvents", label: "sign-ins", value: s.sso_events },
    ]
}

fn months(report: &Report) -> Vec<MonthLine> {
    report
        .summary
        .history
        .months
        .iter()
        .map(|m| MonthLine {
            month: text(&m.month),
            mark: if m.in_progress {
                "in progress"
            } else if m.partial {
                "partial"
            } else {
                ""
            },
            active_users: m.active_users,
            sign_ins: m.sign_ins,
            seats: m.seats.map(|s| s.to_string()).unwrap_or_else(|| "—".into()),
        })
        .collect()
}

fn shown(value: &str) -> String {
    if value.is_empty() { NO_VALUE.to_string() } else { text(value) }
}

/// Each app's seats and active users under the org's most held values, the rest summed.
fn matrix(report: &Report, name: &str, columns: &[&str]) -> Vec<MatrixRow> {
    let apps = report.apps.iter().filter(|a| a.breakdown.contains_key(name)).take(MATRIX_APPS);
    apps.map(|a| {
        let mut cells = vec![Cell::default(); columns.len()];
        let mut rest = Cell::default();
        for r in &a.breakdown[name] {
            let cell = match columns.iter().position(|c| !r.other && *c == r.value) {
                Some(i) => &mut cells[i],
                None => &mut rest,
            };
            cell.seats += r.seats;
            cell.active += r.active_users;
        }
        MatrixRow { id: text(&a.id), label: text(&a.label), cells, rest }
    })
    .collect()
}

/// The org's active users per month by value: months oldest first, values in the newest month's order.
fn value_months(report: &Report, name: &str) -> (Vec<String>, Vec<MonthValues>, usize) {
    let (months, values) = report.summary.history.months_by(name, VALUE_MONTHS);
    let hidden = values.len().saturating_sub(MONTH_VALUES);
    let rows = values
        .iter()
        .take(MONTH_VALUES)
        .map(|value| MonthValues {
            value: shown(value),
            counts: months.iter().map(|m| m.active_with(name, value)).collect(),
        })
        .collect();
    (months.iter().map(|m| text(&m.month)).collect(), rows, hidden)
}

fn breakdown(report: &Report) -> Vec<ByAttribute> {
    report
        .summary
        .breakdown
        .iter()
        .map(|(name, rows)| {
            let columns: Vec<&str> =
                rows.iter().filter(|r| !r.other).take(MATRIX_VALUES).map(|r| r.value.as_str()).collect();
            let apps_with = report.apps.iter().filter(|a| a.breakdown.contains_key(name)).count();
            let (months, month_rows, month_values_hidden) = value_months(report, name);
            ByAttribute {
                attribute: text(name),
                rows: rows
                    .iter()
                    .map(|r| ValueLine {
                        value: shown(&r.value),
                        seats: r.seats,
                        active: r.active_users,
                        unused: r.unused_seats,
                    })
                    .collect(),
                columns: columns.iter().map(|c| (text(c), shown(c))).collect(),
                matrix: matrix(report, name, &columns),
                matrix_hidden: apps_with.saturating_sub(MATRIX_APPS),
                months,
                month_rows,
                month_values_hidden,
            }
        })
        .collect()
}

fn page(report: &Report) -> Page {
    let s = &report.summary;
    let org_months: Vec<u64> = s.history.months.iter().rev().map(|m| m.active_users).collect();
    let unused: Vec<AppRow> = report
        .apps
        .iter()
        .filter(|a| a.status == "ACTIVE" && a.sso_events == 0)
        .take(MAX_UNUSED)
        .map(|a| app_row(a, false))
        .collect();
    let reclaim = (s.reclaim.seats > 0 || !s.reclaim_basis.inactive_after.is_empty()).then(|| ReclaimView {
        inactive_after: text(&s.reclaim_basis.inactive_after),
        seats: s.reclaim.seats,
        leavers: s.reclaim.leavers,
        never_used: s.reclaim.never_used,
        inactive: s.reclaim.inactive,
        direct: s.reclaim.direct,
        group: s.reclaim.group,
    });
    Page {
        version: env!("CARGO_PKG_VERSION"),
        refresh: None,
        contracts: Vec::new(),
        contract_totals: Vec::new(),
        domain: text(&report.domain),
        window: text(&report.usage_window),
        generated: report.generated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        generated_text: report.generated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        cards: cards(report),
        reclaim,
        org_chart: charts::bars(&org_months, 720, 160),
        months: months(report),
        apps: report.apps.iter().take(MAX_APPS).map(|a| app_row(a, true)).collect(),
        apps_hidden: report.apps.len().saturating_sub(MAX_APPS),
        unused,
        breakdown: breakdown(report),
    }
}

/// The page for `report`.
pub(crate) fn render(report: &Report) -> Result<String, String> {
    render_page(page(report))
}

/// A minimal page saying what went wrong (escaped), where a report page cannot be made.
pub(crate) fn error_page(message: &str) -> String {
    let text = clean(message, 400).replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    format!(
        "<!DOCTYPE html><html lang=\"en\"><meta charset=\"utf-8\"><title>error</title><p role=\"alert\">{text}</p></html>\n"
    )
}

/// What the page shows besides the report: the integration's contracts (from the cluster), and for
/// `kubectl dti ui` a reload interval.
#[derive(Default)]
pub(crate) struct Extras {
    pub(crate) contracts: Vec<AppContract>,
    pub(crate) refresh: Option<u32>,
}

/// The page for `report` with `extras`.
pub(crate) fn render_with(report: &Report, extras: Extras) -> Result<String, String> {
    let (contracts, contract_totals) = super::contracts::lines(&extras.contracts);
    render_page(Page { refresh: extras.refresh, contracts, contract_totals, ..page(report) })
}

fn render_page(page: Page) -> Result<String, String> {
    let mut env = Environment::new();
    // The name ends in .html: minijinja escapes every value for HTML.
    env.add_template("page.html", include_str!("page.html")).map_err(|e| e.to_string())?;
    let template = env.get_template("page.html").map_err(|e| e.to_string())?;
    template.render(page).map_err(|e| format!("cannot render the HTML report: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// WCAG 2.x relative luminance of a #rrggbb colour.
    fn luminance(hex: &str) -> f64 {
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0)) / 255.0;
            if c <= 0.03928 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    }

    #[test]
    fn text_colours_pass_wcag_aa_on_both_backgrounds() {
        let css = include_str!("page.html");
        let var = |name: &str| {
            let at = css.find(&format!("--{name}: ")).expect("a colour variable") + name.len() + 4;
            css[at..at + 7].to_string()
        };
        for fg in ["ink", "muted", "accent", "warn"] {
            for bg in ["#ffffff".to_string(), var("band")] {
                let (a, b) = (luminance(&var(fg)), luminance(&bg));
                let ratio = (a.max(b) + 0.05) / (a.min(b) + 0.05);
                assert!(ratio >= 4.5, "--{fg} on {bg}: {ratio:.2}");
            }
        }
    }

    #[test]
    fn okta_text_is_cleaned_and_escaped() {
        let mut report: Report = serde_json::from_value(serde_json::json!({
            "domain": "acme.okta.com", "generatedAt": "2026-12-05T00:00:00Z", "usageWindow": "30d",
            "summary": {"users": 1, "usersByStatus": {}, "activeUsers": 1, "apps": 1, "activeApps": 1, "usedApps": 1,
                "unusedApps": 0, "excludedApps": 0, "assignedUsers": 1, "unusedSeats": 0, "ssoEvents": 1, "skippedRecords": 0},
            "apps": [{"id": "0oa1", "name": "x", "label": "x", "status": "ACTIVE", "signOnMode": "SAML_2_0",
                "assignedUsers": 1, "activeUsers": 1, "unusedSeats": 0, "ssoEvents": 1, "lastUsed": null}]
        }))
        .expect("a report");
        report.apps[0].label = "<script>alert(1)</script>\"'\u{202e}evil".into();
        let html = render(&report).expect("html");
        assert!(!html.contains("<script>alert"), "escaped");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;&quot;&#x27;evil"),
            "as text, bidi mark removed"
        );
        assert_eq!(html.matches("<script>").count(), 1, "only the page's own script");
    }
}
