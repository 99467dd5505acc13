//! /metrics, /healthz and /readyz, and the shutdown signal.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use super::error::RunError;
use super::metrics::Metrics;

#[derive(Clone)]
struct Shared {
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
}

/// The running server.
pub(crate) struct Health {
    ready: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Health {
    pub(crate) fn set_ready(&self) {
        self.ready.store(true, Ordering::Relaxed);
    }
    pub(crate) fn stop(self) {
        self.task.abort();
    }
}

async fn metrics(State(s): State<Shared>) -> ([(&'static str, &'static str); 1], String) {
    ([("content-type", "text/plain; version=0.0.4; charset=utf-8")], s.metrics.encode())
}

async fn readyz(State(s): State<Shared>) -> (StatusCode, &'static str) {
    if s.ready.load(Ordering::Relaxed) { (StatusCode::OK, "ok") } else { (StatusCode::SERVICE_UNAVAILABLE, "starting") }
}

pub(crate) async fn serve(addr: SocketAddr, metrics_: Arc<Metrics>) -> Result<Health, RunError> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| RunError::Metrics { addr, source })?;
    let ready = Arc::new(AtomicBool::new(false));
    let shared = Shared { metrics: metrics_, ready: ready.clone() };
    let app = axum::Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(shared);
    tracing::info!(addr = %addr, "serving /metrics, /healthz and /readyz");
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics server stopped");
        }
    });
    Ok(Health { ready, task })
}

/// SIGTERM or SIGINT.
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
