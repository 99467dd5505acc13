//! OktaApp objects: one per app of an integration's inventory, owned by the integration (garbage-collected
//! with it), written by server-side apply only when something changed, deleted when the app is gone from
//! Okta, and paced (bounded concurrency and a client-side rate) so 10,000 apps never flood the API server.
//! OktaApps the operator does not own are left alone.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde_json::json;
use tokio::sync::OwnedSemaphorePermit;

use super::context::Context;
use super::error::WriteError;
use super::events::{EventReason, Notice};
use super::shared::{
    API_VERSION, FIELD_MANAGER, IntegrationKey, RETRY_PAUSES, delete_if_present, for_each_labelled, object_name,
    object_names, owned_by, refused, retrying, time,
};
use crate::crd::{INTEGRATION_LABEL, OktaApp, OktaAppStatus, OktaIntegration, USED_LABEL};
use crate::discovery::{OrgState, SyncOutput};
use crate::sync::lock;

/// A client-side pace: at most `per_second` writes a second.
struct Pace {
    next: Mutex<Instant>,
    gap: Duration,
}

impl Pace {
    fn new(per_second: f64) -> Pace {
        Pace { next: Mutex::new(Instant::now()), gap: Duration::from_secs_f64(1.0 / per_second.max(0.1)) }
    }
    async fn wait(&self) {
        let wait = {
            let mut next = lock(&self.next);
            let now = Instant::now();
            let at = (*next).max(now);
            *next = at + self.gap;
            at - now
        };
        tokio::time::sleep(wait).await;
    }
}

fn desired_status(engine: &OrgState, output: &SyncOutput, days: u32) -> BTreeMap<String, OktaAppStatus> {
    let report = &output.report;
    let now_ms = report.generated_at.timestamp_millis();
    let start_ms = now_ms - i64::from(days) * 86_400_000;
    report
        .apps
        .iter()
        .map(|a| {
            let first_seen =
                engine.apps.get(&a.id).and_then(|e| chrono::DateTime::from_timestamp_millis(e.first_seen_ms)).map(time);
            let status = OktaAppStatus {
                label: a.label.clone(),
                name: a.name.clone(),
                status: a.status.clone(),
                sign_on_mode: a.sign_on_mode.clone(),
                built_in: a.built_in,
                assigned_users: a.assigned_users,
                active_users: a.active_users,
                unused_seats: a.unused_seats,
                sso_events: a.sso_events,
                last_used: a.last_used,
                first_seen,
                usage_window: report.usage_window.clone(),
                daily_sign_ins: engine.usage.daily(&a.id, start_ms, now_ms, days),
                history: super::history::status_of(&a.history, super::breakdown::APP_MONTH_VALUES),
                reclaim: Some(super::reclaim::status_of(&a.reclaim)),
                breakdown: super::breakdown::status_of(&a.breakdown, super::breakdown::APP_VALUES),
                contract: None,
            };
            (a.id.clone(), status)
        })
        .collect()
}

/// What the publisher compares of an existing OktaApp. A listed object carries its managedFields and
/// the rest of its metadata: held for 10,000 apps that is over 100 MB, where this is a few KB an app.
#[derive(Clone)]
struct Current {
    name: String,
    used: Option<String>,
    integration_label: Option<String>,
    spec_integration: String,
    status: Option<OktaAppStatus>,
}

impl Current {
    fn of(mut app: OktaApp) -> Current {
        let mut labels = std::mem::take(&mut app.metadata.labels).unwrap_or_default();
        Current {
            name: app.metadata.name.take().unwrap_or_default(),
            used: labels.remove(USED_LABEL),
            integration_label: labels.remove(INTEGRATION_LABEL),
            spec_integration: std::mem::take(&mut app.spec.integration),
            // The contract is the contract controller's field: left out of the comparison.
            status: app.status.take().map(|s| OktaAppStatus { contract: None, ..s }),
        }
    }
}

/// The integration's current OktaApps (only those it owns) with their app ids, read a page at a time;
/// two objects with one app id are both kept (one of them is stale).
async fn existing(api: &Api<OktaApp>, integration: &str, uid: &str) -> Result<Vec<(String, Current)>, kube::Error> {
    let mut out = Vec::new();
    for_each_labelled(api, &format!("{INTEGRATION_LABEL}={integration}"), |mut app: OktaApp| {
        if owned_by(&app, uid) {
            out.push((std::mem::take(&mut app.spec.app_id), Current::of(app)));
        }
    })
    .await?;
    Ok(out)
}

/// Each of the integration's OktaApps' app id and history, as status keeps it; listed again while the API
/// server fails, as a checkpoint is read (a busy API server must not cost the apps' months).
pub(crate) async fn histories(
    ctx: &Context,
    key: &IntegrationKey,
    obj: &OktaIntegration,
) -> Result<Vec<(String, crate::crd::UsageHistory)>, kube::Error> {
    let api: Api<OktaApp> = Api::namespaced(ctx.client.clone(), &key.namespace);
    let uid = obj.metadata.uid.clone().unwrap_or_default();
    let found = retrying(&RETRY_PAUSES, |e| !refused(e), || existing(&api, &key.name, &uid)).await?;
    Ok(found.into_iter().filter_map(|(id, current)| Some((id, current.status?.history))).collect())
}

struct Publisher<'a> {
    ctx: &'a Context,
    api: Api<OktaApp>,
    namespace: String,
    owner: OwnerReference,
    integration: String,
    pace: Pace,
}

impl Publisher<'_> {
    /// Writes of this integration's OktaApps are allowed (its lease holds, and its shard is ours).
    fn fenced(&self) -> Result<(), super::leader::Fenced> {
        self.ctx.fence.check_for(&IntegrationKey::new(&self.namespace, &self.integration))
    }

    /// Waits for one write's turn (this integration's pace, then one of the process's app write slots),
    /// then checks the fence: a write never goes out on a fence checked before a wait.
    async fn turn(&self) -> Result<Option<OwnedSemaphorePermit>, WriteError> {
        self.pace.wait().await;
        let slot = self.ctx.app_write_slots.clone().acquire_owned().await.ok();
        self.fenced()?;
        Ok(slot)
    }

    /// Creates the object (metadata and spec) when it is missing or not as it should be, then its status
    /// when it differs; returns the writes made.
    async fn write(
        &self,
        name: &str,
        app_id: &str,
        status: &OktaAppStatus,
        current: Option<&Current>,
    ) -> Result<u64, WriteError> {
        let used = if status.sso_events > 0 { "true" } else { "false" };
        let meta_ok = current.is_some_and(|c| {
            c.used.as_deref() == Some(used)
                && c.integration_label.as_ref() == Some(&self.integration)
                && c.spec_integration == self.integration
        });
        let status_ok = current.and_then(|c| c.status.as_ref()) == Some(status);
        let mut writes = 0;
        if !meta_ok {
            let _slot = self.turn().await?;
            let object = json!({
                "apiVersion": API_VERSION, "kind": "OktaApp",
                "metadata": {"name": name, "labels": {INTEGRATION_LABEL: self.integration, USED_LABEL: used}, "ownerReferences": [self.owner]},
                "spec": {"integration": self.integration, "appId": app_id},
            });
            self.api.patch(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&object)).await?;
            writes += 1;
        }
        if !status_ok {
            let _slot = self.turn().await?;
            let patch = json!({"apiVersion": API_VERSION, "kind": "OktaApp", "status": status});
            self.api.patch_status(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&patch)).await?;
            writes += 1;
        }
        Ok(writes)
    }

    async fn delete(&self, name: &str) -> Result<u64, WriteError> {
        let _slot = self.turn().await?;
        self.ctx.expected_deletions.expect(&self.namespace, name);
        Ok(u64::from(delete_if_present(&self.api, name).await?))
    }
}

/// Brings the integration's OktaApps in line with the sync's inventory (or removes them all when
/// spec.appResources is false); a failure becomes a Warning notice, retried at the next sync.
pub(crate) async fn publish(
    ctx: &Context,
    key: &IntegrationKey,
    obj: &OktaIntegration,
    engine: &OrgState,
    output: &SyncOutput,
) -> Vec<Notice> {
    // Another attempt lists again and writes only what still differs.
    let passing = |e: &WriteError| e.passing(&ctx.fence, key);
    match retrying(&RETRY_PAUSES, passing, || reconcile_apps(ctx, key, obj, engine, output)).await {
        Ok(writes) => {
            ctx.metrics.app_writes.inc_by(writes);
            Vec::new()
        }
        Err(e) => vec![Notice::new(
            true,
            EventReason::AppsNotWritten,
            "WriteApps",
            format!("the sync succeeded but its OktaApps could not all be written ({e}); the next sync tries again"),
        )],
    }
}

/// One write: the app id, its object's name, its status, and the object now at that name when it is
/// this app's.
type Work = (String, String, OktaAppStatus, Option<Current>);

/// The writes and the deletions. Deletions go by name and never touch a name a desired app is written to
/// (ids equal but for case get distinct names, so a name can change hands between syncs); every owned
/// object under any other name goes, duplicates of one app id included.
fn plan(
    integration: &str,
    current: Vec<(String, Current)>,
    desired: BTreeMap<String, OktaAppStatus>,
) -> (Vec<Work>, Vec<String>) {
    let ids: Vec<&str> = desired.keys().map(String::as_str).collect();
    let named = object_names(integration, &ids);
    let mut by_name: HashMap<String, (String, Current)> =
        current.into_iter().map(|(id, c)| (c.name.clone(), (id, c))).collect();
    let work: Vec<Work> = desired
        .into_iter()
        .map(|(id, status)| {
            let name = named.get(&id).cloned().unwrap_or_else(|| object_name(integration, &id));
            let existing = by_name.remove(&name).filter(|(current_id, _)| *current_id == id).map(|(_, c)| c);
            (id, name, status, existing)
        })
        .collect();
    let mut stale: Vec<String> = by_name.into_keys().collect();
    stale.sort();
    (work, stale)
}

async fn reconcile_apps(
    ctx: &Context,
    key: &IntegrationKey,
    obj: &OktaIntegration,
    engine: &OrgState,
    output: &SyncOutput,
) -> Result<u64, WriteError> {
    let (namespace, integration) = (key.namespace.clone(), key.name.clone());
    let uid = obj.uid().unwrap_or_default();
    let api: Api<OktaApp> = Api::namespaced(ctx.client.clone(), &namespace);
    let Some(owner) = obj.controller_owner_ref(&()) else {
        return Ok(0);
    };
    let current = existing(&api, &integration, &uid).await?;
    let desired =
        if obj.spec.app_resources { desired_status(engine, output, engine.key.window_days) } else { BTreeMap::new() };
    let (work, stale) = plan(&integration, current, desired);
    let publisher = Publisher {
        ctx,
        api,
        namespace: namespace.clone(),
        owner,
        integration: integration.clone(),
        pace: Pace::new(ctx.options.app_writes_per_second),
    };
    let publisher = &publisher;
    let writes = futures::stream::iter(work)
        .map(
            |(id, name, status, existing)| async move { publisher.write(&name, &id, &status, existing.as_ref()).await },
        )
        .buffer_unordered(ctx.options.app_write_concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    let mut total = 0;
    for w in writes {
        total += w?;
    }
    for name in stale {
        total += publisher.delete(&name).await?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current(name: &str) -> Current {
        Current {
            name: name.into(),
            used: None,
            integration_label: None,
            spec_integration: String::new(),
            status: None,
        }
    }

    fn desired(ids: &[&str]) -> BTreeMap<String, OktaAppStatus> {
        ids.iter().map(|id| (id.to_string(), OktaAppStatus::default())).collect()
    }

    fn publisher(ctx: &Context) -> Publisher<'_> {
        Publisher {
            ctx,
            api: Api::namespaced(ctx.client.clone(), "team-a"),
            namespace: "team-a".into(),
            owner: OwnerReference { name: "acme".into(), uid: "uid-acme".into(), ..OwnerReference::default() },
            integration: "acme".into(),
            pace: Pace::new(1000.0),
        }
    }

    #[tokio::test]
    async fn the_publisher_writes_only_what_changed() {
        use crate::controller::testing::{context, echo, respond};
        let app = |name: &str, id: &str, status: &serde_json::Value| {
            serde_json::json!({"apiVersion": API_VERSION, "kind": "OktaApp", "metadata": {"name": name},
                "spec": {"integration": "acme", "appId": id}, "status": status})
        };
        let (ctx, mut server) = context(crate::controller::context::Options::default());
        let status = OktaAppStatus { label: "Slack".into(), sso_events: 3, ..OktaAppStatus::default() };
        let same = Current {
            name: "acme-0oa1".into(),
            used: Some("true".into()),
            integration_label: Some("acme".into()),
            spec_integration: "acme".into(),
            status: Some(status.clone()),
        };
        // Nothing differs: no request at all (the mock would wait for one forever).
        let writes = publisher(&ctx).write("acme-0oa1", "0oa1", &status, Some(&same)).await.expect("no write");
        assert_eq!(writes, 0);
        // Only the status differs: one status patch, the object is left alone.
        let changed = OktaAppStatus { sso_events: 4, ..status.clone() };
        let ctx2 = ctx.clone();
        let (s2, c2) = (changed.clone(), same.clone());
        let writing = tokio::spawn(async move { publisher(&ctx2).write("acme-0oa1", "0oa1", &s2, Some(&c2)).await });
        let seen = respond(&mut server, 200, |s| app("acme-0oa1", "0oa1", &s.body["status"])).await;
        assert_eq!(seen.method, "PATCH");
        assert!(seen.path.contains("/oktaapps/acme-0oa1/status?"), "{}", seen.path);
        assert_eq!(seen.body["status"]["ssoEvents"], 4);
        assert_eq!(writing.await.expect("no panic").expect("written"), 1);
        // A new app: the object, then its status.
        let ctx3 = ctx.clone();
        let s3 = changed.clone();
        let creating = tokio::spawn(async move { publisher(&ctx3).write("acme-0oa2", "0oa2", &s3, None).await });
        let object = echo(&mut server, 200).await;
        assert!(object.path.contains("/oktaapps/acme-0oa2?"), "{}", object.path);
        assert_eq!(object.body["spec"]["appId"], "0oa2");
        assert_eq!(object.body["metadata"]["labels"][USED_LABEL], "true");
        let status_write = respond(&mut server, 200, |s| app("acme-0oa2", "0oa2", &s.body["status"])).await;
        assert!(status_write.path.contains("/oktaapps/acme-0oa2/status"), "{}", status_write.path);
        assert_eq!(creating.await.expect("no panic").expect("written"), 2);
    }

    #[tokio::test]
    async fn a_write_waits_for_a_slot_and_then_checks_the_fence() {
        use crate::controller::testing::{assert_nothing_sent, context};
        let options = crate::controller::context::Options { app_writes_in_flight: 1, ..Default::default() };
        let (ctx, mut server) = context(options);
        let taken = ctx.app_write_slots.clone().acquire_owned().await.expect("a slot");
        let writing = tokio::spawn({
            let ctx = ctx.clone();
            async move { publisher(&ctx).write("acme-0oa1", "0oa1", &OktaAppStatus::default(), None).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!writing.is_finished(), "the process's only write slot is taken: the write waits");
        ctx.fence.close();
        drop(taken);
        let got = writing.await.expect("no panic");
        assert!(matches!(got, Err(WriteError::Fenced(_))), "the fence shut during the wait stops it: {got:?}");
        assert_nothing_sent(&mut server, Duration::from_millis(100), "and nothing was sent").await;
    }

    #[tokio::test]
    async fn the_apps_histories_are_listed_again_while_the_api_server_fails() {
        use crate::controller::testing::{answer, context, integration};
        let (ctx, mut server) = context(crate::controller::context::Options::default());
        let reading = tokio::spawn({
            let ctx = ctx.clone();
            async move { histories(&ctx, &IntegrationKey::new("team-a", "acme"), &integration()).await }
        });
        assert_eq!(answer(&mut server, 503, serde_json::Value::Null).await.method, "GET");
        let owner = serde_json::json!([{"apiVersion": API_VERSION, "kind": "OktaIntegration", "name": "acme",
            "uid": "uid-acme"}]);
        let app = serde_json::json!({"apiVersion": API_VERSION, "kind": "OktaApp",
            "metadata": {"name": "acme-0oa1", "labels": {INTEGRATION_LABEL: "acme"}, "ownerReferences": owner},
            "spec": {"integration": "acme", "appId": "0oa1"},
            "status": serde_json::to_value(OktaAppStatus { label: "Slack".into(), ..OktaAppStatus::default() }).unwrap()});
        let list =
            serde_json::json!({"apiVersion": API_VERSION, "kind": "OktaAppList", "metadata": {}, "items": [app]});
        assert_eq!(answer(&mut server, 200, list).await.method, "GET");
        let found = reading.await.expect("no panic").expect("read on the second attempt");
        assert_eq!(found.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["0oa1"]);
    }

    #[test]
    fn writes_and_deletions_never_cross() {
        // 0oaab had its object; 0oaAB appears and takes the plain name: 0oaab's old object is rewritten
        // for 0oaAB, never deleted after the write.
        let (work, stale) = plan("acme", vec![("0oaab".into(), current("acme-0oaab"))], desired(&["0oaAB", "0oaab"]));
        let written: Vec<&str> = work.iter().map(|w| w.1.as_str()).collect();
        assert!(written.contains(&"acme-0oaab"));
        assert!(stale.iter().all(|s| !written.contains(&s.as_str())), "{stale:?} crosses {written:?}");
        assert!(work.iter().all(|w| w.3.is_none()), "an object holding another app id is rewritten in full");
        // Two owned objects for one app: one is kept, the other deleted (never orphaned).
        let (work, stale) = plan(
            "acme",
            vec![("0oa1".into(), current("acme-0oa1")), ("0oa1".into(), current("acme-0oa1-copy"))],
            desired(&["0oa1"]),
        );
        assert!(work[0].3.is_some());
        assert_eq!(stale, vec!["acme-0oa1-copy".to_string()]);
        let (work, stale) = plan("acme", vec![("0oa9".into(), current("acme-0oa9"))], desired(&[]));
        assert!(work.is_empty());
        assert_eq!(stale, vec!["acme-0oa9".to_string()]);
    }
}
