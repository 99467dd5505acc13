//! The discovery run: apps with their assignments, the user count and the window's SSO sign-ins, read
//! concurrently (they are independent Okta rate-limit buckets) and aggregated into a [`Report`].

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde::de::IgnoredAny;
use url::Url;

use super::access::Need;
use super::report::{AppUsage, Report, Summary};
use super::usage::{LogEvent, UsageCounts, UsageLedger};
use crate::okta::{OktaClient, OktaError};

/// Largest pages Okta serves: apps 200, users 200, app users 500, System Log 1000.
const APPS_PAGE: u32 = 200;
const USERS_PAGE: u32 = 200;
const APP_USERS_PAGE: u32 = 500;
const LOGS_PAGE: u32 = 1000;
/// App-user listings in flight at once; the governor paces them within the apps bucket.
const APP_USER_CONCURRENCY: usize = 4;

/// The System Log query for usage: successful SSO sign-ins (the engine re-checks every event).
const USAGE_FILTER: &str =
    "eventType eq \"user.authentication.sso\" and outcome.result eq \"SUCCESS\"";

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("the API token lacks the \"{}\" permission ({source})", need.guide_name())]
    PermissionDenied { need: Need, source: OktaError },
    #[error("Okta rejected the API token ({source}): create a new token or check the Secret")]
    InvalidToken { source: OktaError },
    #[error(transparent)]
    Okta(OktaError),
}

impl DiscoveryError {
    fn from_okta(need: Need, e: OktaError) -> DiscoveryError {
        if e.is_invalid_token() {
            DiscoveryError::InvalidToken { source: e }
        } else if e.is_permission_denied() {
            DiscoveryError::PermissionDenied { need, source: e }
        } else {
            DiscoveryError::Okta(e)
        }
    }
}

/// Live counters a caller can show while a sync runs.
#[derive(Default, Debug)]
pub struct Progress {
    pub apps_total: AtomicU64,
    pub apps_done: AtomicU64,
    pub users: AtomicU64,
    pub events: AtomicU64,
}

/// What one discovery run produced.
#[derive(Debug)]
pub struct Discovery {
    pub report: Report,
    pub users_scanned: u64,
    pub events_scanned: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AppJson {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    sign_on_mode: String,
}

async fn list_apps(
    client: &OktaClient,
    progress: &Progress,
) -> Result<Vec<(AppJson, u64)>, DiscoveryError> {
    let wrap = |e| DiscoveryError::from_okta(Need::Applications, e);
    let mut apps: Vec<AppJson> = Vec::new();
    let mut next = Some(client.url(&format!("/api/v1/apps?limit={APPS_PAGE}")));
    while let Some(url) = next {
        let (page, link): (Vec<AppJson>, _) = client.get_page(&url).await.map_err(wrap)?;
        apps.extend(page);
        next = link;
    }
    progress
        .apps_total
        .store(apps.len() as u64, Ordering::Relaxed);
    futures::stream::iter(apps)
        .map(|app| async move {
            let assigned = count_pages(
                client,
                client.url(&format!(
                    "/api/v1/apps/{}/users?limit={APP_USERS_PAGE}",
                    app.id
                )),
            )
            .await
            .map_err(wrap)?;
            progress.apps_done.fetch_add(1, Ordering::Relaxed);
            Ok::<_, DiscoveryError>((app, assigned))
        })
        .buffered(APP_USER_CONCURRENCY)
        .try_collect()
        .await
}

/// Counts the items of a paged list without keeping them.
async fn count_pages(client: &OktaClient, first: Url) -> Result<u64, OktaError> {
    let mut count = 0u64;
    let mut next = Some(first);
    while let Some(url) = next {
        let (page, link): (Vec<IgnoredAny>, _) = client.get_page(&url).await?;
        count += page.len() as u64;
        next = link;
    }
    Ok(count)
}

async fn count_users(client: &OktaClient, progress: &Progress) -> Result<u64, DiscoveryError> {
    let mut count = 0u64;
    let mut next = Some(client.url(&format!("/api/v1/users?limit={USERS_PAGE}")));
    while let Some(url) = next {
        let (page, link): (Vec<IgnoredAny>, _) = client
            .get_page(&url)
            .await
            .map_err(|e| DiscoveryError::from_okta(Need::Users, e))?;
        count += page.len() as u64;
        progress.users.store(count, Ordering::Relaxed);
        next = link;
    }
    Ok(count)
}

/// Reads sign-ins with a System Log polling query (no `until`), as Okta advises for reading a log that
/// keeps growing: follow next links, stop at the first empty page (or once events newer than the sync's start
/// show up, so a busy org cannot keep a sync going), and keep that page's next link as the cursor to resume
/// from. Polling returns events in the order Okta stored them, so late-arriving events are not skipped, which
/// a bounded (since/until) query can do. Returns the number of events read.
async fn read_usage(
    client: &OktaClient,
    first: Url,
    started: DateTime<Utc>,
    ledger: &mut UsageLedger,
    progress: &Progress,
) -> Result<u64, DiscoveryError> {
    let mut url = first;
    let mut read = 0u64;
    loop {
        let (page, next): (Vec<LogEvent>, Option<Url>) = client
            .get_page(&url)
            .await
            .map_err(|e| DiscoveryError::from_okta(Need::SystemLog, e))?;
        let caught_up = page.is_empty() || page.last().is_some_and(|e| e.published > started);
        for event in &page {
            ledger.add(event);
        }
        read += page.len() as u64;
        progress.events.store(read, Ordering::Relaxed);
        match next {
            Some(n) if !caught_up => url = n,
            other => {
                ledger.cursor = other;
                return Ok(read);
            }
        }
    }
}

/// The usage query's first page for a window of `days` ending at `now`.
pub fn usage_query(client: &OktaClient, now: DateTime<Utc>, days: u32) -> Url {
    let since = (now - Duration::days(days as i64)).to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut url = client.url("/api/v1/logs");
    url.query_pairs_mut()
        .append_pair("since", &since)
        .append_pair("limit", &LOGS_PAGE.to_string())
        .append_pair("filter", USAGE_FILTER);
    url
}

/// One sync: every app with its assigned users, the user count, and usage over `days` days. With a ledger
/// from an earlier sync (and its cursor), only new System Log events are read; otherwise the whole window.
/// On error the ledger is left half-fed: callers must drop it (the next sync then scans the full window).
pub async fn sync(
    client: &OktaClient,
    domain: &str,
    days: u32,
    ledger: &mut UsageLedger,
    progress: &Progress,
) -> Result<Discovery, DiscoveryError> {
    let started = Utc::now();
    let window_start = started - Duration::days(days as i64);
    let first = match ledger.cursor.take() {
        Some(cursor) => cursor,
        None => {
            *ledger = UsageLedger::default();
            usage_query(client, started, days)
        }
    };
    let (apps, users, events) = tokio::try_join!(
        list_apps(client, progress),
        count_users(client, progress),
        read_usage(client, first, started, ledger, progress)
    )?;
    ledger.prune(window_start);
    let rows = apps
        .into_iter()
        .map(|(a, n)| AppRow {
            id: a.id,
            name: a.name,
            label: a.label,
            status: a.status,
            sign_on_mode: a.sign_on_mode,
            assigned: n,
        })
        .collect();
    let report = build_report(
        domain,
        days,
        started,
        rows,
        users,
        &ledger.counts(window_start),
    );
    Ok(Discovery {
        report,
        users_scanned: users,
        events_scanned: events,
    })
}

/// A one-shot discovery over the full window.
pub async fn discover(
    client: &OktaClient,
    domain: &str,
    days: u32,
    progress: &Progress,
) -> Result<Discovery, DiscoveryError> {
    sync(client, domain, days, &mut UsageLedger::default(), progress).await
}

/// An app as listed, with its assignment count.
pub struct AppRow {
    pub id: String,
    pub name: String,
    pub label: String,
    pub status: String,
    pub sign_on_mode: String,
    pub assigned: u64,
}

/// Joins apps with usage under the report's definitions (see README: what the numbers mean).
pub fn build_report(
    domain: &str,
    days: u32,
    generated_at: DateTime<Utc>,
    apps: Vec<AppRow>,
    users: u64,
    usage: &UsageCounts,
) -> Report {
    let mut rows: Vec<AppUsage> = apps
        .into_iter()
        .map(|app| {
            let counts = usage.apps.get(&app.id);
            AppUsage {
                active_users: counts.map_or(0, |u| u.active_users),
                sso_events: counts.map_or(0, |u| u.events),
                last_used: counts.and_then(|u| u.last_used),
                id: app.id,
                name: app.name,
                label: app.label,
                status: app.status,
                sign_on_mode: app.sign_on_mode,
                assigned_users: app.assigned,
            }
        })
        .collect();
    Report::sort_apps(&mut rows);
    let summary = Summary {
        users,
        active_users: usage.active_users,
        apps: rows.len() as u64,
        active_apps: rows.iter().filter(|a| a.status == "ACTIVE").count() as u64,
        used_apps: rows.iter().filter(|a| a.sso_events > 0).count() as u64,
        unused_apps: rows
            .iter()
            .filter(|a| a.status == "ACTIVE" && a.sso_events == 0)
            .count() as u64,
        sso_events: rows.iter().map(|a| a.sso_events).sum(),
    };
    Report {
        domain: domain.to_string(),
        generated_at,
        usage_window: format!("{days}d"),
        summary,
        apps: rows,
    }
}
