//! GitOps health with the code GitOps tools run: OktaIntegrations captured from a running operator in each
//! state go through kstatus (sigs.k8s.io/cli-utils, Flux's health checks) and through the Argo CD health
//! Lua shipped in deploy/gitops/argocd-health.yaml under gopher-lua (the interpreter Argo CD embeds).

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use dti_operator::crd::OktaIntegration;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use support::operator::{Operator, apply_integration, condition, create_secret, is_ready, wait_for};
use support::sim::Sim;

const WAIT: Duration = Duration::from_secs(120);

/// The health Lua as Argo CD would load it from argocd-cm.
fn argo_lua(dir: &std::path::Path) -> std::path::PathBuf {
    let path = support::repo_root().join("deploy/gitops/argocd-health.yaml");
    let cm: Value = serde_yaml::from_str(&std::fs::read_to_string(path).expect("argocd-health.yaml")).expect("yaml");
    let lua = cm["data"]["resource.customizations.health.dti.dev_OktaIntegration"].as_str().expect("health Lua");
    let file = dir.join("health.lua");
    std::fs::write(&file, lua).expect("write lua");
    file
}

/// (kstatus, Argo CD) health of each object.
fn health(objects: &[Value]) -> Vec<(String, String)> {
    let bin = Command::new(support::repo_root().join("scripts/control-plane.sh"))
        .args(["bin", "gitops-health"])
        .output()
        .expect("build");
    assert!(bin.status.success(), "{}", String::from_utf8_lossy(&bin.stderr));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(String::from_utf8_lossy(&bin.stdout).trim())
        .arg(argo_lua(dir.path()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gitops-health");
    child.stdin.take().expect("stdin").write_all(&serde_json::to_vec(objects).expect("json")).expect("write");
    let out = child.wait_with_output().expect("gitops-health output");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let verdicts: Vec<Value> = serde_json::from_slice(&out.stdout).expect("verdicts");
    verdicts
        .iter()
        .map(|v| (v["kstatus"].as_str().unwrap_or("").to_string(), v["argo"].as_str().unwrap_or("").to_string()))
        .collect()
}

async fn set_faults(sim: &Sim, faults: &[&str]) {
    let answer =
        reqwest::Client::new().put(format!("{}/__sim/faults", sim.base)).json(&faults).send().await.expect("faults");
    assert!(answer.status().is_success());
}

async fn integration(client: &Client, ns: &str, name: &str, domain: &str, token: &str) {
    create_secret(client, ns, name, token).await;
    apply_integration(
        client,
        ns,
        name,
        json!({"domain": domain, "credentials": {"apiToken": {"secretRef": {"name": name}}}}),
    )
    .await;
}

fn object(o: &OktaIntegration) -> Value {
    serde_json::to_value(o).expect("json")
}

#[tokio::test]
async fn kstatus_and_the_argo_cd_lua_read_each_state_as_documented() {
    let cp = support::control_plane();
    let client = cp.client().await;
    let ns = cp.namespace(&client, "gitops").await;
    let sim = Sim::start(&["--scale", "small", "--no-rate-limit"]);
    let _operator = Operator::start(cp, &ns, &[]);
    let mut states: Vec<(&str, Value)> = Vec::new();

    // syncing: the first sync is slow
    set_faults(&sim, &["latency:path=/api/v1/logs,ms=1500"]).await;
    integration(&client, &ns, "acme", &sim.host_port, "demo").await;
    let syncing =
        wait_for(&client, &ns, "acme", WAIT, "syncing", |o| condition(o, "Reconciling").is_some_and(|c| c.0 == "True"))
            .await;
    states.push(("syncing", object(&syncing)));
    set_faults(&sim, &[]).await;
    states.push(("Ready", object(&wait_for(&client, &ns, "acme", WAIT, "Ready", is_ready).await)));

    // a failed sync that keeps the last good data
    set_faults(&sim, &["500:path=/api/v1/logs"]).await;
    let api: Api<OktaIntegration> = Api::namespaced(client.clone(), &ns);
    let patch = json!({"metadata": {"annotations": {"dti.dev/sync-requested-at": "fail-please"}}});
    api.patch("acme", &PatchParams::default(), &Patch::Merge(patch)).await.expect("annotate");
    let failed = wait_for(&client, &ns, "acme", WAIT, "failed sync, last good data", |o| {
        condition(o, "Synced").is_some_and(|c| c.0 == "False") && is_ready(o)
    })
    .await;
    states.push(("failed sync with last good data", object(&failed)));

    // failing before any data (Okta answers 500), and stalled (a revoked token)
    integration(&client, &ns, "failing", &sim.host_port, "demo").await;
    let failing = wait_for(&client, &ns, "failing", WAIT, "failing", |o| {
        condition(o, "Ready").is_some_and(|c| c.0 == "False" && c.1 != "Progressing" && c.1 != "Pending")
    })
    .await;
    states.push(("failing without data", object(&failing)));
    integration(&client, &ns, "revoked", &sim.host_port, "not-a-token").await;
    let stalled =
        wait_for(&client, &ns, "revoked", WAIT, "Stalled", |o| condition(o, "Stalled").is_some_and(|c| c.0 == "True"))
            .await;
    states.push(("Stalled", object(&stalled)));

    // a spec change the operator has not seen yet
    let mut unseen = object(&stalled);
    unseen["metadata"]["generation"] = json!(unseen["metadata"]["generation"].as_i64().unwrap_or(1) + 1);
    states.push(("new generation, not yet observed", unseen));

    let verdicts = health(&states.iter().map(|(_, o)| o.clone()).collect::<Vec<_>>());
    let expected = [
        ("syncing", "InProgress", "Progressing"),
        ("Ready", "Current", "Healthy"),
        ("failed sync with last good data", "Current", "Healthy"),
        ("failing without data", "InProgress", "Degraded"),
        ("Stalled", "Failed", "Degraded"),
        ("new generation, not yet observed", "InProgress", "Progressing"),
    ];
    for ((state, object), (verdict, want)) in states.iter().zip(verdicts.iter().zip(expected)) {
        assert_eq!(*state, want.0);
        assert_eq!(
            (verdict.0.as_str(), verdict.1.as_str()),
            (want.1, want.2),
            "{state}: {}",
            object["status"]["conditions"]
        );
    }
}
