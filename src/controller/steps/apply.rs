//! Step 5, apply status: the one place that writes an OktaIntegration's status (server-side apply, only
//! when it changed, only through the leader's fence), and publishes the integration's queued events.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

use crate::controller::context::Context;
use crate::controller::error::Error;
use crate::controller::events::Notice;
use crate::controller::shared::{API_VERSION, FIELD_MANAGER, refused};
use crate::crd::{OktaIntegration, OktaIntegrationStatus};

/// Writes `desired` unless the object already shows it; returns the conditions status now shows.
pub(crate) async fn status(
    ctx: &Context,
    obj: &OktaIntegration,
    desired: OktaIntegrationStatus,
) -> Result<Vec<Condition>, Error> {
    if obj.status.as_ref() == Some(&desired) {
        return Ok(desired.conditions);
    }
    ctx.fence.check_integration(obj)?;
    let namespace = obj.namespace().ok_or(Error::NoNamespace)?;
    let api: Api<OktaIntegration> = Api::namespaced(ctx.client.clone(), &namespace);
    let patch = json!({"apiVersion": API_VERSION, "kind": "OktaIntegration", "status": desired});
    api.patch_status(&obj.name_any(), &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&patch))
        .await
        .map_err(Error::StatusWrite)?;
    ctx.metrics.status_writes.inc();
    Ok(desired.conditions)
}

/// Events that could not be published now, in order, and why.
#[derive(Debug)]
pub(crate) struct Unsent {
    pub(crate) error: Error,
    pub(crate) notices: Vec<Notice>,
}

/// Publishes `pending` in order; the first that fails for a passing reason is handed back with those
/// after it, one the API server refuses outright is logged and dropped.
pub(crate) async fn notices(ctx: &Context, obj: &OktaIntegration, pending: Vec<Notice>) -> Result<(), Unsent> {
    let regarding = obj.object_ref(&());
    for (i, notice) in pending.iter().enumerate() {
        let result = match ctx.fence.check_integration(obj) {
            Ok(()) => ctx.recorder.publish(&regarding, notice).await.map_err(Error::EventWrite),
            Err(f) => Err(Error::Fenced(f)),
        };
        match result {
            // Invalid, forbidden, or its namespace is gone: no retry publishes it.
            Err(Error::EventWrite(e)) if refused(&e) => {
                tracing::warn!(reason = notice.reason.as_str(), error = %crate::text::clean(&e.to_string(), 300), "event dropped: the API server refuses it");
            }
            Err(error) => return Err(Unsent { error, notices: pending[i..].to_vec() }),
            Ok(()) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::context::Options;
    use crate::controller::events::EventReason;
    use crate::controller::testing::{context, echo, integration, respond};

    fn notice(n: u32) -> Notice {
        Notice::new(true, EventReason::SyncFailed, "Sync", format!("failure {n}"))
    }

    fn notes(notices: &[Notice]) -> Vec<String> {
        notices.iter().map(|n| n.note.clone()).collect()
    }

    #[tokio::test]
    async fn notices_that_cannot_go_out_now_stay_queued_in_order_and_refused_ones_are_dropped() {
        let (ctx, mut server) = context(Options::default());
        let publishing = tokio::spawn({
            let ctx = ctx.clone();
            async move { notices(&ctx, &integration(), (1..=3).map(notice).collect()).await }
        });
        let first = echo(&mut server, 201).await;
        assert_eq!((first.method.as_str(), first.body["note"].as_str()), ("POST", Some("failure 1")));
        echo(&mut server, 503).await; // the API server is away
        let unsent = publishing.await.expect("no panic").expect_err("the API server was away");
        assert!(matches!(unsent.error, Error::EventWrite(_)), "{unsent:?}");
        assert_eq!(
            notes(&unsent.notices),
            vec!["failure 2", "failure 3"],
            "handed back for the next reconcile, in order"
        );
        // Queued again before a newer one, the cap keeping the newest.
        let mut st = crate::controller::state::IntegrationState::default();
        st.notify(notice(4));
        st.requeue_notices(unsent.notices);
        assert_eq!(notes(&st.notices), vec!["failure 2", "failure 3", "failure 4"]);
        st.requeue_notices((10..40).map(notice).collect());
        assert_eq!(st.notices.len(), crate::controller::shared::NOTICE_CAP);
        assert_eq!(st.notices.last().map(|n| n.note.as_str()), Some("failure 4"), "the newest stays");
        // Next reconcile: one the API server refuses outright is dropped, the rest goes out.
        let publishing = tokio::spawn({
            let ctx = ctx.clone();
            let pending = std::mem::take(&mut st.notices).into_iter().rev().take(2).rev().collect();
            async move { notices(&ctx, &integration(), pending).await }
        });
        echo(&mut server, 403).await;
        echo(&mut server, 201).await;
        assert!(publishing.await.expect("no panic").is_ok());
    }

    #[tokio::test]
    async fn status_is_written_only_when_it_differs() {
        let (ctx, mut server) = context(Options::default());
        let mut obj = integration();
        let desired = OktaIntegrationStatus { observed_generation: Some(1), ..OktaIntegrationStatus::default() };
        obj.status = Some(desired.clone());
        status(&ctx, &obj, desired.clone()).await.expect("no write needed");
        assert_eq!(ctx.metrics.status_writes.get(), 0, "an unchanged status is not written");
        let changed = OktaIntegrationStatus { observed_generation: Some(2), ..desired };
        let writing = tokio::spawn({
            let ctx = ctx.clone();
            async move { status(&ctx, &obj, changed).await }
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
