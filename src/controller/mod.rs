//! The operator: a kube-runtime Controller on OktaIntegration that also watches the Secrets they reference.
//! Secret → validate → schedule sync → status and events. No Okta HTTP here: that is the discovery engine's.

pub mod conditions;
pub mod context;
pub mod jobs;
pub mod leader;
pub mod metrics;
pub mod reconcile;
pub mod secret;
pub mod state;
pub mod status;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};

pub use context::{Context, Options};
use metrics::Metrics;

use crate::crd::OktaIntegration;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot connect to Kubernetes: {0}")]
    Kube(#[from] kube::Error),
    #[error("cannot serve metrics on {addr}: {source}")]
    Metrics {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("lost the leader lease; exiting so a fresh start can wait for it again")]
    LostLease,
}

/// Where and how the operator runs.
pub struct RunConfig {
    pub client: Client,
    pub options: Options,
    pub metrics_addr: SocketAddr,
    /// Namespaces to watch; empty means all.
    pub namespaces: Vec<String>,
    pub reconcile_concurrency: u16,
    pub metrics_top_apps: usize,
    pub instance: String,
    /// Run the controllers only while holding this lease.
    pub leader_election: Option<leader::LeaseConfig>,
}

#[derive(Clone)]
struct Health {
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
}

async fn serve_metrics(State(h): State<Health>) -> ([(&'static str, &'static str); 1], String) {
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        h.metrics.encode(),
    )
}

async fn readyz(State(h): State<Health>) -> (StatusCode, &'static str) {
    if h.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting")
    }
}

/// Runs the operator until SIGTERM/SIGINT, then stops taking work and returns.
pub async fn run(config: RunConfig) -> Result<(), RunError> {
    let metrics = Arc::new(Metrics::new(config.metrics_top_apps));
    let ready = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind(config.metrics_addr)
        .await
        .map_err(|source| RunError::Metrics {
            addr: config.metrics_addr,
            source,
        })?;
    let health = Health {
        metrics: metrics.clone(),
        ready: ready.clone(),
    };
    let app = axum::Router::new()
        .route("/metrics", get(serve_metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(health);
    tracing::info!(addr = %config.metrics_addr, "serving /metrics, /healthz and /readyz");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    // Preflight: fail fast with a clear message when the API server or the CRD is missing.
    if config.namespaces.is_empty() {
        Api::<OktaIntegration>::all(config.client.clone())
            .list(&kube::api::ListParams::default().limit(1))
            .await?;
    } else {
        for ns in &config.namespaces {
            Api::<OktaIntegration>::namespaced(config.client.clone(), ns)
                .list(&kube::api::ListParams::default().limit(1))
                .await?;
        }
    }
    // A standby is healthy and ready: it is waiting for the lease, not failing.
    ready.store(true, Ordering::Relaxed);
    let elector = config
        .leader_election
        .clone()
        .map(|c| leader::LeaderElector::new(config.client.clone(), c));
    if let Some(e) = &elector {
        tracing::info!(identity = e.identity(), "waiting to become the leader");
        tokio::select! {
            _ = e.acquire() => tracing::info!(identity = e.identity(), "became the leader"),
            _ = shutdown_signal() => {
                server.abort();
                return Ok(());
            }
        }
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let lost = tokio::spawn(async move {
        match &elector {
            Some(e) => {
                tokio::select! {
                    _ = e.hold() => {
                        tracing::error!("lost the leader lease: stopping");
                        let _ = stop_tx.send(true);
                        true
                    }
                    _ = shutdown_signal() => {
                        let _ = stop_tx.send(true);
                        e.release().await;
                        false
                    }
                }
            }
            None => {
                shutdown_signal().await;
                let _ = stop_tx.send(true);
                false
            }
        }
    });

    let ctx = Arc::new(Context::new(
        config.client.clone(),
        config.options,
        metrics,
        config.instance,
    ));
    let scopes: Vec<Option<String>> = if config.namespaces.is_empty() {
        vec![None]
    } else {
        config.namespaces.iter().cloned().map(Some).collect()
    };
    let mut controllers = Vec::new();
    for scope in scopes {
        let (integrations, secrets): (Api<OktaIntegration>, Api<PartialObjectMeta<Secret>>) =
            match &scope {
                Some(ns) => (
                    Api::namespaced(config.client.clone(), ns),
                    Api::namespaced(config.client.clone(), ns),
                ),
                None => (
                    Api::all(config.client.clone()),
                    Api::all(config.client.clone()),
                ),
            };
        let (trigger_tx, trigger_rx) = futures::channel::mpsc::unbounded();
        ctx.add_trigger(trigger_tx);
        let controller = Controller::new(integrations, watcher::Config::default().any_semantic());
        let store = controller.store();
        // Secrets are watched by metadata only: the operator never caches Secret data.
        let secret_events = watcher(secrets, watcher::Config::default())
            .touched_objects()
            .default_backoff();
        let run = controller
            .watches_stream(secret_events, move |secret| {
                let (ns, name) = (secret.namespace(), secret.name_any());
                store
                    .state()
                    .into_iter()
                    .filter(|oi| {
                        oi.namespace() == ns
                            && oi
                                .spec
                                .credentials
                                .api_token
                                .as_ref()
                                .is_some_and(|t| t.secret_ref.name == name)
                    })
                    .map(|oi| ObjectRef::from_obj(&*oi))
                    .collect::<Vec<_>>()
            })
            .reconcile_on(trigger_rx)
            .with_config(
                kube::runtime::controller::Config::default()
                    .concurrency(config.reconcile_concurrency),
            )
            .graceful_shutdown_on(stopped(stop_rx.clone()))
            .run(reconcile::reconcile, reconcile::error_policy, ctx.clone())
            .for_each(|result| async move {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "reconcile stream");
                }
            });
        controllers.push(run);
    }
    tracing::info!(namespaces = ?config.namespaces, "dti-operator running");
    futures::future::join_all(controllers).await;
    server.abort();
    if lost.await.unwrap_or(false) {
        return Err(RunError::LostLease);
    }
    tracing::info!("dti-operator stopped");
    Ok(())
}

async fn stopped(mut rx: tokio::sync::watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
