//! The sync report as JSON (the contract), CSV (one row per app) or a table for people.

use chrono::SecondsFormat;

use crate::discovery::Report;

pub fn json(report: &Report) -> String {
    match serde_json::to_string_pretty(report) {
        Ok(s) => format!("{s}\n"),
        Err(e) => format!("{{\"error\": \"{e}\"}}\n"),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn csv(report: &Report) -> String {
    let mut out = String::from(
        "id,name,label,status,signOnMode,assignedUsers,activeUsers,ssoEvents,lastUsed\n",
    );
    for a in &report.apps {
        let last = a
            .last_used
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
            .unwrap_or_default();
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            csv_field(&a.id),
            csv_field(&a.name),
            csv_field(&a.label),
            csv_field(&a.status),
            csv_field(&a.sign_on_mode),
            a.assigned_users,
            a.active_users,
            a.sso_events,
            last
        ));
    }
    out
}

pub fn table(report: &Report) -> String {
    let s = &report.summary;
    let mut out = format!(
        "Okta org {} · usage over the last {} · generated {}\n\
         users {} · active users {} · apps {} ({} active) · used {} · unused {} · SSO sign-ins {}\n\n",
        report.domain,
        report.usage_window,
        report
            .generated_at
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        s.users,
        s.active_users,
        s.apps,
        s.active_apps,
        s.used_apps,
        s.unused_apps,
        s.sso_events
    );
    let headers = [
        "APP",
        "STATUS",
        "SIGN-ON",
        "ASSIGNED",
        "ACTIVE",
        "SIGN-INS",
        "LAST USED",
    ];
    let rows: Vec<[String; 7]> = report
        .apps
        .iter()
        .map(|a| {
            [
                a.label.clone(),
                a.status.clone(),
                a.sign_on_mode.clone(),
                a.assigned_users.to_string(),
                a.active_users.to_string(),
                a.sso_events.to_string(),
                a.last_used
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| "never".into()),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            // text left-aligned, numbers right-aligned
            if (3..6).contains(&i) {
                l.push_str(&format!("{cell:>w$}  "));
            } else {
                l.push_str(&format!("{cell:<w$}  "));
            }
        }
        format!("{}\n", l.trim_end())
    };
    out.push_str(&line(&headers.map(String::from)));
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}
