//! Step 5, apply status: the one place that writes an OktaIntegration's status (server-side apply, only
//! when it changed, only through the leader's fence), and publishes the integration's queued events.

use std::sync::{Arc, Mutex};

use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

use crate::controller::context::Context;
use crate::controller::error::Error;
use crate::controller::shared::{API_VERSION, FIELD_MANAGER, NOTICE_CAP};
use crate::controller::state::IntegrationState;
use crate::crd::{OktaIntegration, OktaIntegrationStatus};
use crate::sync::lock;

/// Writes `desired` unless the object already shows it.
pub(crate) async fn status(
    ctx: &Context,
    obj: &OktaIntegration,
    desired: OktaIntegrationStatus,
    state: &Arc<Mutex<IntegrationState>>,
) -> Result<(), Error> {
    if obj.status.as_ref() == Some(&desired) {
        lock(state).conditions = desired.conditions;
        return Ok(());
    }
    ctx.fence.check()?;
    let namespace = obj.namespace().ok_or(Error::NoNamespace)?;
    let api: Api<OktaIntegration> = Api::namespaced(ctx.client.clone(), &namespace);
    let patch = json!({"apiVersion": API_VERSION, "kind": "OktaIntegration", "status": desired});
    api.patch_status(&obj.name_any(), &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&patch))
        .await
        .map_err(Error::StatusWrite)?;
    ctx.metrics.status_writes.inc();
    lock(state).conditions = desired.conditions;
    Ok(())
}

/// An answer that no retry can change (the event is invalid, forbidden, or its namespace is gone).
fn never_publishable(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(s) if (400..500).contains(&s.code) && s.code != 409 && s.code != 429)
}

/// Publishes the queued events in order; the first that fails for a passing reason stays queued with
/// those after it, one the API server refuses outright is logged and dropped.
pub(crate) async fn notices(
    ctx: &Context,
    obj: &OktaIntegration,
    state: &Arc<Mutex<IntegrationState>>,
) -> Result<(), Error> {
    let pending = std::mem::take(&mut lock(state).notices);
    if pending.is_empty() {
        return Ok(());
    }
    let regarding = obj.object_ref(&());
    for (i, notice) in pending.iter().enumerate() {
        let result = match ctx.fence.check() {
            Ok(()) => ctx.recorder.publish(&regarding, notice).await.map_err(Error::EventWrite),
            Err(f) => Err(Error::Fenced(f)),
        };
        match result {
            Err(Error::EventWrite(e)) if never_publishable(&e) => {
                tracing::warn!(reason = notice.reason.as_str(), error = %crate::text::clean(&e.to_string(), 300), "event dropped: the API server refuses it");
            }
            Err(e) => {
                let mut st = lock(state);
                let newer = std::mem::take(&mut st.notices);
                st.notices = pending[i..].to_vec();
                st.notices.extend(newer);
                let excess = st.notices.len().saturating_sub(NOTICE_CAP);
                st.notices.drain(..excess);
                return Err(e);
            }
            Ok(()) => {}
        }
    }
    Ok(())
}
