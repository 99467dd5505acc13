//! Reading the System Log: one polling query (no `until`) whose filter holds both the sign-in event types
//! and the change event types, so one pass and one cursor serve usage and assignments. Okta returns a
//! polling query in the order it stored events, not by `published`, and a late event (stored after the
//! last cursor, published before the previous sync) is simply the next one read: it counts exactly once.
//! The read stops at the first page that is not full (caught up), or once events newer than the sync's
//! start show up, so a busy org cannot keep a sync going; the next link is the cursor to resume from
//! (developer.okta.com/docs/reference/system-log-query: polling requests).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};
use url::Url;

use super::events::{Event, Meaning, RawEvent, change_event_types};
use super::failure::SyncError;
use super::fetch::Reader;
use super::need::Need;
use super::records::{Skips, parse_page};
use super::state::OrgState;
use crate::okta::Pager;
use crate::sync::lock;

/// Okta's largest System Log page.
pub(crate) const LOGS_PAGE: usize = 1000;
/// Events published this long after the sync started end the read (the rest waits for the next sync).
const BUSY_MARGIN_MS: i64 = 60_000;
const MAX_LOG_PAGES: u64 = 10_000_000;

/// Changes seen in the log, each with the newest `published` it was seen at.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    pub(crate) apps: HashMap<String, i64>,
    pub(crate) app_groups: HashMap<String, i64>,
    pub(crate) groups: HashMap<String, i64>,
    pub(crate) users: HashMap<String, i64>,
    /// Users whose profile changed: looked up only when a breakdown wants their attributes.
    pub(crate) profiles: HashMap<String, i64>,
    pub(crate) app_list: Option<i64>,
}

fn note(map: &mut HashMap<String, i64>, id: String, at: i64) {
    let e = map.entry(id).or_insert(at);
    *e = (*e).max(at);
}

impl Changes {
    fn record(&mut self, meaning: Meaning, at: i64) {
        match meaning {
            Meaning::AppUsers { app } => note(&mut self.apps, app, at),
            Meaning::AppGroups { app } => note(&mut self.app_groups, app, at),
            Meaning::GroupMembers { group } => note(&mut self.groups, group, at),
            Meaning::User { user } => note(&mut self.users, user, at),
            Meaning::Profile { user } => note(&mut self.profiles, user, at),
            Meaning::AppList => self.app_list = self.app_list.max(Some(at)),
            Meaning::SignIn { .. } | Meaning::Nothing => {}
        }
    }
}

/// The first page of the window's polling query: events since `since`, the sign-in and change types.
pub(crate) fn first_page(reader: &Reader<'_>, since: DateTime<Utc>, sign_ins: &[String]) -> Url {
    let mut types: Vec<&str> = sign_ins.iter().map(String::as_str).collect();
    types.extend(change_event_types().map(|t| -> &str { t })); // &'static str, shortened to the vector's
    logs_query(reader, since, None, &types)
}

/// A System Log query for successful events of `types` from `since` (up to `until` when bounded).
pub(crate) fn logs_query(
    reader: &Reader<'_>,
    since: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
    types: &[&str],
) -> Url {
    let types: Vec<String> = types.iter().map(|t| format!("eventType eq \"{t}\"")).collect();
    let filter = format!("({}) and outcome.result eq \"SUCCESS\"", types.join(" or "));
    let mut url = reader.client.url("/api/v1/logs");
    let mut query = url.query_pairs_mut();
    query.append_pair("since", &since.to_rfc3339_opts(SecondsFormat::Millis, true));
    if let Some(until) = until {
        query.append_pair("until", &until.to_rfc3339_opts(SecondsFormat::Millis, true));
    }
    query.append_pair("limit", &LOGS_PAGE.to_string()).append_pair("filter", &filter);
    drop(query);
    url
}

/// A saved cursor whose `since` (Okta's next links carry the first query's) has aged past what the log
/// keeps, moved up to the oldest time it still holds: Okta refuses a `since` more than 180 days back
/// (E0000053, developer.okta.com/docs/reference/system-log-query), so an operator running for half a year
/// would otherwise be refused forever; events older than the log keeps are gone either way.
pub(crate) fn refresh_since(cursor: Url, now: DateTime<Utc>) -> Url {
    let oldest = now - chrono::Duration::days(89);
    let aged = |v: &str| DateTime::parse_from_rfc3339(v).is_ok_and(|t| t < oldest);
    if !cursor.query_pairs().any(|(k, v)| k == "since" && aged(&v)) {
        return cursor;
    }
    let pairs: Vec<(String, String)> = cursor
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "since" { oldest.to_rfc3339_opts(SecondsFormat::Millis, true) } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    let mut url = cursor;
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url
}

/// What one log read did.
pub(crate) struct LogRead {
    pub(crate) events: u64,
    pub(crate) skips: Skips,
    pub(crate) cursor: Option<Url>,
}

/// What a read counts: the sign-in event types, and where the usage window starts (older sign-ins, read
/// for the history's backfill, only count there).
struct ReadSpan<'a> {
    sign_ins: &'a HashSet<String>,
    window_start_ms: i64,
}

/// When a read runs: the sync's start, and the usage window's.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Times {
    pub(crate) started_ms: i64,
    pub(crate) window_start_ms: i64,
}

/// Reads from `first` until caught up, counting sign-ins into the state's ledger and noting changes.
pub(crate) async fn read(
    reader: &Reader<'_>,
    state: &Mutex<&mut OrgState>,
    changes: &Mutex<Changes>,
    first: Url,
    times: Times,
    progress: &super::progress::Progress,
) -> Result<LogRead, SyncError> {
    let sign_ins: HashSet<String> = lock(state).key.event_types.iter().cloned().collect();
    let span = ReadSpan { sign_ins: &sign_ins, window_start_ms: times.window_start_ms };
    let started_ms = times.started_ms;
    let endpoint = format!("GET {}", first.path());
    let mut pager = Pager::new(&first, MAX_LOG_PAGES);
    let mut skips = Skips::default();
    let mut url = first;
    let mut events = 0u64;
    loop {
        let page = event_page(reader, &url, &endpoint, &mut skips).await?;
        let (parsed, raw_count) = (page.events, page.records);
        let newest = parsed.iter().map(|e| e.published_ms).max().unwrap_or(i64::MIN);
        {
            let mut st = lock(state);
            let mut ch = lock(changes);
            for event in parsed {
                apply(&mut st, &mut ch, event, &span);
            }
        }
        events += raw_count as u64;
        progress.events.store(events, std::sync::atomic::Ordering::Relaxed);
        let caught_up = raw_count < LOGS_PAGE || newest > started_ms + BUSY_MARGIN_MS;
        match page.next {
            Some(next) if !caught_up => {
                pager.advance(&next).map_err(|e| reader.fail(Need::SystemLog, e))?;
                url = next;
            }
            cursor => {
                skips.check(&endpoint).map_err(|e| reader.fail(Need::SystemLog, e))?;
                return Ok(LogRead { events, skips, cursor });
            }
        }
    }
}

/// One page of the System Log: its events, how many records it held (read or skipped), and its next link.
pub(crate) struct EventPage {
    pub(crate) events: Vec<Event>,
    pub(crate) records: usize,
    pub(crate) next: Option<Url>,
}

/// Fetches and reads the page at `url`; records that cannot be read are counted in `skips`.
pub(crate) async fn event_page(
    reader: &Reader<'_>,
    url: &Url,
    endpoint: &str,
    skips: &mut Skips,
) -> Result<EventPage, SyncError> {
    let page = reader.client.get_page(url).await.map_err(|e| reader.fail(Need::SystemLog, e))?;
    let before = skips.total;
    let events = parse_page::<RawEvent>(&page.body, endpoint, skips).map_err(|e| reader.fail(Need::SystemLog, e))?;
    Ok(EventPage { events, records: (skips.total - before) as usize, next: page.next })
}

/// Counts a sign-in (in the usage window when it falls there, and in the history) or notes a change.
fn apply(state: &mut OrgState, changes: &mut Changes, event: Event, read: &ReadSpan<'_>) {
    let (sign_ins, window_start_ms) = (read.sign_ins, read.window_start_ms);
    let at = event.published_ms;
    match event.meaning(sign_ins) {
        Meaning::SignIn { app, user, key } => {
            if state.usage.first_time(event.uuid, key) {
                let user = state.directory.intern(&user);
                let flags = state.history.add(&app, at);
                state.usage.record(&app, user, at, flags, at >= window_start_ms);
            }
        }
        Meaning::Nothing => {}
        change => {
            if !state.usage.repeated(event.uuid) {
                changes.record(change, at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_whose_since_aged_past_the_log_is_moved_up_and_nothing_else_changes() {
        let cursor =
            Url::parse("https://acme.okta.com/api/v1/logs?since=2026-01-01T00%3A00%3A00.000Z&after=abc_1&limit=1000")
                .expect("a URL");
        let now = DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z").map(|t| t.with_timezone(&Utc)).expect("time");
        assert_eq!(refresh_since(cursor.clone(), now), cursor, "within 89 days: untouched");
        let later = now + chrono::Duration::days(200);
        let moved = refresh_since(cursor, later);
        let pairs: Vec<(String, String)> = moved.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        assert_eq!(
            pairs,
            vec![
                ("since".into(), "2026-06-20T00:00:00.000Z".into()),
                ("after".into(), "abc_1".into()),
                ("limit".into(), "1000".into())
            ]
        );
    }
}
