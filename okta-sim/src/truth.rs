//! Ground truth: the discovery report computed from the generator directly (org model and event
//! generator), never through HTTP, the client or the engine, so a shared misunderstanding cannot hide.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::events::EventKind;
use super::objects::{timestamp, timestamp_ms};
use super::org::UserStatus;
use super::state::SimState;

struct AppTally {
    users: HashSet<u32>,
    events: u64,
    last_ms: Option<i64>,
}

/// The report for the window of `days` days ending at `now`.
pub fn report(state: &SimState, domain: &str, days: u32, now: DateTime<Utc>) -> Value {
    let org = &state.org;
    let log = &state.log;
    let start_ms = (now - Duration::days(days as i64)).timestamp_millis();
    let end_ms = now.timestamp_millis();
    let mut tallies: HashMap<u32, AppTally> = HashMap::new();
    let mut active_users: HashSet<u32> = HashSet::new();
    let mut i = log.first_at_or_after(start_ms);
    while let Some(e) = log.get(org, i) {
        if e.published_ms > end_ms {
            break;
        }
        i += 1;
        if e.kind != EventKind::Sso || !e.success {
            continue;
        }
        let t = tallies.entry(e.app).or_insert(AppTally {
            users: HashSet::new(),
            events: 0,
            last_ms: None,
        });
        t.users.insert(e.user);
        t.events += 1;
        t.last_ms = t.last_ms.max(Some(e.published_ms));
        active_users.insert(e.user);
    }
    let mut apps: Vec<Value> = org
        .apps
        .iter()
        .enumerate()
        .map(|(a, app)| {
            let t = tallies.get(&(a as u32));
            json!({
                "id": app.id,
                "name": app.name,
                "label": app.label,
                "status": if app.active { "ACTIVE" } else { "INACTIVE" },
                "signOnMode": app.sign_on_mode.as_str(),
                "assignedUsers": org.assignments[a].len(),
                "activeUsers": t.map_or(0, |t| t.users.len()),
                "ssoEvents": t.map_or(0, |t| t.events),
                "lastUsed": t.and_then(|t| t.last_ms).map(timestamp_ms),
            })
        })
        .collect();
    apps.sort_by(|x, y| {
        let key = |v: &Value| {
            (
                v["activeUsers"].as_u64().unwrap_or(0),
                v["label"].as_str().unwrap_or("").to_string(),
                v["id"].as_str().unwrap_or("").to_string(),
            )
        };
        let (xa, xl, xi) = key(x);
        let (ya, yl, yi) = key(y);
        ya.cmp(&xa).then(xl.cmp(&yl)).then(xi.cmp(&yi))
    });
    let active_apps = org.apps.iter().filter(|a| a.active).count();
    let used_apps = tallies.values().filter(|t| t.events > 0).count();
    let unused_apps = org
        .apps
        .iter()
        .enumerate()
        .filter(|(a, app)| app.active && !tallies.contains_key(&(*a as u32)))
        .count();
    json!({
        "domain": domain,
        "generatedAt": timestamp(now),
        "usageWindow": format!("{days}d"),
        "summary": {
            "users": org.users.iter().filter(|u| u.status != UserStatus::Deprovisioned).count(),
            "activeUsers": active_users.len(),
            "apps": org.apps.len(),
            "activeApps": active_apps,
            "usedApps": used_apps,
            "unusedApps": unused_apps,
            "ssoEvents": tallies.values().map(|t| t.events).sum::<u64>(),
        },
        "apps": apps,
    })
}
