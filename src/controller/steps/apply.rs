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
    ctx.fence.check_integration(obj)?;
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
        let result = match ctx.fence.check_integration(obj) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::context::Options;
    use crate::controller::events::{EventReason, Notice};
    use crate::controller::testing::{context, echo, integration, respond};

    fn notice(n: u32) -> Notice {
        Notice::new(true, EventReason::SyncFailed, "Sync", format!("failure {n}"))
    }

    fn queued(state: &Arc<Mutex<IntegrationState>>) -> Vec<String> {
        lock(state).notices.iter().map(|n| n.note.clone()).collect()
    }

    #[tokio::test]
    async fn notices_that_cannot_go_out_now_stay_queued_in_order_and_refused_ones_are_dropped() {
        let (ctx, mut server) = context(Options::default());
        let state = Arc::new(Mutex::new(IntegrationState::default()));
        (1..=3).for_each(|n| lock(&state).notify(notice(n)));
        let publishing = tokio::spawn({
            let (ctx, state) = (ctx.clone(), state.clone());
            async move { notices(&ctx, &integration(), &state).await }
        });
        let first = echo(&mut server, 201).await;
        assert_eq!((first.method.as_str(), first.body["note"].as_str()), ("POST", Some("failure 1")));
        echo(&mut server, 503).await; // the API server is away
        let result = publishing.await.expect("no panic");
        assert!(matches!(result, Err(Error::EventWrite(_))), "{result:?}");
        assert_eq!(queued(&state), vec!["failure 2", "failure 3"], "kept for the next reconcile, in order");
        // Next reconcile: one the API server refuses outright is dropped, the rest goes out.
        let publishing = tokio::spawn({
            let (ctx, state) = (ctx.clone(), state.clone());
            async move { notices(&ctx, &integration(), &state).await }
        });
        echo(&mut server, 403).await;
        echo(&mut server, 201).await;
        assert!(publishing.await.expect("no panic").is_ok());
        assert!(queued(&state).is_empty());
    }

    #[tokio::test]
    async fn status_is_written_only_when_it_differs() {
        let (ctx, mut server) = context(Options::default());
        let state = Arc::new(Mutex::new(IntegrationState::default()));
        let mut obj = integration();
        let desired = OktaIntegrationStatus { observed_generation: Some(1), ..OktaIntegrationStatus::default() };
        obj.status = Some(desired.clone());
        status(&ctx, &obj, desired.clone(), &state).await.expect("no write needed");
        assert_eq!(ctx.metrics.status_writes.get(), 0, "an unchanged status is not written");
        let changed = OktaIntegrationStatus { observed_generation: Some(2), ..desired };
        let writing = tokio::spawn({
            let (ctx, state) = (ctx.clone(), state.clone());
            async move { status(&ctx, &obj, changed, &state).await }
        });
        let seen = respond(&mut server, 200, |s| {
            let mut object = serde_json::to_value(integration()).expect("json");
            object["status"] = s.body["status"].clone();
            object
        })
        .await;
        assert_eq!(seen.method, "PATCH");
        assert!(seen.path.contains("/namespaces/team-a/oktaintegrations/acme/status?"), "{}", seen.path);
        assert_eq!(seen.body["status"]["observedGeneration"], 2);
        writing.await.expect("no panic").expect("written");
        assert_eq!(ctx.metrics.status_writes.get(), 1);
    }
}
