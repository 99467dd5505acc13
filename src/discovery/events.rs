//! System Log events as the sync reads them: each is a sign-in, a change that can move an assignment or a
//! user count, or nothing we count. Event types come from Okta's event-type catalogue
//! (okta-developer-docs data/event-types.json, release 2026.08.1); targets are found by `type`, never by
//! position (Okta System Log API: LogEvent.target).

use std::collections::HashSet;

use chrono::DateTime;
use serde::Deserialize;

use super::records::Record;

/// Events that change which users an app's assignments list, or their app-user status: "Add user to
/// application membership", "Remove user's application membership", and the provisioning states
/// (approve, provision, deprovision, revoke, restore) and property updates of a membership.
pub(crate) const APP_MEMBERSHIP_EVENTS: [&str; 8] = [
    "application.user_membership.add",
    "application.user_membership.remove",
    "application.user_membership.approve",
    "application.user_membership.provision",
    "application.user_membership.deprovision",
    "application.user_membership.revoke",
    "application.user_membership.restore",
    "application.user_membership.update",
];
/// "Add/Remove user to/from group membership": apps assigned to the group gain or lose a GROUP user.
pub(crate) const GROUP_MEMBERSHIP_EVENTS: [&str; 2] = ["group.user_membership.add", "group.user_membership.remove"];
/// "Add/Remove/Update assigned application to/in group".
pub(crate) const GROUP_APP_EVENTS: [&str; 3] =
    ["group.application_assignment.add", "group.application_assignment.remove", "group.application_assignment.update"];
/// "Create/Activate/Deactivate/Delete/Update application": the app list itself changed.
pub(crate) const APP_LIFECYCLE_EVENTS: [&str; 5] = [
    "application.lifecycle.create",
    "application.lifecycle.activate",
    "application.lifecycle.deactivate",
    "application.lifecycle.delete",
    "application.lifecycle.update",
];
/// Okta user lifecycle and lockout: the user's status (and so the user counts) changed.
pub(crate) const USER_LIFECYCLE_EVENTS: [&str; 11] = [
    "user.lifecycle.create",
    "user.lifecycle.activate",
    "user.lifecycle.deactivate",
    "user.lifecycle.reactivate",
    "user.lifecycle.suspend",
    "user.lifecycle.unsuspend",
    "user.lifecycle.delete.initiated",
    "user.lifecycle.delete.completed",
    "user.account.lock",
    "user.account.unlock",
    "user.account.unlock_by_admin",
];

/// "Update user profile for Okta" (its target is the User): a breakdown's attribute may have changed
/// (okta-api-facts: UserProfile; Okta's event catalogue).
pub(crate) const PROFILE_EVENTS: [&str; 1] = ["user.account.update_profile"];

/// Every change event type, for the System Log filter (profile updates always: a breakdown configured
/// later then finds them in the cursor's filter; without one they are read and ignored).
pub(crate) fn change_event_types() -> impl Iterator<Item = &'static str> {
    APP_MEMBERSHIP_EVENTS
        .into_iter()
        .chain(GROUP_MEMBERSHIP_EVENTS)
        .chain(GROUP_APP_EVENTS)
        .chain(APP_LIFECYCLE_EVENTS)
        .chain(USER_LIFECYCLE_EVENTS)
        .chain(PROFILE_EVENTS)
}

#[derive(Deserialize)]
pub(crate) struct RawEvent {
    uuid: Option<String>,
    published: Option<String>,
    #[serde(rename = "eventType")]
    event_type: Option<String>,
    actor: Option<RawActor>,
    outcome: Option<RawOutcome>,
    target: Option<Vec<RawTarget>>,
    transaction: Option<RawTransaction>,
}

#[derive(Deserialize)]
struct RawActor {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct RawOutcome {
    result: Option<String>,
}

#[derive(Deserialize)]
struct RawTarget {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct RawTransaction {
    id: Option<String>,
}

/// A usable event: its time, its uuid's hash (to drop repeats), and what it says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Event {
    pub(crate) published_ms: i64,
    pub(crate) uuid: Option<u64>,
    pub(crate) event_type: String,
    pub(crate) success: bool,
    pub(crate) actor_user: Option<String>,
    pub(crate) app: Option<String>,
    pub(crate) user_target: Option<String>,
    pub(crate) group: Option<String>,
    pub(crate) transaction: Option<String>,
}

pub(crate) fn hash_of(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

impl RawEvent {
    fn target(&self, kind: &str) -> Option<String> {
        self.target
            .as_ref()?
            .iter()
            .find(|t| t.kind.as_deref() == Some(kind))?
            .id
            .clone()
            .filter(|id| !id.is_empty() && id.len() <= 100)
    }
}

impl Record for RawEvent {
    type Checked = Event;
    /// An event needs a parseable `published` and an `eventType`; everything else may be missing.
    fn check(self) -> Result<Event, &'static str> {
        let published = self.published.as_deref().ok_or("an event without published")?;
        let published_ms = DateTime::parse_from_rfc3339(published)
            .map_err(|_| "an event whose published is not a timestamp")?
            .timestamp_millis();
        let event_type = self
            .event_type
            .clone()
            .filter(|t| !t.is_empty() && t.len() <= 200)
            .ok_or("an event without an eventType")?;
        let actor = self.actor.as_ref();
        Ok(Event {
            published_ms,
            uuid: self.uuid.as_deref().map(hash_of),
            success: self.outcome.as_ref().and_then(|o| o.result.as_deref()) == Some("SUCCESS"),
            actor_user: actor
                .filter(|a| a.kind.as_deref() == Some("User"))
                .and_then(|a| a.id.clone())
                .filter(|id| !id.is_empty() && id.len() <= 100),
            app: self.target("AppInstance"),
            user_target: self.target("User"),
            group: self.target("UserGroup"),
            transaction: self.transaction.as_ref().and_then(|t| t.id.clone()),
            event_type,
        })
    }
}

/// What an event means to the sync.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Meaning {
    /// A sign-in by a user to an app: counted when the app is in the inventory. `key` identifies the
    /// sign-in across event types (one transaction, one user, one app) so that it counts once.
    SignIn {
        app: String,
        user: String,
        key: Option<u64>,
    },
    /// The app's assignments (or their statuses) changed.
    AppUsers {
        app: String,
    },
    /// The groups assigned to the app changed.
    AppGroups {
        app: String,
    },
    /// A group's members changed: apps assigned to it gain or lose GROUP users.
    GroupMembers {
        group: String,
    },
    /// The app list changed.
    AppList,
    /// A user's status changed (or the user was created or deleted).
    User {
        user: String,
    },
    /// A user's profile changed (a breakdown's values may have).
    Profile {
        user: String,
    },
    Nothing,
}

impl Event {
    /// Classifies a successful event; `sign_ins` are the event types that count as a sign-in.
    pub(crate) fn meaning(&self, sign_ins: &HashSet<String>) -> Meaning {
        if !self.success {
            return Meaning::Nothing;
        }
        let t = self.event_type.as_str();
        if sign_ins.contains(t) {
            return match (&self.app, &self.actor_user) {
                (Some(app), Some(user)) => Meaning::SignIn {
                    key: self.transaction.as_deref().map(|tx| hash_of(&format!("{tx}\u{0}{user}\u{0}{app}"))),
                    app: app.clone(),
                    user: user.clone(),
                },
                _ => Meaning::Nothing,
            };
        }
        let app = || self.app.clone();
        let found = if APP_MEMBERSHIP_EVENTS.contains(&t) {
            app().map(|app| Meaning::AppUsers { app })
        } else if GROUP_APP_EVENTS.contains(&t) {
            app().map(|app| Meaning::AppGroups { app })
        } else if GROUP_MEMBERSHIP_EVENTS.contains(&t) {
            self.group.clone().map(|group| Meaning::GroupMembers { group })
        } else if APP_LIFECYCLE_EVENTS.contains(&t) {
            Some(Meaning::AppList)
        } else if USER_LIFECYCLE_EVENTS.contains(&t) {
            self.user_target.clone().map(|user| Meaning::User { user })
        } else if PROFILE_EVENTS.contains(&t) {
            self.user_target.clone().map(|user| Meaning::Profile { user })
        } else {
            None
        };
        found.unwrap_or(Meaning::Nothing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> Result<Event, &'static str> {
        serde_json::from_str::<RawEvent>(json).unwrap().check()
    }

    fn sign_ins() -> HashSet<String> {
        ["user.authentication.sso", "app.oauth2.signon", "user.authentication.auth_via_radius"]
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn sign_ins_need_success_a_user_actor_and_an_app_target_found_by_type() {
        let base = |kind: &str, actor_type: &str, result: &str, targets: &str| {
            format!(
                r#"{{"uuid":"u1","published":"2026-01-01T00:00:00.000Z","eventType":"{kind}","outcome":{{"result":"{result}"}},"actor":{{"id":"00u1","type":"{actor_type}"}},"target":{targets},"transaction":{{"id":"tx1"}}}}"#
            )
        };
        let app_user_first = r#"[{"id":"0ua1","type":"AppUser"},{"id":"0oa1","type":"AppInstance"}]"#;
        let s = sign_ins();
        let e = event(&base("user.authentication.sso", "User", "SUCCESS", app_user_first)).unwrap();
        assert!(
            matches!(e.meaning(&s), Meaning::SignIn { ref app, ref user, key: Some(_) } if app == "0oa1" && user == "00u1")
        );
        let oidc = event(&base("app.oauth2.signon", "User", "SUCCESS", app_user_first)).unwrap();
        assert_eq!(e.meaning(&s), oidc.meaning(&s), "one transaction, one sign-in key");
        let radius = event(&base(
            "user.authentication.auth_via_radius",
            "User",
            "SUCCESS",
            r#"[{"id":"0oa9","type":"AppInstance"}]"#,
        ))
        .unwrap();
        assert!(matches!(radius.meaning(&s), Meaning::SignIn { .. }));
        for nothing in [
            base("user.authentication.sso", "User", "FAILURE", app_user_first),
            base("user.authentication.sso", "PublicClientApp", "SUCCESS", app_user_first),
            base("user.authentication.sso", "User", "SUCCESS", r#"[{"id":"0ua1","type":"AppUser"}]"#),
            base("user.authentication.auth_via_richclient", "User", "SUCCESS", app_user_first),
            base("policy.evaluate_sign_on", "User", "SUCCESS", app_user_first),
        ] {
            assert_eq!(event(&nothing).unwrap().meaning(&s), Meaning::Nothing, "{nothing}");
        }
    }

    #[test]
    fn change_events_name_what_changed() {
        let with = |kind: &str, targets: &str| {
            event(&format!(r#"{{"published":"2026-01-01T00:00:00Z","eventType":"{kind}","outcome":{{"result":"SUCCESS"}},"actor":{{"id":"00uadmin","type":"User"}},"target":{targets}}}"#))
                .unwrap()
                .meaning(&sign_ins())
        };
        assert_eq!(
            with(
                "application.user_membership.add",
                r#"[{"id":"00u1","type":"User"},{"id":"0oa1","type":"AppInstance"}]"#
            ),
            Meaning::AppUsers { app: "0oa1".into() }
        );
        assert_eq!(
            with("group.user_membership.remove", r#"[{"id":"00u1","type":"User"},{"id":"00g1","type":"UserGroup"}]"#),
            Meaning::GroupMembers { group: "00g1".into() }
        );
        assert_eq!(
            with(
                "group.application_assignment.add",
                r#"[{"id":"0oa1","type":"AppInstance"},{"id":"00g1","type":"UserGroup"}]"#
            ),
            Meaning::AppGroups { app: "0oa1".into() }
        );
        assert_eq!(with("application.lifecycle.delete", r#"[{"id":"0oa1","type":"AppInstance"}]"#), Meaning::AppList);
        assert_eq!(
            with("user.lifecycle.suspend", r#"[{"id":"00u7","type":"User"}]"#),
            Meaning::User { user: "00u7".into() }
        );
    }

    #[test]
    fn an_event_needs_a_time_and_a_type() {
        assert!(event(r#"{"eventType":"user.authentication.sso"}"#).is_err());
        assert!(event(r#"{"published":null,"eventType":"user.authentication.sso"}"#).is_err());
        assert!(event(r#"{"published":"yesterday","eventType":"x.y"}"#).is_err());
        assert!(event(r#"{"published":"2026-01-01T00:00:00Z","eventType":null}"#).is_err());
        assert!(
            event(
                r#"{"published":"2026-01-01T00:00:00Z","eventType":"x.y","actor":null,"target":null,"outcome":null}"#
            )
            .is_ok()
        );
    }
}
