//! A cluster that fails, on a real kube-apiserver + etcd + kube-controller-manager: deletions never wedge,
//! one leader writes at a time (SIGSTOP, SIGKILL, rolling restart, checked in the API server's audit log),
//! the operator is back in step right after an API server outage, panicking and late sync jobs are
//! supervised, and event notes fit the API.

mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use dti_operator::crd::OktaIntegration;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use support::operator::{
    Operator, apply_integration, condition, create_secret, events_of, is_ready, lease_holder, request_sync, wait_for,
};
use support::sim::Sim;

const WAIT: Duration = Duration::from_secs(120);

fn spec(sim: &Sim) -> serde_json::Value {
    json!({"domain": sim.host_port, "credentials": {"apiToken": {"secretRef": {"name": "okta"}}}})
}

/// A replica of a leader-elected deployment watching `ns`, its lease in `ns`, named `name`.
fn replica(cp: &support::ControlPlane, ns: &str, name: &str, extra: &[&str]) -> Operator {
    let mut args = vec![
        "--watch-namespace",
        ns,
        "--leader-elect",
        "--leader-election-namespace",
        ns,
        "--leader-election-lease",
        "dti-operator",
        "--leader-election-duration",
        "6s",
        "--retry-after-failure",
        "2s",
    ];
    args.extend(extra);
    Operator::start_with(&cp.kubeconfig, name, &args)
}

/// Which of `names` holds the lease, waiting for one to.
async fn leader_among(client: &Client, ns: &str, names: &[String]) -> String {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let holder = lease_holder(client, ns, "dti-operator").await;
        if let Some(n) = names.iter().find(|n| holder.starts_with(&format!("{n}-"))) {
            return n.clone();
        }
        assert!(Instant::now() < deadline, "no replica holds the lease: {holder:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Successful writes (other than the lease) by the replica named `name`, after `since`.
fn writes_by(cp: &support::ControlPlane, name: &str, since: chrono::DateTime<Utc>) -> Vec<support::AuditedWrite> {
    cp.audited_writes()
        .into_iter()
        .filter(|w| w.agent.contains(&format!("({name})")) && w.at > since && w.succeeded() && w.resource != "leases")
        .collect()
}

/// A sync is running (with results already in status, Reconciling stays False: kstatus reserves it for a
/// spec not yet synced).
fn syncing(o: &OktaIntegration) -> bool {
    condition(o, "Synced").is_some_and(|c| c.1 == "InProgress")
}

/// Makes okta-sim answer System Log pages after `ms` milliseconds, so the next sync lasts a while.
async fn slow_logs(sim: &Sim, ms: u64) {
    let faults = json!([format!("latency:path=/api/v1/logs,ms={ms}")]);
    reqwest::Client::new().put(format!("{}/__sim/faults", sim.base)).json(&faults).send().await.expect("faults");
}

#[tokio::test]
async fn deleting_a_namespace_completes_while_the_operator_is_down_and_old_finalizers_are_removed() {
    let cp = support::control_plane();
    let client = cp.client().await;
    let ns = cp.namespace(&client, "nsdelete").await;
    let sim = Sim::start(&["--scale", "small", "--no-rate-limit"]);
    create_secret(&client, &ns, "okta", "demo").await;
    // an integration from the previous version, carrying its finalizer
    let legacy: OktaIntegration = serde_json::from_value(json!({
        "apiVersion": "dti.dev/v1alpha1", "kind": "OktaIntegration",
        "metadata": {"name": "legacy", "finalizers": ["dti.dev/cleanup"]}, "spec": spec(&sim),
    }))
    .expect("object");
    let api: Api<OktaIntegration> = Api::namespaced(client.clone(), &ns);
    api.create(&PostParams::default(), &legacy).await.expect("create");
    let mut operator = Operator::start(cp, &ns, &[]);
    apply_integration(&client, &ns, "acme", spec(&sim)).await;
    let ready = wait_for(&client, &ns, "legacy", WAIT, "Ready", is_ready).await;
    assert!(ready.finalizers().is_empty(), "the operator removes dti.dev/cleanup on start");
    wait_for(&client, &ns, "acme", WAIT, "Ready", is_ready).await;
    operator.kill();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces.delete(&ns, &DeleteParams::default()).await.expect("delete namespace");
    let started = Instant::now();
    while namespaces.get_opt(&ns).await.expect("namespace").is_some() {
        assert!(started.elapsed() < Duration::from_secs(90), "namespace deletion wedged with the operator down");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    eprintln!("namespace deleted with the operator down in {:?}", started.elapsed());
}

#[tokio::test]
async fn a_paused_leader_is_replaced_and_writes_nothing_after_it_resumes() {
    let cp = support::control_plane();
    let client = cp.client().await;
    let ns = cp.namespace(&client, "sigstop").await;
    let sim = Sim::start(&["--scale", "small", "--no-rate-limit"]);
    let names = [format!("{ns}-a"), format!("{ns}-b")];
    let replicas = [replica(cp, &ns, &names[0], &[]), replica(cp, &ns, &names[1], &[])];
    create_secret(&client, &ns, "okta", "demo").await;
    apply_integration(&client, &ns, "acme", spec(&sim)).await;
    wait_for(&client, &ns, "acme", WAIT, "Ready", is_ready).await;
    let leader = leader_among(&client, &ns, &names).await;
    let (old, new) = if leader == names[0] { (0, 1) } else { (1, 0) };

    replicas[old].signal("STOP");
    let stopped = Instant::now();
    let successor = leader_among(&client, &ns, &[names[new].clone()]).await;
    let handover = stopped.elapsed();
    eprintln!("handover after SIGSTOP of the leader: {handover:?}");
    assert!(handover < Duration::from_secs(20), "{handover:?}");
    request_sync(&client, &ns, "acme", "while-paused", WAIT).await;
    let resumed = Utc::now();
    replicas[old].signal("CONT");
    tokio::time::sleep(Duration::from_secs(8)).await;
    request_sync(&client, &ns, "acme", "after-resume", WAIT).await;
    assert!(
        lease_holder(&client, &ns, "dti-operator").await.starts_with(&format!("{successor}-")),
        "the new leader keeps the lease"
    );
    let late = writes_by(cp, &names[old], resumed);
    assert!(late.is_empty(), "the resumed old leader wrote: {late:?}");
    assert!(!writes_by(cp, &names[new], resumed).is_empty(), "the new leader did the work");
}

#[tokio::test]
async fn a_killed_leader_is_replaced_within_its_lease() {
    let cp = support::control_plane();
    let client = cp.client().await;
    let ns = cp.namespace(&client, "sigkill").await;
    let sim = Sim::start(&["--scale", "small", "--no-rate-limit"]);
    let names = [format!("{ns}-a"), format!("{ns}-b")];
    let mut replicas = [replica(cp, &ns, &names[0], &[]), replica(cp, &ns, &names[1], &[])];
    create_secret(&client, &ns, "okta", "demo").await;
    apply_integration(&client, &ns, "acme", spec(&sim)).await;
    wait_for(&client, &ns, "acme", WAIT, "Ready", is_ready).await;
    let leader = leader_among(&client, &ns, &names).await;
    let (old, new) = if leader == names[0] { (0, 1) } else { (1, 0) };
    replicas[old].kill();
    let killed = Instant::now();
    leader_among(&client, &ns, &[names[new].clone()]).await;
    let handover = killed.elapsed();
    eprintln!("handover after SIGKILL of the leader: {handover:?}");
    assert!(handover < Duration::from_secs(15), "within the 6 s lease and a retry: {handover:?}");
    request_sync(&client, &ns, "acme", "after-kill", WAIT).await;
}

#[tokio::test]
async fn a_rolling_restart_never_has_two_writers() {
    let cp = support::control_plane();
    let client = cp.client().await;
    let ns = cp.namespace(&client, "rolling").await;
    let sim = Sim::start(&["--scale", "small", "--no-rate-limit"]);
    let names = [format!("{ns}-old"), format!("{ns}-new")];
    let mut old = replica(cp, &ns, &names[0], &[]);
    create_secret(&client, &ns, "okta", "demo").await;
    apply_integration(&client, &ns, "acme", spec(&sim)).await;
    wait_for(&client, &ns, "acme", WAIT, "Ready", is_ready).await;
    let _new = replica(cp, &ns, &names[1], &[]);
    slow_logs(&sim, 3000).await; // a sync is running when the old pod gets SIGTERM
    let api: Api<OktaIntegration> = Api::namespaced(client.clone(), &ns);
    let patch = json!({"metadata": {"annotations": {"dti.dev/sync-requested-at": "during-rollout"}}});
    api.patch("acme", &Default::default(), &kube::api::Patch::Merge(patch)).await.expect("annotate");
    wait_for(&client, &ns, "acme", WAIT, "a sync running", syncing).await;
    let since = Utc::now() - chrono::Duration::seconds(1);
    old.signal("TERM");
    let terminated = Instant::now();
    assert!(old.wait_exit(Duration::from_secs(20)), "the old replica did not stop after SIGTERM");
    eprintln!("the old replica stopped {:?} after SIGTERM", terminated.elapsed());
    leader_among(&client, &ns, &[names[1].clone()]).await;
    eprintln!("handover after SIGTERM (rolling restart): {:?}", terminated.elapsed());
    wait_for(&client, &ns, "acme", WAIT, "the requested sync, by the new replica", |o| {
        o.status.as_ref().and_then(|s| s.last_handled_sync_request.as_deref()) == Some("during-rollout")
    })
    .await;
    let last_old = writes_by(cp, &names[0], since).last().map(|w| w.at);
    let first_new = writes_by(cp, &names[1], since).first().map(|w| w.at).expect("the new replica wrote");
    if let Some(last_old) = last_old {
        assert!(last_old < first_new, "two writers: the old replica wrote at {last_old}, the new one from {first_new}");
    }
}

#[tokio::test]
async fn a_panicking_sync_is_reported_and_rescheduled_and_a_late_job_brings_nothing_back() {
    let cp = support::control_plane();
    let client = cp.client().await;
    let ns = cp.namespace(&client, "panic").await;
    let sim = Sim::start(&["--scale", "small", "--no-rate-limit"]);
    let operator = Operator::start(cp, &ns, &["--allow-test-faults", "--retry-after-failure", "2s"]);
    create_secret(&client, &ns, "okta", "demo").await;
    let object = json!({"apiVersion": "dti.dev/v1alpha1", "kind": "OktaIntegration",
        "metadata": {"name": "acme", "annotations": {"dti.dev/test-panic": "first"}}, "spec": spec(&sim)});
    let api: Api<OktaIntegration> = Api::namespaced(client.clone(), &ns);
    api.create(&PostParams::default(), &serde_json::from_value(object).expect("object")).await.expect("create");
    let panicked = wait_for(&client, &ns, "acme", WAIT, "SyncPanicked", |o| {
        condition(o, "Synced").is_some_and(|c| c.1 == "SyncPanicked")
    })
    .await;
    assert!(
        condition(&panicked, "Reconciling").is_none_or(|c| c.0 == "False"),
        "no sync shown as running after the panic"
    );
    wait_for(&client, &ns, "acme", WAIT, "Ready after the automatic retry", is_ready).await;
    assert_eq!(operator.metric("dti_sync_total{result=\"panicked\"}").await, 1.0);
    assert!(!events_of(&client, &ns, "acme", "SyncPanicked").await.is_empty());

    // a job still running when its integration is deleted and recreated under the same name
    slow_logs(&sim, 4000).await;
    request_sync_no_wait(&api, "slow").await;
    wait_for(&client, &ns, "acme", WAIT, "a sync running", syncing).await;
    api.delete("acme", &DeleteParams::default()).await.expect("delete");
    while api.get_opt("acme").await.expect("get").is_some() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    slow_logs(&sim, 0).await;
    let recreated = Utc::now();
    apply_integration(&client, &ns, "acme", json!({"domain": sim.host_port, "credentials": {"apiToken": {"secretRef": {"name": "okta"}}}, "usageWindow": "7d"})).await;
    let fresh = wait_for(&client, &ns, "acme", Duration::from_secs(180), "the successor Ready", is_ready).await;
    let last = fresh.status.as_ref().and_then(|s| s.last_sync.clone()).expect("lastSync");
    assert!(
        last.started_at.0.as_second() >= recreated.timestamp() - 1,
        "the successor's status comes from its own sync"
    );
    assert_eq!(
        fresh.status.as_ref().and_then(|s| s.last_handled_sync_request.clone()),
        None,
        "nothing of its predecessor's request"
    );
    assert_eq!(operator.metric("dti_integration_ready{").await, 1.0, "one integration's state, not two");
}

async fn request_sync_no_wait(api: &Api<OktaIntegration>, token: &str) {
    let patch = json!({"metadata": {"annotations": {"dti.dev/sync-requested-at": token}}});
    api.patch("acme", &Default::default(), &kube::api::Patch::Merge(patch)).await.expect("annotate");
}

#[tokio::test]
async fn event_notes_fit_the_api_and_a_changed_cause_is_a_new_event() {
    let cp = support::control_plane();
    let client = cp.client().await;
    let ns = cp.namespace(&client, "notes").await;
    let sim = Sim::start(&["--scale", "small", "--no-rate-limit", "--fault", "long-error:path=/api/v1/logs"]);
    let _operator = Operator::start(cp, &ns, &["--retry-after-failure", "2s"]);
    create_secret(&client, &ns, "okta", "demo").await;
    apply_integration(&client, &ns, "acme", spec(&sim)).await;
    let deadline = Instant::now() + WAIT;
    let notes = loop {
        let failed: Vec<(String, i32)> = [
            events_of(&client, &ns, "acme", "SyncFailed").await,
            events_of(&client, &ns, "acme", "Unreachable").await,
            events_of(&client, &ns, "acme", "InvalidResponse").await,
        ]
        .concat();
        if !failed.is_empty() {
            break failed;
        }
        assert!(Instant::now() < deadline, "no failure event for a 3 KiB non-ASCII error");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let first = notes[0].0.clone();
    assert!(first.len() <= 1024 && first.contains("Überprüfung"), "{} bytes: {first}", first.len());
    reqwest::Client::new()
        .put(format!("{}/__sim/faults", sim.base))
        .json(&json!(["500:path=/api/v1/logs"]))
        .send()
        .await
        .expect("faults");
    let deadline = Instant::now() + WAIT;
    loop {
        let all: Vec<String> = [
            events_of(&client, &ns, "acme", "SyncFailed").await,
            events_of(&client, &ns, "acme", "Unreachable").await,
            events_of(&client, &ns, "acme", "InvalidResponse").await,
        ]
        .concat()
        .into_iter()
        .map(|e| e.0)
        .collect();
        if all.iter().any(|n| n != &first) {
            assert!(all.contains(&first), "the first note is kept as it was");
            return;
        }
        assert!(Instant::now() < deadline, "a changed cause never became a new event: {all:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
