//! Usage aggregation from System Log events. Memory grows with distinct (app, user) pairs, never with the
//! number of events: each event updates counters and is dropped.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// The fields of a System Log event that usage needs (Okta LogEvent); unknown fields are ignored.
#[derive(Deserialize, Debug)]
pub struct LogEvent {
    pub published: DateTime<Utc>,
    #[serde(rename = "eventType")]
    pub event_type: String,
    #[serde(default)]
    pub outcome: Option<Outcome>,
    #[serde(default)]
    pub actor: Option<Actor>,
    #[serde(default)]
    pub target: Option<Vec<Target>>,
}

#[derive(Deserialize, Debug)]
pub struct Outcome {
    pub result: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct Actor {
    pub id: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct Target {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// A usage event: a successful SSO sign-in, its app (the AppInstance target, found by type) and user (actor).
pub struct Usage<'a> {
    pub app: &'a str,
    pub user: &'a str,
    pub at: DateTime<Utc>,
}

impl LogEvent {
    pub fn usage(&self) -> Option<Usage<'_>> {
        if self.event_type != "user.authentication.sso"
            || self.outcome.as_ref()?.result.as_deref() != Some("SUCCESS")
        {
            return None;
        }
        let app = self
            .target
            .as_ref()?
            .iter()
            .find(|t| t.kind.as_deref() == Some("AppInstance"))?
            .id
            .as_deref()?;
        let user = self.actor.as_ref()?.id.as_deref()?;
        Some(Usage {
            app,
            user,
            at: self.published,
        })
    }
}

const HOUR_MS: i64 = 3_600_000;

/// One app's usage so far: when each user last signed in, sign-ins per hour, and the newest sign-in.
#[derive(Default, Debug, Clone)]
struct AppLedger {
    last_seen: HashMap<u32, i64>,
    hourly: BTreeMap<i64, u64>,
    last_used: Option<DateTime<Utc>>,
}

/// Usage counts of one app over a window.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct AppCounts {
    pub active_users: u64,
    pub events: u64,
    pub last_used: Option<DateTime<Utc>>,
}

/// Usage over a window, per app id, plus distinct active users over all apps.
#[derive(Default, Debug)]
pub struct UsageCounts {
    pub apps: HashMap<String, AppCounts>,
    pub active_users: u64,
}

/// Usage accumulated across syncs: a one-shot sync fills it once; the operator keeps it between syncs and
/// feeds it only new events (from the saved System Log cursor). Memory follows distinct (app, user) pairs and
/// hours with sign-ins, never the number of events. Sign-ins leave the window hour by hour: an hour counts
/// while any part of it is inside the window; active users and last use are exact.
#[derive(Default, Debug, Clone)]
pub struct UsageLedger {
    user_ids: HashMap<String, u32>,
    apps: HashMap<String, AppLedger>,
    /// Where the next incremental read resumes: the next link of the last System Log page read.
    pub cursor: Option<url::Url>,
}

impl UsageLedger {
    /// Adds one event; returns whether it was a usage event.
    pub fn add(&mut self, event: &LogEvent) -> bool {
        let Some(usage) = event.usage() else {
            return false;
        };
        let next = self.user_ids.len() as u32;
        let user = *self.user_ids.entry(usage.user.to_string()).or_insert(next);
        let app = self.apps.entry(usage.app.to_string()).or_default();
        let ms = usage.at.timestamp_millis();
        let seen = app.last_seen.entry(user).or_insert(ms);
        *seen = (*seen).max(ms);
        *app.hourly.entry(ms.div_euclid(HOUR_MS)).or_default() += 1;
        app.last_used = app.last_used.max(Some(usage.at));
        true
    }

    /// Forgets what is wholly older than `start` (last use is kept: it is remembered beyond the window).
    pub fn prune(&mut self, start: DateTime<Utc>) {
        let start_ms = start.timestamp_millis();
        let first_hour = start_ms.div_euclid(HOUR_MS);
        for app in self.apps.values_mut() {
            app.last_seen.retain(|_, &mut seen| seen >= start_ms);
            app.hourly = app.hourly.split_off(&first_hour);
        }
    }

    /// Counts over the window that starts at `start`.
    pub fn counts(&self, start: DateTime<Utc>) -> UsageCounts {
        let start_ms = start.timestamp_millis();
        let first_hour = start_ms.div_euclid(HOUR_MS);
        let mut active: HashSet<u32> = HashSet::new();
        let mut apps = HashMap::with_capacity(self.apps.len());
        for (id, app) in &self.apps {
            let users: Vec<u32> = app
                .last_seen
                .iter()
                .filter(|&(_, &seen)| seen >= start_ms)
                .map(|(&u, _)| u)
                .collect();
            let events: u64 = app.hourly.range(first_hour..).map(|(_, n)| n).sum();
            active.extend(&users);
            apps.insert(
                id.clone(),
                AppCounts {
                    active_users: users.len() as u64,
                    events,
                    last_used: app.last_used,
                },
            );
        }
        UsageCounts {
            apps,
            active_users: active.len() as u64,
        }
    }

    /// Distinct (app, user) pairs held: what the ledger's memory follows.
    pub fn pairs(&self) -> usize {
        self.apps.values().map(|a| a.last_seen.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> LogEvent {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn usage_is_a_successful_sso_to_the_app_instance_target_found_by_type() {
        let app_user_first = event(
            r#"{"published":"2026-01-01T00:00:00.000Z","eventType":"user.authentication.sso","outcome":{"result":"SUCCESS"},"actor":{"id":"00u1"},"target":[{"id":"0ua1","type":"AppUser"},{"id":"0oa1","type":"AppInstance"}]}"#,
        );
        let u = app_user_first.usage().unwrap();
        assert_eq!((u.app, u.user), ("0oa1", "00u1"));
        let failure = event(
            r#"{"published":"2026-01-01T00:00:00.000Z","eventType":"user.authentication.sso","outcome":{"result":"FAILURE"},"actor":{"id":"00u1"},"target":[{"id":"0oa1","type":"AppInstance"}]}"#,
        );
        assert!(failure.usage().is_none());
        let other = event(
            r#"{"published":"2026-01-01T00:00:00.000Z","eventType":"application.user_membership.add","outcome":{"result":"SUCCESS"},"actor":{"id":"00u1"},"target":[{"id":"0oa1","type":"AppInstance"}]}"#,
        );
        assert!(other.usage().is_none());
        let no_app = event(
            r#"{"published":"2026-01-01T00:00:00.000Z","eventType":"user.authentication.sso","outcome":{"result":"SUCCESS"},"actor":{"id":"00u1"},"target":[{"id":"0ua1","type":"AppUser"}]}"#,
        );
        assert!(no_app.usage().is_none());
    }

    #[test]
    fn counts_distinct_users_events_and_last_use_and_expires_old_hours() {
        let mut ledger = UsageLedger::default();
        for (user, at) in [
            ("00u1", "2026-01-01T00:10:00.000Z"),
            ("00u2", "2026-01-03T00:00:00.000Z"),
            ("00u1", "2026-01-02T00:00:00.000Z"),
        ] {
            assert!(ledger.add(&event(&format!(r#"{{"published":"{at}","eventType":"user.authentication.sso","outcome":{{"result":"SUCCESS"}},"actor":{{"id":"{user}"}},"target":[{{"id":"0oa1","type":"AppInstance"}}]}}"#))));
        }
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let all = ledger.counts(at("2025-12-01T00:00:00Z"));
        assert_eq!(
            all.apps["0oa1"],
            AppCounts {
                active_users: 2,
                events: 3,
                last_used: Some(at("2026-01-03T00:00:00Z"))
            }
        );
        assert_eq!(all.active_users, 2);
        // a window starting on Jan 2: user 1's newest sign-in is Jan 2, so both stay active; Jan 1's event leaves
        let later = ledger.counts(at("2026-01-02T00:00:00Z"));
        assert_eq!(
            (later.apps["0oa1"].active_users, later.apps["0oa1"].events),
            (2, 2)
        );
        ledger.prune(at("2026-01-02T12:00:00Z"));
        let pruned = ledger.counts(at("2026-01-02T12:00:00Z"));
        assert_eq!(
            (pruned.apps["0oa1"].active_users, pruned.apps["0oa1"].events),
            (1, 1)
        );
        assert_eq!(
            pruned.apps["0oa1"].last_used,
            Some(at("2026-01-03T00:00:00Z"))
        );
        assert_eq!(ledger.pairs(), 1);
    }
}
