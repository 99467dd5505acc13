//! The AppContract controller: matches each contract to one app of its integration (by id or exact
//! label), computes utilization and spend from the app's OktaApp, writes the contract's status only on
//! change, shows the contract on the OktaApp (a field of its own manager), and exports the figures as
//! metrics. Triggered by contract changes, by changes of its integration's OktaApps (a metadata-only
//! watch), and hourly (days to renewal).

mod compute;
mod status;

use compute::Figures;

use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use kube::api::{Patch, PatchParams};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::watcher::{self, Event};
use kube::runtime::{Controller, WatchStreamExt};
use kube::{Api, Client, ResourceExt};
use serde_json::json;

use super::context::Context;
use super::error::WriteError;
use super::metrics::ContractSeries;
use super::shared::{API_VERSION, IntegrationKey, for_each_labelled};
use crate::crd::{AppContract, ContractRef, INTEGRATION_LABEL, OktaApp, OktaIntegration};

/// The field manager of `status.contract` on OktaApps (the integration's publisher never touches it).
const CONTRACT_MANAGER: &str = "dti-operator-contracts";
/// Days to renewal change daily; an hourly look keeps them (and the alert) current.
const RECHECK: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub(crate) enum ContractError {
    #[error("the contract has no namespace")]
    NoNamespace,
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl From<kube::Error> for ContractError {
    fn from(e: kube::Error) -> Self {
        ContractError::Write(WriteError::Kube(e))
    }
}

/// The integration's OktaApps, a page at a time.
async fn apps_of(api: &Api<OktaApp>, integration: &str) -> Result<Vec<OktaApp>, kube::Error> {
    let mut out = Vec::new();
    for_each_labelled(api, &format!("{INTEGRATION_LABEL}={integration}"), |app| out.push(app)).await?;
    Ok(out)
}

async fn reconcile(contract: Arc<AppContract>, ctx: Arc<Context>) -> Result<Action, ContractError> {
    let ns = contract.namespace().ok_or(ContractError::NoNamespace)?;
    let name = contract.name_any();
    let owner = IntegrationKey::new(&ns, &contract.spec.integration);
    if !ctx.fence.owns(&owner) {
        ctx.metrics.contracts.set(&ns, &name, None); // the replica that syncs its integration exports it
        return Ok(Action::requeue(RECHECK));
    }
    let integrations: Api<OktaIntegration> = Api::namespaced(ctx.client.clone(), &ns);
    let apps_api: Api<OktaApp> = Api::namespaced(ctx.client.clone(), &ns);
    let spec = &contract.spec;
    let found = integrations.get_opt(&spec.integration).await?.is_some();
    let apps = if found { apps_of(&apps_api, &spec.integration).await? } else { Vec::new() };
    let today = chrono::Utc::now().date_naive();
    let outcome = status::outcome(&contract, found, &apps, today);
    let desired = status::compose(&contract, &outcome, chrono::Utc::now());
    if status::changed(contract.status.as_ref(), &desired) {
        ctx.fence.check_for(&owner).map_err(WriteError::from)?;
        let api: Api<AppContract> = Api::namespaced(ctx.client.clone(), &ns);
        let patch = json!({"apiVersion": API_VERSION, "kind": "AppContract", "status": desired});
        api.patch_status(&name, &PatchParams::apply(super::shared::FIELD_MANAGER).force(), &Patch::Apply(&patch))
            .await?;
    }
    let previous = contract.status.as_ref().and_then(|s| s.app.as_ref()).map(|a| a.oktaapp.clone());
    let matched = outcome.figures().map(|f| f.app.oktaapp.clone());
    if let Some(object) = &matched {
        let shown = ContractRef { name: name.clone(), seats: spec.seats, renewal: spec.renewal.clone() };
        let current = apps.iter().find(|a| a.name_any() == *object).and_then(|a| a.status.as_ref()?.contract.clone());
        if current.as_ref() != Some(&shown) {
            show_on_app(&ctx, (&apps_api, &owner), object, Some(&shown)).await?;
        }
    }
    if let Some(old) = previous.filter(|p| Some(p) != matched.as_ref()) {
        show_on_app(&ctx, (&apps_api, &owner), &old, None).await?;
    }
    ctx.metrics.contracts.set(&ns, &name, outcome.figures().map(|f| series(&spec.integration, f)));
    Ok(Action::requeue(RECHECK))
}

/// A matched contract's metric series.
fn series(integration: &str, f: &Figures) -> ContractSeries {
    ContractSeries {
        integration: integration.into(),
        app: f.app.label.clone(),
        currency: f.wasted_spend.currency.clone(),
        per: f.wasted_spend.per.clone(),
        utilization: f.utilization_ratio,
        wasted: f.wasted_amount,
        contracted: f.seats.contracted as f64,
        renewal_ts: f.renewal_ts.map(|t| t as f64),
    }
}

/// Writes (or with None, withdraws) `status.contract` of one OktaApp under the contracts' own manager.
async fn show_on_app(
    ctx: &Context,
    (api, integration): (&Api<OktaApp>, &IntegrationKey),
    object: &str,
    shown: Option<&ContractRef>,
) -> Result<(), ContractError> {
    ctx.fence.check_for(integration).map_err(WriteError::from)?;
    let status = match shown {
        Some(c) => json!({"contract": c}),
        None => json!({}),
    };
    let patch = json!({"apiVersion": API_VERSION, "kind": "OktaApp", "status": status});
    match api.patch_status(object, &PatchParams::apply(CONTRACT_MANAGER).force(), &Patch::Apply(&patch)).await {
        Ok(_) => Ok(()),
        // The app left the inventory: nothing to show it on.
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn error_policy(contract: Arc<AppContract>, error: &ContractError, _ctx: Arc<Context>) -> Action {
    tracing::warn!(contract = %contract.name_any(), error = %error, "contract reconcile failed");
    Action::requeue(Duration::from_secs(15))
}

/// When a contract is deleted: its series go, and the app stops showing it.
fn on_deleted(ctx: Arc<Context>, client: Client) -> impl Fn(&Event<AppContract>) {
    move |event| {
        let Event::Delete(contract) = event else {
            return;
        };
        let (ns, name) = (contract.namespace().unwrap_or_default(), contract.name_any());
        ctx.metrics.contracts.set(&ns, &name, None);
        let Some(object) = contract.status.as_ref().and_then(|s| s.app.as_ref()).map(|a| a.oktaapp.clone()) else {
            return;
        };
        let (ctx, api) = (ctx.clone(), Api::<OktaApp>::namespaced(client.clone(), &ns));
        let owner = IntegrationKey::new(&ns, &contract.spec.integration);
        tokio::spawn(async move {
            if let Err(e) = show_on_app(&ctx, (&api, &owner), &object, None).await {
                tracing::warn!(contract = %name, error = %e, "cannot withdraw a deleted contract from its OktaApp");
            }
        });
    }
}

/// One scope's contract controller (a namespace, or the whole cluster with None), run until `stop`.
pub(crate) fn controller(
    client: &Client,
    ctx: Arc<Context>,
    scope: Option<String>,
    (stop, moved): (tokio::sync::watch::Receiver<bool>, tokio::sync::watch::Receiver<u64>),
) -> impl Stream<Item = ()> + Send {
    let (contracts, apps): (Api<AppContract>, Api<PartialObjectMeta<OktaApp>>) = match &scope {
        Some(ns) => (Api::namespaced(client.clone(), ns), Api::namespaced(client.clone(), ns)),
        None => (Api::all(client.clone()), Api::all(client.clone())),
    };
    let (store, writer) = reflector::store::<AppContract>();
    let deleted = on_deleted(ctx.clone(), ctx.client.clone());
    let objects = reflector::reflector(
        writer,
        watcher::watcher(contracts, watcher::Config::default().any_semantic()).backoff(super::watch_backoff::backoff()),
    )
    .inspect(move |e| {
        if let Ok(event) = e {
            deleted(event);
        }
    })
    .applied_objects();
    let objects = super::watch::without_errors(objects, "AppContracts");
    let app_events = super::watch::without_errors(
        watcher::watcher(apps, watcher::Config::default()).backoff(super::watch_backoff::backoff()).touched_objects(),
        "OktaApps (for contracts)",
    );
    let mapped = store.clone();
    Controller::for_stream(objects, store)
        .watches_stream(app_events, move |app| {
            let (ns, integration) = (app.namespace(), app.labels().get(INTEGRATION_LABEL).cloned());
            mapped
                .state()
                .into_iter()
                .filter(|c| c.namespace() == ns && Some(&c.spec.integration) == integration.as_ref())
                .map(|c| ObjectRef::from_obj(&*c))
                .collect::<Vec<_>>()
        })
        .reconcile_all_on(super::watch::changes(moved))
        .graceful_shutdown_on(super::watch::stopped(stop))
        .run(reconcile, error_policy, ctx)
        .map(|result| {
            if let Err(e) = result {
                tracing::debug!(error = %e, "contract reconcile stream");
            }
        })
}
