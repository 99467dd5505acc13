//! Reconcile = read the Secret → validate access → schedule a sync job → write status (only when changed).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Api, ResourceExt};
use serde_json::json;
use tracing::Instrument;

use super::context::Context;
use super::jobs;
use super::secret::read_token;
use super::state::{AccessCheck, AccessProblem, IntegrationState};
use super::status::compose;
use crate::crd::{AccessStatus, OktaIntegration, Permission, SYNC_REQUESTED_ANNOTATION};
use crate::discovery::{Access, AccessReport, Need, check_access};
use crate::okta::OktaError;

pub const FINALIZER: &str = "dti.dev/cleanup";
pub const FIELD_MANAGER: &str = "dti-operator";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
    #[error("object has no namespace")]
    NoNamespace,
}

impl Error {
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Kube(_) => "kube",
            Error::Finalizer(_) => "finalizer",
            Error::NoNamespace => "no_namespace",
        }
    }
}

/// Entry point for kube-runtime's Controller.
pub async fn reconcile(obj: Arc<OktaIntegration>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let namespace = obj.namespace().ok_or(Error::NoNamespace)?;
    let api: Api<OktaIntegration> = Api::namespaced(ctx.client.clone(), &namespace);
    let span =
        tracing::info_span!("reconcile", integration = %format!("{namespace}/{}", obj.name_any()));
    let result = finalizer(&api, FINALIZER, obj, |event| async {
        match event {
            Finalizer::Apply(obj) => apply(obj, &ctx, &api).await,
            Finalizer::Cleanup(obj) => cleanup(obj, &ctx).await,
        }
    })
    .instrument(span)
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    ctx.metrics
        .reconcile_duration
        .observe(started.elapsed().as_secs_f64());
    let label = if result.is_ok() { "success" } else { "error" };
    ctx.metrics
        .reconciles
        .get_or_create(&super::metrics::ResultLabels {
            result: label.into(),
        })
        .inc();
    result
}

/// On errors: log, count, retry soon.
pub fn error_policy(obj: Arc<OktaIntegration>, error: &Error, ctx: Arc<Context>) -> Action {
    tracing::warn!(integration = %format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any()), error = %error, "reconcile failed");
    ctx.metrics
        .reconcile_errors
        .get_or_create(&super::metrics::ErrorLabels {
            error: error.metric_label().into(),
        })
        .inc();
    Action::requeue(Duration::from_secs(15))
}

fn state_key(obj: &OktaIntegration) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}

async fn cleanup(obj: Arc<OktaIntegration>, ctx: &Arc<Context>) -> Result<Action, Error> {
    if let Some(state) = ctx.states.remove(&state_key(&obj))
        && let Ok(mut st) = state.lock()
    {
        jobs::cancel(&mut st);
    }
    ctx.metrics
        .forget(&obj.namespace().unwrap_or_default(), &obj.name_any());
    tracing::info!("integration deleted: sync cancelled, state dropped");
    Ok(Action::await_change())
}

fn access_status(report: &AccessReport) -> AccessStatus {
    let p = |need| {
        if matches!(report.get(need), Access::Granted) {
            Permission::Granted
        } else {
            Permission::Denied
        }
    };
    AccessStatus {
        users: p(Need::Users),
        applications: p(Need::Applications),
        system_log: p(Need::SystemLog),
    }
}

fn unknown_access() -> AccessStatus {
    AccessStatus {
        users: Permission::Unknown,
        applications: Permission::Unknown,
        system_log: Permission::Unknown,
    }
}

/// What an access check found, as the AccessValidated condition says it.
fn interpret(
    result: Result<Result<AccessReport, OktaError>, tokio::time::error::Elapsed>,
    timeout: Duration,
) -> (AccessStatus, Option<AccessProblem>) {
    match result {
        Err(_) => (
            unknown_access(),
            Some(AccessProblem {
                reason: "Unreachable",
                message: format!("Okta did not answer the access check within {timeout:?}"),
                stalled: false,
            }),
        ),
        Ok(Err(e)) if e.is_invalid_token() => (
            unknown_access(),
            Some(AccessProblem {
                reason: "InvalidToken",
                message: format!(
                    "Okta rejected the API token ({e}): create a new token and update the Secret"
                ),
                stalled: true,
            }),
        ),
        Ok(Err(e)) => (
            unknown_access(),
            Some(AccessProblem {
                reason: "Unreachable",
                message: format!("cannot check access: {e}"),
                stalled: false,
            }),
        ),
        Ok(Ok(report)) => {
            let denied = report.denied();
            let access = access_status(&report);
            if denied.is_empty() {
                (access, None)
            } else {
                let names: Vec<String> = denied
                    .iter()
                    .map(|n| format!("\"{}\"", n.guide_name()))
                    .collect();
                let message = format!(
                    "the API token lacks {} (Okta answered E0000006): create the token as an admin with read-only access to users, applications and the System Log",
                    names.join(" and ")
                );
                (
                    access,
                    Some(AccessProblem {
                        reason: "PermissionDenied",
                        message,
                        stalled: true,
                    }),
                )
            }
        }
    }
}

async fn apply(
    obj: Arc<OktaIntegration>,
    ctx: &Arc<Context>,
    api: &Api<OktaIntegration>,
) -> Result<Action, Error> {
    let namespace = obj.namespace().ok_or(Error::NoNamespace)?;
    let state = ctx
        .states
        .get(&state_key(&obj), obj.uid().as_deref().unwrap_or_default());
    if let Ok(mut st) = state.lock()
        && !st.restored
    {
        st.restore(obj.status.as_ref());
    }
    let generation = obj.metadata.generation.unwrap_or(0);

    // 1. the domain, 2. the token
    let mut precheck: Option<AccessProblem> = None;
    let org = match ctx.options.domain_policy.check(&obj.spec.domain) {
        Ok(org) => Some(org),
        Err(e) => {
            precheck = Some(AccessProblem {
                reason: "DomainRejected",
                message: e.to_string(),
                stalled: true,
            });
            None
        }
    };
    let token = match &org {
        Some(_) => match read_token(&ctx.client, &obj, &namespace).await {
            Ok(t) => Some(t),
            Err(p) => {
                precheck = Some(p);
                None
            }
        },
        None => None,
    };

    // 3. access, checked again whenever the domain, the token or the spec changed
    let mut notices: Vec<(bool, &str, String)> = Vec::new();
    if let (Some(org), Some(token)) = (&org, &token) {
        let key = (org.host.clone(), token.fingerprint(), generation);
        let needs_check = state
            .lock()
            .map(|st| {
                st.access_check
                    .as_ref()
                    .is_none_or(|c| c.key != key || c.problem.as_ref().is_some_and(|p| !p.stalled))
            })
            .unwrap_or(true);
        if needs_check {
            let timeout = ctx.options.access_timeout;
            let (access, problem) = match ctx.okta_client(org.clone(), token.clone()) {
                Ok(client) => interpret(
                    tokio::time::timeout(timeout, check_access(&client)).await,
                    timeout,
                ),
                Err(e) => (
                    unknown_access(),
                    Some(AccessProblem {
                        reason: "Unreachable",
                        message: e.to_string(),
                        stalled: false,
                    }),
                ),
            };
            let before = state.lock().ok().and_then(|st| {
                st.access_check
                    .as_ref()
                    .map(|c| c.problem.as_ref().map(|p| p.reason))
            });
            let after = problem.as_ref().map(|p| p.reason);
            if before != Some(after) {
                notices.push(match &problem {
                    None => (
                        false,
                        "AccessValidated",
                        "the API token can view users, applications and the System Log".to_string(),
                    ),
                    Some(p) if p.reason == "PermissionDenied" => {
                        (true, "AccessDenied", p.message.clone())
                    }
                    Some(p) => (true, p.reason, p.message.clone()),
                });
            }
            if let Ok(mut st) = state.lock() {
                st.access_check = Some(AccessCheck {
                    key,
                    access,
                    problem,
                });
            }
        }
    } else if let Some(p) = &precheck {
        let before = state
            .lock()
            .ok()
            .and_then(|st| st.precheck_problem.as_ref().map(|p| p.reason));
        if before != Some(p.reason) {
            notices.push((true, p.reason, p.message.clone()));
        }
    }

    // 4. schedule
    let now = Utc::now();
    let requeue = {
        let Ok(mut st) = state.lock() else {
            return Ok(Action::requeue(Duration::from_secs(5)));
        };
        st.precheck_problem = precheck;
        let fingerprint = token.as_ref().map(|t| t.fingerprint());
        if st.running.as_ref().is_some_and(|job| {
            job.generation != generation || Some(job.token_fingerprint) != fingerprint
        }) {
            tracing::info!("spec or token changed: cancelling the running sync");
            jobs::cancel(&mut st);
        }
        let access_ok = st.precheck_problem.is_none()
            && st
                .access_check
                .as_ref()
                .is_some_and(|c| c.problem.is_none());
        if !access_ok && st.running.is_some() {
            jobs::cancel(&mut st);
        }
        let requested = obj.annotations().get(SYNC_REQUESTED_ANNOTATION).cloned();
        let new_request = requested.is_some() && requested != st.last_handled_request;
        if access_ok && !obj.spec.suspend && st.running.is_none() {
            let due = new_request
                || st.attempted_generation != Some(generation)
                || st.next_sync_at.is_none_or(|t| now >= t);
            if due && let (Some(org), Some(token), Some(fp)) = (org, token, fingerprint) {
                if new_request {
                    st.last_handled_request = requested;
                }
                jobs::start(ctx, &mut st, &obj, org, token, fp);
            }
        }
        next_requeue(&st, &obj, now)
    };
    for (warning, reason, note) in notices {
        ctx.event(&obj, warning, reason, "ValidateAccess", note)
            .await;
    }

    // 5. status, only when it changed
    write_status(ctx, api, &obj, &state).await?;
    Ok(requeue)
}

fn next_requeue(
    st: &IntegrationState,
    obj: &OktaIntegration,
    now: chrono::DateTime<Utc>,
) -> Action {
    let problem = st
        .precheck_problem
        .as_ref()
        .or_else(|| st.access_check.as_ref().and_then(|c| c.problem.as_ref()));
    match problem {
        Some(p) if !p.stalled => return Action::requeue(Duration::from_secs(60)),
        Some(_) => return Action::requeue(Duration::from_secs(600)),
        None => {}
    }
    if st.running.is_some() || obj.spec.suspend {
        return Action::requeue(Duration::from_secs(600));
    }
    match st.next_sync_at {
        Some(t) => Action::requeue(
            (t - now)
                .to_std()
                .unwrap_or_default()
                .max(Duration::from_secs(1)),
        ),
        None => Action::requeue(Duration::from_secs(60)),
    }
}

/// Composes the status and applies it with server-side apply, unless it equals what the object shows.
pub async fn write_status(
    ctx: &Context,
    api: &Api<OktaIntegration>,
    obj: &OktaIntegration,
    state: &Arc<Mutex<IntegrationState>>,
) -> Result<(), Error> {
    let desired = {
        let Ok(mut st) = state.lock() else {
            return Ok(());
        };
        let desired = compose(&st, obj, Utc::now());
        st.conditions = desired.conditions.clone();
        desired
    };
    if obj.status.as_ref() == Some(&desired) {
        return Ok(());
    }
    let patch =
        json!({"apiVersion": "dti.dev/v1alpha1", "kind": "OktaIntegration", "status": desired});
    api.patch_status(
        &obj.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    ctx.metrics.status_writes.inc();
    Ok(())
}
