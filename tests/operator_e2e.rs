//! The operator end to end on a real kube-apiserver + etcd + kube-controller-manager, against okta-sim
//! with a late System Log: each test has its own namespace, okta-sim and operator process.

mod support;

use std::time::{Duration, Instant};

use dti_operator::crd::OktaIntegration;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};
use support::checkpoint::{crafted_prefix, gzip, sealed};
use support::contract::view;
use support::operator::{
    Operator, apply_integration, condition, create_secret, events, is_ready, kubectl_dti, okta_apps, set_secret,
    wait_for,
};
use support::sim::Sim;

const READY_TIMEOUT: Duration = Duration::from_secs(120);

struct Env {
    client: Client,
    ns: String,
    sim: Sim,
    operator: Operator,
}

async fn env(prefix: &str, sim_args: &[&str], operator_args: &[&str]) -> Env {
    let cp = support::control_plane();
    let client = cp.client().await;
    let ns = cp.namespace(&client, prefix).await;
    let mut args = vec!["--log-lag", "3s"];
    args.extend(sim_args);
    let sim = Sim::start(&args);
    let operator = Operator::start(cp, &ns, operator_args);
    Env { client, ns, sim, operator }
}

fn spec(env: &Env, extra: Value) -> Value {
    let mut spec = json!({"domain": env.sim.host_port, "credentials": {"apiToken": {"secretRef": {"name": "okta"}}}, "maxAppsInStatus": 100});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            s.insert(k.clone(), v.clone());
        }
    }
    spec
}

async fn ready_integration(env: &Env, extra: Value) -> OktaIntegration {
    create_secret(&env.client, &env.ns, "okta", "demo").await;
    apply_integration(&env.client, &env.ns, "acme", spec(env, extra)).await;
    wait_for(&env.client, &env.ns, "acme", READY_TIMEOUT, "Ready", is_ready).await
}

async fn wait_condition(env: &Env, type_: &str, reason: &str) -> OktaIntegration {
    wait_for(&env.client, &env.ns, "acme", READY_TIMEOUT, reason, |o| {
        condition(o, type_).is_some_and(|c| c.1 == reason)
    })
    .await
}

/// Status and every OktaApp against the truth as of the operator's last caught-up read.
async fn assert_equals_truth(env: &Env, obj: &OktaIntegration) {
    support::contract::assert_equals_truth(&env.client, &env.ns, &env.sim, obj, "demo").await;
}

#[tokio::test]
async fn an_integration_becomes_ready_with_status_and_apps_equal_to_the_truth() {
    let env = env("ready", &["--scale", "small", "--no-rate-limit"], &[]).await;
    let obj = ready_integration(&env, json!({})).await;
    assert_equals_truth(&env, &obj).await;
    let status = obj.status.as_ref().expect("status");
    assert_eq!(condition(&obj, "AccessValidated").map(|c| c.1), Some("Valid".into()));
    assert_eq!(condition(&obj, "Synced").map(|c| c.1), Some("Succeeded".into()));
    assert!(condition(&obj, "Reconciling").is_none() && condition(&obj, "Stalled").is_none());
    let last = status.last_sync.as_ref().expect("lastSync");
    assert!(last.api_requests > 0 && last.events_scanned > 0 && last.users_scanned > 0);
    assert!(status.summary.as_ref().and_then(|s| s.last_successful_sync_time.as_ref()).is_some());
    assert!(
        !status.unused_apps.is_empty() && status.unused_apps.iter().all(|a| a.status == "ACTIVE" && a.sso_events == 0)
    );
    assert!(status.unused_apps.windows(2).all(|w| w[0].unused_seats >= w[1].unused_seats), "most unused seats first");
    assert!(obj.finalizers().is_empty(), "no finalizer: nothing outside the cluster needs cleaning up");
    assert!(status.checkpoint.as_ref().is_some_and(|c| c.state == "Saved" && c.bytes > 0));
    let reasons: Vec<String> = events(&env.client, &env.ns, "acme").await.into_iter().map(|e| e.1).collect();
    assert!(reasons.contains(&"AccessValidated".into()) && reasons.contains(&"SyncSucceeded".into()), "{reasons:?}");

    // idle resyncs write nothing: poke the object and let the operator reconcile it a few times
    let writes =
        (env.operator.metric("dti_status_writes_total").await, env.operator.metric("dti_oktaapp_writes_total").await);
    let api: Api<OktaIntegration> = Api::namespaced(env.client.clone(), &env.ns);
    for i in 0..3 {
        let patch = json!({"metadata": {"labels": {"poke": i.to_string()}}});
        api.patch("acme", &PatchParams::default(), &Patch::Merge(patch)).await.expect("label");
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    assert!(env.operator.metric("dti_reconcile_total").await >= 4.0);
    assert_eq!(
        (env.operator.metric("dti_status_writes_total").await, env.operator.metric("dti_oktaapp_writes_total").await),
        writes,
        "an idle resync wrote"
    );
    assert_eq!(env.operator.metric("dti_integration_apps{").await, 25.0);
    assert_eq!(env.operator.metric("dti_integration_ready{").await, 1.0);
}

#[tokio::test]
async fn a_bad_token_is_invalid_token_with_a_warning_event_and_a_rotated_token_recovers() {
    let env = env("badtoken", &["--scale", "small", "--no-rate-limit"], &[]).await;
    create_secret(&env.client, &env.ns, "okta", "not-a-token").await;
    apply_integration(&env.client, &env.ns, "acme", spec(&env, json!({}))).await;
    let obj = wait_for(&env.client, &env.ns, "acme", READY_TIMEOUT, "InvalidToken", |o| {
        condition(o, "AccessValidated").is_some_and(|c| c.0 == "False" && c.1 == "InvalidToken")
    })
    .await;
    assert_eq!(condition(&obj, "Ready").map(|c| c.0), Some("False".into()));
    assert_eq!(condition(&obj, "Stalled").map(|c| (c.0, c.1)), Some(("True".into(), "InvalidToken".into())));
    let message = condition(&obj, "AccessValidated").expect("condition").2;
    assert!(
        message.contains("E0000011") && message.contains("create a new token") && !message.contains("not-a-token"),
        "{message}"
    );
    let evs = events(&env.client, &env.ns, "acme").await;
    assert!(evs.iter().any(|e| e.0 == "Warning" && e.1 == "InvalidToken"), "{evs:?}");
    set_secret(&env.client, &env.ns, "okta", "demo").await;
    let obj = wait_for(&env.client, &env.ns, "acme", READY_TIMEOUT, "Ready after rotation", is_ready).await;
    assert!(condition(&obj, "Stalled").is_none());
}

#[tokio::test]
async fn a_token_without_system_log_access_is_permission_denied_naming_it() {
    let env = env("nologs", &["--scale", "small", "--no-rate-limit", "--token", "nologs=users,apps"], &[]).await;
    create_secret(&env.client, &env.ns, "okta", "nologs").await;
    apply_integration(&env.client, &env.ns, "acme", spec(&env, json!({}))).await;
    let obj = wait_condition(&env, "AccessValidated", "PermissionDenied").await;
    let (_, _, message) = condition(&obj, "AccessValidated").expect("condition");
    assert!(message.contains("\"View System Log\"") && message.contains("E0000006"), "{message}");
    let mut access = obj.status.as_ref().and_then(|s| s.access.clone()).expect("access");
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(env.client.clone(), &env.ns);
    let secret = secrets.get("okta").await.expect("the Secret");
    assert_eq!(access.secret_resource_version.take(), secret.metadata.resource_version, "the Secret it checked");
    assert_eq!(
        serde_json::to_value(&access).expect("json"),
        json!({"users": "Granted", "applications": "Granted", "systemLog": "Denied"})
    );
    let evs = events(&env.client, &env.ns, "acme").await;
    assert!(evs.iter().any(|e| e.1 == "AccessDenied" && e.2.contains("View System Log")), "{evs:?}");
}

#[tokio::test]
async fn secret_problems_have_their_own_reasons_and_heal_when_fixed() {
    let env = env("secret", &["--scale", "small", "--no-rate-limit"], &[]).await;
    apply_integration(&env.client, &env.ns, "acme", spec(&env, json!({}))).await;
    let obj = wait_condition(&env, "AccessValidated", "SecretNotFound").await;
    assert_eq!(condition(&obj, "Stalled").map(|c| c.1), Some("SecretNotFound".into()));
    // a Secret with other keys: the message names the key it wants, not the keys it has
    let secret: k8s_openapi::api::core::v1::Secret =
        serde_json::from_value(json!({"metadata": {"name": "okta"}, "stringData": {"tokn": "demo", "password": "x"}}))
            .expect("secret");
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(env.client.clone(), &env.ns)
        .create(&Default::default(), &secret)
        .await
        .expect("create");
    let obj = wait_condition(&env, "AccessValidated", "SecretKeyMissing").await;
    let message = condition(&obj, "AccessValidated").expect("condition").2;
    assert!(message.contains("\"token\"") && !message.contains("password") && !message.contains("tokn"), "{message}");
    // a value that is not a token: its own reason, never retried as a network error
    set_secret(&env.client, &env.ns, "okta", "de mo").await;
    let obj = wait_condition(&env, "AccessValidated", "SecretValueInvalid").await;
    assert!(condition(&obj, "AccessValidated").expect("c").2.contains("whitespace inside"));
    set_secret(&env.client, &env.ns, "okta", "demo").await;
    wait_for(&env.client, &env.ns, "acme", READY_TIMEOUT, "Ready", is_ready).await;
}

#[tokio::test]
async fn suspend_stops_syncs_and_kubectl_dti_sync_waits_for_exactly_one() {
    let cp = support::control_plane();
    let env = env("suspend", &["--scale", "small", "--no-rate-limit"], &[]).await;
    let obj = ready_integration(&env, json!({})).await;
    let started =
        |o: &OktaIntegration| o.status.as_ref().and_then(|s| s.last_sync.as_ref()).map(|l| l.started_at.clone());
    let first = started(&obj);
    apply_integration(&env.client, &env.ns, "acme", spec(&env, json!({"suspend": true}))).await;
    let obj = wait_condition(&env, "Synced", "Suspended").await;
    assert!(obj.status.as_ref().and_then(|s| s.next_sync_at.clone()).is_none());
    apply_integration(&env.client, &env.ns, "acme", spec(&env, json!({"suspend": false}))).await;
    wait_for(&env.client, &env.ns, "acme", READY_TIMEOUT, "Ready", is_ready).await;
    let out = kubectl_dti(cp.kubeconfig_path(), &["sync", "acme", "-n", &env.ns, "--wait", "--timeout", "2m"]);
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("sync succeeded"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let obj = Api::<OktaIntegration>::namespaced(env.client.clone(), &env.ns).get("acme").await.expect("get");
    assert_ne!(started(&obj), first, "the request ran a new sync");
    let status = kubectl_dti(cp.kubeconfig_path(), &["status", "-n", &env.ns]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("acme"), "{}", String::from_utf8_lossy(&status.stdout));
    let report = kubectl_dti(cp.kubeconfig_path(), &["report", "acme", "-n", &env.ns, "--format", "json"]);
    let mut report: Value = serde_json::from_slice(&report.stdout).expect("report json");
    let truth = env.sim.truth("30d", "demo").await;
    assert!(report["summary"]["history"]["months"].as_array().is_some_and(|m| !m.is_empty()), "{}", report["summary"]);
    report["summary"].as_object_mut().map(|s| s.remove("history")); // tests/history_e2e.rs compares it
    report["summary"].as_object_mut().map(|s| s.remove("reclaimBasis")); // the rules as applied, not in the truth
    assert_eq!(report["summary"], truth["summary"], "the report from the cluster is the sync contract");
    assert_eq!(
        report["apps"].as_array().map(|a| a.iter().map(view).collect::<Vec<_>>()),
        truth["apps"].as_array().map(|a| a.iter().map(view).collect::<Vec<_>>())
    );
}

async fn ids(env: &Env) -> (Vec<(String, String)>, Vec<String>, Vec<String>) {
    let org = env.sim.directory().await;
    let apps = org["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .filter(|a| a["kind"] == "saas" && a["deleted"] == false)
        .map(|a| {
            (a["id"].as_str().unwrap_or_default().to_string(), a["label"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    let users = org["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter(|u| u["status"] == "ACTIVE")
        .map(|u| u["id"].as_str().unwrap_or_default().to_string())
        .collect();
    let groups = org["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["id"].as_str().unwrap_or_default().to_string())
        .collect();
    (apps, users, groups)
}

async fn sync_now(env: &Env, n: usize) -> OktaIntegration {
    let value = format!("request-{n}");
    let api: Api<OktaIntegration> = Api::namespaced(env.client.clone(), &env.ns);
    let patch = json!({"metadata": {"annotations": {"dti.dev/sync-requested-at": value}}});
    api.patch("acme", &PatchParams::default(), &Patch::Merge(&patch)).await.expect("annotate");
    wait_for(&env.client, &env.ns, "acme", READY_TIMEOUT, "the requested sync", |o| {
        o.status.as_ref().and_then(|s| s.last_handled_sync_request.as_deref()) == Some(value.as_str()) && is_ready(o)
    })
    .await
}

#[tokio::test]
async fn a_living_org_stays_equal_to_the_truth_sync_after_sync() {
    let env = env("churn", &["--scale", "small", "--no-rate-limit"], &[]).await;
    let obj = ready_integration(&env, json!({})).await;
    assert_equals_truth(&env, &obj).await;
    let (apps, users, groups) = ids(&env).await;
    let rounds: Vec<Vec<Value>> = vec![
        vec![
            json!({"op": "assign", "app": apps[7].0, "user": users[1], "status": "ACTIVE"}),
            json!({"op": "sign-ins", "app": apps[1].0, "count": 7, "users": 3}),
            json!({"op": "sign-ins", "app": apps[2].0, "count": 2, "agoSeconds": 5400}),
        ],
        vec![
            json!({"op": "unassign", "app": apps[7].0, "user": users[1]}),
            json!({"op": "member-add", "group": groups[4], "user": users[2]}),
            json!({"op": "app-user-status", "app": apps[9].0, "user": users[3], "status": "SUSPENDED"}),
            json!({"op": "user-status", "user": users[4], "status": "SUSPENDED"}),
        ],
        vec![
            json!({"op": "app-add", "label": "Brand New Tool"}),
            json!({"op": "app-delete", "app": apps[12].0}),
            json!({"op": "group-assign", "app": apps[14].0, "group": groups[2]}),
        ],
    ];
    let mut requests = Vec::new();
    for (n, changes) in rounds.iter().enumerate() {
        for change in changes {
            env.sim.change(change.clone()).await;
        }
        tokio::time::sleep(Duration::from_secs(4)).await; // past the log's lag
        let obj = sync_now(&env, n).await;
        assert_equals_truth(&env, &obj).await;
        let last = obj.status.as_ref().and_then(|s| s.last_sync.clone()).expect("lastSync");
        assert_eq!(last.mode.map(|m| format!("{m:?}")), Some("Incremental".into()));
        requests.push(last.api_requests);
    }
    let deleted = okta_apps(&env.client, &env.ns, "acme").await;
    assert!(!deleted.contains_key(&apps[12].0), "an app deleted in Okta loses its OktaApp");
    assert!(deleted.values().any(|a| { a.status.as_ref().is_some_and(|s| s.label == "Brand New Tool") }));
    assert!(requests.iter().all(|&r| r < 20), "incremental syncs stay cheap: {requests:?}");
}

#[tokio::test]
async fn deleting_an_integration_cancels_its_sync_and_garbage_collects_what_it_owns() {
    let env = env("delete", &["--scale", "small", "--no-rate-limit"], &[]).await;
    ready_integration(&env, json!({})).await;
    assert!(!okta_apps(&env.client, &env.ns, "acme").await.is_empty());
    let api: Api<OktaIntegration> = Api::namespaced(env.client.clone(), &env.ns);
    api.delete("acme", &DeleteParams::default()).await.expect("delete");
    let deadline = Instant::now() + Duration::from_secs(60);
    let states: Api<dti_operator::crd::OktaSyncState> = Api::namespaced(env.client.clone(), &env.ns);
    loop {
        let apps = okta_apps(&env.client, &env.ns, "acme").await;
        let parts = states.list(&Default::default()).await.expect("list").items.len();
        if apps.is_empty() && parts == 0 && api.get_opt("acme").await.expect("get").is_none() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "garbage collection did not finish: {} apps, {parts} state parts left",
            apps.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(env.operator.logs().contains("integration deleted"), "the delete cancelled its state");
}

#[tokio::test]
async fn integrations_on_one_domain_share_a_rate_budget_without_a_429_storm() {
    let env = env("shared", &["--scale", "small", "--time-scale", "10", "--token-share", "1.0"], &[]).await;
    create_secret(&env.client, &env.ns, "okta", "demo").await;
    for name in ["one", "two", "three"] {
        apply_integration(&env.client, &env.ns, name, spec(&env, json!({}))).await;
    }
    for name in ["one", "two", "three"] {
        wait_for(&env.client, &env.ns, name, Duration::from_secs(240), "Ready", is_ready).await;
    }
    let stats: Value =
        reqwest::get(format!("{}/__sim/stats", env.sim.base)).await.expect("stats").json().await.expect("json");
    let limited: u64 =
        stats["buckets"].as_object().expect("buckets").values().map(|b| b["status"]["429"].as_u64().unwrap_or(0)).sum();
    assert!(limited <= 3, "429s: {stats}");
}

#[tokio::test]
async fn a_restarted_operator_resumes_from_its_checkpoint() {
    let mut env = env("restart", &["--scale", "small", "--no-rate-limit"], &[]).await;
    let obj = ready_integration(&env, json!({})).await;
    let full = obj.status.as_ref().and_then(|s| s.last_sync.clone()).expect("lastSync").api_requests;
    let requests =
        |o: &OktaIntegration| o.status.as_ref().and_then(|s| s.last_sync.as_ref()).map(|l| (l.api_requests, l.mode));
    let (apps, users, _) = ids(&env).await;
    // a steady-state sync (the engine in memory) after some sign-ins and an assignment change ...
    env.sim.change(json!({"op": "sign-ins", "app": apps[0].0, "count": 3})).await;
    env.sim.change(json!({"op": "app-user-status", "app": apps[1].0, "user": users[0], "status": "SUSPENDED"})).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let steady = requests(&sync_now(&env, 10).await).expect("lastSync");
    // ... and the first sync after a restart, after the same changes (the engine from the checkpoint)
    env.operator.restart();
    env.sim.change(json!({"op": "sign-ins", "app": apps[0].0, "count": 3})).await;
    env.sim.change(json!({"op": "app-user-status", "app": apps[1].0, "user": users[0], "status": "ACTIVE"})).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let obj = sync_now(&env, 1).await;
    assert_equals_truth(&env, &obj).await;
    let (after_restart, mode) = requests(&obj).expect("lastSync");
    eprintln!("requests: full sync {full}, steady-state sync {}, first sync after a restart {after_restart}", steady.0);
    assert_eq!(mode.map(|m| format!("{m:?}")), Some("Incremental".into()), "resumed from the checkpoint");
    assert!(after_restart * 5 < full, "{after_restart} requests after the restart, {full} for the full sync");
    // a corrupt checkpoint: an event says so, and the next sync scans in full and is exact again
    let states: Api<dti_operator::crd::OktaSyncState> = Api::namespaced(env.client.clone(), &env.ns);
    for part in states.list(&Default::default()).await.expect("list").items {
        let patch = json!({"spec": {"data": "Y29ycnVwdA=="}});
        states.patch(&part.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await.expect("corrupt");
    }
    env.operator.restart();
    let obj = sync_now(&env, 2).await;
    assert_equals_truth(&env, &obj).await;
    assert_eq!(
        obj.status.as_ref().and_then(|s| s.last_sync.as_ref()).and_then(|l| l.mode).map(|m| format!("{m:?}")),
        Some("Full".into())
    );
    let evs = events(&env.client, &env.ns, "acme").await;
    assert!(evs.iter().any(|e| e.1 == "CheckpointRejected" && e.2.contains("scans the org in full")), "{evs:?}");
}

#[tokio::test]
async fn past_the_checkpoint_cap_nothing_is_kept_and_a_restart_scans_in_full() {
    let mut env = env("cap", &["--scale", "small", "--no-rate-limit"], &["--checkpoint-cap-mib", "0"]).await;
    let obj = ready_integration(&env, json!({})).await;
    let checkpoint = obj.status.as_ref().and_then(|s| s.checkpoint.clone()).expect("checkpoint status");
    assert_eq!((checkpoint.state.as_str(), checkpoint.parts), ("Skipped", 0));
    assert!(checkpoint.bytes > 0 && checkpoint.saved_at.is_none(), "its size is still measured: {checkpoint:?}");
    let states: Api<dti_operator::crd::OktaSyncState> = Api::namespaced(env.client.clone(), &env.ns);
    assert!(states.list(&Default::default()).await.expect("list").items.is_empty(), "no part is written");
    let warned = format!("{} bytes compressed, over the cap of 0 bytes", checkpoint.bytes);
    let mut evs = Vec::new();
    for _ in 0..20 {
        evs = events(&env.client, &env.ns, "acme").await;
        if evs.iter().any(|e| e.1 == "CheckpointSkipped" && e.2.contains(&warned)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(evs.iter().any(|e| e.1 == "CheckpointSkipped" && e.2.contains(&warned)), "{evs:?}");
    env.operator.restart();
    let obj = sync_now(&env, 1).await;
    assert_equals_truth(&env, &obj).await;
    let mode = obj.status.as_ref().and_then(|s| s.last_sync.as_ref()).and_then(|l| l.mode);
    assert_eq!(mode.map(|m| format!("{m:?}")), Some("Full".into()), "nothing to resume from");
}

#[tokio::test]
async fn thirty_orgs_on_one_host_each_get_their_own_budget() {
    let cp = support::control_plane();
    let client = cp.client().await;
    let ns = cp.namespace(&client, "thirty").await;
    let sims: Vec<Sim> = (0..30)
        .map(|i| Sim::start(&["--users", "40", "--apps", "6", "--days", "3", "--seed", &(i + 1).to_string()]))
        .collect();
    let operator = Operator::start(cp, &ns, &[]);
    create_secret(&client, &ns, "okta", "demo").await;
    let started = Instant::now();
    for (i, sim) in sims.iter().enumerate() {
        let spec = json!({"domain": sim.host_port, "credentials": {"apiToken": {"secretRef": {"name": "okta"}}}});
        apply_integration(&client, &ns, &format!("org-{i}"), spec).await;
    }
    for i in 0..sims.len() {
        wait_for(&client, &ns, &format!("org-{i}"), Duration::from_secs(180), "Ready", is_ready).await;
    }
    eprintln!("30 orgs on one host Ready in {:.1}s", started.elapsed().as_secs_f64());
    // Each org's rate limits are tracked on their own: 30 origins, each with its own remaining budget.
    for sim in &sims {
        let origin = sim.base.trim_end_matches('/');
        let remaining = operator.metric(&format!("dti_okta_rate_limit_remaining{{org=\"{origin}\"")).await;
        let limit = operator.metric(&format!("dti_okta_rate_limit_limit{{org=\"{origin}\"")).await;
        assert!(limit > 0.0 && remaining > 0.0, "{origin}: a budget of its own (limit {limit}, remaining {remaining})");
    }
}

/// Replaces an integration's checkpoint parts with `parts` (data of each), as anyone who may write
/// OktaSyncStates could; `id` and `of` override the checkpoint id and the part count.
async fn plant(env: &Env, obj: &OktaIntegration, parts: Vec<Vec<u8>>, of: Option<usize>) {
    use dti_operator::crd::OktaSyncState;
    let api: Api<OktaSyncState> = Api::namespaced(env.client.clone(), &env.ns);
    let label = format!("dti.dev/integration={}", obj.name_any());
    for old in api.list(&kube::api::ListParams::default().labels(&label)).await.expect("list").items {
        let _ = api.delete(&old.name_any(), &DeleteParams::default()).await;
    }
    let count = of.unwrap_or(parts.len());
    for (i, data) in parts.into_iter().enumerate() {
        let part: OktaSyncState = serde_json::from_value(json!({
            "apiVersion": "dti.dev/v1alpha1", "kind": "OktaSyncState",
            "metadata": {"name": format!("{}-planted-{i}", obj.name_any()), "labels": {"dti.dev/integration": obj.name_any()},
                "ownerReferences": [{"apiVersion": "dti.dev/v1alpha1", "kind": "OktaIntegration", "name": obj.name_any(), "uid": obj.uid().expect("uid"), "controller": true}]},
            "spec": {"integration": obj.name_any(), "checkpoint": "planted", "part": i, "parts": count,
                "format": "dti-sync-state/5+gzip+hmac-sha256", "data": k8s_openapi::ByteString(data)},
        }))
        .expect("a part");
        api.create(&Default::default(), &part).await.expect("plant a part");
    }
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// A tampering case: what, the parts' data, the part count they claim, what the event must say.
type Tampering = (&'static str, Vec<Vec<u8>>, Option<usize>, &'static str);

/// Each way an attacker who can write OktaSyncStates (and, for the last two, read the key) tampers with
/// acme's checkpoint.
async fn tamperings(env: &Env, acme: &OktaIntegration, trap_url: &str) -> Vec<Tampering> {
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(env.client.clone(), "default");
    let key = secrets.get("dti-operator-checkpoint-key").await.expect("the operator made its key").data.expect("data")
        ["hmac-sha256.key"]
        .0
        .clone();
    let states: Api<dti_operator::crd::OktaSyncState> = Api::namespaced(env.client.clone(), &env.ns);
    let parts_of = |name: &'static str| {
        let states = states.clone();
        async move {
            let mut parts = states
                .list(&kube::api::ListParams::default().labels(&format!("dti.dev/integration={name}")))
                .await
                .expect("list")
                .items;
            parts.sort_by_key(|p| p.spec.part);
            parts.into_iter().map(|p| p.spec.data.0).collect::<Vec<_>>()
        }
    };
    let uid = acme.uid().expect("uid");
    let origin = env.sim.base.trim_end_matches('/').to_string();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let mut flipped = parts_of("acme").await;
    let mid = flipped[0].len() / 2;
    flipped[0][mid] ^= 0x20;
    let mut bomb = b"DTIC\x02\x01".to_vec();
    bomb.extend(gzip(&vec![0u8; 400 << 20]));
    bomb.extend([7u8; 32]);
    vec![
        ("bytes flipped", flipped, None, "signature does not verify"),
        ("copied from another integration", parts_of("beta").await, None, "signature does not verify"),
        ("a gzip bomb", vec![bomb], None, "signature does not verify"),
        ("a huge part count", vec![b"x".to_vec(); 60], Some(60), "more than"),
        (
            "a foreign cursor",
            vec![sealed(&key, &uid, &crafted_prefix(&origin, Some(trap_url), None))],
            None,
            "System Log position outside",
        ),
        (
            "a future time",
            vec![sealed(&key, &uid, &crafted_prefix(&origin, None, Some(now_ms + 86_400_000)))],
            None,
            "a time later than now",
        ),
    ]
}

#[tokio::test]
async fn tampered_checkpoints_are_rejected_and_the_sync_scans_in_full() {
    let mut env = env("tamper", &["--scale", "small", "--no-rate-limit"], &[]).await;
    let acme = ready_integration(&env, json!({})).await;
    apply_integration(&env.client, &env.ns, "beta", spec(&env, json!({}))).await;
    wait_for(&env.client, &env.ns, "beta", READY_TIMEOUT, "Ready", is_ready).await;
    // A listener where a foreign cursor points: it must never see a connection.
    let trap = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let trap_url = format!("http://{}/api/v1/logs?after=x&limit=1000", trap.local_addr().expect("an address"));
    let knocks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = knocks.clone();
    tokio::spawn(async move {
        while trap.accept().await.is_ok() {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let cases = tamperings(&env, &acme, &trap_url).await;
    for (i, (what, parts, of, why)) in cases.into_iter().enumerate() {
        plant(&env, &acme, parts, of).await;
        env.operator.restart();
        let obj = sync_now(&env, 100 + i).await;
        let mode = obj.status.as_ref().and_then(|s| s.last_sync.as_ref()).and_then(|l| l.mode);
        assert_eq!(mode.map(|m| format!("{m:?}")), Some("Full".into()), "{what}: a full scan");
        assert_equals_truth(&env, &obj).await;
        let evs = events(&env.client, &env.ns, "acme").await;
        assert!(
            evs.iter().any(|e| e.0 == "Warning" && e.1 == "CheckpointRejected" && e.2.contains(why)),
            "{what}: no CheckpointRejected naming {why:?}: {evs:?}"
        );
        let rss = peak_rss_kib(env.operator.pid().expect("running"));
        eprintln!("{what}: rejected ({why}); operator peak RSS {} MiB", rss / 1024);
        assert!(rss < 128 * 1024, "{what}: peak RSS {rss} KiB");
    }
    assert_eq!(knocks.load(std::sync::atomic::Ordering::SeqCst), 0, "no request went to the cursor's origin");
}

#[tokio::test]
async fn an_oktaapp_deleted_by_hand_is_written_again_without_waiting_for_the_interval() {
    let env = env("apps-owned", &["--scale", "small", "--no-rate-limit"], &[]).await;
    let obj = ready_integration(&env, json!({"syncInterval": "1h"})).await;
    let before = okta_apps(&env.client, &env.ns, "acme").await;
    let (id, victim) = before.iter().next().map(|(id, a)| (id.clone(), a.name_any())).expect("an OktaApp");
    let api: Api<dti_operator::crd::OktaApp> = Api::namespaced(env.client.clone(), &env.ns);
    let started = Instant::now();
    api.delete(&victim, &DeleteParams::default()).await.expect("delete by hand");
    let mut back = None;
    while started.elapsed() < Duration::from_secs(60) {
        if let Some(app) = okta_apps(&env.client, &env.ns, "acme").await.remove(&id)
            && app.metadata.deletion_timestamp.is_none()
            && app.status.is_some()
        {
            back = Some(app);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let back = back.expect("the deleted OktaApp comes back well before the 1h interval");
    eprintln!("OktaApp {victim} written again {:.1}s after its deletion", started.elapsed().as_secs_f64());
    assert_eq!(back.status, before[&id].status);
    assert_eq!(okta_apps(&env.client, &env.ns, "acme").await.len(), before.len());
    assert!(is_ready(&obj));
}
