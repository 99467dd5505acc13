//! Helpers the whole controller shares, importing nothing from it: the field manager and API version of
//! every write, the time format of status, the names of owned objects, a delete that tolerates a
//! missing object, and the notice cap.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{DeleteParams, ListParams};
use serde::de::DeserializeOwned;

/// The server-side apply field manager of every write.
pub(crate) const FIELD_MANAGER: &str = "dti-operator";
/// apiVersion of every object the operator writes.
pub(crate) const API_VERSION: &str = "dti.dev/v1alpha1";
/// Events kept for a later attempt per integration while the API server is away (the newest win).
pub(crate) const NOTICE_CAP: usize = 32;
const MAX_NAME: usize = 253;

/// Hands each object carrying `selector`'s labels to `each`, listing a page of 500 at a time (so a
/// caller can keep a few fields of each instead of every object).
pub(crate) async fn for_each_labelled<K>(
    api: &Api<K>,
    selector: &str,
    mut each: impl FnMut(K),
) -> Result<(), kube::Error>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    let mut params = ListParams::default().labels(selector).limit(500);
    loop {
        let page = api.list(&params).await?;
        page.items.into_iter().for_each(&mut each);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(()),
        }
    }
}

/// An OktaIntegration as the operator knows it between reconciles: its namespace and name (never one
/// "namespace/name" string split apart again).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct IntegrationKey {
    pub(crate) namespace: String,
    pub(crate) name: String,
}

impl IntegrationKey {
    pub(crate) fn new(namespace: &str, name: &str) -> IntegrationKey {
        IntegrationKey { namespace: namespace.to_string(), name: name.to_string() }
    }

    /// The key of a namespaced object; None without a namespace (the API server always sets one, so
    /// a caller treats None as an error, never as "").
    pub(crate) fn of<K: kube::ResourceExt>(obj: &K) -> Option<IntegrationKey> {
        Some(IntegrationKey { namespace: obj.namespace()?, name: obj.name_any() })
    }
}

impl std::fmt::Display for IntegrationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// A metav1.Time; whole seconds, as the API server stores them (so a re-read status compares equal).
pub(crate) fn time(t: DateTime<Utc>) -> Time {
    Time(Timestamp::from_second(t.timestamp()).unwrap_or(Timestamp::UNIX_EPOCH))
}

/// `<integration>-<id in lower case>`, any character a Kubernetes name cannot hold as `-`, shortened
/// with a hash when it would pass 253 characters (the hash is of the id as given, so ids that differ only
/// in what was replaced still differ).
pub(crate) fn object_name(integration: &str, id: &str) -> String {
    let safe: String = id
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.' { c } else { '-' })
        .collect();
    let full = format!("{integration}-{safe}");
    if full.len() <= MAX_NAME && safe == id.to_ascii_lowercase() {
        return full;
    }
    let hash = crate::okta::Fingerprint::of(&[integration.as_bytes(), b"/", id.as_bytes()]);
    let suffix: String = hash.0.iter().map(|b| format!("{b:02x}")).collect();
    let mut prefix: String = full.chars().take(MAX_NAME - suffix.len() - 1).collect();
    while prefix.ends_with(['-', '.']) {
        prefix.pop();
    }
    format!("{prefix}-{suffix}")
}

/// Names for a batch of app ids; two ids equal but for case get distinct names.
pub(crate) fn object_names(integration: &str, ids: &[&str]) -> HashMap<String, String> {
    let mut taken: HashSet<String> = HashSet::new();
    let mut out = HashMap::new();
    let mut sorted: Vec<&str> = ids.to_vec();
    sorted.sort_unstable();
    for id in sorted {
        let mut name = object_name(integration, id);
        if !taken.insert(name.clone()) {
            let exact = crate::okta::Fingerprint::of(&[id.as_bytes()]);
            name = object_name(integration, &format!("{id}-{:02x}{:02x}{:02x}", exact.0[0], exact.0[1], exact.0[2]));
            taken.insert(name.clone());
        }
        out.insert(id.to_string(), name);
    }
    out
}

/// An answer that no retry can change: a 4xx other than Conflict and Too Many Requests (invalid,
/// forbidden, not found). Anything else (no answer, a conflict, throttling, a server error) may pass.
pub(crate) fn refused(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(s) if (400..500).contains(&s.code) && s.code != 409 && s.code != 429)
}

/// Pauses before each new attempt at a request that failed for a reason that may pass. Without a
/// checkpoint the replica that takes an integration over scans the org in full and waits out its rate
/// limit, and unwritten OktaApps wait for the next sync: both are worth 15 seconds of trying. The last
/// pause outlasts a renew deadline, so a fence that lapsed while a lease round answered late has reopened.
pub(crate) const RETRY_PAUSES: [std::time::Duration; 3] =
    [std::time::Duration::from_secs(1), std::time::Duration::from_secs(4), std::time::Duration::from_secs(10)];

/// Runs `attempt`, again after each of `pauses` while it fails in a way `passing` says may pass.
pub(crate) async fn retrying<T, E, F, Fut>(
    pauses: &[std::time::Duration],
    passing: impl Fn(&E) -> bool,
    mut attempt: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut pauses = pauses.iter();
    loop {
        match attempt().await {
            Err(e) if passing(&e) => match pauses.next() {
                Some(pause) => tokio::time::sleep(*pause).await,
                None => return Err(e),
            },
            done => return done,
        }
    }
}

/// Whether the object with this uid owns `obj` (objects of the same name but not owned are left alone).
pub(crate) fn owned_by<K: kube::Resource>(obj: &K, uid: &str) -> bool {
    obj.meta().owner_references.iter().flatten().any(|o| o.uid == uid)
}

/// Deletes `name` in the background; true when it existed (a 404 is no error: it is gone either way).
pub(crate) async fn delete_if_present<K>(api: &Api<K>, name: &str) -> Result<bool, kube::Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_and_short_and_distinct() {
        assert_eq!(object_name("acme", "0oaAbC123"), "acme-0oaabc123");
        let long = "a".repeat(250);
        let name = object_name(&long, "0oa1");
        assert!(name.len() <= 253, "{}", name.len());
        assert_ne!(name, object_name(&long, "0oa2"));
        assert!(name.chars().last().is_some_and(|c| c.is_ascii_alphanumeric()));
        let n = object_names("acme", &["0oaAB", "0oaab"]);
        assert_ne!(n["0oaAB"], n["0oaab"]);
        assert!(n["0oaAB"].starts_with("acme-0oaab"));
        let wide = object_name("acme", &"é".repeat(200));
        assert!(wide.len() <= 253 && wide.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
        assert_ne!(object_name("acme", "0oa_1"), object_name("acme", "0oa-1"), "a replaced character keeps ids apart");
    }
}
