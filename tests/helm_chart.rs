//! The Helm chart with a real helm (built from its Go module with upstream's version stamps, cached) and a
//! real kube-apiserver: lint, templates for several value sets, use as a subchart, install, least-privilege
//! RBAC checked by impersonating the chart's ServiceAccount, aggregated roles, the operator running as that
//! ServiceAccount, leader election across two replicas, and two sharded replicas under the chart's RBAC.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kube::Api;
use serde_json::{Value, json};
use support::operator::{Operator, apply_integration, create_secret, is_ready, lease_holder, request_sync, wait_for};
use support::sim::Sim;

const CHART: &str = "charts/dti-operator";

fn helm() -> PathBuf {
    let out = Command::new(support::repo_root().join("scripts/control-plane.sh"))
        .args(["bin", "helm"])
        .output()
        .expect("helm");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn helm_output(args: &[&str], kubeconfig: Option<&Path>) -> std::process::Output {
    let mut cmd = Command::new(helm());
    cmd.args(args).current_dir(support::repo_root());
    if let Some(k) = kubeconfig {
        cmd.env("KUBECONFIG", k);
    }
    cmd.output().expect("run helm")
}

fn run_helm(args: &[&str], kubeconfig: Option<&Path>) -> String {
    let out = helm_output(args, kubeconfig);
    assert!(
        out.status.success(),
        "helm {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn documents(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .filter_map(|d| serde::Deserialize::deserialize(d).ok())
        .filter(|v: &Value| !v.is_null())
        .collect()
}

/// `helm template` with some --set values, parsed into documents. No --kube-version: the cached helm
/// knows the Kubernetes version it was built against, as a released helm does.
fn template(sets: &[&str]) -> Vec<Value> {
    let mut args = vec!["template", "dti-operator", CHART, "--namespace", "dti-system"];
    for s in sets {
        args.extend(["--set", s]);
    }
    documents(&run_helm(&args, None))
}

fn kinds(docs: &[Value], kind: &str) -> Vec<Value> {
    docs.iter().filter(|d| d["kind"] == kind).cloned().collect()
}

fn container(docs: &[Value]) -> Value {
    kinds(docs, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0].clone()
}

fn args_of(docs: &[Value]) -> Vec<String> {
    container(docs)["args"].as_array().expect("args").iter().map(|a| a.as_str().unwrap_or("").to_string()).collect()
}

#[test]
fn lint_strict_for_several_value_sets_and_the_schema_refuses_nonsense() {
    let value_sets: [&[&str]; 6] = [
        &[],
        &["replicaCount=2"],
        &["watchNamespaces={team-a,team-b}"],
        &["metrics.serviceMonitor.enabled=true", "crds.install=false", "networkPolicy.enabled=false"],
        &[
            "prometheusRule.enabled=true",
            "dashboard.enabled=true",
            "rbac.aggregateToView=true",
            "rbac.userListSecrets=true",
        ],
        &[
            "extraArgs={--ca-file=/etc/dti/ca.crt}",
            "extraEnv[0].name=HTTPS_PROXY",
            "extraEnv[0].value=http://proxy:3128",
        ],
    ];
    for sets in value_sets {
        let mut args = vec!["lint", "--strict", CHART];
        for s in sets {
            args.extend(["--set", s]);
        }
        run_helm(&args, None);
    }
    for bad in ["logFormat=yaml", "extraArgs={ca-file}", "metrics.serviceMonitor.interval=often", "unknownKey=1"] {
        let out = helm_output(&["lint", "--strict", CHART, "--set", bad], None);
        assert!(!out.status.success(), "{bad} accepted");
    }
}

#[test]
fn defaults_render_a_restricted_pod_and_every_crd_kept() {
    let defaults = template(&[]);
    let pod = &kinds(&defaults, "Deployment")[0]["spec"]["template"]["spec"];
    let c = container(&defaults);
    assert_eq!(c["image"], "ghcr.io/dti-dev/dti-operator:0.1.0", "image tag = appVersion");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    let args = args_of(&defaults);
    assert!(args.contains(&"--leader-elect".into()) && args.contains(&"--log-format=json".into()));
    assert_eq!(kinds(&defaults, "ClusterRole").len(), 2, "the operator's and the aggregated edit role");
    assert!(kinds(&defaults, "PodDisruptionBudget").is_empty(), "no PDB for one replica");
    for absent in ["ServiceMonitor", "PrometheusRule", "ConfigMap"] {
        assert!(kinds(&defaults, absent).is_empty(), "{absent} is opt-in");
    }
    let secret_writes = |docs: &[Value]| {
        let role = kinds(docs, "ClusterRole").into_iter().find(|r| r["metadata"]["name"] == "dti-operator");
        let rules = role.map(|r| r["rules"].as_array().cloned().unwrap_or_default()).unwrap_or_default();
        rules.iter().any(|r| r["resources"] == json!(["secrets"]) && r["verbs"] == json!(["create", "patch", "delete"]))
    };
    assert!(!secret_writes(&defaults), "no write to Secrets unless rbac.userListSecrets");
    assert!(secret_writes(&template(&["rbac.userListSecrets=true"])), "the per-user list's Secrets, when granted");
    let crds = kinds(&defaults, "CustomResourceDefinition");
    let names: Vec<&str> = crds.iter().filter_map(|c| c["metadata"]["name"].as_str()).collect();
    assert_eq!(
        names,
        ["appcontracts.dti.dev", "oktaapps.dti.dev", "oktaintegrations.dti.dev", "oktasyncstates.dti.dev"]
    );
    for crd in &crds {
        let a = &crd["metadata"]["annotations"];
        assert_eq!(a["helm.sh/resource-policy"], "keep");
        assert_eq!(a["argocd.argoproj.io/sync-options"], "Prune=false");
        assert_eq!(a["kustomize.toolkit.fluxcd.io/prune"], "disabled");
    }
    let netpol = &kinds(&defaults, "NetworkPolicy")[0];
    let egress_ports: Vec<i64> = netpol["spec"]["egress"]
        .as_array()
        .expect("egress")
        .iter()
        .flat_map(|e| e["ports"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["port"].as_i64())
        .collect();
    assert!(egress_ports.contains(&443) && egress_ports.contains(&6443) && egress_ports.contains(&53));
    // Rendered without a cluster and without apiServerCIDRs: the API server rule keeps private ranges closed.
    let api_rule = netpol["spec"]["egress"]
        .as_array()
        .expect("egress")
        .iter()
        .find(|e| e["ports"].as_array().is_some_and(|p| p.iter().any(|p| p["port"] == 6443)))
        .expect("an API server rule")
        .clone();
    let to = api_rule["to"].as_array().expect("the API server rule names its destinations");
    let v4 = to.iter().find(|t| t["ipBlock"]["cidr"] == "0.0.0.0/0").expect("public IPv4");
    let except: Vec<&str> =
        v4["ipBlock"]["except"].as_array().expect("except").iter().filter_map(|c| c.as_str()).collect();
    for private in ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"] {
        assert!(except.contains(&private), "{private} must stay closed: {api_rule}");
    }
}

#[test]
fn values_reach_the_pod() {
    let docs = template(&[
        "replicaCount=2",
        "extraArgs={--ca-file=/etc/dti/ca/ca.crt}",
        "extraEnv[0].name=HTTPS_PROXY",
        "extraEnv[0].value=http://proxy.internal:3128",
        "extraVolumes[0].name=ca",
        "extraVolumes[0].configMap.name=corp-ca",
        "extraVolumeMounts[0].name=ca",
        "extraVolumeMounts[0].mountPath=/etc/dti/ca",
        "podLabels.team=platform",
        "priorityClassName=system-cluster-critical",
        "topologySpreadConstraints[0].maxSkew=1",
        "topologySpreadConstraints[0].topologyKey=kubernetes.io/hostname",
        "topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway",
        "networkPolicy.oktaPorts={8443}",
        "networkPolicy.apiServerCIDRs={10.0.0.1/32}",
        "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.team=monitoring",
        "metrics.serviceMonitor.enabled=true",
        "metrics.serviceMonitor.scrapeTimeout=5s",
        "metrics.serviceMonitor.honorLabels=true",
        "metrics.serviceMonitor.relabelings[0].targetLabel=cluster",
        "metrics.serviceMonitor.relabelings[0].replacement=prod",
    ]);
    let deployment = &kinds(&docs, "Deployment")[0];
    let pod = &deployment["spec"]["template"];
    let c = container(&docs);
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(kinds(&docs, "PodDisruptionBudget").len(), 1);
    assert!(args_of(&docs).contains(&"--ca-file=/etc/dti/ca/ca.crt".into()));
    assert!(
        c["env"]
            .as_array()
            .expect("env")
            .iter()
            .any(|e| e["name"] == "HTTPS_PROXY" && e["value"] == "http://proxy.internal:3128")
    );
    assert!(c["env"].as_array().expect("env").iter().any(|e| e["name"] == "POD_NAME"), "the chart's own env stays");
    assert_eq!(c["volumeMounts"][0]["mountPath"], "/etc/dti/ca");
    assert_eq!(pod["spec"]["volumes"][0]["configMap"]["name"], "corp-ca");
    assert_eq!(pod["metadata"]["labels"]["team"], "platform");
    assert_eq!(pod["spec"]["priorityClassName"], "system-cluster-critical");
    assert_eq!(pod["spec"]["topologySpreadConstraints"][0]["topologyKey"], "kubernetes.io/hostname");
    let monitor = &kinds(&docs, "ServiceMonitor")[0]["spec"]["endpoints"][0];
    assert_eq!((monitor["scrapeTimeout"].as_str(), monitor["honorLabels"].as_bool()), (Some("5s"), Some(true)));
    assert_eq!(monitor["relabelings"][0]["targetLabel"], "cluster");
    let policy = &kinds(&docs, "NetworkPolicy")[0]["spec"];
    let okta = &policy["egress"][1];
    assert_eq!(
        okta["ports"].as_array().map(|p| p.iter().filter_map(|p| p["port"].as_i64()).collect::<Vec<_>>()),
        Some(vec![443, 8443])
    );
    let except = okta["to"][0]["ipBlock"]["except"].as_array().expect("except");
    assert!(
        except.contains(&json!("169.254.0.0/16")) && except.contains(&json!("10.0.0.0/8")),
        "Okta traffic never reaches private or metadata addresses"
    );
    assert_eq!(policy["egress"][2]["to"][0]["ipBlock"]["cidr"], "10.0.0.1/32", "the API server rule names its address");
    assert_eq!(policy["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]["team"], "monitoring");

    let scoped = template(&["watchNamespaces={team-a,team-b}", "allowedDomains={acme.com}"]);
    assert!(kinds(&scoped, "ClusterRoleBinding").is_empty(), "no cluster-wide binding in namespaced mode");
    let role_namespaces: Vec<String> =
        kinds(&scoped, "Role").iter().filter_map(|r| r["metadata"]["namespace"].as_str().map(String::from)).collect();
    for ns in ["team-a", "team-b", "dti-system"] {
        assert!(role_namespaces.contains(&ns.to_string()), "{role_namespaces:?}");
    }
    for a in ["--watch-namespace=team-a", "--watch-namespace=team-b", "--allow-domain=acme.com"] {
        assert!(args_of(&scoped).contains(&a.to_string()), "{a} missing");
    }
    assert!(kinds(&template(&["crds.install=false"]), "CustomResourceDefinition").is_empty());
}

#[test]
fn a_pool_release_joins_another_releases_group() {
    let pool =
        template(&["sharding.enabled=true", "sharding.pool=vip", "sharding.group=dti-main", "crds.install=false"]);
    let args = args_of(&pool);
    for a in [
        "--sharding",
        "--shard-pool=vip",
        "--leader-election-lease=dti-main",
        "--checkpoint-key-secret=dti-main-checkpoint-key",
    ] {
        assert!(args.contains(&a.to_string()), "{a} missing: {args:?}");
    }
    let key_rule = kinds(&pool, "Role")
        .iter()
        .flat_map(|r| r["rules"].as_array().cloned().unwrap_or_default())
        .any(|rule| rule["resourceNames"] == json!(["dti-main-checkpoint-key"]));
    assert!(key_rule, "the pool reads the group's checkpoint key");
    assert!(!args_of(&template(&["sharding.enabled=true"])).iter().any(|a| a.starts_with("--shard-pool")));
    for bad in [&["sharding.pool=vip"][..], &["sharding.enabled=true", "sharding.pool=-vip"]] {
        let mut args = vec!["template", "x", CHART];
        bad.iter().for_each(|s| args.extend(["--set", s]));
        assert!(!helm_output(&args, None).status.success(), "{bad:?} accepted");
    }
}

#[test]
fn works_as_a_subchart_with_global_values_and_an_enabled_switch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let parent = dir.path().join("platform");
    std::fs::create_dir_all(parent.join("charts")).expect("mkdir");
    let chart = support::repo_root().join(CHART);
    let copy = Command::new("cp").arg("-r").arg(&chart).arg(parent.join("charts/dti-operator")).status().expect("cp");
    assert!(copy.success());
    std::fs::write(
        parent.join("Chart.yaml"),
        "apiVersion: v2\nname: platform\nversion: 1.0.0\ndependencies:\n  - name: dti-operator\n    version: 0.1.0\n    condition: dti-operator.enabled\n",
    )
    .expect("Chart.yaml");
    std::fs::write(
        parent.join("values.yaml"),
        "global:\n  imageRegistry: registry.internal\n  storageClass: fast\ndti-operator:\n  enabled: true\n  replicaCount: 2\n",
    )
    .expect("values.yaml");
    let parent_path = parent.to_str().expect("utf-8");
    let docs = documents(&run_helm(&["template", "platform", parent_path, "--namespace", "dti-system"], None));
    assert_eq!(kinds(&docs, "Deployment")[0]["spec"]["replicas"], 2);
    let off = run_helm(&["template", "platform", parent_path, "--set", "dti-operator.enabled=false"], None);
    assert!(kinds(&documents(&off), "Deployment").is_empty(), "enabled=false turns the subchart off");
}

#[test]
fn chart_crds_and_rendered_manifests_do_not_drift() {
    let root = support::repo_root();
    // each templated CRD is the generated object, plus the annotations and the chart's labels
    for mut templated in kinds(&template(&[]), "CustomResourceDefinition") {
        let singular = templated["spec"]["names"]["singular"].as_str().expect("singular").to_string();
        if let Some(m) = templated["metadata"].as_object_mut() {
            m.remove("annotations");
            m.remove("labels");
        }
        let file = root.join(format!("crds/{singular}.yaml"));
        let original: Value = serde_yaml::from_str(&std::fs::read_to_string(&file).expect("crd")).expect("crd yaml");
        // helm's fromYaml/toYaml turns integers into floats (500 -> 500.0): compare numbers by value
        assert!(numbers_as_f64(templated) == numbers_as_f64(original), "the chart's {singular} CRD differs from crds/");
    }
    // deploy/dti-operator.yaml is what scripts/render-manifests.sh prints now
    let dir = tempfile::tempdir().expect("tempdir");
    let fresh = dir.path().join("rendered.yaml");
    let out = Command::new(root.join("scripts/render-manifests.sh")).arg(&fresh).output().expect("render");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let committed = std::fs::read_to_string(root.join("deploy/dti-operator.yaml")).expect("deploy/dti-operator.yaml");
    assert!(
        committed == std::fs::read_to_string(&fresh).expect("fresh"),
        "deploy/dti-operator.yaml is stale: run scripts/render-manifests.sh"
    );
}

fn numbers_as_f64(v: Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(a) => Value::Array(a.into_iter().map(numbers_as_f64).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, numbers_as_f64(v))).collect()),
        other => other,
    }
}

/// `kubectl auth can-i`; `resource/status` and `resource/finalizers` name a subresource, any other
/// `resource/x` an object.
fn can_i(cp: &support::ControlPlane, who: &str, verb: &str, resource: &str, namespace: Option<&str>) -> bool {
    let subresource = resource.rsplit_once('/').filter(|(_, sub)| ["status", "finalizers"].contains(sub));
    let mut args = vec!["auth", "can-i", verb, subresource.map_or(resource, |(r, _)| r), "--as", who];
    let flag = subresource.map(|(_, sub)| format!("--subresource={sub}"));
    args.extend(flag.as_deref());
    match namespace {
        Some(ns) => args.extend(["-n", ns]),
        None => args.push("--all-namespaces"),
    }
    String::from_utf8_lossy(&cp.kubectl(&args, None).stdout).trim() == "yes"
}

/// A kubeconfig that authenticates as a ServiceAccount with a short-lived token.
fn service_account_kubeconfig(cp: &support::ControlPlane, ns: &str, sa: &str, dir: &Path) -> PathBuf {
    let token = cp.kubectl_ok(&["create", "token", sa, "-n", ns, "--duration=1h"]);
    let admin: Value =
        serde_yaml::from_str(&std::fs::read_to_string(&cp.kubeconfig).expect("kubeconfig")).expect("yaml");
    let config = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "local", "cluster": admin["clusters"][0]["cluster"]}],
        "users": [{"name": sa, "user": {"token": token.trim()}}],
        "contexts": [{"name": "sa", "context": {"cluster": "local", "user": sa}}],
        "current-context": "sa",
    });
    let path = dir.join(format!("{sa}.kubeconfig"));
    std::fs::write(&path, serde_yaml::to_string(&config).expect("yaml")).expect("write kubeconfig");
    path
}

fn assert_least_privilege(cp: &support::ControlPlane) {
    let sa = "system:serviceaccount:dti-system:dti-operator";
    let needed = [
        ("list", "oktaintegrations.dti.dev"),
        ("watch", "oktaintegrations.dti.dev"),
        ("patch", "oktaintegrations.dti.dev"),
        ("patch", "oktaintegrations.dti.dev/status"),
        ("update", "oktaintegrations.dti.dev/finalizers"),
        ("create", "oktaapps.dti.dev"),
        ("patch", "oktaapps.dti.dev"),
        ("patch", "oktaapps.dti.dev/status"),
        ("delete", "oktaapps.dti.dev"),
        ("list", "oktaapps.dti.dev"),
        ("watch", "oktaapps.dti.dev"),
        ("create", "oktasyncstates.dti.dev"),
        ("list", "oktasyncstates.dti.dev"),
        ("get", "secrets"),
        ("watch", "secrets"),
        ("create", "events.events.k8s.io"),
    ];
    for (verb, resource) in needed {
        assert!(can_i(cp, sa, verb, resource, None), "cannot {verb} {resource}");
    }
    assert!(can_i(cp, sa, "create", "leases.coordination.k8s.io", Some("dti-system")));
    assert!(can_i(cp, sa, "update", "leases.coordination.k8s.io/dti-operator", Some("dti-system")));
    // The checkpoint key: made in its own namespace, and that Secret read back; no Secret made elsewhere.
    assert!(can_i(cp, sa, "create", "secrets", Some("dti-system")));
    assert!(can_i(cp, sa, "get", "secrets/dti-operator-checkpoint-key", Some("dti-system")));
    assert!(!can_i(cp, sa, "create", "secrets", Some("default")));
    let refused = [
        ("create", "secrets"),
        ("update", "secrets"),
        ("delete", "secrets"),
        ("patch", "secrets"),
        ("delete", "oktaintegrations.dti.dev"),
        ("create", "oktaintegrations.dti.dev"),
        ("update", "oktaapps.dti.dev"),
        ("deletecollection", "oktaapps.dti.dev"),
        ("get", "pods"),
        ("get", "configmaps"),
        ("create", "deployments.apps"),
        ("update", "customresourcedefinitions.apiextensions.k8s.io"),
        ("create", "clusterrolebindings.rbac.authorization.k8s.io"),
    ];
    for (verb, resource) in refused {
        assert!(!can_i(cp, sa, verb, resource, None), "may {verb} {resource}");
    }
    assert!(!can_i(cp, sa, "update", "leases.coordination.k8s.io/someone-else", Some("dti-system")));
    assert!(!can_i(cp, sa, "create", "leases.coordination.k8s.io", Some("default")));
}

/// A namespace editor manages OktaIntegrations through the aggregated edit role; "view" sees no usage
/// data unless the chart opts in.
async fn assert_aggregated_roles(cp: &support::ControlPlane) {
    cp.kubectl_ok(&["create", "namespace", "team-edit"]);
    cp.kubectl_ok(&["create", "rolebinding", "editors", "--clusterrole=edit", "--user=alice", "-n", "team-edit"]);
    cp.kubectl_ok(&["create", "rolebinding", "viewers", "--clusterrole=view", "--user=bob", "-n", "team-edit"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !can_i(cp, "alice", "create", "oktaintegrations.dti.dev", Some("team-edit")) {
        assert!(Instant::now() < deadline, "the edit role never aggregated the chart's rules");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(can_i(cp, "alice", "list", "oktaapps.dti.dev", Some("team-edit")));
    assert!(!can_i(cp, "alice", "create", "oktaapps.dti.dev", Some("team-edit")), "OktaApps are the operator's");
    assert!(!can_i(cp, "bob", "get", "oktaintegrations.dti.dev", Some("team-edit")), "view is opt-in");
}

fn assert_namespaced_release(cp: &support::ControlPlane, kubeconfig: &Path) {
    for ns in ["team-a", "team-b"] {
        cp.kubectl_ok(&["create", "namespace", ns]);
    }
    let args = [
        "install",
        "dti-operator-ns",
        CHART,
        "--namespace",
        "dti-ns-system",
        "--create-namespace",
        "--set",
        "crds.install=false",
        "--set",
        "rbac.aggregateToEdit=false",
        "--set",
        "watchNamespaces={team-a}",
    ];
    run_helm(&args, Some(kubeconfig));
    let scoped = "system:serviceaccount:dti-ns-system:dti-operator-ns";
    assert!(can_i(cp, scoped, "get", "secrets", Some("team-a")));
    assert!(can_i(cp, scoped, "patch", "oktaintegrations.dti.dev/status", Some("team-a")));
    assert!(can_i(cp, scoped, "create", "oktaapps.dti.dev", Some("team-a")));
    assert!(!can_i(cp, scoped, "get", "secrets", Some("team-b")), "reads Secrets outside its namespaces");
    assert!(!can_i(cp, scoped, "list", "secrets", None), "cluster-wide Secret access");
    assert!(!can_i(cp, scoped, "create", "secrets", Some("team-a")));
    assert!(!can_i(cp, scoped, "list", "oktaintegrations.dti.dev", Some("team-b")));
}

/// Replicas coordinating through Leases in the chart's namespace: `mode` is --leader-elect or --sharding.
fn coordination(mode: &str) -> [&str; 7] {
    [
        mode,
        "--leader-election-namespace",
        "dti-system",
        "--leader-election-lease",
        "dti-operator",
        "--leader-election-duration",
        "6s",
    ]
}

#[tokio::test]
async fn installs_grants_least_privilege_runs_as_its_service_account_and_elects_one_leader() {
    let cp = support::control_plane_bare();
    let kubeconfig = cp.kubeconfig.as_path();
    run_helm(&["install", "dti-operator", CHART, "--namespace", "dti-system", "--create-namespace"], Some(kubeconfig));
    for crd in ["oktaintegrations", "oktaapps", "oktasyncstates"] {
        cp.kubectl_ok(&["wait", "--for=condition=Established", &format!("crd/{crd}.dti.dev"), "--timeout=60s"]);
    }
    assert_least_privilege(cp);
    assert_aggregated_roles(cp).await;
    assert_namespaced_release(cp, kubeconfig);

    // the operator, as the chart's ServiceAccount, against okta-sim: Ready, with its OktaApps
    let client = cp.client().await;
    let ns = cp.namespace(&client, "helm-e2e").await;
    let sim = Sim::start(&["--scale", "small", "--no-rate-limit"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let sa_kubeconfig = service_account_kubeconfig(cp, "dti-system", "dti-operator", dir.path());
    let leader_args = coordination("--leader-elect");
    let mut first = Operator::start_with(&sa_kubeconfig, "helm-replica-1", &leader_args);
    let mut second = Operator::start_with(&sa_kubeconfig, "helm-replica-2", &leader_args);
    create_secret(&client, &ns, "okta", "demo").await;
    let spec = json!({"domain": sim.host_port, "credentials": {"apiToken": {"secretRef": {"name": "okta"}}}});
    apply_integration(&client, &ns, "acme", spec).await;
    let ready =
        wait_for(&client, &ns, "acme", Duration::from_secs(90), "Ready, reconciled as the ServiceAccount", is_ready)
            .await;
    let apps = support::operator::okta_apps(&client, &ns, "acme").await;
    let summary_apps = ready.status.as_ref().and_then(|s| s.summary.as_ref()).map(|s| s.apps).unwrap_or_default();
    assert_eq!(apps.len() as u64, summary_apps, "one OktaApp per app, written with the chart's RBAC");

    // exactly one replica works; the lease names it
    let holder = lease_holder(&client, "dti-system", "dti-operator").await;
    let (r1, r2) = (first.metric("dti_reconcile_total").await, second.metric("dti_reconcile_total").await);
    assert!((r1 > 0.0) != (r2 > 0.0), "exactly one replica reconciles (got {r1} and {r2})");
    let (leader, standby, standby_name) = if r1 > 0.0 {
        (&mut first, &mut second, "helm-replica-2")
    } else {
        (&mut second, &mut first, "helm-replica-1")
    };
    assert!(leader.logs().contains("became the leader") && standby.logs().contains("waiting to become the leader"));
    assert!(!holder.starts_with(&format!("{standby_name}-")), "the lease names the leader: {holder}");

    // kill the leader: the standby takes over within the lease time and works
    leader.kill();
    let killed = Instant::now();
    loop {
        let holder = lease_holder(&client, "dti-system", "dti-operator").await;
        if holder.starts_with(&format!("{standby_name}-")) {
            break;
        }
        assert!(killed.elapsed() < Duration::from_secs(30), "no handover; lease held by {holder}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!("leader handover after {:?}", killed.elapsed());
    request_sync(&client, &ns, "acme", "after-handover", Duration::from_secs(60)).await;
    let api: Api<dti_operator::crd::OktaIntegration> = Api::namespaced(client.clone(), &ns);
    assert!(standby.metric("dti_sync_total").await >= 1.0);
    drop(first);
    drop(second);

    // sharded: the chart grants what --sharding needs (each replica's own Lease, the others listed and
    // swept); two replicas as its ServiceAccount see each other and one of them syncs the integration
    let sets = ["--reuse-values", "--set", "sharding.enabled=true"];
    run_helm(&[&["upgrade", "dti-operator", CHART, "--namespace", "dti-system"][..], &sets].concat(), Some(kubeconfig));
    let shard_args = coordination("--sharding");
    let shards = [
        Operator::start_with(&sa_kubeconfig, "helm-shard-1", &shard_args),
        Operator::start_with(&sa_kubeconfig, "helm-shard-2", &shard_args),
    ];
    let synced = request_sync(&client, &ns, "acme", "sharded", Duration::from_secs(60)).await;
    let owner = synced.status.as_ref().and_then(|s| s.shard.clone()).unwrap_or_default();
    assert!(
        owner.starts_with("helm-shard-1-") || owner.starts_with("helm-shard-2-"),
        "status names the shard: {owner}"
    );
    for shard in &shards {
        let deadline = Instant::now() + Duration::from_secs(20);
        while shard.metric("dti_shard_members").await < 2.0 {
            assert!(Instant::now() < deadline, "each replica sees both: {}", shard.logs());
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    drop(shards);
    // uninstalling keeps the CRDs (and so every OktaIntegration)
    run_helm(&["uninstall", "dti-operator", "--namespace", "dti-system"], Some(kubeconfig));
    for crd in ["oktaintegrations", "oktaapps", "oktasyncstates"] {
        cp.kubectl_ok(&["get", "crd", &format!("{crd}.dti.dev")]);
    }
    assert!(api.get_opt("acme").await.expect("get").is_some());
}

#[test]
fn the_readme_holds_the_current_values_reference() {
    let python = Command::new(support::repo_root().join("scripts/python-env.sh")).output().expect("python env");
    assert!(python.status.success(), "{}", String::from_utf8_lossy(&python.stderr));
    let out = Command::new(String::from_utf8_lossy(&python.stdout).trim())
        .arg(support::repo_root().join("scripts/values-reference.py"))
        .output()
        .expect("values-reference.py");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    let readme = std::fs::read_to_string(support::repo_root().join("README.md")).expect("README.md");
    assert!(
        readme.contains(table.as_ref()),
        "README.md's values reference is stale: regenerate it with scripts/values-reference.py"
    );
}
