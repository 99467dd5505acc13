//! Usage aggregation from System Log events. Memory grows with distinct (app, user) pairs, never with the
//! number of events: each event updates counters and is dropped.

use std::collections::{HashMap, HashSet};

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

#[derive(Default, Debug, Clone)]
pub struct AppTally {
    pub users: HashSet<u32>,
    pub events: u64,
    pub last_used: Option<DateTime<Utc>>,
}

/// Per-app tallies over one stream of events.
#[derive(Default, Debug)]
pub struct UsageTally {
    user_ids: HashMap<String, u32>,
    pub apps: HashMap<String, AppTally>,
    pub events_scanned: u64,
}

impl UsageTally {
    pub fn add(&mut self, event: &LogEvent) {
        self.events_scanned += 1;
        let Some(usage) = event.usage() else { return };
        let next = self.user_ids.len() as u32;
        let user = *self.user_ids.entry(usage.user.to_string()).or_insert(next);
        let tally = self.apps.entry(usage.app.to_string()).or_default();
        tally.users.insert(user);
        tally.events += 1;
        tally.last_used = tally.last_used.max(Some(usage.at));
    }

    /// Distinct users with a usage event, over all apps.
    pub fn active_users(&self) -> u64 {
        let mut all: HashSet<u32> = HashSet::new();
        for t in self.apps.values() {
            all.extend(&t.users);
        }
        all.len() as u64
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
    fn tallies_distinct_users_events_and_last_use() {
        let mut tally = UsageTally::default();
        for (user, at) in [
            ("00u1", "2026-01-01T00:00:00.000Z"),
            ("00u2", "2026-01-03T00:00:00.000Z"),
            ("00u1", "2026-01-02T00:00:00.000Z"),
        ] {
            tally.add(&event(&format!(r#"{{"published":"{at}","eventType":"user.authentication.sso","outcome":{{"result":"SUCCESS"}},"actor":{{"id":"{user}"}},"target":[{{"id":"0oa1","type":"AppInstance"}}]}}"#)));
        }
        let t = &tally.apps["0oa1"];
        assert_eq!((t.users.len(), t.events), (2, 3));
        assert_eq!(
            t.last_used.unwrap().to_rfc3339(),
            "2026-01-03T00:00:00+00:00"
        );
        assert_eq!(tally.active_users(), 2);
        assert_eq!(tally.events_scanned, 3);
    }
}
