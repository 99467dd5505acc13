//! `dti-operator sync` against okta-sim with a real org's untidy parts and a late, out-of-order System
//! Log: the report equals okta-sim's ground truth, and every failure ends in a clear error instead of a
//! partial report.

mod support;

use std::path::Path;

use serde_json::Value;
use support::cli::{assert_matches_truth, block, command, report, start, stderr, sync};
use support::history::advance;

#[test]
fn small_and_medium_reports_equal_truth_with_a_late_log() {
    for (scale, window) in [("small", "30d"), ("small", "7d"), ("small", "90d"), ("medium", "30d")] {
        let run = start(&["--scale", scale, "--no-rate-limit"], "demo");
        let r = report(&sync(&run, &["--format", "json", "--usage-window", window]));
        let truth = block(run.sim.truth(window, "demo"));
        assert_matches_truth(&r, &truth);
        let s = &r["summary"];
        assert!(s["excludedApps"].as_u64().unwrap_or(0) >= 11, "Okta's own apps and service clients are excluded: {s}");
        assert!(
            s["unusedSeats"].as_u64().unwrap_or(0) > 0 && s["usersByStatus"]["DEPROVISIONED"].as_u64().unwrap_or(0) > 0,
            "{s}"
        );
        let names: Vec<&str> = r["apps"].as_array().expect("apps").iter().filter_map(|a| a["name"].as_str()).collect();
        assert!(!names.contains(&"okta_enduser") && !names.contains(&"saasure"), "{names:?}");
    }
}

/// Sign-ins are kept per hour, so the hour a window starts in is partly outside it. Resumed syncs whose
/// windows start inside busy hours (90 minutes on, 20 more within that hour, 45 more into the next) must
/// still count exactly the sign-ins published in the window, as of the read's end.
#[test]
fn a_window_starting_inside_a_busy_hour_counts_exactly_its_sign_ins() {
    let run = start(&["--scale", "small", "--no-rate-limit", "--movable-clock"], "demo");
    let (clock, state) = (run.dir.path().join("now"), run.dir.path().join("state"));
    let (clock_arg, state_arg) = (clock.to_str().expect("utf-8"), state.to_str().expect("utf-8"));
    let args = ["--format", "json", "--state", state_arg, "--test-clock-file", clock_arg];
    block(advance(&run.sim, &clock, 60));
    let first = report(&sync(&run, &args));
    assert_matches_truth(&first, &block(run.sim.truth("30d", "demo")));
    let mut left = 0;
    for minutes in [90, 20, 45] {
        block(advance(&run.sim, &clock, minutes * 60));
        let resumed = report(&sync(&run, &args));
        let truth = block(run.sim.truth("30d", "demo"));
        assert_matches_truth(&resumed, &truth);
        left =
            first["summary"]["ssoEvents"].as_u64().unwrap_or(0) - truth["summary"]["ssoEvents"].as_u64().unwrap_or(0);
    }
    assert!(left > 0, "no sign-in left the window: the windows started in quiet hours and the test shows nothing");
}

#[test]
fn okta_apps_are_listed_on_request_and_marked_built_in() {
    let run = start(&["--scale", "small", "--no-rate-limit"], "demo");
    let r = report(&sync(&run, &["--format", "json", "--include-okta-apps"]));
    let url = format!("{}/__sim/truth?window=30d&asOf=demo&includeOktaApps=true", run.sim.base);
    let truth: Value = block(async { reqwest::get(url).await.expect("truth").json().await.expect("json") });
    assert_matches_truth(&r, &truth);
    let dashboard =
        r["apps"].as_array().expect("apps").iter().find(|a| a["name"] == "okta_enduser").expect("the Dashboard");
    assert_eq!(dashboard["builtIn"], true);
    assert_eq!(r["apps"][0]["name"], "okta_enduser", "the Dashboard tops the ranking when it is counted");
    assert_eq!(r["summary"]["excludedApps"], 0);
}

#[test]
fn only_the_configured_event_types_count() {
    let run = start(&["--scale", "small", "--no-rate-limit"], "demo");
    let all = report(&sync(&run, &["--format", "json"]));
    let sso = report(&sync(&run, &["--format", "json", "--usage-event-type", "user.authentication.sso"]));
    let vpn = |r: &Value| {
        r["apps"]
            .as_array()
            .expect("apps")
            .iter()
            .find(|a| a["label"] == "Corporate VPN (RADIUS)")
            .map(|a| a["ssoEvents"].clone())
    };
    assert!(vpn(&all).and_then(|v| v.as_u64()).unwrap_or(0) > 0, "RADIUS sign-ins count by default");
    assert_eq!(vpn(&sso), Some(Value::from(0)), "and not when only SSO counts");
    assert!(sso["summary"]["ssoEvents"].as_u64() < all["summary"]["ssoEvents"].as_u64());
}

#[test]
fn table_and_csv_formats() {
    let run = start(&["--scale", "small", "--no-rate-limit"], "demo");
    let table = sync(&run, &[]);
    assert!(table.status.success(), "{}", stderr(&table));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("APP") && text.contains("UNUSED SEATS") && text.contains("Google Workspace"), "{text}");
    assert!(
        stderr(&table).contains("access: View users: Granted, View applications: Granted, View System Log: Granted")
    );
    let csv = sync(&run, &["--format", "csv"]);
    let body = String::from_utf8_lossy(&csv.stdout);
    let mut lines = body.lines();
    assert_eq!(
        lines.next(),
        Some("id,name,label,status,signOnMode,builtIn,assignedUsers,activeUsers,unusedSeats,ssoEvents,lastUsed")
    );
    assert_eq!(lines.count(), 25);
}

#[test]
fn an_empty_org() {
    let run = start(&["--users", "0", "--apps", "0", "--no-rate-limit"], "demo");
    let r = report(&sync(&run, &["--format", "json"]));
    assert_eq!(r["summary"]["apps"], 0);
    assert_eq!(r["summary"]["users"], 0);
    assert_eq!(r["summary"]["activeUsers"], 0);
}

#[test]
fn a_429_in_the_middle_of_paging_and_5xx_are_survived() {
    let run = start(
        &[
            "--scale",
            "small",
            "--time-scale",
            "20",
            "--fault",
            "429:nth=3,path=/api/v1/apps,ms=300",
            "--fault",
            "503:rate=0.2",
            "--fault",
            "500:nth=2,path=/api/v1/logs",
        ],
        "demo",
    );
    let r = report(&sync(&run, &["--format", "json"]));
    assert_matches_truth(&r, &block(run.sim.truth("30d", "demo")));
    let err = stderr(&sync(&run, &["--format", "json"]));
    assert!(err.contains("retried"), "{err}");
}

#[test]
fn a_token_revoked_mid_sync_fails_without_a_report() {
    let run = start(&["--scale", "small", "--no-rate-limit", "--token", "demo=all:revoke-after=8"], "demo");
    let out = sync(&run, &["--format", "json"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no partial report");
    let e = stderr(&out);
    assert!(e.contains("E0000011") && e.contains("create a new token"), "{e}");
}

#[test]
fn a_missing_permission_names_it() {
    let run = start(&["--scale", "small", "--no-rate-limit", "--token", "nologs=users,apps"], "nologs");
    let out = sync(&run, &["--format", "json"]);
    assert!(!out.status.success() && out.stdout.is_empty());
    let e = stderr(&out);
    assert!(
        e.contains("View System Log: Denied")
            && e.contains("lacks the \"View System Log\" permission")
            && e.contains("E0000006"),
        "{e}"
    );
}

#[test]
fn broken_answers_are_retried_or_fail_naming_the_endpoint() {
    let malformed = start(&["--scale", "small", "--no-rate-limit", "--fault", "malformed:path=/api/v1/users"], "demo");
    let e = stderr(&sync(&malformed, &["--format", "json"]));
    assert!(e.contains("GET /api/v1/users") && e.contains("not the JSON Okta sends"), "{e}");
    let reset = start(&["--scale", "small", "--no-rate-limit", "--fault", "reset:nth=2,path=/api/v1/apps"], "demo");
    let r = report(&sync(&reset, &["--format", "json"]));
    assert_matches_truth(&r, &block(reset.sim.truth("30d", "demo")));
    let slow =
        start(&["--scale", "small", "--no-rate-limit", "--fault", "slow:nth=1,path=/api/v1/logs,ms=3000"], "demo");
    let out = sync(&slow, &["--format", "json", "--request-timeout", "1s"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn the_domain_guard_refuses_what_it_must() {
    let run = start(&["--scale", "small", "--no-rate-limit"], "demo");
    let cases: [(&[&str], &str); 5] = [
        (&["sync", "--domain", "https://acme.okta.com"], "not a host name"),
        (&["sync", "--domain", "10.1.2.3"], "is an IP address"),
        (&["sync", "--domain", &run.sim.host_port], "loopback"),
        (&["sync", "--domain", "login.acme.com"], "--allow-domain acme.com"),
        (&["sync", "--domain", "login.acme.com", "--allow-domain", "com"], "public suffix"),
    ];
    for (args, want) in cases {
        let out = command().args(args).arg("--token-file").arg(&run.token_file).output().expect("run");
        assert!(!out.status.success());
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn the_token_comes_from_the_environment_never_a_flag() {
    let run = start(&["--scale", "small", "--no-rate-limit"], "demo");
    let out = command()
        .args(["sync", "--domain", &run.sim.host_port, "--insecure-allow-http", "--format", "json"])
        .env("OKTA_API_TOKEN", "demo")
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let flag = command()
        .args(["sync", "--domain", &run.sim.host_port, "--insecure-allow-http", "--api-token", "demo"])
        .output()
        .expect("run");
    assert!(!flag.status.success() && stderr(&flag).contains("never as a flag value"), "{}", stderr(&flag));
    let spaced = command()
        .args(["sync", "--domain", &run.sim.host_port, "--insecure-allow-http"])
        .env("OKTA_API_TOKEN", "de mo")
        .output()
        .expect("run");
    assert!(stderr(&spaced).contains("whitespace inside"), "{}", stderr(&spaced));
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .expect("csv")
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

#[test]
fn the_per_user_export_lists_every_assignment_with_its_last_sign_in() {
    let run = start(&["--scale", "small", "--no-rate-limit"], "demo");
    let export = run.dir.path().join("per-user.csv");
    let r = report(&sync(&run, &["--format", "json", "--per-user", export.to_str().expect("utf-8")]));
    let header = std::fs::read_to_string(&export).expect("csv").lines().next().map(String::from);
    let columns =
        "userId,login,appId,appLabel,scope,status,lastSignIn,userStatus,assigned,daysSinceLastSignIn,reason,grant";
    assert_eq!(header.as_deref(), Some(columns), "the reclaim columns follow the original seven");
    let rows = csv_rows(&export);
    let slack = r["apps"].as_array().expect("apps").iter().find(|a| a["label"] == "Slack").expect("Slack");
    let slack_rows: Vec<&Vec<String>> =
        rows.iter().filter(|row| row[2] == slack["id"].as_str().unwrap_or_default()).collect();
    let active: std::collections::HashSet<&str> =
        slack_rows.iter().filter(|row| !row[6].is_empty()).map(|row| row[0].as_str()).collect();
    assert_eq!(active.len() as u64, slack["activeUsers"].as_u64().unwrap_or(0), "a last sign-in for every active user");
    assert!(slack_rows.iter().all(|row| row[1].contains('@') && (row[4] == "USER" || row[4] == "GROUP")));
}

#[test]
fn a_state_file_makes_the_next_sync_incremental_and_exact() {
    let run = start(&["--scale", "small", "--no-rate-limit"], "demo");
    let state = run.dir.path().join("state");
    let args = ["--format", "json", "--state", state.to_str().expect("utf-8")];
    let first = sync(&run, &args);
    assert_matches_truth(&report(&first), &block(run.sim.truth("30d", "demo")));
    assert!(stderr(&first).contains("sync: full"), "{}", stderr(&first));
    block(async {
        let org = run.sim.directory().await;
        let slack = org["apps"].as_array().expect("apps").iter().find(|a| a["label"] == "Slack").expect("Slack")["id"]
            .as_str()
            .expect("id")
            .to_string();
        let zoom = org["apps"].as_array().expect("apps").iter().find(|a| a["label"] == "Zoom").expect("Zoom")["id"]
            .as_str()
            .expect("id")
            .to_string();
        let user = org["users"][3]["id"].as_str().expect("user").to_string();
        run.sim.change(serde_json::json!({"op": "sign-ins", "app": slack, "count": 5, "users": 2})).await;
        run.sim.change(serde_json::json!({"op": "sign-ins", "app": zoom, "count": 2, "agoSeconds": 7200})).await;
        run.sim.change(serde_json::json!({"op": "assign", "app": zoom, "user": user, "status": "ACTIVE"})).await;
        run.sim.change(serde_json::json!({"op": "user-status", "user": user, "status": "SUSPENDED"})).await;
    });
    std::thread::sleep(std::time::Duration::from_secs(4)); // past the log's lag
    let second = sync(&run, &args);
    assert_matches_truth(&report(&second), &block(run.sim.truth("30d", "demo")));
    let e = stderr(&second);
    assert!(e.contains("sync: incremental") && e.contains("1 app(s) re-listed"), "{e}");
}

#[test]
fn a_signed_state_file_resumes_and_one_signed_with_another_key_is_refused() {
    let run = start(&["--scale", "small", "--no-rate-limit"], "demo");
    let state = run.dir.path().join("state");
    let (key, other) = (run.dir.path().join("key"), run.dir.path().join("other"));
    std::fs::write(&key, [3u8; 32]).expect("key");
    std::fs::write(&other, [4u8; 32]).expect("key");
    let with = |k: &Path| {
        let args = [
            "--format",
            "json",
            "--state",
            state.to_str().expect("utf-8"),
            "--state-key-file",
            k.to_str().expect("utf-8"),
        ];
        sync(&run, &args)
    };
    assert!(stderr(&with(&key)).contains("sync: full"));
    let again = with(&key);
    assert!(stderr(&again).contains("sync: incremental"), "{}", stderr(&again));
    let refused = with(&other);
    let e = stderr(&refused);
    assert!(e.contains("does not verify") && e.contains("sync: full"), "{e}");
    assert_matches_truth(&report(&refused), &block(run.sim.truth("30d", "demo")));
    std::fs::write(&other, [4u8; 8]).expect("key");
    let short = with(&other);
    assert!(!short.status.success() && stderr(&short).contains("at least 32"), "{}", stderr(&short));
}
