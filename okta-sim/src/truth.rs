//! Ground truth: the discovery report computed from the model directly (org and event generator), never
//! through HTTP, the client or the engine, so a shared misunderstanding cannot hide. The rules:
//! - the inventory is the listed apps without Okta's own apps and OAuth service clients (those are
//!   counted in excludedApps), unless `include_okta_apps`;
//! - a sign-in is a SUCCESS event of a sign-in type (SSO, OIDC, RADIUS, Office 365 rich client) by a user
//!   to an inventory app, published in the window and visible by the cut-off time; an OIDC sign-in and
//!   its user.authentication.sso twin are one sign-in (one transaction);
//! - assignedUsers counts app users whose status holds a seat; unusedSeats those with no sign-in.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, Utc};
use serde_json::{Value, json};

use super::events::{Event, EventKind};
use super::objects::{timestamp, timestamp_ms};
use super::org::{AppKind, Org, UserStatus};
use super::state::SimState;

const DAY_MS: i64 = 86_400_000;

#[derive(Default)]
struct AppTally {
    users: HashSet<u32>,
    events: u64,
    last_ms: Option<i64>,
    daily: BTreeMap<i64, u64>,
}

/// What the truth report is computed for.
pub struct TruthQuery<'a> {
    pub domain: &'a str,
    pub days: u32,
    /// The window ends here, and only events visible by then count.
    pub at: DateTime<Utc>,
    pub include_okta_apps: bool,
    /// Add each app's sign-ins per UTC day.
    pub daily: bool,
    /// Add each app's and the org's months and ISO weeks, from every sign-in the log ever held.
    pub history: bool,
    /// Seats to reclaim: a seat holder's last sign-in (or assignment, with none) older than this is idle.
    pub inactive_after: Duration,
    /// Members of these groups (ids) are never counted as seats to reclaim.
    pub exempt_groups: Vec<String>,
    /// Profile attributes to break each app's and the org's seats, active users and unused seats down by.
    pub breakdown: Vec<String>,
}

/// One attribute value's counts.
#[derive(Default, Clone, Copy)]
struct ValueCounts {
    seats: u64,
    active: u64,
    unused: u64,
}

/// Per attribute, per value ("" for users without it): the counts, as the report lists them (most seats,
/// then most active users, then by value).
fn breakdown_json(names: &[String], counts: &[BTreeMap<String, ValueCounts>]) -> Value {
    let mut out = serde_json::Map::new();
    for (name, by_value) in names.iter().zip(counts) {
        let mut rows: Vec<(&String, &ValueCounts)> = by_value.iter().collect();
        rows.sort_by(|a, b| b.1.seats.cmp(&a.1.seats).then(b.1.active.cmp(&a.1.active)).then_with(|| a.0.cmp(b.0)));
        let rows: Vec<Value> = rows
            .into_iter()
            .map(|(v, c)| json!({"value": v, "seats": c.seats, "activeUsers": c.active, "unusedSeats": c.unused}))
            .collect();
        out.insert(name.clone(), Value::Array(rows));
    }
    Value::Object(out)
}

fn value_of(org: &Org, user: u32, name: &str) -> String {
    org.users.get(user as usize).and_then(|u| u.profile.get(name)).unwrap_or("").to_string()
}

/// One app's breakdown from its seat holders and its active users.
fn app_breakdown(
    org: &Org,
    names: &[String],
    holders: &[u32],
    active: Option<&HashSet<u32>>,
) -> Vec<BTreeMap<String, ValueCounts>> {
    names
        .iter()
        .map(|name| {
            let mut by_value: BTreeMap<String, ValueCounts> = BTreeMap::new();
            for &u in holders {
                let c = by_value.entry(value_of(org, u, name)).or_default();
                c.seats += 1;
                c.unused += u64::from(active.is_none_or(|a| !a.contains(&u)));
            }
            for &u in active.into_iter().flatten() {
                by_value.entry(value_of(org, u, name)).or_default().active += 1;
            }
            by_value
        })
        .collect()
}

/// Seats to reclaim in one app, each seat under one reason, first match in this order: a leaver (the user
/// is SUSPENDED or DEPROVISIONED), never used (no sign-in ever, assigned before the cut-off), inactive
/// (last sign-in before the cut-off). Members of an exempt group are left out.
#[derive(Default, Clone, Copy)]
struct Reclaim {
    inactive: u64,
    never_used: u64,
    leavers: u64,
    direct: u64,
    group: u64,
}

impl Reclaim {
    fn add(&mut self, other: &Reclaim) {
        self.inactive += other.inactive;
        self.never_used += other.never_used;
        self.leavers += other.leavers;
        self.direct += other.direct;
        self.group += other.group;
    }

    fn json(&self) -> Value {
        json!({"seats": self.inactive + self.never_used + self.leavers, "inactive": self.inactive,
            "neverUsed": self.never_used, "leavers": self.leavers, "direct": self.direct, "group": self.group})
    }
}

/// Every app's seats to reclaim, from the last sign-in of each (app, user) in everything the log holds.
fn reclaim(state: &SimState, org: &Org, q: &TruthQuery) -> HashMap<u32, Reclaim> {
    let end_ms = q.at.timestamp_millis();
    let mut last: HashMap<(u32, u32), i64> = HashMap::new();
    let mut transactions: HashSet<u64> = HashSet::new();
    state.log.scan(org, i64::MIN, end_ms, end_ms, |e: &Event| {
        if !e.kind.is_sign_in() || !e.success || !in_inventory(org, e.app as usize, q.include_okta_apps) {
            return;
        }
        if matches!(e.kind, EventKind::OidcSignOn | EventKind::OidcSsoTwin) && !transactions.insert(e.transaction) {
            return;
        }
        let at = last.entry((e.app, e.user)).or_insert(e.published_ms);
        *at = (*at).max(e.published_ms);
    });
    let exempt: HashSet<u32> =
        org.groups.iter().filter(|g| q.exempt_groups.contains(&g.id)).flat_map(|g| g.members.iter().copied()).collect();
    let cutoff_ms = (q.at - q.inactive_after).timestamp_millis();
    let mut out: HashMap<u32, Reclaim> = HashMap::new();
    for a in (0..org.apps.len()).filter(|&a| in_inventory(org, a, q.include_okta_apps)) {
        let r = out.entry(a as u32).or_default();
        for row in org.assignments[a].iter().filter(|r| r.status.holds_seat() && !exempt.contains(&r.user)) {
            let leaver =
                matches!(org.users[row.user as usize].status, UserStatus::Suspended | UserStatus::Deprovisioned);
            let seen = last.get(&(a as u32, row.user)).copied();
            let reason = if leaver {
                &mut r.leavers
            } else {
                match seen {
                    None if row.assigned.timestamp_millis() < cutoff_ms => &mut r.never_used,
                    Some(t) if t < cutoff_ms => &mut r.inactive,
                    _ => continue,
                }
            };
            *reason += 1;
            *if row.direct { &mut r.direct } else { &mut r.group } += 1;
        }
    }
    out
}

/// Distinct users and sign-ins per month ("2026-11") and per ISO week ("2026-W48"), UTC.
#[derive(Default)]
struct Periods {
    months: BTreeMap<String, (HashSet<u32>, u64)>,
    weeks: BTreeMap<String, (HashSet<u32>, u64)>,
}

impl Periods {
    fn add(&mut self, user: u32, published_ms: i64) {
        let Some(day) = DateTime::from_timestamp_millis(published_ms).map(|t| t.date_naive()) else {
            return;
        };
        let week = day.iso_week();
        for (map, label) in [
            (&mut self.months, format!("{:04}-{:02}", day.year(), day.month())),
            (&mut self.weeks, format!("{:04}-W{:02}", week.year(), week.week())),
        ] {
            let entry = map.entry(label).or_default();
            entry.0.insert(user);
            entry.1 += 1;
        }
    }

    /// Months and weeks, newest first; with breakdown attributes `names`, each month's active users per
    /// value of each, under the value each user has now (a test compares the months that closed since).
    fn json(&self, org: &Org, names: &[String]) -> Value {
        let rows = |map: &BTreeMap<String, (HashSet<u32>, u64)>, key: &str| -> Vec<Value> {
            map.iter()
                .rev()
                .map(|(label, (users, n))| {
                    let mut row = json!({key: label, "activeUsers": users.len(), "signIns": n});
                    if key == "month" && !names.is_empty() {
                        row["breakdown"] = month_breakdown(org, names, users);
                    }
                    row
                })
                .collect()
        };
        json!({"months": rows(&self.months, "month"), "weeks": rows(&self.weeks, "week")})
    }
}

/// Per attribute, `users` counted by their value, most users first (then by value).
fn month_breakdown(org: &Org, names: &[String], users: &HashSet<u32>) -> Value {
    let mut out = serde_json::Map::new();
    for name in names {
        let mut by_value: BTreeMap<String, u64> = BTreeMap::new();
        for &u in users {
            *by_value.entry(value_of(org, u, name)).or_default() += 1;
        }
        let mut rows: Vec<(String, u64)> = by_value.into_iter().collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let rows = rows.into_iter().map(|(value, n)| json!({"value": value, "activeUsers": n})).collect();
        out.insert(name.clone(), Value::Array(rows));
    }
    Value::Object(out)
}

/// Every counted sign-in the log holds up to `q.at` (any age: the truth remembers what Okta dropped), by
/// app and for the org. An app deleted later keeps what it had while it was there.
fn history(state: &SimState, org: &Org, q: &TruthQuery) -> (HashMap<u32, Periods>, Periods) {
    let end_ms = q.at.timestamp_millis();
    let (mut apps, mut all): (HashMap<u32, Periods>, Periods) = Default::default();
    let mut transactions: HashSet<u64> = HashSet::new();
    state.log.scan(org, i64::MIN, end_ms, end_ms, |e: &Event| {
        let app = &org.apps[e.app as usize];
        // An app deleted before okta-sim started was never listed: no client can know it was the org's.
        let never_listed = app.deleted_at.is_some_and(|t| t < org.anchor);
        let counted_app = (q.include_okta_apps || app.kind == AppKind::Saas) && !never_listed;
        if !e.kind.is_sign_in() || !e.success || !counted_app {
            return;
        }
        if matches!(e.kind, EventKind::OidcSignOn | EventKind::OidcSsoTwin) && !transactions.insert(e.transaction) {
            return;
        }
        apps.entry(e.app).or_default().add(e.user, e.published_ms);
        all.add(e.user, e.published_ms);
    });
    (apps, all)
}

fn in_inventory(org: &Org, a: usize, include_okta_apps: bool) -> bool {
    let app = &org.apps[a];
    !app.deleted && (include_okta_apps || app.kind == AppKind::Saas)
}

fn tally(state: &SimState, org: &Org, q: &TruthQuery) -> (HashMap<u32, AppTally>, HashSet<u32>) {
    let end_ms = q.at.timestamp_millis();
    let start_ms = (q.at - Duration::days(i64::from(q.days))).timestamp_millis();
    let mut tallies: HashMap<u32, AppTally> = HashMap::new();
    let mut active: HashSet<u32> = HashSet::new();
    let mut transactions: HashSet<u64> = HashSet::new();
    state.log.scan(org, start_ms, end_ms, end_ms, |e: &Event| {
        if !e.kind.is_sign_in() || !e.success || !in_inventory(org, e.app as usize, q.include_okta_apps) {
            return;
        }
        if matches!(e.kind, EventKind::OidcSignOn | EventKind::OidcSsoTwin) && !transactions.insert(e.transaction) {
            return;
        }
        let t = tallies.entry(e.app).or_default();
        t.users.insert(e.user);
        t.events += 1;
        t.last_ms = t.last_ms.max(Some(e.published_ms));
        *t.daily.entry(e.published_ms.div_euclid(DAY_MS)).or_default() += 1;
        active.insert(e.user);
    });
    (tallies, active)
}

fn app_row(org: &Org, a: usize, t: Option<&AppTally>, q: &TruthQuery) -> Value {
    let app = &org.apps[a];
    let holders: Vec<u32> = org.assignments[a].iter().filter(|r| r.status.holds_seat()).map(|r| r.user).collect();
    let breakdown = app_breakdown(org, &q.breakdown, &holders, t.map(|t| &t.users));
    let unused = holders.iter().filter(|u| t.is_none_or(|t| !t.users.contains(u))).count();
    let mut row = json!({
        "id": app.id,
        "name": app.name,
        "label": app.label,
        "status": if app.active { "ACTIVE" } else { "INACTIVE" },
        "signOnMode": app.sign_on_mode.as_str(),
        "assignedUsers": holders.len(),
        "activeUsers": t.map_or(0, |t| t.users.len()),
        "unusedSeats": unused,
        "ssoEvents": t.map_or(0, |t| t.events),
        "lastUsed": t.and_then(|t| t.last_ms).map(timestamp_ms),
    });
    if app.kind != AppKind::Saas {
        row["builtIn"] = Value::from(true);
    }
    if !q.breakdown.is_empty() {
        row["breakdown"] = breakdown_json(&q.breakdown, &breakdown);
    }
    if q.daily {
        let last_day = q.at.timestamp_millis().div_euclid(DAY_MS);
        let days: Vec<u64> = (0..i64::from(q.days))
            .rev()
            .map(|back| t.and_then(|t| t.daily.get(&(last_day - back)).copied()).unwrap_or(0))
            .collect();
        row["dailySignIns"] = json!(days);
    }
    row
}

fn sort_key(v: &Value) -> (std::cmp::Reverse<u64>, String, String) {
    (
        std::cmp::Reverse(v["activeUsers"].as_u64().unwrap_or(0)),
        v["label"].as_str().unwrap_or("").to_string(),
        v["id"].as_str().unwrap_or("").to_string(),
    )
}

/// The org's breakdown: seats and unused seats summed over the apps, active users distinct.
fn org_breakdown(org: &Org, names: &[String], apps: &[Value], active: &HashSet<u32>) -> Value {
    let mut counts = app_breakdown(org, names, &[], Some(active));
    for (i, name) in names.iter().enumerate() {
        for row in apps.iter().filter_map(|a| a["breakdown"][name].as_array()).flatten() {
            let c = counts[i].entry(row["value"].as_str().unwrap_or("").to_string()).or_default();
            c.seats += row["seats"].as_u64().unwrap_or(0);
            c.unused += row["unusedSeats"].as_u64().unwrap_or(0);
        }
    }
    breakdown_json(names, &counts)
}

/// The report for `q`.
pub fn report(state: &SimState, q: &TruthQuery) -> Value {
    let org = state.org();
    let (tallies, active) = tally(state, &org, q);
    let inventory: Vec<usize> = (0..org.apps.len()).filter(|&a| in_inventory(&org, a, q.include_okta_apps)).collect();
    let mut apps: Vec<Value> = inventory.iter().map(|&a| app_row(&org, a, tallies.get(&(a as u32)), q)).collect();
    let reclaims = reclaim(state, &org, q);
    let mut org_reclaim = Reclaim::default();
    for (row, &a) in apps.iter_mut().zip(&inventory) {
        let r = reclaims.get(&(a as u32)).copied().unwrap_or_default();
        org_reclaim.add(&r);
        row["reclaim"] = r.json();
    }
    let org_history = q.history.then(|| {
        let (by_app, all) = history(state, &org, q);
        for (row, &a) in apps.iter_mut().zip(&inventory) {
            let periods = by_app.get(&(a as u32));
            row["history"] =
                periods.map_or_else(|| Periods::default().json(&org, &q.breakdown), |p| p.json(&org, &q.breakdown));
        }
        all.json(&org, &q.breakdown)
    });
    apps.sort_by_key(sort_key);
    let mut by_status: BTreeMap<&str, u64> = BTreeMap::new();
    for u in &org.users {
        *by_status.entry(u.status.as_str()).or_default() += 1;
    }
    let sum = |field: &str| apps.iter().map(|a| a[field].as_u64().unwrap_or(0)).sum::<u64>();
    let excluded = (0..org.apps.len())
        .filter(|&a| !org.apps[a].deleted && org.apps[a].kind != AppKind::Saas && !q.include_okta_apps)
        .count();
    let summary = json!({
        "users": org.users.iter().filter(|u| u.status != UserStatus::Deprovisioned).count(),
        "usersByStatus": by_status,
        "activeUsers": active.len(),
        "apps": apps.len(),
        "activeApps": apps.iter().filter(|a| a["status"] == "ACTIVE").count(),
        "usedApps": apps.iter().filter(|a| a["ssoEvents"].as_u64().unwrap_or(0) > 0).count(),
        "unusedApps": apps.iter().filter(|a| a["status"] == "ACTIVE" && a["ssoEvents"].as_u64().unwrap_or(0) == 0).count(),
        "excludedApps": excluded,
        "assignedUsers": sum("assignedUsers"),
        "unusedSeats": sum("unusedSeats"),
        "ssoEvents": sum("ssoEvents"),
        "skippedRecords": 0,
        "reclaim": org_reclaim.json(),
    });
    let mut summary = summary;
    if let Some(h) = org_history {
        summary["history"] = h;
    }
    if !q.breakdown.is_empty() {
        summary["breakdown"] = org_breakdown(&org, &q.breakdown, &apps, &active);
    }
    json!({
        "domain": q.domain,
        "generatedAt": timestamp(q.at),
        "usageWindow": format!("{}d", q.days),
        "summary": summary,
        "apps": apps,
    })
}
