//! The operations kit, checked by the real tools: the chart's alerts by promtool (`check rules` and unit
//! tests with a fixture per alert), the Grafana dashboard's queries by Prometheus's parser and against the
//! metrics the operator exports, and finally a real Prometheus scraping a running operator, evaluating
//! every rule and every dashboard query against what it scraped.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::operator::{Operator, apply_integration, condition, create_secret, is_ready, wait_for};
use support::sim::Sim;

fn tool(name: &str) -> PathBuf {
    let out = Command::new(support::repo_root().join("scripts/control-plane.sh"))
        .args(["bin", name])
        .output()
        .expect("control-plane.sh bin");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn run(program: &Path, args: &[&str], dir: &Path) -> String {
    let out = Command::new(program).args(args).current_dir(dir).output().expect("run tool");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{} {args:?}:\n{text}", program.display());
    text
}

/// The chart rendered with the opt-in monitoring objects, one document of `kind`.
fn rendered(kind: &str) -> Value {
    let text = run(
        &tool("helm"),
        &[
            "template",
            "dti-operator",
            "charts/dti-operator",
            "--set",
            "prometheusRule.enabled=true",
            "--set",
            "dashboard.enabled=true",
        ],
        &support::repo_root(),
    );
    serde_yaml::Deserializer::from_str(&text)
        .filter_map(|d| serde::Deserialize::deserialize(d).ok())
        .find(|v: &Value| v["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} rendered"))
}

/// The PrometheusRule's groups as a Prometheus rule file in `dir`.
fn write_rules(dir: &Path) -> Vec<Value> {
    let groups = rendered("PrometheusRule")["spec"]["groups"].clone();
    let file = json!({"groups": groups});
    std::fs::write(dir.join("rules.yaml"), serde_yaml::to_string(&file).expect("yaml")).expect("write rules");
    groups.as_array().into_iter().flatten().flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default()).collect()
}

/// Every metric name the operator exports (`dti-operator docs metrics`, read from a real scrape).
fn exported_metrics() -> BTreeSet<String> {
    let out =
        Command::new(env!("CARGO_BIN_EXE_dti-operator")).args(["docs", "metrics"]).output().expect("docs metrics");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("| `")?.split_once('`').map(|(name, _)| name.to_string()))
        .collect()
}

/// The names a query refers to, with histogram suffixes mapped to the histogram.
fn metric_names(query: &str) -> Vec<String> {
    let mut names = Vec::new();
    let bytes = query.as_bytes();
    let mut i = 0;
    while let Some(found) = query[i..].find("dti_") {
        let start = i + found;
        let boundary = start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let end =
            query[start..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(query.len(), |e| start + e);
        if boundary {
            let name = &query[start..end];
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .filter(|b| b.ends_with("_seconds"));
            names.push(base.unwrap_or(name).to_string());
        }
        i = end;
    }
    names
}

/// Grafana's variables replaced as a Prometheus data source would see them.
fn substitute(query: &str) -> String {
    query
        .replace("$__rate_interval", "1m")
        .replace("$__range", "1h")
        .replace("$namespace", ".*")
        .replace("$integration", ".*")
}

fn dashboard() -> Value {
    let path = support::repo_root().join("charts/dti-operator/dashboards/dti-operator.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("dashboard")).expect("dashboard json")
}

/// (panel title, query) for every panel target, and the metric selector of every templating query.
fn dashboard_queries(dash: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for panel in dash["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            out.push((
                panel["title"].as_str().unwrap_or_default().to_string(),
                substitute(target["expr"].as_str().expect("expr")),
            ));
        }
    }
    for var in dash["templating"]["list"].as_array().expect("templating") {
        if let Some(q) = var["query"]["query"].as_str() {
            let selector = q
                .trim_start_matches("label_values(")
                .rsplit_once(',')
                .map(|(s, _)| s)
                .expect("label_values(selector, label)");
            out.push((format!("variable {}", var["name"]), substitute(selector)));
        }
    }
    out
}

#[test]
fn alerts_pass_promtool_and_every_alert_has_a_firing_fixture() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = write_rules(dir.path());
    let fixture = support::repo_root().join("tests/fixtures/alerts_test.yaml");
    std::fs::copy(&fixture, dir.path().join("alerts_test.yaml")).expect("copy fixture");
    let promtool = tool("promtool");
    let checked = run(&promtool, &["check", "rules", "rules.yaml"], dir.path());
    assert!(checked.contains(&format!("SUCCESS: {} rules found", rules.len())), "{checked}");
    let tested = run(&promtool, &["test", "rules", "alerts_test.yaml"], dir.path());
    assert!(tested.contains("SUCCESS"), "{tested}");
    // each alert has a test in which it fires (a non-empty exp_alerts)
    let tests: Value =
        serde_yaml::from_str(&std::fs::read_to_string(&fixture).expect("fixture")).expect("fixture yaml");
    let firing: BTreeSet<String> = tests["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .flat_map(|t| t["alert_rule_test"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["exp_alerts"].as_array().is_some_and(|e| !e.is_empty()))
        .filter_map(|a| a["alertname"].as_str().map(String::from))
        .collect();
    let exported = exported_metrics();
    for rule in &rules {
        let name = rule["alert"].as_str().expect("alert name");
        assert!(firing.contains(name), "{name} has no fixture that fires it");
        for metric in metric_names(rule["expr"].as_str().expect("expr")) {
            assert!(exported.contains(&metric), "{name} uses {metric}, which the operator does not export");
        }
    }
}

#[test]
fn dashboard_queries_parse_and_name_only_exported_metrics() {
    let dash = dashboard();
    let queries = dashboard_queries(&dash);
    assert!(queries.len() >= 20, "{} queries", queries.len());
    let exported = exported_metrics();
    for (title, query) in &queries {
        let names = metric_names(query);
        assert!(!names.is_empty(), "{title}: {query} names no operator metric");
        for name in names {
            assert!(exported.contains(&name), "{title}: {name} is not exported by the operator");
        }
    }
    // Prometheus's own parser: every query as a recording rule, checked by promtool
    let rules: Vec<Value> = queries
        .iter()
        .enumerate()
        .map(|(i, (_, q))| json!({"record": format!("dashboard:query_{i}"), "expr": q}))
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = json!({"groups": [{"name": "dashboard", "rules": rules}]});
    std::fs::write(dir.path().join("dashboard.yaml"), serde_yaml::to_string(&file).expect("yaml")).expect("write");
    let checked = run(&tool("promtool"), &["check", "rules", "dashboard.yaml"], dir.path());
    assert!(checked.contains(&format!("SUCCESS: {} rules found", queries.len())), "{checked}");
    // the chart ships this very dashboard
    let configmap = rendered("ConfigMap");
    assert_eq!(configmap["metadata"]["labels"]["grafana_dashboard"], "1");
    let shipped: Value =
        serde_json::from_str(configmap["data"]["dti-operator.json"].as_str().expect("json")).expect("dashboard");
    assert_eq!(shipped, dash);
    let titles: Vec<&str> =
        dash["panels"].as_array().expect("panels").iter().filter_map(|p| p["title"].as_str()).collect();
    for needed in [
        "Used and unused apps",
        "Unused seats over time",
        "Top apps by active users",
        "Sync duration (p50, p90)",
        "Sync outcomes",
        "Okta requests by status",
        "Rate-limit waits",
        "Rate-limit budget left",
    ] {
        assert!(titles.contains(&needed), "no panel {needed:?}");
    }
}

struct Prometheus {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real Prometheus scraping `target` every second and evaluating the chart's rules every second.
fn start_prometheus(target: &str) -> Prometheus {
    let dir = tempfile::tempdir().expect("tempdir");
    write_rules(dir.path());
    let config = json!({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["rules.yaml"],
        "scrape_configs": [{"job_name": "dti-operator", "static_configs": [{"targets": [target]}]}],
    });
    std::fs::write(dir.path().join("prometheus.yml"), serde_yaml::to_string(&config).expect("yaml")).expect("config");
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let child = Command::new(tool("prometheus"))
        .args([
            "--config.file=prometheus.yml",
            "--storage.tsdb.path=data",
            &format!("--web.listen-address=127.0.0.1:{port}"),
        ])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("prometheus.log")).expect("log"))
        .spawn()
        .expect("start prometheus");
    Prometheus { child, url: format!("http://127.0.0.1:{port}"), _dir: dir }
}

impl Prometheus {
    async fn api(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let answer = reqwest::Client::new().get(format!("{}{path}", self.url)).query(query).send().await;
            // until its TSDB is open Prometheus answers 503 "Service Unavailable" in plain text
            let ready = answer.ok().filter(|a| a.status() != reqwest::StatusCode::SERVICE_UNAVAILABLE);
            if let Some(a) = ready {
                let text = a.text().await.expect("prometheus body");
                let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
                assert_eq!(body["status"], "success", "{path} {query:?}: {body}");
                return body["data"].clone();
            }
            assert!(Instant::now() < deadline, "prometheus did not answer");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    async fn query(&self, q: &str) -> Vec<Value> {
        self.api("/api/v1/query", &[("query", q)]).await["result"].as_array().cloned().unwrap_or_default()
    }
}

#[tokio::test]
async fn prometheus_scrapes_the_operator_and_every_rule_and_dashboard_query_gets_results() {
    let cp = support::control_plane();
    let client = cp.client().await;
    let ns = cp.namespace(&client, "prom").await;
    // a rate-limited org (waits and a 429), and three integrations: fine, revoked token, no System Log
    let sim = Sim::start(&[
        "--scale",
        "small",
        "--time-scale",
        "10",
        "--rate-limit",
        "apps=20",
        "--fault",
        "429:nth=3,path=/api/v1/logs",
        "--token",
        "demo=all",
        "--token",
        "nologs=users,apps",
    ]);
    let operator = Operator::start(cp, &ns, &[]);
    for (name, token) in [("acme", "demo"), ("revoked", "not-a-token"), ("nologs", "nologs")] {
        create_secret(&client, &ns, name, token).await;
        let spec = json!({"domain": sim.host_port, "credentials": {"apiToken": {"secretRef": {"name": name}}}});
        apply_integration(&client, &ns, name, spec).await;
    }
    wait_for(&client, &ns, "acme", Duration::from_secs(180), "Ready", is_ready).await;
    // A contract on acme's first app, so the spend panels and the contract alert have series.
    let apps = support::operator::okta_apps(&client, &ns, "acme").await;
    let app_id = apps.keys().next().expect("an app").clone();
    let contract: dti_operator::crd::AppContract = serde_json::from_value(json!({"apiVersion": "dti.dev/v1alpha1",
        "kind": "AppContract", "metadata": {"name": "first"}, "spec": {"integration": "acme", "app": {"id": app_id},
        "seats": 1000, "price": {"amount": "9.99", "currency": "USD", "per": "month"}, "renewal": "2027-01-01"}}))
    .expect("contract");
    kube::Api::<dti_operator::crd::AppContract>::namespaced(client.clone(), &ns)
        .create(&Default::default(), &contract)
        .await
        .expect("create a contract");
    for (name, reason) in [("revoked", "InvalidToken"), ("nologs", "PermissionDenied")] {
        wait_for(&client, &ns, name, Duration::from_secs(60), reason, |o| {
            condition(o, "AccessValidated").is_some_and(|c| c.1 == reason)
        })
        .await;
    }
    let prometheus = start_prometheus(operator.metrics.trim_start_matches("http://"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while prometheus.query("up{job=\"dti-operator\"} == 1").await.is_empty()
        || prometheus.query("dti_leader").await.is_empty()
    {
        assert!(Instant::now() < deadline, "prometheus never scraped the operator");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // a 429 while Prometheus watches, so increase() sees the (already exported) logs-bucket 429 counter move
    let fault = json!(["429:nth=1,path=/api/v1/logs"]);
    reqwest::Client::new().put(format!("{}/__sim/faults", sim.base)).json(&fault).send().await.expect("faults");
    tokio::time::sleep(Duration::from_secs(3)).await;
    support::operator::request_sync(&client, &ns, "acme", "while-scraped", Duration::from_secs(120)).await;
    tokio::time::sleep(Duration::from_secs(5)).await; // a few samples, so rates have two points

    // every rule evaluates cleanly; the failing integrations show in the alerts' expressions
    let groups = prometheus.api("/api/v1/rules", &[]).await["groups"].clone();
    let rules: Vec<Value> = groups
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(rules.len(), 7);
    for rule in &rules {
        assert_eq!(rule["health"], "ok", "{}: {}", rule["name"], rule["lastError"]);
    }
    let expr = |name: &str| {
        rules.iter().find(|r| r["name"] == name).and_then(|r| r["query"].as_str()).expect("rule").to_string()
    };
    let names_in = |result: Vec<Value>| {
        result.iter().filter_map(|r| r["metric"]["name"].as_str().map(String::from)).collect::<BTreeSet<_>>()
    };
    assert_eq!(
        names_in(prometheus.query(&expr("DtiIntegrationNotReady")).await),
        ["nologs".to_string(), "revoked".into()].into()
    );
    assert_eq!(names_in(prometheus.query(&expr("DtiOktaCredentialsInvalid")).await), ["revoked".to_string()].into());
    assert_eq!(names_in(prometheus.query(&expr("DtiOktaPermissionMissing")).await), ["nologs".to_string()].into());
    assert!(!prometheus.query(&expr("DtiOktaRateLimited")).await.is_empty(), "the 429 shows");
    for quiet in ["DtiIntegrationSyncStale", "DtiOperatorNoLeader"] {
        assert!(prometheus.query(&expr(quiet)).await.is_empty(), "{quiet} matches a healthy operator");
    }

    // every dashboard query gets data, but the one that only shows reconcile failures (none happened)
    let failure_only = ["Reconcile errors by cause"];
    for (title, query) in dashboard_queries(&dashboard()) {
        let result = prometheus.query(&query).await;
        if failure_only.contains(&title.as_str()) {
            assert!(prometheus.query("dti_reconcile_errors_total").await.is_empty() || !result.is_empty(), "{title}");
            continue;
        }
        assert!(!result.is_empty(), "{title}: {query} has no data");
    }
}
