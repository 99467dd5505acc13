//! The controllers' inputs: a watch on OktaIntegrations (its deletes cancel syncs at once; a relist
//! forgets what is gone), a metadata-only watch on Secrets mapped to the integrations that use them, one
//! on the OktaApps they own (a deletion by someone else writes it again), and a trigger channel for
//! finished jobs. Watches back off at most a few seconds (with jitter), so the
//! operator is back in step right after an API server outage.

use std::sync::Arc;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event};
use kube::runtime::{Controller, WatchStreamExt};
use kube::{Api, Client, ResourceExt};

use super::context::Context;
use super::reconcile::{error_policy, reconcile};
use super::shared::IntegrationKey;
use crate::crd::OktaIntegration;

use super::watch_backoff::backoff;

/// A watch's items with its errors logged and dropped: each watch already retries on its own backoff,
/// and an error reaching the Controller would pause every trigger, finished jobs' included, for up to
/// its default 30 s backoff (kube-runtime backs off the whole trigger selector).
pub(super) fn without_errors<K: Send>(
    stream: impl Stream<Item = Result<K, watcher::Error>> + Send,
    what: &'static str,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send {
    stream.filter_map(move |item| {
        futures::future::ready(match item {
            Ok(obj) => Some(Ok(obj)),
            Err(e) => {
                tracing::debug!(watch = what, error = %e, "watch failed; retrying");
                None
            }
        })
    })
}

/// Whether a Secret is the one an integration reads.
fn uses_secret(oi: &OktaIntegration, name: &str) -> bool {
    let c = &oi.spec.credentials;
    c.api_token.as_ref().is_some_and(|t| t.secret_ref.name == name)
        || c.oauth.as_ref().is_some_and(|o| o.private_key.secret_ref.name == name)
}

/// Forgets states of integrations gone from `store` (within `scope`) after a relist.
fn sweep(ctx: &Context, store: &Store<OktaIntegration>, scope: &Option<String>) {
    let live: std::collections::HashSet<IntegrationKey> =
        store.state().iter().filter_map(|o| IntegrationKey::of(&**o)).collect();
    for key in ctx.states.keys() {
        let in_scope = scope.as_ref().is_none_or(|ns| key.namespace == *ns);
        if in_scope && !live.contains(&key) && ctx.forget(&key) {
            tracing::info!(integration = %key, "integration gone: its sync is cancelled and its state dropped");
        }
    }
}

/// What the watch itself tells the state: a deleted integration's sync is cancelled and its state dropped
/// at once; after each (re)list, state of integrations that no longer exist is swept.
fn deletions_and_sweeps(
    ctx: Arc<Context>,
    store: reflector::Store<OktaIntegration>,
    scope: Option<String>,
) -> impl Fn(&Event<OktaIntegration>) {
    move |event: &Event<OktaIntegration>| match event {
        Event::Delete(obj) => {
            if let Some(key) = IntegrationKey::of(obj)
                && ctx.forget(&key)
            {
                tracing::info!(integration = %key, "integration deleted: its sync is cancelled and its state dropped");
            }
        }
        Event::InitDone => sweep(&ctx, &store, &scope),
        _ => {}
    }
}

/// Resolves once `stop` says so (or its sender is gone).
pub(super) async fn stopped(mut stop: tokio::sync::watch::Receiver<bool>) {
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// One item each time the shard group changes (integrations may have changed hands).
pub(super) fn changes(moved: tokio::sync::watch::Receiver<u64>) -> impl Stream<Item = ()> + Send {
    futures::stream::unfold(moved, |mut rx| async move { rx.changed().await.ok().map(|()| ((), rx)) })
}

/// Each time the shard group changes, the integrations in `store` that changed hands here. Only these are
/// reconciled: a takeover then does not queue behind this replica's unchanged integrations.
fn changed_hands(
    moved: tokio::sync::watch::Receiver<u64>,
    store: Store<OktaIntegration>,
    ctx: Arc<Context>,
) -> impl Stream<Item = ObjectRef<OktaIntegration>> + Send {
    changes(moved).flat_map(move |()| {
        let refs: Vec<ObjectRef<OktaIntegration>> = store
            .state()
            .iter()
            .filter(|o| IntegrationKey::of(&***o).is_some_and(|key| ctx.changed_hands(&key)))
            .map(|o| ObjectRef::from_obj(&**o))
            .collect();
        futures::stream::iter(refs)
    })
}

/// One scope's controller (a namespace, or the whole cluster with None), run until `stop` resolves.
pub(crate) fn controller(
    client: &Client,
    ctx: Arc<Context>,
    scope: Option<String>,
    concurrency: u16,
    (stop, moved): (tokio::sync::watch::Receiver<bool>, tokio::sync::watch::Receiver<u64>),
) -> impl Stream<Item = ()> + Send {
    let (integrations, secrets): (Api<OktaIntegration>, Api<PartialObjectMeta<Secret>>) = match &scope {
        Some(ns) => (Api::namespaced(client.clone(), ns), Api::namespaced(client.clone(), ns)),
        None => (Api::all(client.clone()), Api::all(client.clone())),
    };
    let (store, writer) = reflector::store::<OktaIntegration>();
    let on_event = deletions_and_sweeps(ctx.clone(), store.clone(), scope.clone());
    let objects = reflector::reflector(
        writer,
        watcher::watcher(integrations, watcher::Config::default().any_semantic()).backoff(backoff()),
    )
    .inspect(move |e| {
        if let Ok(event) = e {
            on_event(event);
        }
    })
    .applied_objects();
    let objects = without_errors(objects, "OktaIntegrations");
    let secret_events = without_errors(
        watcher::watcher(secrets, watcher::Config::default()).backoff(backoff()).touched_objects(),
        "Secrets",
    );
    let app_deletions = without_errors(super::app_watch::deletions(client, &scope), "OktaApps");
    let deletion_ctx = ctx.clone();
    let moved = changed_hands(moved, store.clone(), ctx.clone());
    let (trigger_tx, trigger_rx) = futures::channel::mpsc::unbounded();
    ctx.add_trigger(trigger_tx);
    let mapped_store = store.clone();
    Controller::for_stream(objects, store)
        .watches_stream(secret_events, move |secret| {
            let (ns, name) = (secret.namespace(), secret.name_any());
            mapped_store
                .state()
                .into_iter()
                .filter(|oi| oi.namespace() == ns && uses_secret(oi, &name))
                .map(|oi| ObjectRef::from_obj(&*oi))
                .collect::<Vec<_>>()
        })
        .watches_stream(app_deletions, move |app| super::app_watch::on_deleted(&deletion_ctx, &app))
        .reconcile_on(trigger_rx)
        .reconcile_on(moved)
        .trigger_backoff(backoff())
        .with_config(kube::runtime::controller::Config::default().concurrency(concurrency))
        .graceful_shutdown_on(stopped(stop))
        .run(reconcile, error_policy, ctx)
        .map(|result| {
            if let Err(e) = result {
                tracing::debug!(error = %e, "reconcile stream");
            }
        })
}
