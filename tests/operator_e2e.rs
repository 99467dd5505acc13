//! The operator end to end on a real kube-apiserver + etcd, against okta-sim: each test has its own
//! namespace, its own okta-sim and its own operator process watching that namespace.

mod support;

use std::time::Duration;

use dti_operator::crd::OktaIntegration;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::{Value, json};
use support::operator::{
    Operator, apply_integration, condition, create_secret, events, is_ready, set_secret, wait_for,
};
use support::sim::Sim;

const READY_TIMEOUT: Duration = Duration::from_secs(90);

struct Env {
    client: Client,
    ns: String,
    sim: Sim,
    truth: Value,
    operator: Operator,
}

async fn env(prefix: &str, sim_args: &[&str], operator_args: &[&str]) -> Env {
    let cp = support::control_plane();
    let client = cp.client().await;
    let ns = cp.namespace(&client, prefix).await;
    let dir = std::env::temp_dir().join(format!("dti-truth-{ns}.json"));
    let mut args = sim_args.to_vec();
    let truth_arg = dir.to_str().expect("utf-8").to_string();
    args.extend(["--truth", &truth_arg]);
    let sim = Sim::start(&args);
    let truth =
        serde_json::from_str(&std::fs::read_to_string(&dir).expect("truth")).expect("truth json");
    let operator = Operator::start(cp, &ns, operator_args);
    Env {
        client,
        ns,
        sim,
        truth,
        operator,
    }
}

fn spec(env: &Env, extra: Value) -> Value {
    let mut spec = json!({"domain": env.sim.host_port, "credentials": {"apiToken": {"secretRef": {"name": "okta"}}}, "maxAppsInStatus": 500});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            s.insert(k.clone(), v.clone());
        }
    }
    spec
}

/// The usual start: the token's Secret, an integration on okta-sim, and Ready.
async fn ready_integration(env: &Env) -> OktaIntegration {
    create_secret(&env.client, &env.ns, "okta", "demo").await;
    apply_integration(&env.client, &env.ns, "acme", spec(env, json!({}))).await;
    wait_for(
        &env.client,
        &env.ns,
        "acme",
        READY_TIMEOUT,
        "Ready",
        is_ready,
    )
    .await
}

/// Waits until condition `type_` has `reason`.
async fn wait_condition(env: &Env, type_: &str, reason: &str) -> OktaIntegration {
    wait_for(&env.client, &env.ns, "acme", READY_TIMEOUT, reason, |o| {
        condition(o, type_).is_some_and(|c| c.1 == reason)
    })
    .await
}

fn status_json(obj: &OktaIntegration) -> Value {
    serde_json::to_value(obj.status.as_ref().expect("status")).expect("json")
}

/// Status apps and summary against okta-sim's truth (timestamps compared as instants).
fn assert_status_matches_truth(obj: &OktaIntegration, truth: &Value) {
    let status = status_json(obj);
    assert_eq!(status["summary"], truth["summary"], "summary");
    let norm = |apps: &Value| -> Vec<Value> {
        apps.as_array()
            .expect("apps")
            .iter()
            .map(|a| {
                let mut a = a.clone();
                if let Some(t) = a["lastUsed"].as_str() {
                    a["lastUsed"] = json!(
                        chrono::DateTime::parse_from_rfc3339(t)
                            .expect("time")
                            .timestamp_millis()
                    );
                }
                a
            })
            .collect()
    };
    assert_eq!(norm(&status["apps"]), norm(&truth["apps"]), "apps");
}

#[tokio::test]
async fn an_integration_becomes_ready_with_status_equal_to_the_truth() {
    let env = env("ready", &["--scale", "small", "--no-rate-limit"], &[]).await;
    let obj = ready_integration(&env).await;
    assert_status_matches_truth(&obj, &env.truth);
    let status = obj.status.as_ref().expect("status");
    assert_eq!(status.apps_truncated, Some(false));
    assert_eq!(
        condition(&obj, "AccessValidated").map(|c| c.1),
        Some("Valid".into())
    );
    assert_eq!(
        condition(&obj, "Synced").map(|c| c.1),
        Some("Succeeded".into())
    );
    assert!(condition(&obj, "Reconciling").is_none() && condition(&obj, "Stalled").is_none());
    let last = status.last_sync.as_ref().expect("lastSync");
    assert!(last.api_requests > 0 && last.events_scanned > 0 && last.users_scanned > 0);
    assert!(status.next_sync_at.is_some());
    assert!(
        obj.metadata
            .finalizers
            .as_ref()
            .is_some_and(|f| f.iter().any(|f| f == "dti.dev/cleanup"))
    );
    let reasons: Vec<String> = events(&env.client, &env.ns, "acme")
        .await
        .into_iter()
        .map(|e| e.1)
        .collect();
    assert!(
        reasons.contains(&"AccessValidated".into()) && reasons.contains(&"SyncSucceeded".into()),
        "{reasons:?}"
    );

    // idle resyncs write nothing: poke the object (a label) and let the operator reconcile it a few times
    let writes = env.operator.metric("dti_status_writes_total").await;
    let api: Api<OktaIntegration> = Api::namespaced(env.client.clone(), &env.ns);
    for i in 0..3 {
        let patch = json!({"metadata": {"labels": {"poke": i.to_string()}}});
        api.patch("acme", &PatchParams::default(), &Patch::Merge(patch))
            .await
            .expect("label");
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    assert!(env.operator.metric("dti_reconcile_total").await >= 4.0);
    assert_eq!(
        env.operator.metric("dti_status_writes_total").await,
        writes,
        "an idle resync wrote status"
    );
    // metrics: per-integration gauges
    assert_eq!(env.operator.metric("dti_integration_apps{").await, 25.0);
}

#[tokio::test]
async fn a_bad_token_is_invalid_token_with_a_warning_event_and_a_rotated_token_recovers() {
    let env = env("badtoken", &["--scale", "small", "--no-rate-limit"], &[]).await;
    create_secret(&env.client, &env.ns, "okta", "not-a-token").await;
    apply_integration(&env.client, &env.ns, "acme", spec(&env, json!({}))).await;
    let obj = wait_for(
        &env.client,
        &env.ns,
        "acme",
        READY_TIMEOUT,
        "InvalidToken",
        |o| {
            condition(o, "AccessValidated").is_some_and(|c| c.0 == "False" && c.1 == "InvalidToken")
        },
    )
    .await;
    assert_eq!(condition(&obj, "Ready").map(|c| c.0), Some("False".into()));
    assert_eq!(
        condition(&obj, "Stalled").map(|c| (c.0, c.1)),
        Some(("True".into(), "InvalidToken".into()))
    );
    let message = condition(&obj, "AccessValidated").expect("condition").2;
    assert!(
        message.contains("E0000011") && !message.contains("not-a-token"),
        "{message}"
    );
    let evs = events(&env.client, &env.ns, "acme").await;
    assert!(
        evs.iter()
            .any(|e| e.0 == "Warning" && e.1 == "InvalidToken"),
        "{evs:?}"
    );
    // rotating the token re-validates at once
    set_secret(&env.client, &env.ns, "okta", "demo").await;
    let obj = wait_for(
        &env.client,
        &env.ns,
        "acme",
        READY_TIMEOUT,
        "Ready after rotation",
        is_ready,
    )
    .await;
    assert!(condition(&obj, "Stalled").is_none());
    assert!(
        !env.operator.logs().contains("not-a-token"),
        "the token appears in the operator's logs"
    );
}

#[tokio::test]
async fn a_token_without_system_log_access_is_permission_denied_naming_it() {
    let env = env(
        "nologs",
        &[
            "--scale",
            "small",
            "--no-rate-limit",
            "--token",
            "nologs=users,apps",
        ],
        &[],
    )
    .await;
    create_secret(&env.client, &env.ns, "okta", "nologs").await;
    apply_integration(&env.client, &env.ns, "acme", spec(&env, json!({}))).await;
    let obj = wait_condition(&env, "AccessValidated", "PermissionDenied").await;
    let message = condition(&obj, "AccessValidated").expect("condition").2;
    assert!(message.contains("View System Log"), "{message}");
    let access = obj
        .status
        .as_ref()
        .and_then(|s| s.access.clone())
        .expect("access");
    assert_eq!(
        serde_json::to_value(&access).expect("json"),
        json!({"users": "Granted", "applications": "Granted", "systemLog": "Denied"})
    );
    let evs = events(&env.client, &env.ns, "acme").await;
    assert!(
        evs.iter()
            .any(|e| e.0 == "Warning" && e.1 == "AccessDenied" && e.2.contains("View System Log")),
        "{evs:?}"
    );
}

#[tokio::test]
async fn a_secret_created_after_the_integration_recovers_by_itself() {
    let env = env("latesecret", &["--scale", "small", "--no-rate-limit"], &[]).await;
    apply_integration(&env.client, &env.ns, "acme", spec(&env, json!({}))).await;
    let obj = wait_condition(&env, "AccessValidated", "SecretNotFound").await;
    assert!(
        condition(&obj, "AccessValidated")
            .expect("c")
            .2
            .contains("kubectl create secret generic okta")
    );
    create_secret(&env.client, &env.ns, "okta", "demo").await;
    wait_for(
        &env.client,
        &env.ns,
        "acme",
        Duration::from_secs(30),
        "Ready once the Secret exists",
        is_ready,
    )
    .await;
}

#[tokio::test]
async fn a_secret_without_the_key_says_which_keys_it_has() {
    let env = env("nokey", &["--scale", "small", "--no-rate-limit"], &[]).await;
    create_secret(&env.client, &env.ns, "okta", "demo").await;
    apply_integration(&env.client, &env.ns, "acme", spec(&env, json!({"credentials": {"apiToken": {"secretRef": {"name": "okta", "key": "api-token"}}}}))).await;
    let obj = wait_condition(&env, "AccessValidated", "SecretKeyMissing").await;
    assert!(
        condition(&obj, "AccessValidated")
            .expect("c")
            .2
            .contains("it has: token")
    );
}

#[tokio::test]
async fn suspend_stops_syncs_and_the_annotation_runs_exactly_one() {
    let env = env("suspend", &["--scale", "small", "--no-rate-limit"], &[]).await;
    create_secret(&env.client, &env.ns, "okta", "demo").await;
    apply_integration(
        &env.client,
        &env.ns,
        "acme",
        spec(&env, json!({"suspend": true})),
    )
    .await;
    let obj = wait_condition(&env, "Synced", "Suspended").await;
    assert_eq!(
        condition(&obj, "AccessValidated").map(|c| c.0),
        Some("True".into()),
        "access is still validated"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        env.operator.metric("dti_sync_total").await,
        0.0,
        "no sync while suspended"
    );

    // resume: one sync; then the annotation: exactly one more
    apply_integration(
        &env.client,
        &env.ns,
        "acme",
        spec(&env, json!({"suspend": false})),
    )
    .await;
    wait_for(
        &env.client,
        &env.ns,
        "acme",
        READY_TIMEOUT,
        "Ready",
        is_ready,
    )
    .await;
    assert_eq!(env.operator.metric("dti_sync_total").await, 1.0);
    let api: Api<OktaIntegration> = Api::namespaced(env.client.clone(), &env.ns);
    let patch =
        json!({"metadata": {"annotations": {"dti.dev/sync-requested-at": "2026-11-28T12:00:00Z"}}});
    api.patch("acme", &PatchParams::default(), &Patch::Merge(patch))
        .await
        .expect("annotate");
    wait_for(
        &env.client,
        &env.ns,
        "acme",
        READY_TIMEOUT,
        "the requested sync",
        |o| {
            o.status
                .as_ref()
                .and_then(|s| s.last_handled_sync_request.as_deref())
                == Some("2026-11-28T12:00:00Z")
                && is_ready(o)
                && condition(o, "Synced").is_some_and(|c| c.1 == "Succeeded")
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        env.operator.metric("dti_sync_total").await,
        2.0,
        "exactly one extra sync"
    );
}

#[tokio::test]
async fn new_events_between_syncs_move_the_counts_by_exactly_those_events() {
    let env = env("incremental", &["--scale", "small", "--no-rate-limit"], &[]).await;
    let before = ready_integration(&env).await;
    let before_status = status_json(&before);
    let app = env.truth["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .find(|a| a["label"] == "Figma")
        .expect("Figma")
        .clone();
    let added = env
        .sim
        .control(
            reqwest::Method::POST,
            "/__sim/events",
            json!({"app": app["id"], "count": 7, "users": 3}),
        )
        .await;
    assert_eq!(added["appended"], 7);
    let api: Api<OktaIntegration> = Api::namespaced(env.client.clone(), &env.ns);
    let patch = json!({"metadata": {"annotations": {"dti.dev/sync-requested-at": "now-1"}}});
    api.patch("acme", &PatchParams::default(), &Patch::Merge(patch))
        .await
        .expect("annotate");
    let after = wait_for(
        &env.client,
        &env.ns,
        "acme",
        READY_TIMEOUT,
        "the second sync",
        |o| {
            o.status
                .as_ref()
                .and_then(|s| s.last_handled_sync_request.as_deref())
                == Some("now-1")
                && o.status
                    .as_ref()
                    .and_then(|s| s.last_sync.as_ref())
                    .is_some_and(|l| {
                        l.message
                            .as_deref()
                            .is_some_and(|m| m.starts_with("incremental"))
                    })
                && condition(o, "Synced").is_some_and(|c| c.1 == "Succeeded")
        },
    )
    .await;
    let after_status = status_json(&after);
    assert_eq!(
        after_status["lastSync"]["eventsScanned"], 7,
        "the incremental sync read only the new events"
    );
    assert_eq!(
        after_status["summary"]["ssoEvents"].as_u64(),
        before_status["summary"]["ssoEvents"]
            .as_u64()
            .map(|n| n + 7)
    );
    let find = |s: &Value| {
        s["apps"]
            .as_array()
            .expect("apps")
            .iter()
            .find(|a| a["id"] == app["id"])
            .cloned()
            .expect("app")
    };
    let (b, a) = (find(&before_status), find(&after_status));
    assert_eq!(
        a["ssoEvents"].as_u64(),
        b["ssoEvents"].as_u64().map(|n| n + 7)
    );
    assert!(
        a["activeUsers"].as_u64() >= b["activeUsers"].as_u64()
            && a["activeUsers"].as_u64() <= b["activeUsers"].as_u64().map(|n| n + 3)
    );
    assert!(a["lastUsed"].as_str() > b["lastUsed"].as_str());
    // and equal to what okta-sim now computes from its generator
    let truth = env
        .sim
        .get("/__sim/truth?window=30d", "demo")
        .await
        .json::<Value>()
        .await
        .expect("truth");
    assert_eq!(after_status["summary"], truth["summary"]);
}

#[tokio::test]
async fn deleting_releases_the_finalizer_and_cancels_the_sync() {
    // System Log pages take 2 s each: the first sync is still running when the object is deleted
    let env = env(
        "delete",
        &[
            "--scale",
            "small",
            "--no-rate-limit",
            "--fault",
            "latency:path=/api/v1/logs,ms=2000",
        ],
        &[],
    )
    .await;
    create_secret(&env.client, &env.ns, "okta", "demo").await;
    apply_integration(&env.client, &env.ns, "acme", spec(&env, json!({}))).await;
    wait_for(
        &env.client,
        &env.ns,
        "acme",
        READY_TIMEOUT,
        "a running sync",
        |o| {
            condition(o, "Synced").is_some_and(|c| c.1 == "InProgress")
                && o.status
                    .as_ref()
                    .and_then(|s| s.last_sync.as_ref())
                    .is_some()
        },
    )
    .await;
    let api: Api<OktaIntegration> = Api::namespaced(env.client.clone(), &env.ns);
    api.delete("acme", &DeleteParams::default())
        .await
        .expect("delete");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while api.get_opt("acme").await.expect("get").is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "finalizer not released"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let logs_served = |stats: &Value| stats["buckets"]["logs"]["requests"].as_u64().unwrap_or(0);
    let first = logs_served(
        &env.sim
            .get("/__sim/stats", "demo")
            .await
            .json::<Value>()
            .await
            .expect("stats"),
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    let later = logs_served(
        &env.sim
            .get("/__sim/stats", "demo")
            .await
            .json::<Value>()
            .await
            .expect("stats"),
    );
    assert!(
        later <= first + 1,
        "the sync kept reading after deletion ({first} -> {later})"
    );
    assert_eq!(
        env.operator.metric("dti_sync_total").await,
        0.0,
        "the sync never completed"
    );
}

#[tokio::test]
async fn integrations_on_one_domain_share_a_rate_budget_without_a_429_storm() {
    // Okta's default limits on a 3 s minute; 50 integrations, one token, one org
    let env = env(
        "fifty",
        &["--scale", "small", "--apps", "5", "--time-scale", "20"],
        &["--max-concurrent-syncs", "8"],
    )
    .await;
    create_secret(&env.client, &env.ns, "okta", "demo").await;
    for i in 0..50 {
        apply_integration(
            &env.client,
            &env.ns,
            &format!("org-{i:02}"),
            spec(&env, json!({})),
        )
        .await;
    }
    for i in 0..50 {
        wait_for(
            &env.client,
            &env.ns,
            &format!("org-{i:02}"),
            Duration::from_secs(240),
            "Ready",
            is_ready,
        )
        .await;
    }
    let stats: Value = env
        .sim
        .get("/__sim/stats", "demo")
        .await
        .json()
        .await
        .expect("stats");
    let total = stats["requests"].as_u64().unwrap_or(0);
    let limited: u64 = stats["buckets"]
        .as_object()
        .expect("buckets")
        .values()
        .map(|b| b["status"]["429"].as_u64().unwrap_or(0))
        .sum();
    eprintln!("50 integrations: {total} requests, {limited} answered 429: {stats}");
    assert!(
        limited * 50 <= total,
        "{limited} of {total} requests were rate limited"
    );
}

#[tokio::test]
async fn the_operator_killed_mid_sync_keeps_the_last_good_status_and_finishes_after_restart() {
    let mut env = env("restart", &["--scale", "small", "--no-rate-limit"], &[]).await;
    let good = ready_integration(&env).await;
    let good_summary = status_json(&good)["summary"].clone();
    // make the next sync slow, start it, and kill the operator in the middle
    env.sim
        .control(
            reqwest::Method::PUT,
            "/__sim/faults",
            json!(["latency:path=/api/v1/logs,ms=1500"]),
        )
        .await;
    let api: Api<OktaIntegration> = Api::namespaced(env.client.clone(), &env.ns);
    let patch = json!({"metadata": {"annotations": {"dti.dev/sync-requested-at": "restart-test"}}});
    api.patch("acme", &PatchParams::default(), &Patch::Merge(patch))
        .await
        .expect("annotate");
    wait_for(
        &env.client,
        &env.ns,
        "acme",
        READY_TIMEOUT,
        "the second sync running",
        |o| condition(o, "Synced").is_some_and(|c| c.1 == "InProgress"),
    )
    .await;
    env.operator.kill();
    let during = api.get("acme").await.expect("get");
    assert_eq!(
        status_json(&during)["summary"],
        good_summary,
        "the last good results stay visible"
    );
    env.sim
        .control(reqwest::Method::PUT, "/__sim/faults", json!([]))
        .await;
    env.operator.restart();
    let deadline = std::time::Instant::now() + READY_TIMEOUT;
    while env
        .operator
        .metric("dti_sync_total{result=\"succeeded\"}")
        .await
        < 1.0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no sync completed after the restart"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let done = wait_for(
        &env.client,
        &env.ns,
        "acme",
        READY_TIMEOUT,
        "Ready after restart",
        |o| is_ready(o) && condition(o, "Synced").is_some_and(|c| c.1 == "Succeeded"),
    )
    .await;
    assert_eq!(
        done.status
            .as_ref()
            .and_then(|s| s.last_handled_sync_request.as_deref()),
        Some("restart-test")
    );
    assert_status_matches_truth(&done, &env.truth);
}

#[tokio::test]
async fn the_large_preset_keeps_the_object_far_below_etcds_limit() {
    let env = env(
        "large",
        &["--scale", "large", "--no-rate-limit"],
        &["--request-timeout", "120s"],
    )
    .await;
    create_secret(&env.client, &env.ns, "okta", "demo").await;
    apply_integration(
        &env.client,
        &env.ns,
        "acme",
        spec(&env, json!({"maxAppsInStatus": 500})),
    )
    .await;
    let started = std::time::Instant::now();
    let obj = wait_for(
        &env.client,
        &env.ns,
        "acme",
        Duration::from_secs(900),
        "Ready on the large org",
        is_ready,
    )
    .await;
    let size = serde_json::to_vec(&obj).expect("json").len();
    let status = obj.status.as_ref().expect("status");
    eprintln!(
        "large preset: Ready after {:?}; object {} bytes; {} apps listed",
        started.elapsed(),
        size,
        status.apps.len()
    );
    assert_eq!(status.apps.len(), 500);
    assert_eq!(status.apps_truncated, Some(true));
    assert!(size < 512 * 1024, "object is {size} bytes");
    assert_eq!(status_json(&obj)["summary"], env.truth["summary"]);
}
