//! The operator: kube-runtime controllers on OktaIntegration (one per watched scope), whose reconcile is
//! a short driver over named steps (`steps`). No Okta HTTP here: that is the discovery engine's.
//!
//! Start: serve /metrics and probes → check the API → take the lease (when electing) → remove the legacy
//! finalizer → run the controllers. Stop (SIGTERM): stop the controllers, cancel and await the sync jobs,
//! close the write fence, and only then release the lease, so a rolling update never has two writers.
//! Losing the lease closes the fence at once and stops everything the same way.

mod app_watch;
mod apps;
mod breakdown;
mod checkpoint_key;
mod checkpoints;
mod conditions;
mod context;
mod contracts;
mod error;
mod events;
mod fence;
mod finalizers;
mod history;
mod jobs;
pub(crate) mod leader;
mod lease_client;
mod membership;
mod metrics;
mod outcome;
mod reclaim;
mod reconcile;
mod restore;
mod server;
mod shards;
mod shared;
mod state;
mod state_cache;
mod steps;
#[cfg(test)]
mod testing;
mod tracker;
mod user_list;
mod watch;
mod watch_backoff;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;
use kube::api::ListParams;
use kube::{Api, Client};

pub(crate) use lease_client::LeaseClient;

use crate::crd::OktaIntegration;
use crate::okta::GovernorRegistry;

pub(crate) use breakdown::breakdown_view;

/// Patience for one answer from the API server on a request client: kube's default is none, and a
/// request sent to an API server that is still starting up can hang, holding its reconcile for good. A
/// shard's handover waits this long past the fence, so a write admitted before it closed has landed or
/// been given up before another replica writes.
pub(crate) const API_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
pub(crate) use checkpoint_key::KeyRef as CheckpointKeyRef;
pub(crate) use context::Options;
pub(crate) use error::RunError;
pub(crate) use history::history_view;
pub(crate) use metrics::reference_markdown as metrics_reference;
pub(crate) use reclaim::{basis_view, reclaim_view};
pub(crate) use shards::{ShardConfig, valid_pool};

/// The README's table of condition reasons: what each means for syncing and what to do.
pub(crate) fn reasons_reference() -> String {
    let mut out = String::from("| reason | needs a person (Stalled) | what to do |\n|---|---|---|\n");
    for reason in conditions::Reason::ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            reason.as_str(),
            if reason.stalled() { "yes" } else { "no" },
            reason.fix()
        ));
    }
    out
}

/// Where and how the operator runs.
pub(crate) struct RunConfig {
    /// For gets and writes: every answer within a bounded time.
    pub(crate) client: Client,
    /// For watches only (idle for minutes by design).
    pub(crate) watch_client: Client,
    /// For the Lease rounds, on a runtime of their own (shared when the process is alone).
    pub(crate) lease_client: LeaseClient,
    pub(crate) options: Options,
    pub(crate) metrics_addr: SocketAddr,
    /// Namespaces to watch; empty means all.
    pub(crate) namespaces: Vec<String>,
    pub(crate) reconcile_concurrency: u16,
    pub(crate) instance: String,
    /// How replicas share the work: one leader, shards, or (neither) this process alone.
    pub(crate) coordination: Coordination,
    /// The Secret holding the key that seals checkpoints.
    pub(crate) checkpoint_key: checkpoint_key::KeyRef,
}

/// How replicas share the work.
pub(crate) enum Coordination {
    /// One process, no lease.
    Alone,
    /// Run the controllers only while holding this lease (the others stand by).
    Leader(leader::LeaseConfig),
    /// Each replica holds a Lease of its own (`lease.name` is the group) and syncs its shard of
    /// integrations (in its pool).
    Shards(shards::ShardConfig),
}

/// The elector of a coordination, once made.
enum Elector {
    Leader(Arc<leader::LeaderElector>, LeaseClient),
    Shards(Arc<shards::ShardElector>, LeaseClient),
}

impl Elector {
    fn new(leases: &LeaseClient, coordination: &Coordination, scopes: &[Option<String>]) -> Option<Elector> {
        let client = leases.client.clone();
        match coordination {
            Coordination::Alone => None,
            Coordination::Leader(c) => {
                Some(Elector::Leader(Arc::new(leader::LeaderElector::new(client, c.clone())), leases.clone()))
            }
            Coordination::Shards(c) => {
                Some(Elector::Shards(Arc::new(shards::ShardElector::new(client, c.clone(), scopes)), leases.clone()))
            }
        }
    }

    /// Gives the Lease back (on the Lease runtime, as every round).
    async fn release(&self) {
        match self {
            Elector::Leader(e, leases) => leases.round(e, |e| async move { e.release().await }).await,
            Elector::Shards(s, leases) => leases.round(s, |s| async move { s.lease().release().await }).await,
        }
    }
}

async fn preflight(client: &Client, scopes: &[Option<String>]) -> Result<(), kube::Error> {
    for scope in scopes {
        let api: Api<OktaIntegration> = match scope {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        };
        api.list(&ListParams::default().limit(1)).await?;
    }
    Ok(())
}

/// Runs the operator until SIGTERM/SIGINT (or a lost lease), then stops in order and returns.
pub(crate) async fn run(config: RunConfig) -> Result<(), RunError> {
    let states = state::States::default();
    let governors = Arc::new(GovernorRegistry::default());
    let metrics = Arc::new(metrics::Metrics::new(states.clone(), governors.clone(), config.options.metrics_top_apps));
    let health = server::serve(config.metrics_addr, metrics.clone()).await?;
    let scopes: Vec<Option<String>> =
        if config.namespaces.is_empty() { vec![None] } else { config.namespaces.iter().cloned().map(Some).collect() };
    // Fail fast with a clear message when the API server or the CRD is missing.
    preflight(&config.client, &scopes).await?;
    let checkpoint_key = checkpoint_key::load_or_create(&config.client, &config.checkpoint_key).await?;
    health.set_ready(); // a standby is healthy and ready: it waits for the lease, it is not failing
    let elector = Elector::new(&config.lease_client, &config.coordination, &scopes).map(Arc::new);
    let Some(fence) = lead(elector.as_deref()).await else {
        return Ok(()); // stopped while standing by
    };
    metrics.leader.store(true, Ordering::Relaxed);
    match finalizers::remove_legacy(&config.client, &scopes).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "removed the legacy finalizer dti.dev/cleanup"),
        Err(e) => tracing::warn!(error = %e, "cannot remove the legacy finalizer dti.dev/cleanup"),
    }
    let state_cache = Arc::new(state_cache::StateCache::new(config.options.state_cache));
    let ctx = Arc::new(context::Context::new(context::Parts {
        client: config.client.clone(),
        options: config.options,
        metrics: metrics.clone(),
        states,
        state_cache,
        governors,
        fence: fence.clone(),
        instance: config.instance,
        checkpoint_key,
    }));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (moved_tx, moved_rx) = tokio::sync::watch::channel(0u64);
    let supervisor = tokio::spawn({
        let elector = elector.clone();
        async move {
            let lost = watch_for_stop(elector, stop_tx, moved_tx, metrics).await;
            arm_exit_deadline(lost);
            lost
        }
    });
    let controllers: Vec<_> = scopes
        .into_iter()
        .map(|scope| {
            let integrations = watch::controller(
                &config.watch_client,
                ctx.clone(),
                scope.clone(),
                config.reconcile_concurrency,
                (stop_rx.clone(), moved_rx.clone()),
            );
            let contracts =
                contracts::controller(&config.watch_client, ctx.clone(), scope, (stop_rx.clone(), moved_rx.clone()));
            futures::stream::select(integrations, contracts).for_each(|_| async {})
        })
        .collect();
    tracing::info!(namespaces = ?config.namespaces, "dti-operator running");
    futures::future::join_all(controllers).await;
    let lost = supervisor.await.unwrap_or(false);
    stop_in_order(&ctx, &fence, elector.as_deref(), lost).await;
    health.stop();
    if lost {
        return Err(RunError::LostLease);
    }
    tracing::info!("dti-operator stopped");
    Ok(())
}

/// How long stopping may take once it began (the controllers drained, the jobs cancelled, the lease given
/// back): less than Kubernetes' default 30 s grace, so a stop that hangs ends here, said why, not in SIGKILL.
const STOP_DEADLINE: Duration = Duration::from_secs(25);

/// From here on the process ends within [`STOP_DEADLINE`] whatever still waits (a request or a watch that
/// never answers, a signal arriving when nobody listens any more): a thread of its own, outside the runtime.
fn arm_exit_deadline(lost: bool) {
    std::thread::spawn(move || {
        std::thread::sleep(STOP_DEADLINE);
        tracing::error!(deadline = ?STOP_DEADLINE, lost_lease = lost, "stopping did not finish in time: exiting now");
        eprintln!("error: stopping did not finish within {STOP_DEADLINE:?}; exiting");
        std::process::exit(1);
    });
}

/// Waits for the lease (the leader's, or this shard's) and returns the fence that guards every write;
/// None on a signal.
async fn lead(elector: Option<&Elector>) -> Option<leader::Fence> {
    match elector {
        None => Some(leader::Fence::open()),
        Some(Elector::Leader(e, leases)) => {
            tracing::info!(identity = e.identity(), "waiting to become the leader");
            let acquire = leases.round(e, |e| async move { e.acquire().await });
            tokio::select! {
                _ = acquire => tracing::info!(identity = e.identity(), "became the leader"),
                _ = server::shutdown_signal() => return None,
            }
            Some(e.fence())
        }
        Some(Elector::Shards(s, leases)) => {
            let join = leases.round(s, |s| async move { s.join().await });
            tokio::select! {
                _ = join => {}
                _ = server::shutdown_signal() => return None,
            }
            let members = s.membership.members();
            tracing::info!(identity = s.lease().identity(), ?members, "joined the shard group");
            Some(s.lease().fence().sharded(s.membership.clone()))
        }
    }
}

/// The controllers have stopped taking work: cancel the jobs, wait until they are gone, shut the fence,
/// and only then give the lease back (never two writers in a rolling update).
async fn stop_in_order(ctx: &context::Context, fence: &leader::Fence, elector: Option<&Elector>, lost: bool) {
    ctx.states.cancel_all();
    if !ctx.jobs.wait_idle(Duration::from_secs(10)).await {
        tracing::warn!(live = ctx.jobs.live(), "sync jobs did not stop within 10s");
    }
    fence.close();
    ctx.metrics.leader.store(false, Ordering::Relaxed);
    if let (Some(e), false) = (elector, lost) {
        e.release().await; // a shard's Lease released: the others take its integrations at once
    }
}

/// Resolves on a signal (false) or a lost lease (true), telling the controllers to stop either way;
/// with shards, tells the controllers each time integrations may have changed hands.
async fn watch_for_stop(
    elector: Option<Arc<Elector>>,
    stop: tokio::sync::watch::Sender<bool>,
    moved: tokio::sync::watch::Sender<u64>,
    metrics: Arc<metrics::Metrics>,
) -> bool {
    let lost = match elector.as_deref() {
        Some(Elector::Leader(e, leases)) => tokio::select! {
            _ = leases.round(e, |e| async move { e.hold().await }) => {
                tracing::error!("lost the leader lease: stopping all work");
                true
            }
            _ = server::shutdown_signal() => false,
        },
        Some(Elector::Shards(s, leases)) => {
            let mut seen = moved.subscribe();
            let membership = s.membership.clone();
            let gauge = async move {
                loop {
                    metrics.shard_members.set(membership.members().len() as i64);
                    if seen.changed().await.is_err() {
                        // hold() ended (and dropped the sender): let its branch report why
                        return futures::future::pending::<()>().await;
                    }
                    tracing::info!(members = ?membership.members(), "shard group changed: integrations may move");
                }
            };
            tokio::select! {
                _ = leases.round(s, |s| async move { s.hold(moved).await }) => {
                    tracing::error!("this shard's Lease lapsed: stopping all work");
                    true
                }
                _ = gauge => false,
                _ = server::shutdown_signal() => false,
            }
        }
        None => {
            server::shutdown_signal().await;
            false
        }
    };
    let _ = stop.send(true);
    lost
}
