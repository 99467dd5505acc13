//! The `dti-operator` command line: one subcommand per front of the product; run as `kubectl-dti` it is
//! the kubectl plugin.

mod breakdown;
mod common;
mod contracts;
mod history;
mod html;
mod output;
mod plugin;
mod reclaim;
mod report;
mod run;
mod sync;
mod ui;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use kube::config::{KubeConfigOptions, Kubeconfig};

#[derive(Parser, Debug)]
#[command(name = "dti-operator", version, about = "Discovers the SaaS apps an Okta org signs in to, with their usage")]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the operator: reconcile OktaIntegrations in the cluster.
    Run(run::RunArgs),
    /// Print the CustomResourceDefinitions (OktaIntegration, OktaApp, OktaSyncState) as YAML, or write
    /// one file per CRD into --dir (how crds/ and the chart's copies are made).
    Crd {
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// One sync against one Okta org; the report goes to stdout. The API token comes from --token-file or
    /// the environment variable OKTA_API_TOKEN, never from a flag value; or use an OAuth service app.
    Sync(sync::SyncArgs),
    /// The inventory of an OktaIntegration as the cluster holds it (no token, no Okta request).
    Report(report::ReportArgs),
    /// Reference tables for the README, generated from the code (a test keeps README.md in step).
    #[command(hide = true)]
    Docs {
        #[arg(value_enum)]
        table: DocsTable,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum DocsTable {
    Reasons,
    Metrics,
}

use crate::controller::API_REQUEST_TIMEOUT;

/// Which kind of Kubernetes client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KubeUse {
    /// Gets and writes: each answer within API_REQUEST_TIMEOUT, connecting within 5 s.
    Requests,
    /// Long-lived watches, which must sit idle for minutes (kube's watcher has its own idle timeout).
    Watches,
}

/// A Kubernetes client from a kubeconfig (or the usual inference), naming this program and `identity`
/// in its User-Agent (the API server's audit log tells replicas apart by it).
pub(crate) async fn kube_client(
    path: Option<&PathBuf>,
    identity: &str,
    usage: KubeUse,
) -> Result<kube::Client, String> {
    let mut config = match path {
        Some(p) => {
            let kc = Kubeconfig::read_from(p).map_err(|e| format!("cannot read kubeconfig {}: {e}", p.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await.map_err(|e| e.to_string())?
        }
        None => kube::Config::infer().await.map_err(|e| format!("no Kubernetes configuration found: {e}"))?,
    };
    let agent = format!("dti-operator/{} ({})", env!("CARGO_PKG_VERSION"), crate::text::clean(identity, 100));
    if let Ok(value) = http::HeaderValue::from_str(&agent) {
        config.headers.push((http::header::USER_AGENT, value));
    }
    if usage == KubeUse::Requests {
        config.connect_timeout = Some(std::time::Duration::from_secs(5));
        config.read_timeout = Some(API_REQUEST_TIMEOUT);
        config.reset_reader_on_write = true; // counted from the request, not from the pooled connection's idle time
    }
    kube::Client::try_from(config).map_err(|e| e.to_string())
}

/// Whether `sync`'s API token came from a flag rather than the environment.
fn token_from_flag(matches: &ArgMatches) -> bool {
    matches
        .subcommand_matches("sync")
        .and_then(|m| m.value_source("api_token"))
        .is_some_and(|s| s == clap::parser::ValueSource::CommandLine)
}

/// `dti-operator crd`: the CRDs to stdout, or one file each into `dir`.
fn crd(dir: Option<&std::path::Path>) -> ExitCode {
    let written = match dir {
        None => crate::crd::crds_yaml().map(|yaml| print!("{yaml}")).map_err(|e| e.to_string()),
        Some(dir) => crate::crd::crd_files().map_err(|e| e.to_string()).and_then(|files| {
            files.into_iter().try_for_each(|(name, yaml)| {
                let path = dir.join(&name);
                std::fs::write(&path, yaml).map_err(|e| format!("cannot write {}: {e}", path.display()))
            })
        }),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: cannot render the CRDs: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the program named by `argv[0]`: the plugin as `kubectl-dti`, the operator's CLI otherwise.
pub(crate) async fn main() -> ExitCode {
    let program = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_default();
    if program == "kubectl-dti" {
        return plugin::main().await;
    }
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    match cli.command {
        Command::Crd { dir } => crd(dir.as_deref()),
        Command::Sync(args) => sync::run(args, token_from_flag(&matches)).await,
        Command::Run(args) => run::run(args).await,
        Command::Report(args) => report::run(args).await,
        Command::Docs { table } => {
            print!(
                "{}",
                match table {
                    DocsTable::Reasons => crate::controller::reasons_reference(),
                    DocsTable::Metrics => crate::controller::metrics_reference(),
                }
            );
            ExitCode::SUCCESS
        }
    }
}
