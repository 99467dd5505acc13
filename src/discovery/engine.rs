//! One sync. A full sync lists the app list, every inventory app's users and groups, and every user,
//! concurrently with the System Log read (independent rate-limit buckets). An incremental sync reads only
//! the System Log since the cursor and re-lists just what its change events touched: an app's users after
//! an assignment change or a membership change of one of its groups, the app list after an app lifecycle
//! event, a user after a user lifecycle event. A full sync runs first, and again every refresh interval.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use futures::{StreamExt, TryStreamExt};

use super::assignments::{Assignments, RawAppGroup, RawAppUser, Row};
use super::clock::Clock;
use super::directory::{RawUser, UserRecord};
use super::failure::{CredentialKind, SyncError};
use super::fetch::{APP_GROUPS_PAGE, APP_USERS_PAGE, APPS_PAGE, LISTING_MARGIN_MS, Reader, USERS_PAGE};
use super::history::{InventoryApp, LOG_RETENTION_MS, Ledgers, Retention};
use super::inventory::{AppRecord, RawApp};
use super::log::{self, Changes};
use super::need::Need;
pub(crate) use super::progress::Progress;
use super::reclaim::ReclaimRules;
use super::records::{Record, Skips};
use super::report::{self, Report};
use super::state::{AppEntry, OrgState, StateKey};
use super::{edge, exempt};
use crate::okta::{ErrorClass, OktaClient, OktaError};
use crate::sync::lock;

/// Listings in flight at once within one sync; the governor paces them within their buckets.
const CONCURRENCY: usize = 4;
/// User lifecycle events looked up one by one at most; past this one listing of every user is cheaper
/// (a bulk deactivation of 100,000 users is 500 pages of 200, not 100,000 requests).
pub(crate) const MAX_USER_LOOKUPS: usize = 200;
/// How much younger than Okta's 90 days a backfill's `since` is.
const HISTORY_MARGIN_MS: i64 = 10 * 60_000;

/// What to sync and how.
#[derive(Clone, Debug)]
pub(crate) struct SyncConfig {
    pub(crate) domain: String,
    pub(crate) origin: String,
    pub(crate) window_days: u32,
    pub(crate) event_types: Vec<String>,
    pub(crate) include_okta_apps: bool,
    /// A full listing at least this often (spec.assignmentsRefreshInterval).
    pub(crate) refresh_interval: Duration,
    /// Keep users' logins, for the per-user export.
    pub(crate) keep_logins: bool,
    /// Profile attributes to break usage down by (spec.breakdown.attributes), at most 3.
    pub(crate) breakdown: Vec<String>,
    /// Months and weeks of history to keep (spec.history).
    pub(crate) history: Retention,
    /// What makes a seat one to reclaim (spec.reclaim).
    pub(crate) reclaim: ReclaimRules,
    /// Where "now" comes from (the system's clock outside tests).
    pub(crate) clock: Clock,
}

impl SyncConfig {
    pub(crate) fn key(&self) -> StateKey {
        let mut event_types = self.event_types.clone();
        event_types.sort();
        event_types.dedup();
        StateKey {
            origin: self.origin.clone(),
            window_days: self.window_days,
            event_types,
            include_okta_apps: self.include_okta_apps,
            history: self.history.enabled(),
        }
    }

    /// Where a read from scratch starts: as far back as Okta keeps the System Log (less a margin, so the
    /// query is never refused for being a moment too old), whatever the usage window: seats to reclaim are
    /// judged by every sign-in Okta still holds, and the history begins there.
    fn read_from(&self, started: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
        let window_start = started - chrono::Duration::days(i64::from(self.window_days));
        let oldest = started - chrono::Duration::milliseconds(LOG_RETENTION_MS - HISTORY_MARGIN_MS);
        window_start.min(oldest)
    }
}

/// Full or incremental.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Full,
    Incremental,
}

/// What one sync produced.
#[derive(Debug)]
pub(crate) struct SyncOutput {
    pub(crate) report: Report,
    pub(crate) mode: Mode,
    pub(crate) users_scanned: u64,
    pub(crate) events_scanned: u64,
    pub(crate) skipped_records: u64,
    /// Apps whose users were listed again because of change events.
    pub(crate) apps_relisted: u64,
    pub(crate) users_looked_up: u64,
    /// Sign-ins read after their month and week had closed (counted in the window, not in the history).
    pub(crate) history_late: u64,
    /// The history kept so far was counted under other sign-in rules and was dropped.
    pub(crate) history_reset: bool,
}

struct Run<'a> {
    reader: Reader<'a>,
    clock: &'a Clock,
    started_ms: i64,
    progress: &'a Progress,
    skips: Mutex<Skips>,
    users_scanned: AtomicU64,
}

impl Run<'_> {
    fn add_skips(&self, skips: &Skips) {
        lock(&self.skips).add(skips);
    }
}

/// One sync of `state` (a fresh one when it was kept for another configuration). On error the state is
/// half-updated: callers drop it and resume from their last checkpoint (or scan in full).
/// Where this sync's System Log read starts: the saved cursor, or (state for other settings, or none) the
/// window's start (with history, 90 days back) with usage rebuilt from scratch, never added to what was
/// counted. Closed months and weeks outlive a change of the usage window.
fn starting_point(
    state: &mut OrgState,
    config: &SyncConfig,
    reader: &Reader<'_>,
    started: chrono::DateTime<Utc>,
) -> Start {
    let key = config.key();
    let mut history_reset = false;
    if state.key != key {
        let keep = state.key.same_history(&key);
        history_reset = !keep && !state.history.is_empty();
        let history = if keep { std::mem::take(&mut state.history) } else { Default::default() };
        *state = OrgState::new(key);
        state.history = history;
    }
    if config.keep_logins && !state.directory.keeps_logins() {
        state.directory.keep_logins();
        state.users_listed_ms = None; // logins were not kept (a checkpoint never holds them): list users again
    }
    if state.directory.attribute_names() != config.breakdown.as_slice() {
        state.directory.keep_attributes(&config.breakdown);
        if !config.breakdown.is_empty() {
            state.users_listed_ms = None; // values not held (never checkpointed): list users again
        }
    }
    match state.cursor.take() {
        Some(cursor) => Start { first: log::refresh_since(cursor, started), fresh_from: None, history_reset },
        None => {
            state.usage = Default::default();
            let since = config.read_from(started);
            state.observed_since_ms = Some(since.timestamp_millis());
            let first = log::first_page(reader, since, &state.key.event_types);
            Start { first, fresh_from: Some(since.timestamp_millis()), history_reset }
        }
    }
}

/// Where a sync's read starts.
struct Start {
    first: url::Url,
    /// Where a read from scratch starts (None when resuming from the cursor).
    fresh_from: Option<i64>,
    /// The state's history was counted under other sign-in rules and is dropped.
    history_reset: bool,
}

pub(crate) async fn sync(
    client: &OktaClient,
    kind: CredentialKind,
    config: &SyncConfig,
    state: &mut OrgState,
    progress: &Progress,
) -> Result<SyncOutput, SyncError> {
    let started = config.clock.now();
    let run = Run {
        reader: Reader { client, kind },
        clock: &config.clock,
        started_ms: started.timestamp_millis(),
        progress,
        skips: Mutex::new(Skips::default()),
        users_scanned: AtomicU64::new(0),
    };
    let window = chrono::Duration::days(i64::from(config.window_days));
    let Start { first, fresh_from, history_reset } = starting_point(state, config, &run.reader, started);
    let ledgers = Ledgers { usage: &mut state.usage, attributes: state.directory.attributes() };
    state.history.begin(run.started_ms, fresh_from, config.history, ledgers);
    let times = log::Times { started_ms: run.started_ms, window_start_ms: (started - window).timestamp_millis() };
    let full = needs_full_listing(state, run.started_ms, config.refresh_interval);
    let changes = Mutex::new(Changes::default());
    let shared = Mutex::new(&mut *state);
    let read = if full {
        let (_, _, read) = tokio::try_join!(
            list_apps_in_full(&run, &shared),
            list_users_in_full(&run, &shared),
            log::read(&run.reader, &shared, &changes, first, times, progress)
        )?;
        read
    } else {
        log::read(&run.reader, &shared, &changes, first, times, progress).await?
    };
    run.add_skips(&read.skips);
    let as_of = config.clock.now(); // the counts are as of the read's end: what it could see
    let changes = changes.into_inner().unwrap_or_else(|p| p.into_inner());
    let plan = plan(&lock(&shared), &changes);
    let (relisted, looked_up) = (plan.apps.len() as u64, plan.users.len() as u64);
    apply_plan(&run, &shared, plan).await?;
    exempt::refresh(&run.reader, run.clock, &shared, (&config.reclaim.exempt_groups, full, &changes.groups)).await?;
    state.cursor = read.cursor;
    let window_start_ms = (as_of - window).timestamp_millis();
    finish(state, window_start_ms, run.started_ms, config.history);
    edge::trim_first_hour(&run.reader, state, window_start_ms).await?;
    let skipped = lock(&run.skips).skipped;
    let moments = report::Moments { as_of, history_ms: run.started_ms };
    Ok(SyncOutput {
        report: report::build(&config.domain, state, moments, skipped, (config.history, &config.reclaim)),
        history_late: state.history.late,
        history_reset,
        mode: if full { Mode::Full } else { Mode::Incremental },
        users_scanned: run.users_scanned.load(Ordering::Relaxed),
        events_scanned: read.events,
        skipped_records: skipped,
        apps_relisted: relisted,
        users_looked_up: looked_up,
    })
}

/// Whether this sync lists everything: never listed, due for the refresh, or a listing time in the future
/// (a clock moved back, or a tampered state: it would otherwise postpone the refresh forever).
fn needs_full_listing(state: &OrgState, now_ms: i64, refresh: Duration) -> bool {
    let refresh_ms = i64::try_from(refresh.as_millis()).unwrap_or(i64::MAX);
    let stale = |listed: Option<i64>| listed.is_none_or(|t| t > now_ms || now_ms.saturating_sub(t) >= refresh_ms);
    stale(state.assignments_listed_ms) || stale(state.users_listed_ms)
}

/// Usage only for the inventory, and only within the window; history closed where due; users nothing
/// refers to are dropped.
fn finish(state: &mut OrgState, window_start_ms: i64, now_ms: i64, retention: Retention) {
    let listed: Vec<(String, Option<u64>)> = state
        .inventory()
        .map(|a| (a.record.id.clone(), a.assignments.as_ref().map(|x| x.seat_holders().count() as u64)))
        .collect();
    let apps: Vec<InventoryApp<'_>> = listed.iter().map(|(id, seats)| InventoryApp { id, seats: *seats }).collect();
    let ledgers = Ledgers { usage: &mut state.usage, attributes: state.directory.attributes() };
    state.history.finish(now_ms, &apps, retention, ledgers);
    let inventory: BTreeSet<String> = listed.into_iter().map(|(id, _)| id).collect();
    let history = &state.history;
    state.usage.retain_apps(|id| inventory.contains(id) || history.apps.contains_key(id));
    let apps = &state.apps;
    let seat_holders = |id: &str| -> Vec<u32> {
        apps.get(id).and_then(|a| a.assignments.as_ref()).map(|a| a.seat_holders().collect()).unwrap_or_default()
    };
    state.usage.prune(window_start_ms, seat_holders);
    state.compact();
}

async fn list_app_records(run: &Run<'_>) -> Result<Vec<AppRecord>, SyncError> {
    let first = run.reader.client.url(&format!("/api/v1/apps?limit={APPS_PAGE}"));
    let (records, skips) = run.reader.collect::<RawApp>(Need::Applications, first).await?;
    run.add_skips(&skips);
    Ok(records)
}

/// An app's users and groups, listed now.
async fn list_app(run: &Run<'_>, state: &Mutex<&mut OrgState>, id: &str, with_groups: bool) -> Result<(), SyncError> {
    let listed_ms = run.clock.now().timestamp_millis();
    let client = run.reader.client;
    let first = client.url(&format!("/api/v1/apps/{id}/users?limit={APP_USERS_PAGE}"));
    let mut rows = Vec::new();
    let skips = run
        .reader
        .list::<RawAppUser>(Need::Applications, first, |page| {
            let mut st = lock(state);
            rows.extend(page.into_iter().map(|r| Row {
                user: st.directory.intern(&r.user),
                scope: r.scope,
                status: r.status,
                assigned_s: r.assigned_s,
            }));
        })
        .await;
    let skips = match skips {
        // The app was deleted between the app list and its users: it leaves with the next app list.
        Err(SyncError::Okta(OktaError::Api { status: 404, .. })) => return Ok(()),
        other => other?,
    };
    run.add_skips(&skips);
    // Groups are listed only for apps with GROUP assignments (or when asked): an app without them has no
    // group whose membership could move its users, except an empty assigned group, which the full refresh
    // catches. It saves one request per app on the long tail of directly assigned apps.
    let grouped = with_groups || rows.iter().any(|r| r.scope == super::assignments::Scope::Group);
    let groups = if grouped {
        let first = client.url(&format!("/api/v1/apps/{id}/groups?limit={APP_GROUPS_PAGE}"));
        let (groups, skips) = run.reader.collect::<RawAppGroup>(Need::Applications, first).await?;
        run.add_skips(&skips);
        Some(groups)
    } else {
        None
    };
    let mut st = lock(state);
    if let Some(entry) = st.apps.get_mut(id) {
        entry.assignments = Some(Assignments::from_rows(rows));
        entry.listed_ms = listed_ms;
        match groups {
            Some(g) => entry.groups = g,
            None => entry.groups.clear(),
        }
    }
    run.progress.apps_done.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Lists each app in `ids` (users, and groups when asked), a few at a time.
async fn list_apps(run: &Run<'_>, state: &Mutex<&mut OrgState>, ids: Vec<(String, bool)>) -> Result<(), SyncError> {
    futures::stream::iter(ids)
        .map(|(id, groups)| async move { list_app(run, state, &id, groups).await })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await
        .map(|_| ())
}

/// Merges a fresh app list into the state: new apps are added, gone apps removed, records refreshed.
/// Returns the inventory apps that have never been listed.
fn merge_app_list(state: &mut OrgState, records: Vec<AppRecord>, now_ms: i64) -> Vec<String> {
    let mut previous = std::mem::take(&mut state.apps);
    let mut apps = BTreeMap::new();
    for record in records {
        let entry = match previous.remove(&record.id) {
            Some(mut old) => {
                old.record = record;
                old
            }
            None => AppEntry { record, assignments: None, groups: Vec::new(), listed_ms: 0, first_seen_ms: now_ms },
        };
        apps.insert(entry.record.id.clone(), entry);
    }
    state.apps = apps;
    state.inventory().filter(|a| a.assignments.is_none()).map(|a| a.record.id.clone()).collect()
}

async fn list_apps_in_full(run: &Run<'_>, state: &Mutex<&mut OrgState>) -> Result<(), SyncError> {
    let records = list_app_records(run).await?;
    let ids: Vec<(String, bool)> = {
        let mut st = lock(state);
        merge_app_list(&mut st, records, run.started_ms);
        st.assignments_listed_ms = Some(run.started_ms);
        st.inventory().map(|a| (a.record.id.clone(), true)).collect()
    };
    run.progress.apps_total.store(ids.len() as u64, Ordering::Relaxed);
    list_apps(run, state, ids).await
}

/// Every user: the default listing (all but DEPROVISIONED) and the DEPROVISIONED ones by filter.
async fn list_users_in_full(run: &Run<'_>, state: &Mutex<&mut OrgState>) -> Result<(), SyncError> {
    lock(state).directory.unlist_all();
    let client = run.reader.client;
    let deprovisioned = {
        let mut url = client.url("/api/v1/users");
        url.query_pairs_mut()
            .append_pair("limit", &USERS_PAGE.to_string())
            .append_pair("filter", "status eq \"DEPROVISIONED\"");
        url
    };
    for first in [client.url(&format!("/api/v1/users?limit={USERS_PAGE}")), deprovisioned] {
        let skips = run
            .reader
            .list::<RawUser>(Need::Users, first, |page| {
                let n = page.len() as u64;
                let mut st = lock(state);
                for user in &page {
                    st.directory.set(user);
                }
                let total = run.users_scanned.fetch_add(n, Ordering::Relaxed) + n;
                run.progress.users.store(total, Ordering::Relaxed);
            })
            .await?;
        run.add_skips(&skips);
    }
    lock(state).users_listed_ms = Some(run.started_ms);
    Ok(())
}

/// What the change events call for.
#[derive(Debug, Default)]
struct Plan {
    app_list: bool,
    /// Apps to list again, and whether their groups too.
    apps: BTreeMap<String, bool>,
    /// Users to look up one by one; empty when `all_users`.
    users: Vec<String>,
    /// Too many users changed: list them all once instead.
    all_users: bool,
}

/// Changes newer than what the state listed (less a margin) become work.
fn plan(state: &OrgState, changes: &Changes) -> Plan {
    let mut plan = Plan::default();
    let after = |listed: i64, at: i64| at >= listed - LISTING_MARGIN_MS;
    let apps_listed = state.assignments_listed_ms.unwrap_or(0);
    plan.app_list = changes.app_list.is_some_and(|at| after(apps_listed, at));
    for (app, at, groups) in
        changes.apps.iter().map(|(a, t)| (a, *t, false)).chain(changes.app_groups.iter().map(|(a, t)| (a, *t, true)))
    {
        match state.apps.get(app) {
            Some(entry) if state.in_inventory(app) && after(entry.listed_ms, at) => {
                let g = plan.apps.entry(app.clone()).or_default();
                *g |= groups;
            }
            Some(_) => {}
            // An app we do not know: it was created since the app list was read.
            None => plan.app_list |= after(apps_listed, at),
        }
    }
    for (group, at) in &changes.groups {
        for entry in state.inventory() {
            if entry.groups.contains(group) && after(entry.listed_ms, *at) {
                plan.apps.entry(entry.record.id.clone()).or_default();
            }
        }
    }
    let users_listed = state.users_listed_ms.unwrap_or(0);
    let profiles = changes.profiles.iter().filter(|_| !state.directory.attribute_names().is_empty());
    let changed: BTreeSet<&String> =
        changes.users.iter().chain(profiles).filter(|(_, at)| after(users_listed, **at)).map(|(u, _)| u).collect();
    plan.users = changed.into_iter().cloned().collect();
    if plan.users.len() > MAX_USER_LOOKUPS {
        plan.users.clear();
        plan.all_users = true;
    }
    plan
}

async fn apply_plan(run: &Run<'_>, state: &Mutex<&mut OrgState>, mut plan: Plan) -> Result<(), SyncError> {
    if plan.app_list {
        let records = list_app_records(run).await?;
        let fresh = merge_app_list(&mut lock(state), records, run.started_ms);
        plan.apps.extend(fresh.into_iter().map(|id| (id, true)));
        let st = lock(state);
        plan.apps.retain(|id, _| st.in_inventory(id));
    }
    let apps: Vec<(String, bool)> = plan.apps.into_iter().collect();
    list_apps(run, state, apps).await?;
    if plan.all_users {
        return list_users_in_full(run, state).await;
    }
    futures::stream::iter(plan.users)
        .map(|id| async move { look_up_user(run, state, &id).await })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// A user after a lifecycle event: its status now, or gone (404).
async fn look_up_user(run: &Run<'_>, state: &Mutex<&mut OrgState>, id: &str) -> Result<(), SyncError> {
    let client = run.reader.client;
    let url = client.url(&format!("/api/v1/users/{id}"));
    match client.get_json::<RawUser>(&url).await {
        Ok(raw) => {
            let record: Result<UserRecord, _> = raw.check();
            let mut st = lock(state);
            match record {
                Ok(user) => {
                    st.directory.set(&user);
                }
                Err(_) => lock(&run.skips).total += 1,
            }
            Ok(())
        }
        Err(OktaError::Api { status: 404, .. }) => {
            let mut st = lock(state);
            if let Some(user) = st.directory.find(id) {
                st.directory.forget(user);
            }
            Ok(())
        }
        Err(e) if e.class() == ErrorClass::Transient || e.class() == ErrorClass::Server => Err(SyncError::Okta(e)),
        Err(e) => Err(run.reader.fail(Need::Users, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_time_in_the_future_means_a_full_listing_now() {
        let now = 1_700_000_000_000;
        let day = Duration::from_secs(86_400);
        let listed = |a: Option<i64>, u: Option<i64>| OrgState {
            assignments_listed_ms: a,
            users_listed_ms: u,
            ..OrgState::default()
        };
        assert!(!needs_full_listing(&listed(Some(now - 1000), Some(now - 1000)), now, day));
        assert!(needs_full_listing(&listed(None, Some(now)), now, day));
        assert!(needs_full_listing(&listed(Some(now - 86_400_000), Some(now)), now, day));
        assert!(needs_full_listing(&listed(Some(now + 3_600_000), Some(now)), now, day), "a future app listing");
        assert!(needs_full_listing(&listed(Some(now), Some(i64::MAX)), now, day), "a future user listing");
    }

    #[test]
    fn past_the_lookup_cap_users_are_listed_once_instead() {
        let state = OrgState { users_listed_ms: Some(0), ..OrgState::default() };
        let mut changes = Changes::default();
        for i in 0..MAX_USER_LOOKUPS {
            changes.users.insert(format!("00u{i}"), 1_000_000);
        }
        let few = plan(&state, &changes);
        assert_eq!((few.users.len(), few.all_users), (MAX_USER_LOOKUPS, false));
        changes.users.insert("00u-one-more".into(), 1_000_000);
        let many = plan(&state, &changes);
        assert_eq!(
            (many.users.len(), many.all_users),
            (0, true),
            "one listing instead of {} lookups",
            MAX_USER_LOOKUPS + 1
        );
    }
}
