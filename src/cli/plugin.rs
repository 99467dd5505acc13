//! `kubectl dti`: the same binary installed as `kubectl-dti` on the PATH. Day-2 work without Okta
//! credentials: `report NAME` (the inventory from the cluster), `sync NAME [--wait]` (ask the operator
//! for one sync now and wait for its outcome), `reclaim NAME` (the seats to reclaim user by user, from
//! the opt-in per-user list), `status` (every integration at a glance).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, ResourceExt};

use super::output::Format;
use super::report::fetch;
use super::{KubeUse, kube_client};
use crate::crd::{OktaIntegration, SYNC_REQUESTED_ANNOTATION, SyncResult, duration_arg};
use crate::text;

#[derive(Parser, Debug)]
#[command(name = "kubectl dti", version, about = "Day-2 commands for dti-operator's OktaIntegrations")]
struct Plugin {
    /// Kubeconfig to use (default: $KUBECONFIG, ~/.kube/config).
    #[arg(long, global = true)]
    kubeconfig: Option<PathBuf>,
    /// Namespace (default: the kubeconfig context's).
    #[arg(short = 'n', long, global = true)]
    namespace: Option<String>,
    #[command(subcommand)]
    command: PluginCommand,
}

#[derive(Subcommand, Debug)]
enum PluginCommand {
    /// An integration's inventory from the cluster (the `dti-operator sync` JSON contract with --format json).
    Report {
        name: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Usage history: the org's months and each app's sparkline.
        #[arg(long)]
        history: bool,
        /// Seats, active users and unused seats per value of this breakdown attribute (spec.breakdown).
        #[arg(long, value_name = "ATTRIBUTE", conflicts_with = "history")]
        by: Option<String>,
        /// With --history or --by: only this app (its label, or its Okta id).
        #[arg(long, value_name = "LABEL")]
        app: Option<String>,
    },
    /// Ask the operator for one sync of an integration now.
    Sync(SyncRequest),
    /// The seats to reclaim user by user, from the per-user list the integration keeps in a Secret
    /// (opt-in: spec.reclaim.userList); you need read access to that Secret.
    Reclaim(super::reclaim::ReclaimArgs),
    /// The HTML report of every integration you may read, served on 127.0.0.1 and read live from the
    /// cluster with your kubeconfig.
    Ui(super::ui::UiArgs),
    /// Every integration: readiness, apps, unused seats, data age.
    Status {
        /// In every namespace.
        #[arg(short = 'A', long)]
        all_namespaces: bool,
    },
}

#[derive(Args, Debug)]
struct SyncRequest {
    name: String,
    /// Wait until the operator has handled the request and print the outcome (non-zero on failure).
    #[arg(long)]
    wait: bool,
    /// How long to wait.
    #[arg(long, default_value = "30m", value_parser = duration_arg)]
    timeout: Duration,
}

pub(crate) async fn main() -> ExitCode {
    let plugin = Plugin::parse();
    let client = match kube_client(plugin.kubeconfig.as_ref(), "kubectl-dti", KubeUse::Requests).await {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let namespace = plugin.namespace.clone().unwrap_or_else(|| client.default_namespace().to_string());
    let result = match plugin.command {
        PluginCommand::Report { name, format, history, by, app } => {
            let contracts = if matches!(format, Format::Html) {
                super::contracts::fetch(&client, &namespace, &name).await
            } else {
                Vec::new()
            };
            let view = super::report::View { history, by: by.as_ref(), app: app.as_ref(), contracts };
            fetch(&client, &namespace, &name).await.and_then(|r| super::report::output(&r, &view, format)).map(|text| {
                print!("{text}");
                ExitCode::SUCCESS
            })
        }
        PluginCommand::Sync(request) => sync(&client, &namespace, request).await,
        PluginCommand::Reclaim(args) => super::reclaim::run(&client, &namespace, args).await,
        PluginCommand::Ui(args) => super::ui::run(&client, &namespace, args).await,
        PluginCommand::Status { all_namespaces } => {
            status(&client, (!all_namespaces).then_some(namespace.as_str())).await
        }
    };
    result.unwrap_or_else(fail)
}

fn fail(e: String) -> ExitCode {
    eprintln!("error: {}", text::message(&e));
    ExitCode::FAILURE
}

async fn sync(client: &kube::Client, namespace: &str, request: SyncRequest) -> Result<ExitCode, String> {
    let api: Api<OktaIntegration> = Api::namespaced(client.clone(), namespace);
    let value = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let patch = serde_json::json!({"metadata": {"annotations": {SYNC_REQUESTED_ANNOTATION: value}}});
    api.patch(&request.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| format!("cannot request a sync of {namespace}/{}: {e}", request.name))?;
    eprintln!("sync requested: {namespace}/{} ({SYNC_REQUESTED_ANNOTATION}={value})", request.name);
    if !request.wait {
        return Ok(ExitCode::SUCCESS);
    }
    let deadline = Instant::now() + request.timeout;
    loop {
        let obj = api.get(&request.name).await.map_err(|e| format!("cannot read {namespace}/{}: {e}", request.name))?;
        let status = obj.status.clone().unwrap_or_default();
        if status.last_handled_sync_request.as_deref() == Some(value.as_str()) {
            let last = status.last_sync.clone();
            let ok = last.as_ref().is_some_and(|l| l.result == SyncResult::Succeeded);
            let message = last.as_ref().and_then(|l| l.message.clone()).unwrap_or_default();
            let requests = last.as_ref().map_or(0, |l| l.api_requests);
            match status.summary.as_ref().filter(|_| ok) {
                Some(s) => println!(
                    "sync succeeded: {} apps ({} used, {} unused), {} users ({} active), {} unused seats; {requests} Okta requests; {}",
                    s.apps,
                    s.used_apps,
                    s.unused_apps,
                    s.users,
                    s.active_users,
                    s.unused_seats,
                    text::message(&message)
                ),
                None => println!("sync failed: {}", text::message(&message)),
            }
            return Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE });
        }
        if Instant::now() > deadline {
            return Err(format!("the operator did not handle the request within {:?}", request.timeout));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn age(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> String {
    let Some(t) = t else { return "never".into() };
    let secs = (chrono::Utc::now().timestamp() - t.0.as_second()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

async fn status(client: &kube::Client, namespace: Option<&str>) -> Result<ExitCode, String> {
    let api: Api<OktaIntegration> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let list = api.list(&ListParams::default()).await.map_err(|e| format!("cannot list OktaIntegrations: {e}"))?;
    println!(
        "{:<20} {:<28} {:<6} {:>5} {:>5} {:>12} {:>9}  MESSAGE",
        "NAMESPACE/NAME", "DOMAIN", "READY", "APPS", "USED", "UNUSED SEATS", "DATA AGE"
    );
    for obj in list.items {
        let status = obj.status.clone().unwrap_or_default();
        let ready = status.conditions.iter().find(|c| c.type_ == "Ready");
        let s = status.summary.clone().unwrap_or_default();
        println!(
            "{:<20} {:<28} {:<6} {:>5} {:>5} {:>12} {:>9}  {}",
            text::clean(&format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any()), 60),
            text::clean(&obj.spec.domain, 60),
            ready.map_or("-", |c| c.status.as_str()),
            s.apps,
            s.used_apps,
            s.unused_seats,
            age(s.last_successful_sync_time.as_ref()),
            text::clean(&ready.map(|c| c.message.clone()).unwrap_or_default(), 120)
        );
    }
    Ok(ExitCode::SUCCESS)
}
