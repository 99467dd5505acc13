//! Many orgs on one operator, with no sync state kept in memory between syncs (`--state-cache-mib 0`):
//! okta-sim serves twenty independent orgs from one process (`--orgs`), every integration becomes Ready
//! with numbers equal to its org's truth, and a later sync resumes from the checkpoint (incremental)
//! instead of scanning in full, so memory at rest follows status, not the orgs' size.

mod support;

use std::time::Duration;

use dti_operator::crd::{OktaIntegration, SyncMode};
use kube::Api;
use kube::api::ListParams;
use serde_json::json;
use support::operator::{Operator, apply_integration, create_secret, is_ready, request_sync};
use support::sim::Orgs;

const ORGS: usize = 20;

#[tokio::test]
async fn twenty_orgs_resume_from_their_checkpoints_with_no_state_kept_in_memory() {
    let cp = support::control_plane();
    let client = cp.client().await;
    let ns = cp.namespace(&client, "scale").await;
    let orgs = Orgs::start(ORGS, &["--scale", "small", "--no-rate-limit", "--log-lag", "3s"]);
    let operator = Operator::start(cp, &ns, &["--state-cache-mib", "0", "--app-writes-per-second", "500"]);
    create_secret(&client, &ns, "okta", "demo").await;
    for (i, host_port) in orgs.host_ports.iter().enumerate() {
        let spec = json!({"domain": host_port, "credentials": {"apiToken": {"secretRef": {"name": "okta"}}}});
        apply_integration(&client, &ns, &format!("org-{i}"), spec).await;
    }
    let api: Api<OktaIntegration> = Api::namespaced(client.clone(), &ns);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    let ready = loop {
        let list = api.list(&ListParams::default()).await.expect("list");
        let ready: Vec<OktaIntegration> = list.items.into_iter().filter(is_ready).collect();
        if ready.len() == ORGS {
            break ready;
        }
        assert!(tokio::time::Instant::now() < deadline, "{} of {ORGS} Ready within 240s", ready.len());
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for obj in &ready {
        let i: usize = obj.metadata.name.as_deref().and_then(|n| n.strip_prefix("org-")?.parse().ok()).expect("org-N");
        let truth = orgs.truth(i, "demo").await;
        let s =
            serde_json::to_value(obj.status.as_ref().and_then(|s| s.summary.as_ref()).expect("summary")).expect("json");
        for field in ["apps", "activeUsers", "assignedUsers", "unusedSeats", "ssoEvents"] {
            assert_eq!(s[field], truth["summary"][field], "org-{i}: {field}");
        }
    }
    assert_eq!(operator.metric("dti_state_cache_states").await, 0.0, "nothing kept in memory at rest");
    let obj = request_sync(&client, &ns, "org-3", "again", Duration::from_secs(60)).await;
    let last = obj.status.as_ref().and_then(|s| s.last_sync.clone()).expect("lastSync");
    assert_eq!(last.mode, Some(SyncMode::Incremental), "resumed from the checkpoint: {:?}", last.message);
    assert_eq!(operator.metric("dti_state_cache_lookups_total{result=\"hit\"}").await, 0.0);
    assert!(operator.metric("dti_state_cache_lookups_total{result=\"miss\"}").await >= (ORGS + 1) as f64);
}
