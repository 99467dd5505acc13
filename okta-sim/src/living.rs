//! The org as a living thing: assignments, group memberships, apps and users change at run time (by the
//! control endpoint or by background churn), and each change writes the System Log events Okta writes
//! for it (event types from Okta's catalogue, okta-developer-docs data/event-types.json). `--truth` and
//! /__sim/truth follow the changes.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::events::{Event, EventKind};
use super::org::DEPARTMENT_NAMES;
use super::org::{AppKind, AppUserStatus, PROFILE_ATTRIBUTES, SignInStyle, SignOnMode, UserStatus};
use super::rng::{Draws, hash3};
use super::state::SimState;

/// One change, as POST /__sim/changes takes it.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// assign, unassign, app-user-status, group-assign, group-unassign, member-add, member-remove,
    /// app-add, app-deactivate, app-activate, app-delete, user-status, profile, sign-ins.
    #[serde(default)] // POST /__sim/events implies sign-ins
    pub op: String,
    pub app: Option<String>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub status: Option<String>,
    pub label: Option<String>,
    pub mode: Option<String>,
    /// sign-ins: how many, by how many distinct users.
    pub count: Option<u64>,
    pub users: Option<u64>,
    /// The event's `published` lies this far in the past (a late event).
    pub ago_seconds: Option<u64>,
    /// profile: the attribute to set (department, costCenter, workLocation) and its new value (absent:
    /// unset it).
    pub attribute: Option<String>,
    pub value: Option<String>,
}

fn event(kind: EventKind, app: usize, user: u32, group: u32, published_ms: i64, transaction: u64) -> Event {
    Event {
        index: 0,
        published_ms,
        visible_ms: published_ms,
        kind,
        app: app as u32,
        user,
        group,
        success: true,
        app_user_first: false,
        transaction,
    }
}

fn find_app(state: &SimState, id: &Option<String>) -> Result<usize, String> {
    let org = state.org();
    let id = id.as_deref().ok_or("give \"app\" (an app id or label)")?;
    org.app_index(id).or_else(|| org.apps.iter().position(|a| a.label == id)).ok_or_else(|| format!("no app {id:?}"))
}

fn find_user(state: &SimState, id: &Option<String>) -> Result<u32, String> {
    let id = id.as_deref().ok_or("give \"user\" (a user id or login)")?;
    let org = state.org();
    org.user_index(id)
        .or_else(|| org.users.iter().position(|u| u.login == id))
        .map(|u| u as u32)
        .ok_or_else(|| format!("no user {id:?}"))
}

fn find_group(state: &SimState, id: &Option<String>) -> Result<u32, String> {
    let id = id.as_deref().ok_or("give \"group\" (a group id or name)")?;
    let org = state.org();
    org.groups
        .iter()
        .position(|g| g.id == id || g.name == id)
        .map(|g| g as u32)
        .ok_or_else(|| format!("no group {id:?}"))
}

fn app_user_status(text: &Option<String>) -> Result<AppUserStatus, String> {
    match text {
        None => Ok(AppUserStatus::Active),
        Some(s) => AppUserStatus::parse(s).ok_or_else(|| format!("unknown app user status {s:?}")),
    }
}

/// When a change happens and the transaction its events share.
struct Stamp {
    now_ms: i64,
    at: i64,
    tx: u64,
}

impl Stamp {
    fn time(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.at).unwrap_or_default()
    }

    /// Appends one of the change's events to the System Log (visible after the log lag).
    fn emit(&self, state: &SimState, kind: EventKind, app: usize, user: u32, group: u32) {
        state.log.append(event(kind, app, user, group, self.at, self.tx), self.now_ms);
    }
}

/// Applies a change and appends its events; returns what happened.
pub fn apply(state: &SimState, change: &Change) -> Result<Value, String> {
    let now_ms = state.clock.now().timestamp_millis();
    let stamp = Stamp {
        now_ms,
        at: now_ms - change.ago_seconds.unwrap_or(0) as i64 * 1000,
        tx: hash3(now_ms as u64, 0x7a, state.log.len()),
    };
    match change.op.as_str() {
        "assign" | "unassign" | "app-user-status" => assignment(state, change, &stamp),
        "group-assign" | "group-unassign" => group_assignment(state, change, &stamp),
        "member-add" | "member-remove" => membership(state, change, &stamp),
        "app-add" => {
            let label = change.label.clone().unwrap_or_else(|| "New App".into());
            let mode = change.mode.as_deref().and_then(SignOnMode::parse).unwrap_or(SignOnMode::Saml20);
            let app = state.org_mut().add_app(&label, mode, state.clock.now());
            stamp.emit(state, EventKind::AppCreate, app, 0, 0);
            stamp.emit(state, EventKind::AppActivate, app, 0, 0);
            Ok(json!({"app": state.org().apps[app].id}))
        }
        "app-deactivate" | "app-activate" | "app-delete" => app_lifecycle(state, change, &stamp),
        "user-status" => user_status(state, change, &stamp),
        "profile" => profile(state, change, &stamp),
        "sign-ins" => sign_ins(state, change, stamp.at, now_ms),
        other => Err(format!("unknown op {other:?}")),
    }
}

/// A direct assignment added, removed or given a status (application.user_membership.*).
fn assignment(state: &SimState, change: &Change, stamp: &Stamp) -> Result<Value, String> {
    let (app, user) = (find_app(state, &change.app)?, find_user(state, &change.user)?);
    let status = (change.op != "unassign").then(|| app_user_status(&change.status)).transpose()?;
    let changed = state.org_mut().set_direct(app, user, status, stamp.time());
    let kind = match change.op.as_str() {
        "assign" => EventKind::AppUserAdd,
        "unassign" => EventKind::AppUserRemove,
        _ => EventKind::AppUserUpdate,
    };
    if changed {
        stamp.emit(state, kind, app, user, 0);
    }
    Ok(json!({"changed": changed}))
}

/// A group assigned to an app or removed from it: every member gains or loses a GROUP row.
fn group_assignment(state: &SimState, change: &Change, stamp: &Stamp) -> Result<Value, String> {
    let (app, group) = (find_app(state, &change.app)?, find_group(state, &change.group)?);
    let mut org = state.org_mut();
    let assign = change.op == "group-assign";
    if assign == org.apps[app].groups.contains(&group) {
        return Ok(json!({"changed": false}));
    }
    if assign {
        org.apps[app].groups.push(group);
    } else {
        org.apps[app].groups.retain(|&g| g != group);
    }
    let members = org.groups[group as usize].members.clone();
    for u in members {
        org.refresh_group_row(app, u, stamp.time());
    }
    drop(org);
    stamp.emit(state, if assign { EventKind::GroupAppAdd } else { EventKind::GroupAppRemove }, app, 0, group);
    Ok(json!({"changed": true}))
}

/// A user added to a group or removed from it: the group's apps gain or lose the user's GROUP row.
fn membership(state: &SimState, change: &Change, stamp: &Stamp) -> Result<Value, String> {
    let (group, user) = (find_group(state, &change.group)?, find_user(state, &change.user)?);
    let add = change.op == "member-add";
    let mut org = state.org_mut();
    let members = &mut org.groups[group as usize].members;
    let changed = match (members.binary_search(&user), add) {
        (Err(i), true) => {
            members.insert(i, user);
            true
        }
        (Ok(i), false) => {
            members.remove(i);
            true
        }
        _ => false,
    };
    if changed {
        for app in org.apps_of_group(group) {
            org.refresh_group_row(app, user, stamp.time());
        }
        drop(org);
        stamp.emit(state, if add { EventKind::GroupMemberAdd } else { EventKind::GroupMemberRemove }, 0, user, group);
    }
    Ok(json!({"changed": changed}))
}

/// An app deactivated, activated or deleted (application.lifecycle.*).
fn app_lifecycle(state: &SimState, change: &Change, stamp: &Stamp) -> Result<Value, String> {
    let app = find_app(state, &change.app)?;
    let mut org = state.org_mut();
    let kind = match change.op.as_str() {
        "app-deactivate" => {
            org.apps[app].active = false;
            EventKind::AppDeactivate
        }
        "app-activate" => {
            org.apps[app].active = true;
            EventKind::AppActivate
        }
        _ => {
            org.apps[app].active = false;
            org.apps[app].deleted = true;
            org.apps[app].deleted_at = Some(state.clock.now());
            EventKind::AppDelete
        }
    };
    drop(org);
    stamp.emit(state, kind, app, 0, 0);
    Ok(json!({"changed": true}))
}

/// A user's status changed (user.lifecycle.* and user.account.*).
fn user_status(state: &SimState, change: &Change, stamp: &Stamp) -> Result<Value, String> {
    let user = find_user(state, &change.user)?;
    let status =
        change.status.as_deref().and_then(UserStatus::parse).ok_or("give a user \"status\" such as SUSPENDED")?;
    let before = state.org().users[user as usize].status;
    let kind = match status {
        UserStatus::Suspended => EventKind::UserSuspend,
        UserStatus::Deprovisioned => EventKind::UserDeactivate,
        UserStatus::LockedOut => EventKind::UserLock,
        UserStatus::Active if before == UserStatus::Suspended => EventKind::UserUnsuspend,
        UserStatus::Active if before == UserStatus::LockedOut => EventKind::UserUnlock,
        _ => EventKind::UserActivate,
    };
    state.org_mut().users[user as usize].status = status;
    stamp.emit(state, kind, 0, user, 0);
    Ok(json!({"changed": true}))
}

/// A user's profile attribute changed: one user.account.update_profile event targeting the user (Okta's
/// event catalogue; okta-api-facts "History, people and money").
fn profile(state: &SimState, change: &Change, stamp: &Stamp) -> Result<Value, String> {
    let user = find_user(state, &change.user)?;
    let name = change.attribute.as_deref().ok_or("give the profile \"attribute\" to change")?;
    if !state.org_mut().users[user as usize].profile.set(name, change.value.clone()) {
        return Err(format!("okta-sim models the profile attributes {PROFILE_ATTRIBUTES:?}, not {name:?}"));
    }
    stamp.emit(state, EventKind::UserUpdateProfile, 0, user, 0);
    Ok(json!({"changed": true}))
}

/// Appends successful sign-ins to an app by its assigned users who can use it, in the event type the
/// app's sign-ins use.
fn sign_ins(state: &SimState, change: &Change, at: i64, now_ms: i64) -> Result<Value, String> {
    let app = find_app(state, &change.app)?;
    let count = change.count.unwrap_or(1);
    let org = state.org();
    let candidates: Vec<u32> = org.assignments[app]
        .iter()
        .filter(|r| r.status.can_sign_in() && org.users[r.user as usize].status.signs_in())
        .map(|r| r.user)
        .collect();
    if candidates.is_empty() && count > 0 {
        return Err("that app has nobody who can sign in".into());
    }
    let kind = match org.apps[app].style {
        SignInStyle::Oidc => EventKind::OidcSignOn,
        SignInStyle::Radius => EventKind::Radius,
        _ => EventKind::Sso,
    };
    let distinct = change.users.unwrap_or(count).clamp(1, candidates.len().max(1) as u64);
    let app_id = org.apps[app].id.clone();
    drop(org);
    let mut first = None;
    for n in 0..count {
        let user = candidates[(n % distinct) as usize];
        let mut e = event(kind, app, user, 0, at, hash3(now_ms as u64, n, state.log.len()));
        e.app_user_first = n % 2 == 1;
        let index = state.log.append(e, now_ms);
        first.get_or_insert(index);
    }
    Ok(json!({"appended": count, "firstIndex": first, "app": app_id}))
}

/// Background churn: `per_minute` random changes a minute (assignments, group memberships, user
/// statuses, app statuses, sign-ins), for long-running benchmarks and soak tests.
pub async fn churn(state: Arc<SimState>, per_minute: f64) {
    if per_minute <= 0.0 {
        return;
    }
    let gap = Duration::from_secs_f64(60.0 / per_minute);
    let mut n = 0u64;
    loop {
        tokio::time::sleep(gap).await;
        n += 1;
        let change = random_change(&state, n);
        if let Err(e) = apply(&state, &change) {
            tracing_free_log(&format!("churn: {e}"));
        }
    }
}

/// A burst of churn at once (POST /__sim/churn), for benchmarks: `changes` random changes as `--churn`
/// makes them, then `sign_ins` more sign-ins spread over random apps. Returns how many applied.
pub fn burst(state: &SimState, changes: u64, sign_ins: u64, first: u64) -> Value {
    let mut applied = 0u64;
    for n in first..first + changes {
        applied += u64::from(apply(state, &random_change(state, n)).is_ok());
    }
    let (mut added, mut n) = (0u64, first + changes);
    while added < sign_ins {
        let mut change = random_change(state, n);
        n += 1;
        let count = (sign_ins - added).min(200);
        change = Change { op: "sign-ins".into(), count: Some(count), users: Some(count.min(50)), ..change };
        if apply(state, &change).is_ok() {
            added += count;
        } else if n > first + changes + sign_ins {
            break; // no app has anybody who can sign in
        }
    }
    json!({"changes": applied, "signIns": added})
}

fn tracing_free_log(message: &str) {
    eprintln!("okta-sim: {message}");
}

fn random_change(state: &SimState, n: u64) -> Change {
    let org = state.org();
    let mut d = Draws::new(org.seed, 0xc4, n);
    let saas: Vec<usize> =
        (0..org.apps.len()).filter(|&a| org.apps[a].kind == AppKind::Saas && !org.apps[a].deleted).collect();
    let app = saas[d.below(saas.len().max(1) as u64) as usize % saas.len().max(1)];
    let user = d.below(org.users.len().max(1) as u64) as usize;
    let group = 1 + d.below(org.groups.len().saturating_sub(1).max(1) as u64) as usize;
    let ids =
        (org.apps[app].id.clone(), org.users[user].id.clone(), org.groups[group.min(org.groups.len() - 1)].id.clone());
    let direct = org.assignments[app].iter().find(|r| r.direct).map(|r| org.users[r.user as usize].id.clone());
    let suspended = org.users[user].status == UserStatus::Suspended;
    drop(org);
    let base = |op: &str| Change {
        op: op.into(),
        app: Some(ids.0.clone()),
        user: Some(ids.1.clone()),
        group: Some(ids.2.clone()),
        ..Change::default()
    };
    match d.below(10) {
        0..=2 => base("assign"),
        3 => Change { user: direct.or(Some(ids.1.clone())), ..base("unassign") },
        4 => base(if d.chance(0.5) { "member-add" } else { "member-remove" }),
        5 => Change { status: Some(if suspended { "ACTIVE" } else { "SUSPENDED" }.into()), ..base("user-status") },
        6 => Change { status: Some("PROVISIONED".into()), ..base("app-user-status") },
        7 => {
            let attribute = PROFILE_ATTRIBUTES[d.below(PROFILE_ATTRIBUTES.len() as u64) as usize];
            let value = match attribute {
                "department" => DEPARTMENT_NAMES[d.below(DEPARTMENT_NAMES.len() as u64) as usize].to_string(),
                "costCenter" => format!("CC-{:04}", 9000 + d.below(400)),
                _ => ["Remote", "Lisbon"][d.below(2) as usize].to_string(),
            };
            Change { attribute: Some(attribute.into()), value: Some(value), ..base("profile") }
        }
        _ => Change { count: Some(1 + d.below(20)), users: Some(1 + d.below(5)), ..base("sign-ins") },
    }
}
