//! The Controller owns OktaApps: a metadata-only watch of their deletions. An OktaApp the operator did not
//! delete itself (removed by hand, by a pruning GitOps tool) brings its integration's next sync forward to
//! now, and that sync writes it again; the operator's own deletions (apps gone from Okta) were announced
//! before they were sent and are ignored, so they never cause a sync.

use chrono::Utc;
use futures::{Stream, StreamExt};
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource, ResourceExt};

use super::context::Context;
use super::shared::IntegrationKey;
use crate::crd::{INTEGRATION_LABEL, OktaApp, OktaIntegration};
use crate::sync::lock;

/// The OktaIntegration that owns an OktaApp as its controller.
fn owner(app: &PartialObjectMeta<OktaApp>) -> Option<(String, String)> {
    let namespace = app.namespace()?;
    let kind = OktaIntegration::kind(&());
    app.owner_references()
        .iter()
        .find(|o| o.controller == Some(true) && o.kind == kind)
        .map(|o| (namespace, o.name.clone()))
}

/// What a deleted OktaApp asks of its integration: a sync now, unless the operator deleted it.
pub(crate) fn on_deleted(ctx: &Context, app: &PartialObjectMeta<OktaApp>) -> Option<ObjectRef<OktaIntegration>> {
    let (namespace, integration) = owner(app)?;
    if ctx.expected_deletions.take(&namespace, &app.name_any()) {
        return None;
    }
    let key = IntegrationKey::new(&namespace, &integration);
    let uid = app.owner_references().iter().find(|o| o.name == integration).map(|o| o.uid.clone())?;
    let state = ctx.states.existing(&key, &uid)?;
    {
        let mut st = lock(&state);
        st.record.results.as_ref()?; // nothing published yet: the first sync writes every OktaApp anyway
        if st.job.running.is_none() {
            st.record.next_sync_at = Some(Utc::now());
        }
    }
    tracing::info!(integration = %key, app = %app.name_any(), "an OktaApp was deleted by someone else: syncing now to write it again");
    Some(ObjectRef::new(&integration).within(&namespace))
}

/// Deleted OktaApps of integrations in `scope` (metadata only).
pub(crate) fn deletions(
    client: &Client,
    scope: &Option<String>,
) -> impl Stream<Item = Result<PartialObjectMeta<OktaApp>, watcher::Error>> + Send + use<> {
    let api: Api<PartialObjectMeta<OktaApp>> = match scope {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    // On its own backoff as every other watch: without one, kube's watcher lists again at once, and an API
    // server that refuses connections saw 15,000 attempts a second from each replica (the soak, run 25).
    let watch = watcher::watcher(api, watcher::Config::default().labels(INTEGRATION_LABEL));
    watch.backoff(super::watch_backoff::backoff()).filter_map(|event| {
        futures::future::ready(match event {
            Ok(Event::Delete(app)) => Some(Ok(app)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::controller::context::Options;
    use crate::controller::testing::{answer, context, status_error};

    #[tokio::test]
    async fn a_failing_api_server_is_watched_again_after_a_pause_not_at_once() {
        let (ctx, mut server) = context(Options::default());
        let watching = tokio::spawn({
            let stream = deletions(&ctx.client, &None);
            async move { stream.for_each(|_| async {}).await }
        });
        let (started, mut lists) = (Instant::now(), 0);
        while started.elapsed() < Duration::from_millis(600) {
            answer(&mut server, 500, status_error(500, "InternalError")).await;
            lists += 1;
        }
        watching.abort();
        // 200 ms doubling, jittered down to 100 ms: at most about six in 600 ms; with no backoff, thousands.
        assert!(lists <= 8, "the watch was listed again {lists} times in 600 ms");
    }
}
