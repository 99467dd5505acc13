//! `dti-operator run`: the operator.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::controller::{self, Options, RunConfig};
use crate::okta::{ClientOptions, DomainPolicy};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,
    /// Sync jobs running at once, over all integrations.
    #[arg(long, default_value_t = 4)]
    pub max_concurrent_syncs: usize,
    /// Reconciles running at once.
    #[arg(long, default_value_t = 8)]
    pub reconcile_concurrency: u16,
    /// Watch only this namespace (repeatable); all namespaces when absent.
    #[arg(long = "watch-namespace")]
    pub watch_namespaces: Vec<String>,
    /// Also allow this domain suffix (custom Okta domains), repeatable.
    #[arg(long = "allow-domain")]
    pub allow_domains: Vec<String>,
    /// Development and tests only: allow http and loopback Okta domains.
    #[arg(long)]
    pub insecure_allow_http: bool,
    /// Give up on one sync after this long.
    #[arg(long, default_value = "6h")]
    pub sync_timeout: String,
    /// Deadline of one request to Okta.
    #[arg(long, default_value = "30s")]
    pub request_timeout: String,
    /// Per-app active-user metric series for each integration's top N apps.
    #[arg(long, default_value_t = 10)]
    pub metrics_top_apps: usize,
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Run the controllers only while holding a Lease (for more than one replica).
    #[arg(long)]
    pub leader_elect: bool,
    /// Namespace of the Lease (default: $POD_NAMESPACE, else "default").
    #[arg(long)]
    pub leader_election_namespace: Option<String>,
    /// Name of the Lease.
    #[arg(long, default_value = "dti-operator")]
    pub leader_election_lease: String,
    /// How long the lease holds without renewal.
    #[arg(long, default_value = "15s")]
    pub leader_election_duration: String,
}

pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "info,kube_runtime=warn,kube_client=warn,hyper=warn,tower=warn",
        )
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

async fn kube_client(path: Option<&PathBuf>) -> Result<kube::Client, String> {
    let config = match path {
        Some(p) => {
            let kc = Kubeconfig::read_from(p)
                .map_err(|e| format!("cannot read kubeconfig {}: {e}", p.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
                .await
                .map_err(|e| e.to_string())?
        }
        None => kube::Config::infer()
            .await
            .map_err(|e| format!("no Kubernetes configuration found: {e}"))?,
    };
    kube::Client::try_from(config).map_err(|e| e.to_string())
}

pub async fn run(args: RunArgs) -> ExitCode {
    init_tracing(args.log_format);
    let durations = (
        crate::crd::parse_go_duration(&args.sync_timeout),
        crate::crd::parse_go_duration(&args.request_timeout),
    );
    let (sync_timeout, request_timeout) = match durations {
        (Ok(s), Ok(r)) => (s, r),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.insecure_allow_http {
        tracing::warn!(
            "--insecure-allow-http: plain http and loopback Okta domains are allowed; never use this in production"
        );
    }
    let client = match kube_client(args.kubeconfig.as_ref()).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = Options {
        domain_policy: DomainPolicy {
            allowed_suffixes: args.allow_domains.clone(),
            insecure_allow_http: args.insecure_allow_http,
        },
        client_options: ClientOptions {
            request_timeout,
            allow_local: args.insecure_allow_http,
            ..ClientOptions::default()
        },
        max_concurrent_syncs: args.max_concurrent_syncs,
        sync_timeout,
        access_timeout: Duration::from_secs(60),
        retry_after_failure: Duration::from_secs(300),
    };
    let instance = std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "dti-operator".into());
    let leader_election = if args.leader_elect {
        let duration = match crate::crd::parse_go_duration(&args.leader_election_duration) {
            Ok(d) if d >= Duration::from_secs(3) => d,
            _ => {
                eprintln!("error: --leader-election-duration must be a duration of at least 3s");
                return ExitCode::FAILURE;
            }
        };
        Some(controller::leader::LeaseConfig {
            namespace: args
                .leader_election_namespace
                .clone()
                .or_else(|| std::env::var("POD_NAMESPACE").ok())
                .unwrap_or_else(|| "default".into()),
            name: args.leader_election_lease.clone(),
            identity: format!("{instance}-{}", std::process::id()),
            duration,
            renew_every: duration / 3,
        })
    } else {
        None
    };
    let config = RunConfig {
        client,
        options,
        metrics_addr: args.metrics_addr,
        namespaces: args.watch_namespaces,
        reconcile_concurrency: args.reconcile_concurrency,
        metrics_top_apps: args.metrics_top_apps,
        instance,
        leader_election,
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
