//! The chart's own pod on a real node: kubelet, containerd and runc run the operator's OCI image (built
//! without Docker by scripts/image.sh) with the chart's security context, probes, downward-API variables
//! and in-cluster config; two replicas hand over the lease as real pods; the real garbage collector cleans
//! up after a deleted OktaIntegration.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dti_operator::crd::{OktaIntegration, OktaSyncState};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams};
use kube::{Api, Client};
use serde_json::json;
use support::operator::{apply_integration, create_secret, is_ready, lease_holder, okta_apps, request_sync, wait_for};
use support::sim::Sim;

/// The pod bridge's gateway on this machine (scripts/node.sh): pods reach the API server and okta-sim here.
const GATEWAY: &str = "10.244.0.1";
const CHART: &str = "charts/dti-operator";
const SELECTOR: &str = "app.kubernetes.io/name=dti-operator";

/// Builds the image; (archive, REPOSITORY:TAG).
fn build_image() -> (PathBuf, String) {
    let archive = std::env::temp_dir().join(format!("dti-operator-image-{}.tar", std::process::id()));
    let out = Command::new(support::repo_root().join("scripts/image.sh"))
        .arg("--out")
        .arg(&archive)
        .output()
        .expect("scripts/image.sh");
    assert!(out.status.success(), "image.sh: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let reference = stdout.lines().last().expect("image reference").trim().to_string();
    (archive, reference)
}

fn helm(cp: &support::ControlPlane, args: &[&str]) -> String {
    let bin = Command::new(support::repo_root().join("scripts/control-plane.sh"))
        .args(["bin", "helm"])
        .output()
        .expect("helm");
    let out = Command::new(String::from_utf8_lossy(&bin.stdout).trim())
        .args(args)
        .current_dir(support::repo_root())
        .env("KUBECONFIG", &cp.kubeconfig)
        .output()
        .expect("run helm");
    assert!(out.status.success(), "helm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Values for a pod on this node: the local image and okta-sim by name through hostAliases. The API server
/// is found as on any cluster, through the `kubernetes` Service (the node runs kube-proxy).
fn values(dir: &Path, reference: &str) -> PathBuf {
    let (repository, tag) = reference.rsplit_once(':').expect("REPOSITORY:TAG");
    let values = json!({
        "image": {"repository": repository, "tag": tag, "pullPolicy": "Never"},
        "extraArgs": ["--insecure-allow-http"],
        "hostAliases": [{"ip": GATEWAY, "hostnames": ["okta-sim.localhost"]}],
        "leaderElection": {"leaseDuration": "6s"},
        "logLevel": "info,dti_operator=debug",
    });
    let path = dir.join("values.yaml");
    std::fs::write(&path, serde_yaml::to_string(&values).expect("yaml")).expect("write values");
    path
}

async fn running_pods(client: &Client) -> Vec<Pod> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "dti-system");
    let list = pods.list(&ListParams::default().labels(SELECTOR)).await.expect("pods");
    list.items.into_iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect()
}

fn pod_ready(p: &Pod) -> bool {
    let conditions = p.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
    conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True")
}

/// Waits until `n` pods of the Deployment are Ready; the Deployment must then be Available.
async fn wait_pods_ready(cp: &support::ControlPlane, client: &Client, n: usize) -> Vec<Pod> {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let pods = running_pods(client).await;
        if pods.len() == n && pods.iter().all(pod_ready) {
            cp.kubectl_ok(&[
                "wait",
                "-n",
                "dti-system",
                "deployment/dti-operator",
                "--for=condition=Available",
                "--timeout=60s",
            ]);
            return pods;
        }
        if Instant::now() > deadline {
            let describe = cp.kubectl(&["describe", "pods", "-n", "dti-system", "-l", SELECTOR], None);
            let logs = cp.kubectl(&["logs", "-n", "dti-system", "-l", SELECTOR, "--previous", "--tail", "20"], None);
            panic!(
                "pods not Ready: {}\nlogs of the last crash:\n{}{}",
                String::from_utf8_lossy(&describe.stdout),
                String::from_utf8_lossy(&logs.stdout),
                String::from_utf8_lossy(&logs.stderr)
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The chart's security context is what the pod got, unchanged.
fn assert_restricted(pod: &Pod) {
    let spec = serde_json::to_value(pod.spec.as_ref().expect("spec")).expect("json");
    assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
    assert_eq!(spec["securityContext"]["runAsUser"], 65532);
    assert_eq!(spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    let c = &spec["containers"][0];
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(
        (c["livenessProbe"]["httpGet"]["path"].as_str(), c["readinessProbe"]["httpGet"]["path"].as_str()),
        (Some("/healthz"), Some("/readyz"))
    );
}

/// The container's process as the kernel sees it: (uid line, effective capabilities, no_new_privs,
/// seccomp mode, whether / is mounted read-only).
fn process_facts(cp: &support::ControlPlane, pod: &Pod) -> (String, String, String, String, bool) {
    let id = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c[0].container_id.clone())
        .expect("container id");
    let id = id.trim_start_matches("containerd://");
    let socket = cp.dir.join("node/containerd/containerd.sock");
    let out = Command::new("ctr")
        .arg("--address")
        .arg(&socket)
        .args(["-n", "k8s.io", "tasks", "ls"])
        .output()
        .expect("ctr tasks ls");
    let tasks = String::from_utf8_lossy(&out.stdout).into_owned();
    let pid = tasks
        .lines()
        .find(|l| l.starts_with(id))
        .and_then(|l| l.split_whitespace().nth(1))
        .expect("task pid")
        .to_string();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let field = |name: &str| {
        status.lines().find(|l| l.starts_with(name)).map(|l| l[name.len()..].trim().to_string()).unwrap_or_default()
    };
    let mountinfo = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).expect("mountinfo");
    let root_ro = mountinfo
        .lines()
        .filter(|l| l.split_whitespace().nth(4) == Some("/"))
        .any(|l| l.split_whitespace().nth(5).is_some_and(|o| o.split(',').any(|f| f == "ro")));
    (field("Uid:"), field("CapEff:"), field("NoNewPrivs:"), field("Seccomp:"), root_ro)
}

/// Two replicas: deleting the leader's pod hands the lease to the other, which then runs a requested sync.
async fn assert_handover(cp: &support::ControlPlane, client: &Client, ns: &str, values: &Path) {
    helm(
        cp,
        &[
            "upgrade",
            "dti-operator",
            CHART,
            "-n",
            "dti-system",
            "-f",
            values.to_str().expect("utf-8"),
            "--set",
            "replicaCount=2",
        ],
    );
    let pods = wait_pods_ready(cp, client, 2).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let leader = loop {
        let holder = lease_holder(client, "dti-system", "dti-operator").await;
        if let Some(p) =
            pods.iter().find(|p| p.metadata.name.as_ref().is_some_and(|n| holder.starts_with(&format!("{n}-"))))
        {
            break p.metadata.name.clone().expect("name");
        }
        assert!(Instant::now() < deadline, "the lease names no running pod: {holder}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let deleted = Instant::now();
    cp.kubectl_ok(&["delete", "pod", "-n", "dti-system", &leader, "--wait=false"]);
    loop {
        let holder = lease_holder(client, "dti-system", "dti-operator").await;
        if !holder.is_empty() && !holder.starts_with(&format!("{leader}-")) {
            eprintln!("lease handed from {leader} to {holder} after {:?}", deleted.elapsed());
            break;
        }
        assert!(deleted.elapsed() < Duration::from_secs(40), "no handover from {leader}; holder {holder:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    request_sync(client, ns, "acme", "after-pod-deletion", Duration::from_secs(90)).await;
    eprintln!("a requested sync ran {:?} after the leader's pod was deleted", deleted.elapsed());
}

/// After `helm uninstall`: the CRDs and the integration stay; deleting the integration completes (no
/// finalizer left) and the garbage collector removes its OktaApps and OktaSyncStates.
async fn assert_uninstall_and_garbage_collection(cp: &support::ControlPlane, client: &Client, ns: &str) {
    helm(cp, &["uninstall", "dti-operator", "-n", "dti-system"]);
    for crd in ["oktaintegrations", "oktaapps", "oktasyncstates"] {
        cp.kubectl_ok(&["get", "crd", &format!("{crd}.dti.dev")]);
    }
    let api: Api<OktaIntegration> = Api::namespaced(client.clone(), ns);
    assert!(api.get_opt("acme").await.expect("get").is_some(), "uninstall kept the OktaIntegration");
    assert!(!okta_apps(client, ns, "acme").await.is_empty());
    api.delete("acme", &DeleteParams::default()).await.expect("delete");
    let states: Api<OktaSyncState> = Api::namespaced(client.clone(), ns);
    let deleted = Instant::now();
    loop {
        let gone = api.get_opt("acme").await.expect("get").is_none();
        let apps = okta_apps(client, ns, "acme").await.len();
        let parts = states.list(&ListParams::default()).await.expect("states").items.len();
        if gone && apps == 0 && parts == 0 {
            eprintln!("integration deleted and its objects collected after {:?}", deleted.elapsed());
            return;
        }
        assert!(
            deleted.elapsed() < Duration::from_secs(90),
            "after deletion: integration gone {gone}, {apps} OktaApps, {parts} OktaSyncStates left"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn the_charts_pod_runs_on_a_real_node_hands_over_and_is_garbage_collected() {
    let started = Instant::now();
    let (archive, reference) = build_image();
    let cp = support::cluster_with_node(&archive, &reference);
    eprintln!("image {reference} and a Ready node after {:?}", started.elapsed());
    let client = cp.client().await;
    let sim = Sim::start_on(GATEWAY, &["--scale", "small", "--no-rate-limit", "--log-lag", "2s"]);
    let sim_port = sim.host_port.rsplit_once(':').expect("port").1.to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let values = values(dir.path(), &reference);
    helm(
        cp,
        &[
            "install",
            "dti-operator",
            CHART,
            "-n",
            "dti-system",
            "--create-namespace",
            "-f",
            values.to_str().expect("utf-8"),
        ],
    );
    let pods = wait_pods_ready(cp, &client, 1).await;
    eprintln!("Deployment Available after {:?}", started.elapsed());
    assert_restricted(&pods[0]);
    let (uid, caps, no_new_privs, seccomp, root_ro) = process_facts(cp, &pods[0]);
    assert!(uid.split_whitespace().all(|u| u == "65532"), "Uid: {uid}");
    assert_eq!((caps.as_str(), no_new_privs.as_str(), seccomp.as_str(), root_ro), ("0000000000000000", "1", "2", true));

    let ns = cp.namespace(&client, "node").await;
    create_secret(&client, &ns, "okta", "demo").await;
    let spec = json!({"domain": format!("okta-sim.localhost:{sim_port}"), "credentials": {"apiToken": {"secretRef": {"name": "okta"}}}, "maxAppsInStatus": 100});
    apply_integration(&client, &ns, "acme", spec).await;
    let obj = wait_for(&client, &ns, "acme", Duration::from_secs(120), "Ready from the pod", is_ready).await;
    eprintln!("OktaIntegration Ready after {:?}", started.elapsed());
    support::contract::assert_equals_truth(&client, &ns, &sim, &obj, "demo").await;
    let logs = cp.kubectl_ok(&["logs", "-n", "dti-system", "deployment/dti-operator"]);
    assert!(logs.contains("became the leader") && !logs.contains("demo\""), "kubectl logs through the kubelet");

    assert_handover(cp, &client, &ns, &values).await;
    let restarts: i32 = running_pods(&client)
        .await
        .iter()
        .flat_map(|p| p.status.as_ref().and_then(|s| s.container_statuses.clone()).unwrap_or_default())
        .map(|c| c.restart_count)
        .sum();
    assert_eq!(restarts, 0, "probes kept passing: no container was restarted");
    assert_uninstall_and_garbage_collection(cp, &client, &ns).await;
    eprintln!("node test done in {:?}", started.elapsed());
    let _ = std::fs::remove_file(&archive);
}
