//! Breakdowns by profile attribute through `dti-operator sync` against okta-sim: each app's and the org's
//! seats, active users and unused seats per value of department, costCenter and a custom attribute equal
//! okta-sim's truth (small and medium), also after profile changes in the living org read incrementally
//! from the System Log; bad attribute names are refused before any request.

mod support;

use serde_json::{Value, json};
use support::cli::{assert_matches_truth, block, report, start, stderr, sync};

const ATTRIBUTES: &str = "department,costCenter,workLocation";

async fn truth(run: &support::cli::Run) -> Value {
    let url = format!("{}/__sim/truth?window=30d&asOf=demo&breakdown={ATTRIBUTES}", run.sim.base);
    reqwest::get(url).await.expect("truth").json().await.expect("json")
}

fn args(state: &std::path::Path) -> Vec<String> {
    let mut a: Vec<String> = ["--format", "json", "--state"].map(String::from).to_vec();
    a.push(state.to_string_lossy().into_owned());
    for name in ATTRIBUTES.split(',') {
        a.extend(["--breakdown".to_string(), name.to_string()]);
    }
    a
}

/// Every value's rows add up to the app's own numbers (the values partition its users).
fn assert_partitions(r: &Value) {
    for app in r["apps"].as_array().expect("apps") {
        for name in ATTRIBUTES.split(',') {
            let rows = app["breakdown"][name].as_array().expect("rows");
            let sum = |f: &str| rows.iter().map(|v| v[f].as_u64().unwrap_or(0)).sum::<u64>();
            assert_eq!(sum("seats"), app["assignedUsers"].as_u64().unwrap_or(0), "{name}: {}", app["label"]);
            assert_eq!(sum("activeUsers"), app["activeUsers"].as_u64().unwrap_or(0));
            assert_eq!(sum("unusedSeats"), app["unusedSeats"].as_u64().unwrap_or(0));
        }
    }
    let org = &r["summary"]["breakdown"]["department"].as_array().expect("org rows");
    let active: u64 = org.iter().map(|v| v["activeUsers"].as_u64().unwrap_or(0)).sum();
    assert_eq!(active, r["summary"]["activeUsers"].as_u64().unwrap_or(0), "distinct active users add up");
    assert!(org.iter().any(|v| v["value"] == ""), "users without a department count under the empty value");
}

fn equals_truth_then_after_profile_changes(scale: &str) {
    let run = start(&["--scale", scale, "--no-rate-limit"], "demo");
    let state = run.dir.path().join("state");
    let first = report(&sync(&run, &args(&state).iter().map(String::as_str).collect::<Vec<_>>()));
    assert_matches_truth(&first, &block(truth(&run)));
    assert_partitions(&first);
    // Move active seat holders to other values: a department, a cost center, a location unset.
    let top = first["apps"][0]["id"].as_str().expect("an app").to_string();
    block(async {
        let org = run.sim.directory().await;
        let users: Vec<String> = org["users"]
            .as_array()
            .expect("users")
            .iter()
            .take(40)
            .filter_map(|u| u["id"].as_str().map(String::from))
            .collect();
        for (i, user) in users.iter().enumerate() {
            let change = match i % 3 {
                0 => json!({"op": "profile", "user": user, "attribute": "department", "value": "Finance"}),
                1 => json!({"op": "profile", "user": user, "attribute": "costCenter", "value": format!("CC-77{i:02}")}),
                _ => json!({"op": "profile", "user": user, "attribute": "workLocation"}),
            };
            run.sim.change(change).await;
        }
        run.sim.change(json!({"op": "sign-ins", "app": top, "count": 30, "users": 10})).await;
    });
    std::thread::sleep(std::time::Duration::from_secs(4)); // past the log's lag
    let second = sync(&run, &args(&state).iter().map(String::as_str).collect::<Vec<_>>());
    let e = stderr(&second);
    assert!(e.contains("sync: incremental"), "{e}");
    let second = report(&second);
    assert_matches_truth(&second, &block(truth(&run)));
    assert_ne!(first["summary"]["breakdown"], second["summary"]["breakdown"], "the changes moved users");
}

#[test]
fn breakdowns_equal_truth_on_small_also_after_profile_changes() {
    equals_truth_then_after_profile_changes("small");
}

#[test]
fn breakdowns_equal_truth_on_medium_also_after_profile_changes() {
    equals_truth_then_after_profile_changes("medium");
}

#[test]
fn bad_attribute_names_are_refused_before_any_request() {
    let run = start(&["--scale", "small", "--no-rate-limit"], "demo");
    for (extra, why) in [
        (vec!["--breakdown", "profile.department"], "a letter, then letters, digits or _"),
        (vec!["--breakdown", "a", "--breakdown", "b", "--breakdown", "c", "--breakdown", "d"], "at most 3"),
        (vec!["--breakdown", "department", "--breakdown", "department"], "given twice"),
    ] {
        let out = sync(&run, &extra);
        assert!(!out.status.success() && stderr(&out).contains(why), "{extra:?}: {}", stderr(&out));
    }
}

/// Status's copy of a breakdown: the top `n` values and one `other` row summing the rest.
fn top(rows: &[Value], n: usize) -> Vec<Value> {
    let mut kept: Vec<Value> = rows.iter().take(n).cloned().collect();
    if rows.len() > n {
        let sum = |f: &str| rows[n..].iter().map(|r| r[f].as_u64().unwrap_or(0)).sum::<u64>();
        kept.push(json!({"value": format!("({} more)", rows.len() - n), "other": true, "seats": sum("seats"),
            "activeUsers": sum("activeUsers"), "unusedSeats": sum("unusedSeats")}));
    }
    kept
}

fn top_all(breakdown: &Value, n: usize) -> Value {
    let map = breakdown.as_object().expect("a breakdown");
    Value::Object(map.iter().map(|(k, v)| (k.clone(), Value::Array(top(v.as_array().expect("rows"), n)))).collect())
}

mod operator {
    use std::time::Duration;

    use dti_operator::crd::OktaIntegration;
    use serde_json::{Value, json};

    use super::support::operator::{
        Operator, apply_integration, create_secret, is_ready, kubectl_dti_text, okta_apps, request_sync, wait_for,
    };
    use super::support::sim::Sim;
    use super::{ATTRIBUTES, top_all};

    const TIMEOUT: Duration = Duration::from_secs(120);

    async fn truth(sim: &Sim) -> Value {
        let url = format!("{}/__sim/truth?window=30d&asOf=demo&breakdown={ATTRIBUTES}", sim.base);
        reqwest::get(url).await.expect("truth").json().await.expect("json")
    }

    async fn assert_status_equals_truth(client: &kube::Client, ns: &str, obj: &OktaIntegration, sim: &Sim) {
        let truth = truth(sim).await;
        let status = serde_json::to_value(obj.status.as_ref().expect("status")).expect("json");
        assert_eq!(status["summary"]["breakdown"], top_all(&truth["summary"]["breakdown"], 10), "summary: top 10");
        // Each month of the org's history by value: the top 3 and an `other` row, adding up to the month.
        let months = status["summary"]["history"]["months"].as_array().expect("months");
        assert!(months.iter().all(|m| m["breakdown"].as_object().is_some_and(|b| b.len() == 3)), "{months:?}");
        for m in months {
            for (name, rows) in m["breakdown"].as_object().into_iter().flatten() {
                let rows = rows.as_array().expect("rows");
                let sum: u64 = rows.iter().map(|r| r["activeUsers"].as_u64().unwrap_or(0)).sum();
                assert_eq!(sum, m["activeUsers"].as_u64().unwrap_or(0), "{} by {name}", m["month"]);
                assert!(rows.len() <= 4, "top 3 and other: {rows:?}");
            }
        }
        let apps = okta_apps(client, ns, "acme").await;
        for want in truth["apps"].as_array().expect("apps") {
            let id = want["id"].as_str().expect("id");
            let app = apps.get(id).unwrap_or_else(|| panic!("no OktaApp for {id}"));
            let got = serde_json::to_value(app.status.as_ref().expect("status")).expect("json");
            assert_eq!(got["breakdown"], top_all(&want["breakdown"], 20), "breakdown of {id}: top 20");
        }
    }

    #[tokio::test]
    async fn status_and_kubectl_dti_report_by_follow_truth_through_profile_changes() {
        let cp = super::support::control_plane();
        let client = cp.client().await;
        let ns = cp.namespace(&client, "breakdown").await;
        let sim = Sim::start(&["--log-lag", "3s", "--scale", "small", "--no-rate-limit"]);
        let _operator = Operator::start(cp, &ns, &["--app-writes-per-second", "500"]);
        create_secret(&client, &ns, "okta", "demo").await;
        let names: Vec<&str> = ATTRIBUTES.split(',').collect();
        let spec = json!({"domain": sim.host_port, "credentials": {"apiToken": {"secretRef": {"name": "okta"}}},
            "breakdown": {"attributes": names}});
        apply_integration(&client, &ns, "acme", spec).await;
        let obj = wait_for(&client, &ns, "acme", TIMEOUT, "Ready with a breakdown", |o| {
            is_ready(o) && o.status.as_ref().and_then(|s| s.summary.as_ref()).is_some_and(|s| !s.breakdown.is_empty())
        })
        .await;
        assert_status_equals_truth(&client, &ns, &obj, &sim).await;
        // Profile changes in the living org reach status through the System Log.
        let org = sim.directory().await;
        for user in org["users"].as_array().expect("users").iter().take(30).filter_map(|u| u["id"].as_str()) {
            sim.change(json!({"op": "profile", "user": user, "attribute": "department", "value": "Legal"})).await;
        }
        tokio::time::sleep(Duration::from_secs(4)).await; // past the log's lag
        let obj = request_sync(&client, &ns, "acme", "after-profiles", TIMEOUT).await;
        assert_status_equals_truth(&client, &ns, &obj, &sim).await;
        let message =
            obj.status.as_ref().and_then(|s| s.last_sync.as_ref()).and_then(|l| l.message.clone()).unwrap_or_default();
        assert!(message.starts_with("incremental"), "{message}");
        // kubectl dti report --by: the org's values, and one app's, from the cluster.
        let out = kubectl_dti_text(cp.kubeconfig_path(), &["report", "acme", "-n", &ns, "--by", "department"]);
        assert!(out.0, "{}", out.2);
        let legal = obj
            .status
            .as_ref()
            .and_then(|s| s.summary.as_ref())
            .and_then(|s| s.breakdown.get("department"))
            .and_then(|rows| rows.iter().find(|r| r.value == "Legal"))
            .expect("a Legal row")
            .clone();
        let line = out.1.lines().find(|l| l.starts_with("Legal ")).unwrap_or_else(|| panic!("{}", out.1));
        let numbers: Vec<u64> = line.split_whitespace().skip(1).filter_map(|w| w.parse().ok()).collect();
        assert_eq!(numbers, [legal.seats, legal.active_users, legal.unused_seats], "{line}");
        assert!(out.1.contains("(none)"), "users without a department: {}", out.1);
        let out = kubectl_dti_text(cp.kubeconfig_path(), &["report", "acme", "-n", &ns, "--by", "title"]);
        assert!(!out.0 && out.2.contains("there is one by costCenter, department, workLocation"), "{}", out.2);
    }
}
