//! The operator: a kube-runtime Controller on OktaIntegration that also watches the Secrets they reference.
//! Secret → validate → schedule sync → status and events. No Okta HTTP here: that is the discovery engine's.

pub mod conditions;
pub mod context;
pub mod jobs;
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
    Api::<OktaIntegration>::all(config.client.clone())
        .list(&kube::api::ListParams::default().limit(1))
        .await?;

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
            .shutdown_on_signal()
            .run(reconcile::reconcile, reconcile::error_policy, ctx.clone())
            .for_each(|result| async move {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "reconcile stream");
                }
            });
        controllers.push(run);
    }
    ready.store(true, Ordering::Relaxed);
    tracing::info!(namespaces = ?config.namespaces, "dti-operator running");
    futures::future::join_all(controllers).await;
    server.abort();
    tracing::info!("dti-operator stopped");
    Ok(())
}
