//! Usage history kept by the operator on a real API server over 14 months of simulated time: okta-sim's
//! movable clock and living org, the operator on a clock file (`run --test-clock-file`), a sync a week and
//! after each month's end, and in month 7 the operator killed, every checkpoint part deleted and the
//! operator started again: the closed months and weeks come back from status, the open ones from the
//! System Log, and at the end every closed month and week in OktaIntegration and OktaApp status equals
//! okta-sim's truth.

mod support;

use std::time::Duration;

use dti_operator::crd::{OktaIntegration, OktaSyncState};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use serde_json::json;
use support::history::{ClosingSeats, DAY_S, advance, compare, month_of, seats_now, truth};
use support::operator::{Operator, apply_integration, create_secret, events, is_ready, okta_apps, wait_for};
use support::sim::Sim;

const TIMEOUT: Duration = Duration::from_secs(120);

async fn sync_now(client: &kube::Client, ns: &str, n: i64) -> OktaIntegration {
    let value = format!("day-{n}");
    let api: Api<OktaIntegration> = Api::namespaced(client.clone(), ns);
    let patch = json!({"metadata": {"annotations": {"dti.dev/sync-requested-at": value}}});
    api.patch("acme", &PatchParams::default(), &Patch::Merge(&patch)).await.expect("annotate");
    wait_for(client, ns, "acme", TIMEOUT, "the requested sync", |o| {
        o.status.as_ref().and_then(|s| s.last_handled_sync_request.as_deref()) == Some(value.as_str()) && is_ready(o)
    })
    .await
}

#[tokio::test]
async fn history_survives_a_restart_with_the_checkpoint_deleted_and_equals_the_truth_on_small() {
    fourteen_months("small", 60).await;
}

#[tokio::test]
async fn history_survives_a_restart_with_the_checkpoint_deleted_and_equals_the_truth_on_medium() {
    fourteen_months("medium", 400).await;
}

async fn fourteen_months(scale: &str, sign_ins_per_day: u64) {
    let cp = support::control_plane();
    let client = cp.client().await;
    let ns = cp.namespace(&client, &format!("history-{scale}")).await;
    let sim = Sim::start(&["--log-lag", "3s", "--scale", scale, "--no-rate-limit", "--movable-clock"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = dir.path().join("now");
    let mut now = advance(&sim, &clock, 60).await;
    let clock_arg = clock.to_str().expect("utf-8");
    let mut operator = Operator::start(cp, &ns, &["--test-clock-file", clock_arg, "--app-writes-per-second", "500"]);
    create_secret(&client, &ns, "okta", "demo").await;
    let spec = json!({"domain": sim.host_port, "credentials": {"apiToken": {"secretRef": {"name": "okta"}}},
        "syncInterval": "24h", "assignmentsRefreshInterval": "168h", "history": {"months": 25, "weeks": 104}});
    apply_integration(&client, &ns, "acme", spec).await;
    wait_for(&client, &ns, "acme", TIMEOUT, "Ready", is_ready).await;
    let started = std::time::Instant::now();
    let mut seats = ClosingSeats::default();
    sync_now(&client, &ns, 0).await;
    for day in 1..=425i64 {
        let before = now.clone();
        now = advance(&sim, &clock, DAY_S).await;
        let month_ended = month_of(&before) != month_of(&now);
        if month_ended {
            seats.record(&month_of(&before), seats_now(&sim).await);
        }
        if day == 200 {
            operator.kill();
            let parts: Api<OktaSyncState> = Api::namespaced(client.clone(), &ns);
            let listed = parts.list(&ListParams::default()).await.expect("list checkpoints");
            assert!(!listed.items.is_empty(), "a checkpoint to delete");
            for part in listed.items {
                parts.delete(&part.name_any(), &DeleteParams::default()).await.expect("delete a checkpoint part");
            }
            operator.restart();
        }
        if month_ended || day % 7 == 0 || day == 200 {
            sync_now(&client, &ns, day).await;
        }
        let burst = json!({"changes": 3, "signIns": sign_ins_per_day, "seed": day * 1000});
        sim.control(reqwest::Method::POST, "/__sim/churn", burst).await;
    }
    let restored = events(&client, &ns, "acme").await;
    assert!(restored.iter().any(|e| e.1 == "HistoryRestored"), "no HistoryRestored event: {restored:?}");
    advance(&sim, &clock, 2 * 3600).await;
    let obj = sync_now(&client, &ns, 9999).await;
    let truth = truth(&sim, "30d").await;
    let status = serde_json::to_value(obj.status.as_ref().expect("status")).expect("json");
    let org = &status["summary"]["history"];
    let mut compared = compare("org", org, &truth["summary"]["history"], seats.0.get("org"));
    assert!(org["months"].as_array().map_or(0, Vec::len) >= 14, "{org}");
    let apps = okta_apps(&client, &ns, "acme").await;
    for want in truth["apps"].as_array().into_iter().flatten() {
        let id = want["id"].as_str().unwrap_or_default();
        let app = apps.get(id).unwrap_or_else(|| panic!("no OktaApp for {id}"));
        let got = serde_json::to_value(&app.status.as_ref().expect("status").history).expect("json");
        compared += compare(id, &got, &want["history"], seats.0.get(id));
    }
    eprintln!("operator, {scale}: {compared} closed months and weeks equal to the truth, in {:?}", started.elapsed());
    assert!(compared > 14 + 60, "{compared}");
    the_report_shows_it(cp.kubeconfig_path(), &ns, org).await;
}

fn report(kubeconfig: &std::path::Path, ns: &str, extra: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dti-operator"))
        .args(["report", "acme", "-n", ns])
        .args(extra)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .expect("dti-operator report");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `report --history` from the cluster: the same months as status, a table with sparklines and changes,
/// and CSV with one row per app and month.
async fn the_report_shows_it(kubeconfig: &std::path::Path, ns: &str, org: &serde_json::Value) {
    let json: serde_json::Value = serde_json::from_str(&report(kubeconfig, ns, &["--format", "json"])).expect("json");
    // status leaves out what is unknown; the JSON contract says null
    let known = |v: &serde_json::Value| {
        let mut v = v.clone();
        for m in v["months"].as_array_mut().into_iter().flatten() {
            if m["seats"].is_null() {
                m.as_object_mut().map(|o| o.remove("seats"));
            }
        }
        v
    };
    assert_eq!(known(&json["summary"]["history"]), known(org), "the report's history is status's");
    assert!(json["summary"]["history"]["months"].as_array().into_iter().flatten().all(|m| m.get("seats").is_some()));
    let table = report(kubeconfig, ns, &["--history"]);
    let newest = org["months"][1]["month"].as_str().unwrap_or_default();
    assert!(table.contains(newest) && table.contains('%') && table.contains('█'), "{table}");
    let csv = report(kubeconfig, ns, &["--history", "--format", "csv"]);
    let apps = json["apps"].as_array().map_or(0, Vec::len);
    let months = org["months"].as_array().map_or(0, Vec::len);
    assert!(csv.lines().count() > apps * 10 + months, "one row per app and month:\n{csv}");
    let label = json["apps"][0]["label"].as_str().unwrap_or_default().to_string();
    let one = report(kubeconfig, ns, &["--history", "--app", &label]);
    assert!(one.contains(&label) && one.contains("MONTH"), "{one}");
}
