//! Kubernetes Events (events.k8s.io/v1), written by the operator itself: notes are cut to the API's 1024
//! bytes on a character boundary, a repeat of the same note within half an hour becomes a series on the
//! first event, and a changed cause is a new event (kube's Recorder kept the first note of a series).
//! A notice that cannot be published (an outage) stays queued on the integration and is sent later.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};

use crate::sync::lock;
use crate::text;

const SERIES_WINDOW: Duration = Duration::from_secs(1800);
const CONTROLLER: &str = "dti.dev/dti-operator";

/// Why an event was emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum EventReason {
    AccessValidated,
    AccessDenied,
    InvalidToken,
    ClientRejected,
    SecretNotFound,
    SecretUnreadable,
    SecretKeyMissing,
    SecretValueInvalid,
    PrivateKeyInvalid,
    DomainRejected,
    InvalidSpec,
    Unreachable,
    InvalidResponse,
    SyncSucceeded,
    SyncFailed,
    SyncPanicked,
    NewAppsDiscovered,
    AppsNotWritten,
    CheckpointUnusable,
    CheckpointRejected,
    CheckpointSkipped,
    HistoryRestored,
    HistoryReset,
    UserListFailed,
}

impl EventReason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EventReason::AccessValidated => "AccessValidated",
            EventReason::AccessDenied => "AccessDenied",
            EventReason::InvalidToken => "InvalidToken",
            EventReason::ClientRejected => "ClientRejected",
            EventReason::SecretNotFound => "SecretNotFound",
            EventReason::SecretUnreadable => "SecretUnreadable",
            EventReason::SecretKeyMissing => "SecretKeyMissing",
            EventReason::SecretValueInvalid => "SecretValueInvalid",
            EventReason::PrivateKeyInvalid => "PrivateKeyInvalid",
            EventReason::DomainRejected => "DomainRejected",
            EventReason::InvalidSpec => "InvalidSpec",
            EventReason::Unreachable => "Unreachable",
            EventReason::InvalidResponse => "InvalidResponse",
            EventReason::SyncSucceeded => "SyncSucceeded",
            EventReason::SyncFailed => "SyncFailed",
            EventReason::SyncPanicked => "SyncPanicked",
            EventReason::NewAppsDiscovered => "NewAppsDiscovered",
            EventReason::AppsNotWritten => "AppsNotWritten",
            EventReason::CheckpointUnusable => "CheckpointUnusable",
            EventReason::CheckpointRejected => "CheckpointRejected",
            EventReason::CheckpointSkipped => "CheckpointSkipped",
            EventReason::HistoryRestored => "HistoryRestored",
            EventReason::HistoryReset => "HistoryReset",
            EventReason::UserListFailed => "UserListFailed",
        }
    }
}

/// One event to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Notice {
    pub(crate) warning: bool,
    pub(crate) reason: EventReason,
    pub(crate) action: &'static str,
    pub(crate) note: String,
}

impl Notice {
    pub(crate) fn new(warning: bool, reason: EventReason, action: &'static str, note: impl AsRef<str>) -> Notice {
        Notice { warning, reason, action, note: text::clean(note.as_ref(), text::EVENT_NOTE_BYTES) }
    }
}

struct Sent {
    name: String,
    count: i32,
    at: Instant,
}

/// Publishes notices about OktaIntegrations.
pub(crate) struct Recorder {
    client: Client,
    instance: String,
    series: Mutex<HashMap<(String, EventReason, String), Sent>>,
}

impl Recorder {
    pub(crate) fn new(client: Client, instance: String) -> Recorder {
        Recorder { client, instance, series: Mutex::new(HashMap::new()) }
    }

    /// Publishes one notice about `regarding`; an error leaves it to the caller to keep and retry.
    pub(crate) async fn publish(&self, regarding: &ObjectReference, notice: &Notice) -> Result<(), kube::Error> {
        let namespace = regarding.namespace.clone().unwrap_or_default();
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        let key =
            (format!("{namespace}/{}", regarding.name.clone().unwrap_or_default()), notice.reason, notice.note.clone());
        let repeat = {
            let mut series = lock(&self.series);
            series.retain(|_, s| s.at.elapsed() < SERIES_WINDOW);
            series.get(&key).map(|s| (s.name.clone(), s.count + 1))
        };
        let now = MicroTime(Timestamp::now());
        if let Some((name, count)) = repeat {
            let patch = serde_json::json!({"series": {"count": count, "lastObservedTime": now}});
            api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
            if let Some(s) = lock(&self.series).get_mut(&key) {
                s.count = count;
            }
            return Ok(());
        }
        let event = Event {
            metadata: ObjectMeta {
                name: Some(event_name(regarding.name.as_deref().unwrap_or_default())),
                namespace: Some(namespace),
                ..ObjectMeta::default()
            },
            event_time: Some(now),
            action: Some(notice.action.to_string()),
            reason: Some(notice.reason.as_str().to_string()),
            note: Some(notice.note.clone()),
            type_: Some(if notice.warning { "Warning" } else { "Normal" }.to_string()),
            regarding: Some(regarding.clone()),
            reporting_controller: Some(CONTROLLER.to_string()),
            reporting_instance: Some(text::clean(&self.instance, 128)),
            series: None::<EventSeries>,
            ..Event::default()
        };
        let created = api.create(&PostParams::default(), &event).await?;
        let name = created.metadata.name.unwrap_or_default();
        lock(&self.series).insert(key, Sent { name, count: 1, at: Instant::now() });
        Ok(())
    }
}

/// `<object>.<nanoseconds in hex>`, as client-go names events (events.k8s.io refuses a generateName
/// ending in a dot), within the 253 characters a name may have.
fn event_name(object: &str) -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    let suffix = format!(".{nanos:x}");
    let keep = object.len().min(253 - suffix.len());
    let head = object.get(..keep).unwrap_or(object).trim_end_matches(['.', '-']);
    format!("{head}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_are_valid_names() {
        let long = "a".repeat(253);
        for object in ["acme", long.as_str(), "x.y-"] {
            let name = event_name(object);
            assert!(name.len() <= 253 && name.starts_with(&object[..1]), "{name}");
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'),
                "{name}"
            );
            assert!(!name.contains("..") && !name.contains("-."), "{name}");
        }
    }

    #[test]
    fn notes_fit_the_api_limit_on_a_character_boundary() {
        let long = "é".repeat(700); // 1400 bytes
        let n = Notice::new(true, EventReason::SyncFailed, "Sync", &long);
        assert!(n.note.len() <= 1024, "{}", n.note.len());
        let kept = n.note.trim_end_matches('…');
        assert!(long.starts_with(kept), "the note is the message's start");
        assert_eq!(kept.len() % 'é'.len_utf8(), 0, "cut between characters, never inside one");
        assert!(n.note.ends_with('…'));
    }
}
