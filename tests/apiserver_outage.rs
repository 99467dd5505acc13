//! The API server killed mid-sync and started again with the same flags (its own test binary: an outage
//! of the shared control plane would break tests running beside it). The sync's result and its event
//! reach the cluster once the API server is back, and a sync requested afterwards runs within seconds.

mod support;

use std::time::{Duration, Instant};

use dti_operator::crd::OktaIntegration;
use kube::api::Api;
use serde_json::json;
use support::operator::{
    Operator, apply_integration, condition, create_secret, events_of, is_ready, request_sync, wait_for,
};
use support::sim::Sim;

const WAIT: Duration = Duration::from_secs(120);

/// How many times an event with `reason` was recorded about `name` (series counted).
fn unix_seconds() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

#[tokio::test]
async fn back_in_step_right_after_an_api_server_outage() {
    let cp = support::control_plane();
    let client = cp.client().await;
    let ns = cp.namespace(&client, "outage").await;
    let sim = Sim::start(&["--scale", "small", "--no-rate-limit"]);
    let operator = Operator::start(cp, &ns, &[]);
    create_secret(&client, &ns, "okta", "demo").await;
    apply_integration(
        &client,
        &ns,
        "acme",
        json!({"domain": sim.host_port, "credentials": {"apiToken": {"secretRef": {"name": "okta"}}}}),
    )
    .await;
    wait_for(&client, &ns, "acme", Duration::from_secs(180), "Ready", is_ready).await;
    let succeeded_before = events_of(&client, &ns, "acme", "SyncSucceeded").await.iter().map(|e| e.1).sum::<i32>();
    // the next sync ends while the API server is away: System Log pages answer after 6 s
    let faults = json!(["latency:path=/api/v1/logs,ms=6000"]);
    reqwest::Client::new().put(format!("{}/__sim/faults", sim.base)).json(&faults).send().await.expect("faults");
    let api: Api<OktaIntegration> = Api::namespaced(client.clone(), &ns);
    let patch = json!({"metadata": {"annotations": {"dti.dev/sync-requested-at": "before-outage"}}});
    api.patch("acme", &Default::default(), &kube::api::Patch::Merge(patch)).await.expect("annotate");
    wait_for(&client, &ns, "acme", WAIT, "a sync running", |o| {
        condition(o, "Synced").is_some_and(|c| c.1 == "InProgress")
    })
    .await;
    let outage = tokio::task::spawn_blocking(|| support::control_plane().restart_apiserver(20));
    outage.await.expect("restart");
    let back = Instant::now();
    let back_at = unix_seconds();
    let done = wait_for(&client, &ns, "acme", WAIT, "the result of the sync that ended during the outage", |o| {
        o.status.as_ref().and_then(|s| s.last_handled_sync_request.as_deref()) == Some("before-outage")
    })
    .await;
    let written_at = unix_seconds();
    // the sync may still be paging the slow System Log when the API server returns: measure from whichever
    // came last, its end or the return (metav1.Time has whole seconds, hence the second of slack)
    let completed_at =
        done.status.as_ref().and_then(|s| s.last_sync.as_ref()?.completed_at.as_ref()).expect("completed");
    let ready_at = (completed_at.0.as_second() as f64).max(back_at);
    eprintln!(
        "the sync's result reached status {:?} after the API server returned; the sync ended {:.0} s after the return, its result was written {:.1} s after that",
        back.elapsed(),
        completed_at.0.as_second() as f64 - back_at,
        written_at - ready_at
    );
    assert!(written_at - ready_at < 10.0, "the result waited {:.1} s to be written", written_at - ready_at);
    reqwest::Client::new().put(format!("{}/__sim/faults", sim.base)).json(&json!([])).send().await.expect("faults");
    let asked = Instant::now();
    request_sync(&client, &ns, "acme", "after-outage", Duration::from_secs(60)).await;
    let handled = asked.elapsed();
    eprintln!(
        "a sync requested after the outage was handled in {handled:?} ({:?} after the API server's return)",
        back.elapsed()
    );
    assert!(handled < Duration::from_secs(10), "{handled:?}");
    let succeeded_after = events_of(&client, &ns, "acme", "SyncSucceeded").await.iter().map(|e| e.1).sum::<i32>();
    assert!(
        succeeded_after >= succeeded_before + 2,
        "the outage's SyncSucceeded event was published late, not dropped ({succeeded_before} → {succeeded_after})"
    );
    let _ = operator.logs();
}
