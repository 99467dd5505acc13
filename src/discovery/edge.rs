//! The usage window's first hour, counted exactly. Sign-ins are kept per hour (memory follows hours, not
//! events), so the hour the window starts in is partly outside it. When that hour holds any sign-in, its
//! part inside the window is read again from the System Log with a bounded query (`since` to the hour's
//! end: events published in that span, developer.okta.com/docs/reference/system-log-query: bounded
//! requests) and the hour's count is set to it. Most syncs send nothing: the hour is usually empty or
//! already whole.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::events::Meaning;
use super::failure::SyncError;
use super::fetch::Reader;
use super::log::{event_page, logs_query};
use super::need::Need;
use super::records::Skips;
use super::state::OrgState;
use super::usage::{HOUR_MS, RecentKeys};
use crate::okta::Pager;

/// An hour of sign-ins of even a very large org fits in far fewer pages.
const MAX_EDGE_PAGES: u64 = 10_000;

/// Sets the first hour of the window starting at `start_ms` to the sign-ins published from `start_ms` on.
pub(crate) async fn trim_first_hour(reader: &Reader<'_>, state: &mut OrgState, start_ms: i64) -> Result<(), SyncError> {
    let hour = start_ms.div_euclid(HOUR_MS);
    let end_ms = (hour + 1) * HOUR_MS;
    if start_ms == hour * HOUR_MS || !state.usage.holds_hour(hour) {
        return Ok(());
    }
    let (Some(since), Some(until)) =
        (DateTime::from_timestamp_millis(start_ms), DateTime::from_timestamp_millis(end_ms))
    else {
        return Ok(());
    };
    let counts = count_sign_ins(reader, &state.key.event_types, since, until).await?;
    state.usage.set_hour(hour, &counts);
    Ok(())
}

/// Sign-ins per app published in [since, until), each counted once (by event and by sign-in key, as the
/// log read does).
async fn count_sign_ins(
    reader: &Reader<'_>,
    types: &[String],
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<HashMap<String, u32>, SyncError> {
    let sign_ins: HashSet<String> = types.iter().cloned().collect();
    let first = logs_query(reader, since, Some(until), &types.iter().map(String::as_str).collect::<Vec<_>>());
    let endpoint = format!("GET {}", first.path());
    let mut pager = Pager::new(&first, MAX_EDGE_PAGES);
    let (mut skips, mut seen, mut counts) = (Skips::default(), RecentKeys::default(), HashMap::new());
    let mut url = first;
    loop {
        let page = event_page(reader, &url, &endpoint, &mut skips).await?;
        for event in page.events {
            if let Meaning::SignIn { app, key, .. } = event.meaning(&sign_ins)
                && seen.fresh_sign_in(event.uuid, key)
            {
                *counts.entry(app).or_insert(0u32) += 1;
            }
        }
        match page.next {
            Some(next) if page.records > 0 => {
                pager.advance(&next).map_err(|e| reader.fail(Need::SystemLog, e))?;
                url = next;
            }
            _ => {
                skips.check(&endpoint).map_err(|e| reader.fail(Need::SystemLog, e))?;
                return Ok(counts);
            }
        }
    }
}
