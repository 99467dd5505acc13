//! `dti-operator run`: the operator.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::common::OktaArgs;
use super::{KubeUse, kube_client};
use crate::controller::{
    self, CheckpointKeyRef, Coordination, LeaseClient, Options, RunConfig, ShardConfig, leader::LeaseConfig,
};
use crate::crd::duration_arg;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub(crate) struct RunArgs {
    /// Kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account).
    #[arg(long)]
    pub(crate) kubeconfig: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) okta: OktaArgs,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub(crate) metrics_addr: SocketAddr,
    /// Syncs reading Okta at once, over all integrations (as many finished ones may be writing their
    /// results to Kubernetes meanwhile).
    #[arg(long, default_value_t = 4)]
    pub(crate) max_concurrent_syncs: usize,
    /// Reconciles running at once.
    #[arg(long, default_value_t = 8)]
    pub(crate) reconcile_concurrency: u16,
    /// Watch only this namespace (repeatable); all namespaces when absent.
    #[arg(long = "watch-namespace")]
    pub(crate) watch_namespaces: Vec<String>,
    /// Per-app metric series for each integration's top N apps.
    #[arg(long, default_value_t = 10)]
    pub(crate) metrics_top_apps: usize,
    /// OktaApp writes per second, at most (10,000 apps never flood the API server).
    #[arg(long, default_value_t = 20.0)]
    pub(crate) app_writes_per_second: f64,
    /// OktaApp writes in flight at once over all integrations (a burst of finished syncs waits here rather
    /// than in the API server's queue, which the Lease renewals share).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) app_writes_in_flight: u16,
    /// Largest saved sync state, in MiB (compressed); past it no checkpoint is kept.
    #[arg(long, default_value_t = 16)]
    pub(crate) checkpoint_cap_mib: usize,
    /// How long incremental syncs that read little (5,000 records in all) may leave the saved checkpoint
    /// as it is: a restart or takeover reads that much again. 0s saves one after every sync.
    #[arg(long, default_value = "6h", value_parser = duration_arg)]
    pub(crate) checkpoint_max_age: Duration,
    /// Sync states kept in memory between syncs, in MiB (the most recently synced integrations'); the
    /// others are read from their checkpoints when their next sync starts. 0 keeps none.
    #[arg(long, default_value_t = 128)]
    pub(crate) state_cache_mib: usize,
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,
    /// Run the controllers only while holding a Lease (for more than one replica: one works, the others
    /// stand by).
    #[arg(long, conflicts_with = "sharding")]
    pub(crate) leader_elect: bool,
    /// Share the integrations among the replicas: each holds a Lease of its own (named from
    /// --leader-election-lease, the shard group) and syncs those that hashing assigns to it; when a
    /// replica joins, leaves or dies, its integrations move to the others.
    #[arg(long)]
    pub(crate) sharding: bool,
    /// With --sharding: the pool this replica serves. It owns only the integrations labelled
    /// dti.dev/shard-pool with this value (hashed among the pool's replicas); without it, the unlabelled
    /// ones.
    #[arg(long, requires = "sharding", default_value = "")]
    pub(crate) shard_pool: String,
    /// The operator's namespace: where its Lease and its checkpoint key Secret live (default: the pod's
    /// namespace, else "default").
    #[arg(long, env = "POD_NAMESPACE")]
    pub(crate) leader_election_namespace: Option<String>,
    /// Name of the Lease.
    #[arg(long, default_value = "dti-operator")]
    pub(crate) leader_election_lease: String,
    /// How long the lease holds without renewal.
    #[arg(long, default_value = "15s", value_parser = duration_arg)]
    pub(crate) leader_election_duration: Duration,
    /// Name of the Secret (in the operator's namespace) holding the key that seals checkpoints; made with a
    /// random key when missing.
    #[arg(long, default_value = "dti-operator-checkpoint-key")]
    pub(crate) checkpoint_key_secret: String,
    /// Delay before a failed (or panicked) sync is tried again; at most spec.syncInterval.
    #[arg(long, default_value = "5m", value_parser = duration_arg)]
    pub(crate) retry_after_failure: Duration,
    /// Tests only: honour the annotation dti.dev/test-panic, which makes a sync job panic once per value.
    #[arg(long, hide = true)]
    pub(crate) allow_test_faults: bool,
    /// This replica's name (the pod's name in a cluster, from the downward API). Without it each process
    /// makes a unique leader-election identity of its own.
    #[arg(long, env = "POD_NAME")]
    pub(crate) pod_name: Option<String>,
}

pub(crate) fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,kube_runtime=warn,kube_client=warn,hyper=warn,tower=warn")
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

fn options(args: &RunArgs) -> Result<Options, String> {
    Ok(Options {
        domain_policy: args.okta.domain_policy()?,
        client_options: args.okta.client_options()?,
        max_concurrent_syncs: args.max_concurrent_syncs,
        sync_timeout: args.okta.sync_timeout,
        app_writes_per_second: args.app_writes_per_second,
        app_writes_in_flight: usize::from(args.app_writes_in_flight),
        checkpoint_cap: args.checkpoint_cap_mib.saturating_mul(1024 * 1024),
        checkpoint_max_age: args.checkpoint_max_age,
        state_cache: args.state_cache_mib.saturating_mul(1024 * 1024),
        metrics_top_apps: args.metrics_top_apps,
        retry_after_failure: args.retry_after_failure,
        test_faults: args.allow_test_faults,
        clock: args.okta.clock()?,
        ..Options::default()
    })
}

/// This process's leader-election identity: the pod's name when known (unique in its namespace), else a
/// random one. Never a shared default: two replicas with one identity would both believe they lead.
fn identity(pod_name: Option<&str>) -> String {
    use rand::Rng;
    match pod_name.filter(|n| !n.trim().is_empty()) {
        Some(name) => format!("{name}-{}", std::process::id()),
        None => format!("dti-operator-{}-{:08x}", std::process::id(), rand::rng().random::<u32>()),
    }
}

fn coordination(args: &RunArgs) -> Result<Coordination, String> {
    if !args.leader_elect && !args.sharding {
        return Ok(Coordination::Alone);
    }
    if args.leader_election_duration < Duration::from_secs(3) {
        return Err("--leader-election-duration must be at least 3s".into());
    }
    let config = LeaseConfig::with_duration(
        args.leader_election_namespace.clone().unwrap_or_else(|| "default".into()),
        args.leader_election_lease.clone(),
        identity(args.pod_name.as_deref()),
        args.leader_election_duration,
    );
    if !controller::valid_pool(&args.shard_pool) {
        return Err(format!(
            "--shard-pool {:?} is not a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
            crate::text::field(&args.shard_pool)
        ));
    }
    Ok(if args.sharding {
        Coordination::Shards(ShardConfig { lease: config, pool: args.shard_pool.clone() })
    } else {
        Coordination::Leader(config)
    })
}

/// The client the Lease rounds use: with a Lease, one of their own on a thread of their own.
async fn lease_client(
    coordination: &Coordination,
    shared: &kube::Client,
    kubeconfig: Option<PathBuf>,
    instance: &str,
) -> Result<LeaseClient, String> {
    if matches!(coordination, Coordination::Alone) {
        return Ok(LeaseClient::shared(shared.clone()));
    }
    let instance = instance.to_string();
    LeaseClient::dedicated(async move { kube_client(kubeconfig.as_ref(), &instance, KubeUse::Requests).await }).await
}

pub(crate) async fn run(args: RunArgs) -> ExitCode {
    init_tracing(args.log_format);
    let prepared = options(&args).and_then(|o| Ok((o, coordination(&args)?)));
    let (options, coordination) = match prepared {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.okta.insecure_allow_http {
        tracing::warn!(
            "--insecure-allow-http: plain http and loopback Okta domains are allowed; never use this in production"
        );
    }
    let instance = args.pod_name.clone().unwrap_or_else(|| "dti-operator".into());
    let clients = futures::future::try_join(
        kube_client(args.kubeconfig.as_ref(), &instance, KubeUse::Requests),
        kube_client(args.kubeconfig.as_ref(), &instance, KubeUse::Watches),
    );
    let (client, watch_client) = match clients.await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let lease_client = match lease_client(&coordination, &client, args.kubeconfig.clone(), &instance).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = RunConfig {
        client,
        watch_client,
        lease_client,
        options,
        metrics_addr: args.metrics_addr,
        namespaces: args.watch_namespaces,
        reconcile_concurrency: args.reconcile_concurrency,
        checkpoint_key: CheckpointKeyRef {
            namespace: args.leader_election_namespace.clone().unwrap_or_else(|| "default".into()),
            name: args.checkpoint_key_secret.clone(),
        },
        instance,
        coordination,
    };
    match controller::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "operator stopped");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::identity;

    #[test]
    fn without_a_pod_name_every_process_has_its_own_identity() {
        assert_ne!(identity(None), identity(None));
        assert_ne!(identity(Some(" ")), identity(Some(" ")));
        assert!(identity(Some("dti-operator-7d9f")).starts_with("dti-operator-7d9f-"));
    }
}
