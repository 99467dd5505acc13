//! `dti-operator report` (and `kubectl dti report`): an integration's inventory read from the cluster, the
//! OktaIntegration's summary and its OktaApps, in the same JSON contract as `sync`. No token, no Okta
//! request, nothing taken from the org's rate limit.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use kube::api::ListParams;
use kube::{Api, ResourceExt};

use super::output::{Format, render};
use super::{KubeUse, kube_client};
use crate::crd::{AppSummary, INTEGRATION_LABEL, OktaApp, OktaIntegration};
use crate::discovery::{AppUsage, HistoryView, Report, Summary};

#[derive(Args, Debug)]
pub(crate) struct ReportArgs {
    /// The OktaIntegration.
    pub(crate) name: String,
    /// Its namespace (default: the kubeconfig context's).
    #[arg(short = 'n', long)]
    pub(crate) namespace: Option<String>,
    /// Kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(long)]
    pub(crate) kubeconfig: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Usage history instead of the inventory: the org's months (active users, change against the month
    /// before, sign-ins, seats) and each app's sparkline; as CSV one row per app and month.
    #[arg(long)]
    pub(crate) history: bool,
    /// Seats, active users and unused seats per value of this breakdown attribute (spec.breakdown), for
    /// the org or, with --app, one app; as CSV every app's rows too.
    #[arg(long, value_name = "ATTRIBUTE", conflicts_with = "history")]
    pub(crate) by: Option<String>,
    /// With --history or --by: only this app (its label, or its Okta id).
    #[arg(long, value_name = "LABEL")]
    pub(crate) app: Option<String>,
}

/// The app `--app` names, if any.
fn chosen_app<'a>(report: &'a Report, app: Option<&String>) -> Result<Option<&'a AppUsage>, String> {
    app.map(|label| {
        super::history::find(report, label)
            .ok_or_else(|| format!("no app labelled {:?} in this integration", crate::text::clean(label, 80)))
    })
    .transpose()
}

/// What `report` prints: the inventory, its history, or a breakdown.
pub(crate) fn output(report: &Report, view: &View<'_>, format: Format) -> Result<String, String> {
    if matches!(format, Format::Html) {
        // The page holds the history, the breakdowns and the contracts.
        let extras = super::html::Extras { contracts: view.contracts.clone(), refresh: None };
        return super::html::render_with(report, extras);
    }
    let app = chosen_app(report, view.app)?;
    if let Some(attribute) = view.by {
        return super::breakdown::render(report, app, attribute, format);
    }
    if !view.history {
        if app.is_some() {
            return Err("--app goes with --history or --by".into());
        }
        return Ok(render(report, format));
    }
    Ok(match format {
        Format::Table => super::history::table(report, app),
        Format::Csv => super::history::csv(report, app),
        Format::Json | Format::Html => {
            let mut only = report.clone();
            if let Some(a) = app {
                only.apps = vec![a.clone()];
            }
            render(&only, Format::Json)
        }
    })
}

/// Which view of the report: history, a breakdown by one attribute, either for one app; the HTML page
/// also shows the integration's contracts.
pub(crate) struct View<'a> {
    pub(crate) history: bool,
    pub(crate) by: Option<&'a String>,
    pub(crate) app: Option<&'a String>,
    pub(crate) contracts: Vec<crate::crd::AppContract>,
}

fn from_status(a: &AppSummary) -> AppUsage {
    AppUsage {
        id: a.id.clone(),
        name: a.name.clone(),
        label: a.label.clone(),
        status: a.status.clone(),
        sign_on_mode: a.sign_on_mode.clone(),
        built_in: a.built_in,
        assigned_users: a.assigned_users,
        active_users: a.active_users,
        unused_seats: a.unused_seats,
        sso_events: a.sso_events,
        last_used: a.last_used,
        history: HistoryView::default(),
        reclaim: a.reclaim.as_ref().map(crate::controller::reclaim_view).unwrap_or_default(),
        breakdown: Default::default(),
    }
}

fn from_app(app: &OktaApp) -> Option<AppUsage> {
    let s = app.status.as_ref()?;
    Some(AppUsage {
        id: app.spec.app_id.clone(),
        name: s.name.clone(),
        label: s.label.clone(),
        status: s.status.clone(),
        sign_on_mode: s.sign_on_mode.clone(),
        built_in: s.built_in,
        assigned_users: s.assigned_users,
        active_users: s.active_users,
        unused_seats: s.unused_seats,
        sso_events: s.sso_events,
        last_used: s.last_used,
        history: crate::controller::history_view(&s.history),
        reclaim: s.reclaim.as_ref().map(crate::controller::reclaim_view).unwrap_or_default(),
        breakdown: crate::controller::breakdown_view(&s.breakdown),
    })
}

async fn apps_of(
    client: &kube::Client,
    namespace: &str,
    integration: &OktaIntegration,
) -> Result<Vec<AppUsage>, String> {
    let api: Api<OktaApp> = Api::namespaced(client.clone(), namespace);
    let uid = integration.uid().unwrap_or_default();
    let mut params =
        ListParams::default().labels(&format!("{INTEGRATION_LABEL}={}", integration.name_any())).limit(500);
    let mut out = Vec::new();
    loop {
        let page = api.list(&params).await.map_err(|e| format!("cannot list OktaApps: {e}"))?;
        out.extend(
            page.items.iter().filter(|a| a.owner_references().iter().any(|o| o.uid == uid)).filter_map(from_app),
        );
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(out),
        }
    }
}

/// The report of `name` in `namespace`, from the cluster.
pub(crate) async fn fetch(client: &kube::Client, namespace: &str, name: &str) -> Result<Report, String> {
    let api: Api<OktaIntegration> = Api::namespaced(client.clone(), namespace);
    let obj = api
        .get_opt(name)
        .await
        .map_err(|e| format!("cannot read OktaIntegration {namespace}/{name}: {e}"))?
        .ok_or_else(|| format!("OktaIntegration {namespace}/{name} does not exist"))?;
    let status = obj.status.clone().unwrap_or_default();
    let Some(s) = status.summary.clone() else {
        let why = status
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .map(|c| c.message.clone())
            .unwrap_or_else(|| "the operator has not reported on it yet".into());
        return Err(format!("OktaIntegration {namespace}/{name} has no successful sync yet: {why}"));
    };
    let mut apps = if obj.spec.app_resources { apps_of(client, namespace, &obj).await? } else { Vec::new() };
    if apps.is_empty() && s.apps > 0 {
        eprintln!(
            "note: no OktaApps (spec.appResources is false?); listing the {} apps kept in status",
            status.apps.len()
        );
        apps = status.apps.iter().map(from_status).collect();
    }
    Report::sort_apps(&mut apps);
    Ok(Report {
        domain: obj.spec.domain.clone(),
        generated_at: s
            .window_end
            .as_ref()
            .and_then(|t| chrono::DateTime::from_timestamp(t.0.as_second(), 0))
            .unwrap_or_default(),
        usage_window: obj.spec.usage_window.clone(),
        summary: Summary {
            users: s.users,
            users_by_status: s.users_by_status,
            active_users: s.active_users,
            apps: s.apps,
            active_apps: s.active_apps,
            used_apps: s.used_apps,
            unused_apps: s.unused_apps,
            excluded_apps: s.excluded_apps,
            assigned_users: s.assigned_users,
            unused_seats: s.unused_seats,
            sso_events: s.sso_events,
            skipped_records: s.skipped_records,
            history: crate::controller::history_view(&s.history),
            reclaim: s.reclaim.as_ref().map(crate::controller::reclaim_view).unwrap_or_default(),
            reclaim_basis: s.reclaim_basis.as_ref().map(crate::controller::basis_view).unwrap_or_default(),
            breakdown: crate::controller::breakdown_view(&s.breakdown),
        },
        apps,
    })
}

pub(crate) async fn run(args: ReportArgs) -> ExitCode {
    let client = match kube_client(args.kubeconfig.as_ref(), "report", KubeUse::Requests).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let namespace = args.namespace.clone().unwrap_or_else(|| client.default_namespace().to_string());
    let contracts = if matches!(args.format, Format::Html) {
        super::contracts::fetch(&client, &namespace, &args.name).await
    } else {
        Vec::new()
    };
    let view = View { history: args.history, by: args.by.as_ref(), app: args.app.as_ref(), contracts };
    match fetch(&client, &namespace, &args.name).await.and_then(|report| output(&report, &view, args.format)) {
        Ok(text) => {
            print!("{text}");
            if matches!(args.format, Format::Table) && !args.history && args.by.is_none() {
                print!("{}", super::contracts::section(&client, &namespace, &args.name).await);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", crate::text::message(&e));
            ExitCode::FAILURE
        }
    }
}
