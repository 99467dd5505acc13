//! The reconcile: a short driver over the named steps in `steps`, and the error policy that counts each
//! failure by its real cause (nested errors included) and retries soon.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use tracing::Instrument;

use super::context::Context;
pub(crate) use super::error::Error;
use super::restore::restore;
use super::shared::IntegrationKey;
use super::state::{AccessFinding, AccessState, IntegrationState};
use super::steps;
use super::steps::validate::{Validated, Validation};
use crate::crd::{OktaIntegration, parse_go_duration};
use crate::sync::lock;

/// How often an integration another replica owns is looked at again, besides each change of the group.
const NOT_OURS_RECHECK: Duration = Duration::from_secs(300);

/// Entry point for kube-runtime's Controller: read the Secret → validate → schedule → compose → apply.
pub(crate) async fn reconcile(obj: Arc<OktaIntegration>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let key = IntegrationKey::of(&*obj).ok_or(Error::NoNamespace)?;
    let span = tracing::info_span!("reconcile", integration = %key);
    let result = run_steps(&ctx, &key, &obj).instrument(span).await;
    ctx.metrics.record_reconcile(result.is_ok(), started.elapsed());
    result
}

/// The steps in order, each handed what the one before returned.
async fn run_steps(ctx: &Arc<Context>, key: &IntegrationKey, obj: &OktaIntegration) -> Result<Action, Error> {
    if !ctx.fence.owns(key) {
        // Sharded: another replica's now. Its sync (if one runs here) stops and its state goes; the
        // group's next change reconciles everything again.
        if ctx.forget(key) {
            tracing::info!("the integration moved to another replica");
        }
        return Ok(Action::requeue(NOT_OURS_RECHECK));
    }
    let started = Instant::now();
    let state = ctx.states.get(key, obj.uid().as_deref().unwrap_or_default());
    let (access, finding) = recall(&mut lock(&state), obj);
    let secret = steps::secret::read(ctx, obj, &key.namespace).await;
    let read = started.elapsed();
    let validation = steps::validate::run(ctx, obj, access, finding, secret).await;
    let validated = keep(&mut lock(&state), validation);
    let checked = started.elapsed();
    let requeue = steps::schedule::run(ctx, key, obj, &state, validated, Utc::now());
    let mut desired = steps::compose::status(&lock(&state), obj, Utc::now());
    desired.shard = ctx.fence.shard().map(str::to_string);
    lock(&state).conditions = steps::apply::status(ctx, obj, desired).await?;
    let applied = started.elapsed();
    let pending = std::mem::take(&mut lock(&state).notices);
    if let Err(unsent) = steps::apply::notices(ctx, obj, pending).await {
        lock(&state).requeue_notices(unsent.notices);
        return Err(unsent.error);
    }
    // Where a slow reconcile's time went (RUST_LOG=dti_operator::controller::reconcile=debug).
    tracing::debug!(?read, ?checked, ?applied, done = ?started.elapsed(), "reconciled");
    Ok(Action::requeue(requeue))
}

/// What the validate step starts from: the last access state and a failed job's finding (seeding the
/// memory from status at first sight).
fn recall(st: &mut IntegrationState, obj: &OktaIntegration) -> (AccessState, Option<AccessFinding>) {
    if !st.restored {
        restore(st, obj.status.as_ref());
    }
    st.sync_interval = parse_go_duration(&obj.spec.sync_interval).ok();
    (st.access.clone(), st.record.finding.take())
}

/// Keeps what the validate step returned; hands on what a sync needs.
fn keep(st: &mut IntegrationState, validation: Validation) -> Option<Validated> {
    st.access = validation.access;
    validation.notices.into_iter().for_each(|n| st.notify(n));
    validation.validated
}

/// On errors: log, count by cause, retry soon (an outage's writes go out within seconds of its end).
pub(crate) fn error_policy(obj: Arc<OktaIntegration>, error: &Error, ctx: Arc<Context>) -> Action {
    let label = error.metric_label();
    if !matches!(error, Error::Fenced(_)) {
        let key = IntegrationKey::of(&*obj).map(|k| k.to_string()).unwrap_or_else(|| obj.name_any());
        tracing::warn!(integration = %key, error = %error, cause = %label, "reconcile failed");
    }
    ctx.metrics.reconcile_errors.get_or_create(&super::metrics::ErrorLabels { error: label }).inc();
    Action::requeue(Duration::from_secs(3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::leader::Fenced;

    #[test]
    fn error_labels_name_the_nested_cause() {
        let api = |code: u16, reason: &str| {
            kube::Error::Api(Box::new(kube::core::Status {
                code,
                reason: reason.into(),
                ..kube::core::Status::default()
            }))
        };
        assert_eq!(Error::StatusWrite(api(409, "Conflict")).metric_label(), "status_write_conflict");
        assert_eq!(Error::EventWrite(api(403, "Forbidden")).metric_label(), "event_write_forbidden");
        assert_eq!(Error::StatusWrite(api(500, "")).metric_label(), "status_write_500");
        assert_eq!(Error::Fenced(Fenced).metric_label(), "fenced");
        assert_eq!(Error::NoNamespace.metric_label(), "no_namespace");
    }
}
