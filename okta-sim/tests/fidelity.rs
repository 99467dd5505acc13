//! okta-sim against Okta's own descriptions of its API: the public OpenAPI spec, the official Python SDK as
//! a client, and the documented System Log, paging, error and rate-limit behaviour.

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::sim::{Sim, next_link, openapi_spec, python};

fn truth_of(sim_args: &[&str]) -> (Sim, Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("truth.json");
    let mut args = sim_args.to_vec();
    let p = path.to_str().expect("utf-8").to_string();
    args.extend(["--truth", &p]);
    let sim = Sim::start(&args);
    let truth: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("truth file")).expect("truth json");
    (sim, truth)
}

fn run_python(args: &[&str]) -> String {
    let out = Command::new(python()).args(args).output().expect("run python");
    assert!(
        out.status.success(),
        "{args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn answers_validate_against_oktas_openapi_spec() {
    let Some(spec) = openapi_spec("management-minimal.yaml") else {
        return; // said why: the spec is not beside this clone
    };
    let sim = Sim::start(&["--scale", "small", "--token", "full=all", "--token", "nologs=users,apps"]);
    let script = support::repo_root().join("okta-sim/tests/python/validate_openapi.py");
    let out =
        run_python(&[script.to_str().expect("utf-8"), spec.to_str().expect("utf-8"), &sim.base, "full", "nologs"]);
    let summary: Value = serde_json::from_str(out.trim()).expect("summary");
    assert_eq!(summary["failures"], 0);
    assert_eq!(summary["signOnModes"].as_array().map(Vec::len), Some(10), "every signOnMode served: {summary}");
    let own: Vec<&str> =
        summary["oidcNamesOutsideSpec"].as_array().expect("names").iter().filter_map(Value::as_str).collect();
    assert!(
        own.contains(&"saasure") && own.contains(&"okta_enduser") && !own.contains(&"oidc_client"),
        "only Okta's own apps: {own:?}"
    );
    assert_eq!(
        summary["outsideSpec"],
        serde_json::json!(["RADIUS_FOR_GENERIC_APP"]),
        "a real org's mode the spec lacks"
    );
    for kind in ["User", "AppUser", "LogEvent", "Error", "Application"] {
        assert!(summary["checked"][kind].as_u64().unwrap_or(0) > 0, "no {kind} checked: {summary}");
    }
}

/// The window of a truth report: (since, until) as the SDK passes them.
fn window_of(truth: &Value) -> (String, String) {
    let until =
        chrono::DateTime::parse_from_rfc3339(truth["generatedAt"].as_str().expect("generatedAt")).expect("time");
    let since = until - chrono::Duration::days(30);
    let iso = |t: chrono::DateTime<chrono::FixedOffset>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    (iso(since), iso(until))
}

/// What the SDK saw equals okta-sim's truth: every user and app listed (Okta's own apps and service
/// clients too), each app's seat-holding assignments, and each app's sign-ins in the window.
fn assert_sdk_matches_truth(got: &Value, truth: &Value) {
    assert_eq!(got["users"], truth["summary"]["users"]);
    assert!(got["userPages"].as_u64().unwrap_or(0) >= 2, "users spanned several pages: {got}");
    let apps = truth["apps"].as_array().expect("apps");
    assert_eq!(got["apps"].as_u64(), Some(apps.len() as u64), "every app Okta lists");
    for app in apps {
        let id = app["id"].as_str().expect("id");
        assert_eq!(got["seats"][id], app["assignedUsers"], "seat-holding assignments of {id}");
        assert_eq!(
            got["signIns"][id].as_u64().unwrap_or(0),
            app["ssoEvents"].as_u64().unwrap_or(0),
            "sign-ins to {id} ({})",
            app["label"]
        );
    }
    assert!(got["logPages"].as_u64().unwrap_or(0) >= 2);
}

fn sdk(sim: &Sim, mode: &[&str], truth: &Value, extra: &[&str]) -> Value {
    let (since, until) = window_of(truth);
    let script = support::repo_root().join("okta-sim/tests/python/sdk_client.py");
    let mut args = vec![script.to_str().expect("utf-8"), sim.base.as_str()];
    args.extend(mode);
    args.extend(["--since", &since, "--until", &until]);
    args.extend(extra);
    serde_json::from_str(run_python(&args).trim()).expect("sdk output")
}

fn full_truth(sim: &Sim) -> Value {
    blocking_get_json(&format!("{}/__sim/truth?window=30d&asOf=start&includeOktaApps=true", sim.base))
}

#[test]
fn official_python_sdk_pages_everything_to_the_truth_and_recovers_from_a_429() {
    let sim = Sim::start(&["--scale", "small", "--token", "sdk=users,apps,logs"]);
    let truth = full_truth(&sim);
    let got = sdk(&sim, &["--token", "sdk"], &truth, &["--inject-429"]);
    assert_sdk_matches_truth(&got, &truth);
    // the one-shot 429 did happen, and the SDK retried past it
    let stats = blocking_get_json(&format!("{}/__sim/stats", sim.base));
    assert_eq!(stats["buckets"]["users"]["status"]["429"], 1, "{stats}");
}

#[test]
fn official_python_sdk_with_a_private_key_and_dpop_gets_a_token_and_pages_to_the_truth() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("key.pem");
    let public = dir.path().join("public.pem");
    let ok = Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"])
        .arg(&key)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl");
    assert!(ok.success());
    let ok = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&key)
        .arg("-out")
        .arg(&public)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl");
    assert!(ok.success());
    let client = format!("0oasdkclient:{}:okta.users.read,okta.apps.read,okta.logs.read", public.display());
    let sim = Sim::start(&["--scale", "small", "--oauth-client", &client, "--dpop-nonce-rotation", "2s"]);
    let truth = full_truth(&sim);
    let scopes = ["--scope", "okta.users.read", "--scope", "okta.apps.read", "--scope", "okta.logs.read"];
    let mut mode = vec!["--client-id", "0oasdkclient", "--private-key", key.to_str().expect("utf-8")];
    mode.extend(scopes);
    let got = sdk(&sim, &mode, &truth, &[]);
    assert_sdk_matches_truth(&got, &truth);
    let stats = blocking_get_json(&format!("{}/__sim/stats", sim.base));
    assert!(stats["tokenRequests"].as_u64().unwrap_or(0) >= 1, "the SDK asked the token endpoint: {stats}");
}

/// A tiny blocking GET for control endpoints, so sync tests need no runtime.
fn blocking_get_json(url: &str) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async { reqwest::get(url).await.expect("get").json().await.expect("json") })
}

#[tokio::test]
async fn polling_query_keeps_a_next_link_on_empty_pages_and_a_bounded_one_ends() {
    let sim = Sim::start(&["--scale", "small", "--no-rate-limit"]);
    let until = chrono::Utc::now() + chrono::Duration::seconds(1);
    let since = until - chrono::Duration::days(10);
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    // bounded: since + until, finite, ordered by published
    let mut url = format!("{}/api/v1/logs?since={}&until={}&limit=500", sim.base, fmt(since), fmt(until));
    let (mut bounded, mut pages, mut last) = (0, 0, String::new());
    loop {
        let r = sim.get_url(&url, "demo").await;
        assert_eq!(r.status(), 200);
        let next = next_link(&r);
        let events: Vec<Value> = r.json().await.expect("events");
        for e in &events {
            let published = e["published"].as_str().expect("published").to_string();
            assert!(published >= last, "bounded query ordered by published");
            last = published;
        }
        bounded += events.len();
        pages += 1;
        match next {
            Some(n) => url = n,
            None => break,
        }
        assert!(pages < 1000, "bounded query must end");
    }
    assert!(bounded > 1000 && pages >= 2, "{bounded} events in {pages} pages");
    // polling: no until; every page has a next link, the empty one too, and following it stays empty
    let mut url = format!("{}/api/v1/logs?since={}&limit=500", sim.base, fmt(since));
    let mut polled = 0;
    let mut empty_pages = 0;
    for _ in 0..1000 {
        let r = sim.get_url(&url, "demo").await;
        let next = next_link(&r).expect("a polling query always has a next link");
        let events: Vec<Value> = r.json().await.expect("events");
        polled += events.len();
        url = next;
        if events.is_empty() {
            empty_pages += 1;
            if empty_pages == 2 {
                break;
            }
        }
    }
    assert_eq!(empty_pages, 2, "the next link of an empty polling page is itself a polling page");
    assert_eq!(polled, bounded);
    // new events appear on the saved next link, none twice
    let app =
        sim.control(reqwest::Method::POST, "/__sim/events", serde_json::json!({"app": "Slack", "count": 3})).await;
    assert_eq!(app["appended"], 3);
    let r = sim.get_url(&url, "demo").await;
    let events: Vec<Value> = r.json().await.expect("events");
    assert_eq!(events.len(), 3);
    assert!(
        events.iter().all(|e| { e["target"].as_array().expect("targets").iter().any(|t| t["displayName"] == "Slack") })
    );
}

#[tokio::test]
async fn paging_limits_links_and_deprovisioned_users() {
    let (sim, truth) = truth_of(&["--scale", "small", "--no-rate-limit"]);
    // users: default and maximum 200; DEPROVISIONED left out unless a filter asks
    let r = sim.get("/api/v1/users?limit=500", "demo").await;
    let links: Vec<String> = r.headers().get_all("link").iter().map(|v| v.to_str().unwrap_or("").to_string()).collect();
    assert_eq!(links.len(), 2, "self and next as separate header lines: {links:?}");
    assert!(links[0].ends_with("rel=\"self\"") && links[0].starts_with(&format!("<{}/api/v1/users?", sim.base)));
    let next = next_link(&r).expect("next");
    assert!(next.contains("after=") && next.starts_with(&sim.base), "absolute URL on the request's host: {next}");
    let first: Vec<Value> = r.json().await.expect("users");
    assert_eq!(first.len(), 200);
    let second: Vec<Value> = sim.get_url(&next, "demo").await.json().await.expect("users");
    assert_eq!(Some((first.len() + second.len()) as u64), truth["summary"]["users"].as_u64());
    assert!(first.iter().chain(&second).all(|u| u["status"] != "DEPROVISIONED"));
    let deprovisioned: Vec<Value> =
        sim.get("/api/v1/users?filter=status%20eq%20%22DEPROVISIONED%22", "demo").await.json().await.expect("users");
    assert!(!deprovisioned.is_empty() && deprovisioned.iter().all(|u| u["status"] == "DEPROVISIONED"));
    // app users: default 50, maximum 500
    let zoom = truth["apps"].as_array().expect("apps").iter().find(|a| a["label"] == "Zoom").expect("Zoom");
    let id = zoom["id"].as_str().expect("id");
    let default_page: Vec<Value> =
        sim.get(&format!("/api/v1/apps/{id}/users"), "demo").await.json().await.expect("rows");
    assert_eq!(default_page.len(), 50);
    let big_page: Vec<Value> =
        sim.get(&format!("/api/v1/apps/{id}/users?limit=1000"), "demo").await.json().await.expect("rows");
    assert_eq!(big_page.len() as u64, zoom["assignedUsers"].as_u64().expect("n").min(500));
    assert!(big_page.iter().any(|r| r["scope"] == "GROUP"));
    // logs: default 100, 0..1000
    let logs: Vec<Value> = sim.get("/api/v1/logs", "demo").await.json().await.expect("logs");
    assert_eq!(logs.len(), 100);
    assert_eq!(sim.get("/api/v1/logs?limit=1001", "demo").await.status(), 400);
}

async fn error_code(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.expect("error body");
    for field in ["errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"] {
        assert!(body.get(field).is_some(), "error body lacks {field}: {body}");
    }
    (status, body["errorCode"].as_str().unwrap_or_default().to_string())
}

#[tokio::test]
async fn errors_carry_oktas_codes() {
    let sim = Sim::start(&[
        "--scale",
        "small",
        "--token",
        "full=all",
        "--token",
        "nologs=users,apps",
        "--token",
        "brief=all:revoke-after=2",
    ]);
    assert_eq!(error_code(sim.get("/api/v1/users", "wrong").await).await, (401, "E0000011".into()));
    assert_eq!(error_code(sim.get("/api/v1/logs", "nologs").await).await, (403, "E0000006".into()));
    assert_eq!(sim.get("/api/v1/apps", "nologs").await.status(), 200, "403 on logs and nowhere else");
    assert_eq!(error_code(sim.get("/api/v1/apps/0oaNOPE", "full").await).await, (404, "E0000007".into()));
    assert_eq!(error_code(sim.get("/api/v1/logs?limit=abc", "full").await).await, (400, "E0000001".into()));
    assert_eq!(
        error_code(sim.get("/api/v1/logs?filter=eventType%20zz%20%22x%22", "full").await).await,
        (400, "E0000031".into())
    );
    assert_eq!(
        error_code(sim.get("/api/v1/logs?filter=published%20gt%20%222020%22", "full").await).await,
        (400, "E0000031".into())
    );
    let old = (chrono::Utc::now() - chrono::Duration::days(200)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    assert_eq!(error_code(sim.get(&format!("/api/v1/logs?since={old}"), "full").await).await, (400, "E0000053".into()));
    // 90-day retention: since 120 days back is allowed but returns nothing older than 90 days
    let d120 = (chrono::Utc::now() - chrono::Duration::days(120)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    assert_eq!(sim.get(&format!("/api/v1/logs?since={d120}"), "full").await.status(), 200);
    // a token revoked after two requests
    assert_eq!(sim.get("/api/v1/users?limit=1", "brief").await.status(), 200);
    assert_eq!(sim.get("/api/v1/users?limit=1", "brief").await.status(), 200);
    assert_eq!(error_code(sim.get("/api/v1/users?limit=1", "brief").await).await, (401, "E0000011".into()));
    // the SDK's header form (no space after SSWS) is accepted, as Okta evidently does
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/users/me", sim.base))
        .header("Authorization", "SSWSfull")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn rate_limits_follow_oktas_headers_and_buckets() {
    // a 1 s "minute": logs 120/min, so a token may make 60 requests before a 429 until the reset
    let sim = Sim::start(&["--scale", "small", "--time-scale", "60"]);
    let mut statuses = Vec::new();
    let mut last_reset = 0;
    for _ in 0..61 {
        let r = sim.get("/api/v1/logs?limit=1", "demo").await;
        let h = r.headers();
        let num = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        assert_eq!(num("x-rate-limit-limit"), Some(60), "the token's 50% share of 120");
        assert!(num("x-rate-limit-remaining").is_some());
        last_reset = num("x-rate-limit-reset").expect("reset");
        assert!(h.get("date").is_some());
        statuses.push(r.status().as_u16());
    }
    assert!(statuses[..60].iter().all(|&s| s == 200), "{statuses:?}");
    assert_eq!(statuses[60], 429);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    assert!(last_reset >= now && last_reset <= now + 2, "reset {last_reset} vs now {now}");
    // other buckets are independent
    assert_eq!(sim.get("/api/v1/users?limit=1", "demo").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(sim.get("/api/v1/logs?limit=1", "demo").await.status(), 200, "the window reset");
}

#[tokio::test]
async fn faults_on_demand() {
    let sim = Sim::start(&["--scale", "small", "--no-rate-limit"]);
    sim.control(
        reqwest::Method::PUT,
        "/__sim/faults",
        serde_json::json!(["503:nth=1", "malformed:nth=2", "reset:nth=3"]),
    )
    .await;
    assert_eq!(sim.get("/api/v1/users", "demo").await.status(), 503);
    let malformed = sim.get("/api/v1/users", "demo").await;
    assert_eq!(malformed.status(), 200);
    assert!(malformed.json::<Value>().await.is_err(), "malformed page does not parse");
    let reset = reqwest::Client::new()
        .get(format!("{}/api/v1/users", sim.base))
        .header("Authorization", "SSWS demo")
        .send()
        .await;
    let cut_short = match reset {
        Ok(r) => r.bytes().await.is_err(),
        Err(e) => e.is_request() || e.is_body(),
    };
    assert!(cut_short, "connection reset mid-body");
    assert_eq!(sim.get("/api/v1/users", "demo").await.status(), 200);
}

#[test]
fn large_preset_generates_quickly() {
    let started = std::time::Instant::now();
    let sim = Sim::start(&["--scale", "large", "--no-rate-limit"]);
    let elapsed = started.elapsed();
    drop(sim);
    assert!(elapsed < Duration::from_secs(60), "large preset took {elapsed:?} to serve");
}
