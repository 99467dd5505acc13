//! `dti-operator sync` against okta-sim: the report equals okta-sim's ground truth, and every failure mode
//! ends in a clear error instead of a partial report.

mod support;

use std::process::{Command, Output};

use serde_json::Value;
use support::sim::Sim;

struct Run {
    sim: Sim,
    truth: Value,
    _dir: tempfile::TempDir,
    token_file: std::path::PathBuf,
}

fn start(sim_args: &[&str], window: &str, token: &str) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let truth_path = dir.path().join("truth.json");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).expect("token file");
    let mut args = sim_args.to_vec();
    let truth_arg = truth_path.to_str().expect("utf-8").to_string();
    args.extend(["--truth", &truth_arg, "--usage-window", window]);
    let sim = Sim::start(&args);
    let truth = serde_json::from_str(&std::fs::read_to_string(&truth_path).expect("truth"))
        .expect("truth json");
    Run {
        sim,
        truth,
        _dir: dir,
        token_file,
    }
}

fn sync(run: &Run, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dti-operator"))
        .args([
            "sync",
            "--domain",
            &run.sim.host_port,
            "--insecure-allow-http",
            "--token-file",
        ])
        .arg(&run.token_file)
        .args(extra)
        .env_remove("OKTA_API_TOKEN")
        .output()
        .expect("run dti-operator sync")
}

fn report(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "sync failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document on stdout")
}

/// The report minus what legitimately differs (when it was made, and the domain as typed), with
/// timestamps compared as instants.
fn comparable(v: &Value) -> Value {
    let mut v = v.clone();
    v.as_object_mut().map(|o| {
        o.remove("generatedAt");
        o.remove("domain")
    });
    for app in v["apps"].as_array_mut().into_iter().flatten() {
        if let Some(t) = app["lastUsed"].as_str() {
            let ms = chrono::DateTime::parse_from_rfc3339(t)
                .expect("lastUsed")
                .timestamp_millis();
            app["lastUsed"] = Value::from(ms);
        }
    }
    v
}

fn assert_matches_truth(report: &Value, truth: &Value) {
    let (r, t) = (comparable(report), comparable(truth));
    assert_eq!(r["summary"], t["summary"], "summary");
    assert_eq!(r["usageWindow"], t["usageWindow"]);
    let (ra, ta) = (
        r["apps"].as_array().expect("apps"),
        t["apps"].as_array().expect("apps"),
    );
    assert_eq!(ra.len(), ta.len());
    for (a, b) in ra.iter().zip(ta) {
        assert_eq!(a, b, "app rows differ (or are out of order)");
    }
}

#[test]
fn small_org_report_equals_truth_for_7_30_and_90_day_windows() {
    for window in ["30d", "7d", "90d"] {
        let run = start(&["--scale", "small", "--no-rate-limit"], window, "demo");
        let out = sync(&run, &["--format", "json", "--usage-window", window]);
        let r = report(&out);
        assert_matches_truth(&r, &run.truth);
        assert_eq!(r["domain"], run.sim.host_port.as_str());
        // the fixtures exercise what they should: failures and other event types exist, AppUser targets come first sometimes
        if window == "30d" {
            let apps = r["apps"].as_array().expect("apps");
            assert!(
                apps.iter().any(|a| a["assignedUsers"] == 0),
                "an app nobody is assigned to"
            );
            assert!(apps.iter().any(|a| a["status"] == "INACTIVE"));
            assert!(r["summary"]["unusedApps"].as_u64() > Some(0));
        }
    }
}

#[tokio::test]
async fn fixtures_hold_failures_other_event_types_and_app_user_first_targets() {
    let sim = Sim::start(&["--scale", "small", "--no-rate-limit"]);
    let events: Vec<Value> = sim
        .get("/api/v1/logs?limit=1000", "demo")
        .await
        .json()
        .await
        .expect("events");
    assert!(events.iter().any(
        |e| e["eventType"] == "user.authentication.sso" && e["outcome"]["result"] == "FAILURE"
    ));
    assert!(
        events
            .iter()
            .any(|e| e["eventType"] != "user.authentication.sso")
    );
    assert!(events.iter().any(|e| e["target"][0]["type"] == "AppUser" && e["target"][1]["type"] == "AppInstance"));
}

#[test]
fn table_and_csv_formats() {
    let run = start(&["--scale", "small", "--no-rate-limit"], "30d", "demo");
    let table = sync(&run, &[]);
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("APP") && text.contains("LAST USED") && text.contains("Zoom"),
        "{text}"
    );
    let csv = sync(&run, &["--format", "csv"]);
    let csv = String::from_utf8_lossy(&csv.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "id,name,label,status,signOnMode,assignedUsers,activeUsers,ssoEvents,lastUsed"
    );
    assert_eq!(
        lines.len() as u64 - 1,
        run.truth["summary"]["apps"].as_u64().expect("apps")
    );
}

#[test]
fn an_empty_org() {
    let run = start(
        &[
            "--scale",
            "small",
            "--users",
            "0",
            "--apps",
            "0",
            "--no-rate-limit",
        ],
        "30d",
        "demo",
    );
    let r = report(&sync(&run, &["--format", "json"]));
    assert_matches_truth(&r, &run.truth);
    assert_eq!(r["summary"]["apps"], 0);
    assert_eq!(r["apps"], Value::Array(vec![]));
}

#[test]
fn a_429_in_the_middle_of_paging_and_5xx_are_survived() {
    // Okta's real limits, and a 429 and two server errors on top, mid-listing
    let run = start(
        &[
            "--scale",
            "small",
            "--fault",
            "429:nth=5,path=/api/v1/apps",
            "--fault",
            "503:nth=2,path=/api/v1/users",
            "--fault",
            "500:nth=3,path=/api/v1/logs",
        ],
        "30d",
        "demo",
    );
    let out = sync(&run, &["--format", "json"]);
    let r = report(&out);
    assert_matches_truth(&r, &run.truth);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("2 retried") && stderr.contains("1 rate-limited"),
        "{stderr}"
    );
}

#[test]
fn a_token_revoked_mid_sync_fails_without_a_report() {
    let run = start(
        &[
            "--scale",
            "small",
            "--no-rate-limit",
            "--token",
            "brief=all:revoke-after=12",
        ],
        "30d",
        "brief",
    );
    let out = sync(&run, &["--format", "json"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no partial report printed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("E0000011"), "{stderr}");
    assert!(
        !stderr.contains("brief"),
        "the token never appears: {stderr}"
    );
}

#[test]
fn a_missing_permission_names_it() {
    let run = start(
        &[
            "--scale",
            "small",
            "--no-rate-limit",
            "--token",
            "nologs=users,apps",
        ],
        "30d",
        "nologs",
    );
    let out = sync(&run, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("View System Log") && stderr.contains("E0000006"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_malformed_page_is_an_error_naming_the_endpoint() {
    let run = start(
        &[
            "--scale",
            "small",
            "--no-rate-limit",
            "--fault",
            "malformed:nth=2,path=/api/v1/users",
        ],
        "30d",
        "demo",
    );
    let out = sync(&run, &["--format", "json"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("GET /api/v1/users") && stderr.contains("not the JSON"),
        "{stderr}"
    );
}

#[test]
fn a_connection_reset_mid_body_is_retried() {
    let run = start(
        &[
            "--scale",
            "small",
            "--no-rate-limit",
            "--fault",
            "reset:nth=2,path=/api/v1/logs",
        ],
        "30d",
        "demo",
    );
    let r = report(&sync(&run, &["--format", "json"]));
    assert_matches_truth(&r, &run.truth);
}

#[test]
fn a_slow_page_past_the_request_deadline_is_retried() {
    let run = start(
        &[
            "--scale",
            "small",
            "--no-rate-limit",
            "--fault",
            "slow:nth=1,path=/api/v1/apps/,ms=5000",
        ],
        "30d",
        "demo",
    );
    let out = sync(&run, &["--format", "json", "--request-timeout", "1s"]);
    let r = report(&out);
    assert_matches_truth(&r, &run.truth);
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 retried"));
}

#[test]
fn the_domain_guard_refuses_what_it_must() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("t");
    std::fs::write(&token, "x").expect("write");
    for (domain, flags, expected) in [
        ("127.0.0.1:8080", vec![], "loopback"),
        (
            "169.254.169.254",
            vec!["--insecure-allow-http"],
            "IP address",
        ),
        ("login.acme.com", vec![], "--allow-domain acme.com"),
        ("https://acme.okta.com/", vec![], "not a host name"),
        ("acme.okta.com.evil.example", vec![], "not an Okta domain"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_dti-operator"))
            .args(["sync", "--domain", domain, "--token-file"])
            .arg(&token)
            .args(flags)
            .output()
            .expect("run");
        assert!(!out.status.success(), "{domain} accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{domain}: {stderr}");
    }
}

#[test]
fn the_token_comes_from_the_environment_too() {
    let run = start(&["--scale", "small", "--no-rate-limit"], "30d", "unused");
    let out = Command::new(env!("CARGO_BIN_EXE_dti-operator"))
        .args([
            "sync",
            "--domain",
            &run.sim.host_port,
            "--insecure-allow-http",
            "--format",
            "json",
        ])
        .env("OKTA_API_TOKEN", "demo")
        .output()
        .expect("run");
    assert_matches_truth(&report(&out), &run.truth);
}
