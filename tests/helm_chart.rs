//! The Helm chart with a real helm (built from its Go module, cached) and a real kube-apiserver: lint,
//! templates for several value sets, install, least-privilege RBAC checked by impersonating the chart's
//! ServiceAccount, the operator running as that ServiceAccount, and leader election across two replicas.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use serde_json::{Value, json};
use support::operator::{Operator, apply_integration, create_secret, is_ready, wait_for};
use support::sim::Sim;

const CHART: &str = "charts/dti-operator";

fn helm() -> PathBuf {
    let out = Command::new(support::repo_root().join("scripts/control-plane.sh"))
        .args(["bin", "helm"])
        .output()
        .expect("helm");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn run_helm(args: &[&str], kubeconfig: Option<&Path>) -> String {
    let mut cmd = Command::new(helm());
    cmd.args(args).current_dir(support::repo_root());
    if let Some(k) = kubeconfig {
        cmd.env("KUBECONFIG", k);
    }
    let out = cmd.output().expect("run helm");
    assert!(
        out.status.success(),
        "helm {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `helm template` with some --set values, parsed into documents.
fn template(sets: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "template",
        "dti-operator",
        CHART,
        "--namespace",
        "dti-system",
        "--kube-version",
        "1.36.3",
    ];
    for s in sets {
        args.extend(["--set", s]);
    }
    let text = run_helm(&args, None);
    serde_yaml::Deserializer::from_str(&text)
        .filter_map(|d| serde::Deserialize::deserialize(d).ok())
        .filter(|v: &Value| !v.is_null())
        .collect()
}

fn kinds(docs: &[Value], kind: &str) -> Vec<Value> {
    docs.iter().filter(|d| d["kind"] == kind).cloned().collect()
}

#[test]
fn lint_strict_and_templates_for_several_value_sets() {
    for sets in [
        vec![],
        vec!["replicaCount=2"],
        vec!["watchNamespaces={team-a,team-b}"],
        vec![
            "metrics.serviceMonitor.enabled=true",
            "crds.install=false",
            "networkPolicy.enabled=false",
        ],
    ] {
        let mut args = vec!["lint", "--strict", CHART];
        for s in &sets {
            args.extend(["--set", s]);
        }
        run_helm(&args, None);
    }
    // values.schema.json refuses nonsense
    let out = Command::new(helm())
        .args(["lint", "--strict", CHART, "--set", "logFormat=yaml"])
        .current_dir(support::repo_root())
        .output()
        .expect("helm");
    assert!(!out.status.success(), "logFormat=yaml accepted");

    let defaults = template(&[]);
    let deployment = &kinds(&defaults, "Deployment")[0];
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(
        container["image"], "ghcr.io/dti-dev/dti-operator:0.1.0",
        "image tag = appVersion"
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["capabilities"]["drop"],
        json!(["ALL"])
    );
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    let args: Vec<String> = container["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        args.contains(&"--leader-elect".to_string())
            && args.contains(&"--log-format=json".to_string())
    );
    assert_eq!(kinds(&defaults, "ClusterRole").len(), 1);
    assert!(
        kinds(&defaults, "PodDisruptionBudget").is_empty(),
        "no PDB for one replica"
    );
    assert!(kinds(&defaults, "ServiceMonitor").is_empty());
    let crd = &kinds(&defaults, "CustomResourceDefinition")[0];
    assert_eq!(
        crd["metadata"]["annotations"]["helm.sh/resource-policy"],
        "keep"
    );
    let netpol = &kinds(&defaults, "NetworkPolicy")[0];
    let egress_ports: Vec<i64> = netpol["spec"]["egress"]
        .as_array()
        .expect("egress")
        .iter()
        .flat_map(|e| e["ports"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["port"].as_i64())
        .collect();
    assert!(
        egress_ports.contains(&443) && egress_ports.contains(&6443) && egress_ports.contains(&53)
    );

    let ha = template(&["replicaCount=2"]);
    assert_eq!(kinds(&ha, "PodDisruptionBudget").len(), 1);
    assert_eq!(kinds(&ha, "Deployment")[0]["spec"]["replicas"], 2);

    let scoped = template(&[
        "watchNamespaces={team-a,team-b}",
        "allowedDomains={acme.com}",
    ]);
    assert!(
        kinds(&scoped, "ClusterRole").is_empty() && kinds(&scoped, "ClusterRoleBinding").is_empty(),
        "no cluster-wide access in namespaced mode"
    );
    let roles = kinds(&scoped, "Role");
    let role_namespaces: Vec<&str> = roles
        .iter()
        .filter_map(|r| r["metadata"]["namespace"].as_str())
        .collect();
    assert!(
        role_namespaces.contains(&"team-a")
            && role_namespaces.contains(&"team-b")
            && role_namespaces.contains(&"dti-system")
    );
    let scoped_args = kinds(&scoped, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]
        ["args"]
        .clone();
    for a in [
        "--watch-namespace=team-a",
        "--watch-namespace=team-b",
        "--allow-domain=acme.com",
    ] {
        assert!(
            scoped_args.as_array().expect("args").iter().any(|x| x == a),
            "{a} missing"
        );
    }
    assert!(
        kinds(
            &template(&["crds.install=false"]),
            "CustomResourceDefinition"
        )
        .is_empty()
    );
    assert_eq!(
        kinds(
            &template(&["metrics.serviceMonitor.enabled=true"]),
            "ServiceMonitor"
        )
        .len(),
        1
    );
}

#[test]
fn chart_crd_and_rendered_manifests_do_not_drift() {
    let root = support::repo_root();
    let crd_file = std::fs::read_to_string(root.join("crds/oktaintegration.yaml")).expect("crd");
    let chart_copy =
        std::fs::read_to_string(root.join("charts/dti-operator/files/oktaintegration.yaml"))
            .expect("chart crd");
    assert!(
        crd_file == chart_copy,
        "charts/dti-operator/files/oktaintegration.yaml differs from crds/: copy it again"
    );
    // the templated CRD is the same object, plus the keep annotation and the chart's labels
    let mut templated = kinds(&template(&[]), "CustomResourceDefinition")[0].clone();
    templated["metadata"].as_object_mut().map(|m| {
        m.remove("annotations");
        m.remove("labels")
    });
    let original: Value = serde_yaml::from_str(&crd_file).expect("crd yaml");
    // helm's fromYaml/toYaml turns integers into floats (500 -> 500.0): compare numbers by value
    assert!(
        numbers_as_f64(templated) == numbers_as_f64(original),
        "the chart's CRD differs from crds/oktaintegration.yaml"
    );
    // deploy/dti-operator.yaml is what scripts/render-manifests.sh prints now
    let dir = tempfile::tempdir().expect("tempdir");
    let fresh = dir.path().join("rendered.yaml");
    let out = Command::new(root.join("scripts/render-manifests.sh"))
        .arg(&fresh)
        .output()
        .expect("render");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = std::fs::read_to_string(root.join("deploy/dti-operator.yaml"))
        .expect("deploy/dti-operator.yaml");
    assert!(
        committed == std::fs::read_to_string(&fresh).expect("fresh"),
        "deploy/dti-operator.yaml is stale: run scripts/render-manifests.sh"
    );
}

fn numbers_as_f64(v: Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(a) => Value::Array(a.into_iter().map(numbers_as_f64).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, numbers_as_f64(v))).collect())
        }
        other => other,
    }
}

fn can_i(
    cp: &support::ControlPlane,
    sa: &str,
    verb: &str,
    resource: &str,
    namespace: Option<&str>,
) -> bool {
    let mut args = vec!["auth", "can-i", verb, resource, "--as", sa];
    match namespace {
        Some(ns) => args.extend(["-n", ns]),
        None => args.push("--all-namespaces"),
    }
    let out = cp.kubectl(&args, None);
    String::from_utf8_lossy(&out.stdout).trim() == "yes"
}

/// A kubeconfig that authenticates as a ServiceAccount with a short-lived token.
fn service_account_kubeconfig(
    cp: &support::ControlPlane,
    ns: &str,
    sa: &str,
    dir: &Path,
) -> PathBuf {
    let token = cp.kubectl_ok(&["create", "token", sa, "-n", ns, "--duration=1h"]);
    let admin: Value =
        serde_yaml::from_str(&std::fs::read_to_string(&cp.kubeconfig).expect("kubeconfig"))
            .expect("yaml");
    let cluster = &admin["clusters"][0]["cluster"];
    let config = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "local", "cluster": cluster}],
        "users": [{"name": sa, "user": {"token": token.trim()}}],
        "contexts": [{"name": "sa", "context": {"cluster": "local", "user": sa}}],
        "current-context": "sa",
    });
    let path = dir.join(format!("{sa}.kubeconfig"));
    std::fs::write(&path, serde_yaml::to_string(&config).expect("yaml")).expect("write kubeconfig");
    path
}

#[tokio::test]
async fn installs_grants_least_privilege_runs_as_its_service_account_and_elects_one_leader() {
    let cp = support::control_plane_bare();
    let kubeconfig = cp.kubeconfig.as_path();
    run_helm(
        &[
            "install",
            "dti-operator",
            CHART,
            "--namespace",
            "dti-system",
            "--create-namespace",
        ],
        Some(kubeconfig),
    );
    cp.kubectl_ok(&[
        "wait",
        "--for=condition=Established",
        "crd/oktaintegrations.dti.dev",
        "--timeout=60s",
    ]);
    let sa = "system:serviceaccount:dti-system:dti-operator";

    // what the operator needs
    for (verb, resource) in [
        ("list", "oktaintegrations.dti.dev"),
        ("watch", "oktaintegrations.dti.dev"),
        ("patch", "oktaintegrations.dti.dev"),
        ("patch", "oktaintegrations.dti.dev/status"),
        ("get", "secrets"),
        ("watch", "secrets"),
        ("create", "events.events.k8s.io"),
    ] {
        assert!(
            can_i(cp, sa, verb, resource, None),
            "cannot {verb} {resource}"
        );
    }
    assert!(can_i(
        cp,
        sa,
        "create",
        "leases.coordination.k8s.io",
        Some("dti-system")
    ));
    assert!(can_i(
        cp,
        sa,
        "update",
        "leases.coordination.k8s.io/dti-operator",
        Some("dti-system")
    ));
    // and nothing more
    for (verb, resource) in [
        ("create", "secrets"),
        ("update", "secrets"),
        ("delete", "secrets"),
        ("patch", "secrets"),
        ("delete", "oktaintegrations.dti.dev"),
        ("create", "oktaintegrations.dti.dev"),
        ("get", "pods"),
        ("get", "configmaps"),
        ("create", "deployments.apps"),
        ("update", "customresourcedefinitions.apiextensions.k8s.io"),
        ("create", "clusterrolebindings.rbac.authorization.k8s.io"),
    ] {
        assert!(
            !can_i(cp, sa, verb, resource, None),
            "may {verb} {resource}"
        );
    }
    assert!(!can_i(
        cp,
        sa,
        "update",
        "leases.coordination.k8s.io/someone-else",
        Some("dti-system")
    ));
    assert!(!can_i(
        cp,
        sa,
        "create",
        "leases.coordination.k8s.io",
        Some("default")
    ));

    // namespaced mode: a second release that may read Secrets in team-a only
    for ns in ["team-a", "team-b"] {
        cp.kubectl_ok(&["create", "namespace", ns]);
    }
    run_helm(
        &[
            "install",
            "dti-operator-ns",
            CHART,
            "--namespace",
            "dti-ns-system",
            "--create-namespace",
            "--set",
            "crds.install=false",
            "--set",
            "watchNamespaces={team-a}",
        ],
        Some(kubeconfig),
    );
    let scoped = "system:serviceaccount:dti-ns-system:dti-operator-ns";
    assert!(can_i(cp, scoped, "get", "secrets", Some("team-a")));
    assert!(can_i(
        cp,
        scoped,
        "patch",
        "oktaintegrations.dti.dev/status",
        Some("team-a")
    ));
    assert!(
        !can_i(cp, scoped, "get", "secrets", Some("team-b")),
        "reads Secrets outside its namespaces"
    );
    assert!(
        !can_i(cp, scoped, "list", "secrets", None),
        "cluster-wide Secret access"
    );
    assert!(!can_i(cp, scoped, "create", "secrets", Some("team-a")));
    assert!(!can_i(
        cp,
        scoped,
        "list",
        "oktaintegrations.dti.dev",
        Some("team-b")
    ));

    // the operator, as the chart's ServiceAccount, against okta-sim: Ready
    let client = cp.client().await;
    let ns = cp.namespace(&client, "helm-e2e").await;
    let sim = Sim::start(&["--scale", "small", "--no-rate-limit"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let sa_kubeconfig = service_account_kubeconfig(cp, "dti-system", "dti-operator", dir.path());
    let leader_args = [
        "--leader-elect",
        "--leader-election-namespace",
        "dti-system",
        "--leader-election-lease",
        "dti-operator",
        "--leader-election-duration",
        "6s",
    ];
    let mut first = Operator::start_with(&sa_kubeconfig, "helm-replica-1", &leader_args);
    let mut second = Operator::start_with(&sa_kubeconfig, "helm-replica-2", &leader_args);
    create_secret(&client, &ns, "okta", "demo").await;
    let spec = json!({"domain": sim.host_port, "credentials": {"apiToken": {"secretRef": {"name": "okta"}}}});
    apply_integration(&client, &ns, "acme", spec).await;
    wait_for(
        &client,
        &ns,
        "acme",
        Duration::from_secs(90),
        "Ready, reconciled as the ServiceAccount",
        is_ready,
    )
    .await;

    // exactly one replica works; the lease names it
    let leases: Api<Lease> = Api::namespaced(client.clone(), "dti-system");
    let holder = |l: &Lease| {
        l.spec
            .as_ref()
            .and_then(|s| s.holder_identity.clone())
            .unwrap_or_default()
    };
    let lease = leases.get("dti-operator").await.expect("lease");
    let (r1, r2) = (
        first.metric("dti_reconcile_total").await,
        second.metric("dti_reconcile_total").await,
    );
    assert!(
        (r1 > 0.0) != (r2 > 0.0),
        "exactly one replica reconciles (got {r1} and {r2})"
    );
    let (leader, standby) = if r1 > 0.0 {
        (&mut first, &mut second)
    } else {
        (&mut second, &mut first)
    };
    let leader_pid = leader.pid().expect("pid").to_string();
    assert!(
        holder(&lease).ends_with(&format!("-{leader_pid}")),
        "lease held by {}",
        holder(&lease)
    );
    assert!(
        leader.logs().contains("became the leader")
            && standby.logs().contains("waiting to become the leader")
    );

    // kill the leader: the standby takes over within the lease time and works
    leader.kill();
    let killed = Instant::now();
    let standby_pid = standby.pid().expect("pid").to_string();
    loop {
        let lease = leases.get("dti-operator").await.expect("lease");
        if holder(&lease).ends_with(&format!("-{standby_pid}")) {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "no handover; lease held by {}",
            holder(&lease)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!("leader handover after {:?}", killed.elapsed());
    let api: Api<dti_operator::crd::OktaIntegration> = Api::namespaced(client.clone(), &ns);
    let patch =
        json!({"metadata": {"annotations": {"dti.dev/sync-requested-at": "after-handover"}}});
    api.patch(
        "acme",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(patch),
    )
    .await
    .expect("annotate");
    wait_for(
        &client,
        &ns,
        "acme",
        Duration::from_secs(60),
        "a sync by the new leader",
        |o| {
            o.status
                .as_ref()
                .and_then(|s| s.last_handled_sync_request.as_deref())
                == Some("after-handover")
        },
    )
    .await;
    assert!(
        standby.metric("dti_sync_total").await >= 1.0
            || standby.metric("dti_reconcile_total").await > 0.0
    );
    drop(first);
    drop(second);
    // uninstalling keeps the CRD (and so every OktaIntegration)
    run_helm(
        &["uninstall", "dti-operator", "--namespace", "dti-system"],
        Some(kubeconfig),
    );
    cp.kubectl_ok(&["get", "crd", "oktaintegrations.dti.dev"]);
    assert!(api.get_opt("acme").await.expect("get").is_some());
}
