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
use super::steps;
use crate::crd::{OktaIntegration, parse_go_duration};
use crate::sync::lock;

/// How often an integration another replica owns is looked at again, besides each change of the group.
const NOT_OURS_RECHECK: Duration = Duration::from_secs(300);

/// Entry point for kube-runtime's Controller: read the Secret → validate → schedule → compose → apply.
pub(crate) async fn reconcile(obj: Arc<OktaIntegration>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let key = IntegrationKey::of(&*obj).ok_or(Error::NoNamespace)?;
    let span = tracing::info_span!("reconcile", integration = %key);
    let result = async {
        if !ctx.fence.owns(&key) {
            // Sharded: another replica's now. Its sync (if one runs here) stops and its state goes; the
            // group's next change reconciles everything again.
            if ctx.forget(&key) {
                tracing::info!("the integration moved to another replica");
            }
            return Ok(Action::requeue(NOT_OURS_RECHECK));
        }
        let state = ctx.states.get(&key, obj.uid().as_deref().unwrap_or_default());
        {
            let mut st = lock(&state);
            if !st.restored {
                restore(&mut st, obj.status.as_ref());
            }
            st.sync_interval = parse_go_duration(&obj.spec.sync_interval).ok();
        }
        let secret = steps::secret::read(&ctx, &obj, &key.namespace).await;
        let validated = steps::validate::run(&ctx, &obj, &state, secret).await;
        let requeue = steps::schedule::run(&ctx, &key, &obj, &state, validated, Utc::now());
        let mut desired = steps::compose::status(&lock(&state), &obj, Utc::now());
        desired.shard = ctx.fence.shard().map(str::to_string);
        steps::apply::status(&ctx, &obj, desired, &state).await?;
        steps::apply::notices(&ctx, &obj, &state).await?;
        Ok(Action::requeue(requeue))
    }
    .instrument(span)
    .await;
    ctx.metrics.record_reconcile(result.is_ok(), started.elapsed());
    result
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
