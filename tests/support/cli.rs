//! `dti-operator sync` as a user runs it, against okta-sim: a token file, the binary, the report, and the
//! comparison with okta-sim's ground truth.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

use super::sim::Sim;

/// The System Log lag every test here runs with: events appear up to this long after `published`.
pub const LAG: &str = "3s";

pub struct Run {
    pub sim: Sim,
    pub dir: tempfile::TempDir,
    pub token_file: PathBuf,
}

pub fn start(sim_args: &[&str], token: &str) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).expect("token file");
    let mut args = vec!["--log-lag", LAG];
    args.extend(sim_args);
    Run { sim: Sim::start(&args), dir, token_file }
}

pub fn command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dti-operator"));
    c.env_remove("OKTA_API_TOKEN").env_remove("HTTPS_PROXY").env_remove("https_proxy");
    c
}

pub fn sync(run: &Run, extra: &[&str]) -> Output {
    command()
        .args([
            "sync",
            "--domain",
            &run.sim.host_port,
            "--insecure-allow-http",
            "--sync-timeout",
            "90s",
            "--token-file",
        ])
        .arg(&run.token_file)
        .args(extra)
        .output()
        .expect("run dti-operator sync")
}

pub fn report(out: &Output) -> Value {
    assert!(out.status.success(), "sync failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON document on stdout")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The report minus what legitimately differs (when it was made, the domain as typed) and the history
/// (tests/history.rs compares it), with timestamps compared as instants.
pub fn comparable(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("generatedAt");
        o.remove("domain");
    }
    if let Some(summary) = v["summary"].as_object_mut() {
        summary.remove("history");
        summary.remove("reclaimBasis"); // the rules as applied: tests/reclaim.rs checks them
    }
    for app in v["apps"].as_array_mut().into_iter().flatten() {
        if let Some(o) = app.as_object_mut() {
            o.remove("history");
        }
        if let Some(t) = app["lastUsed"].as_str() {
            let ms = chrono::DateTime::parse_from_rfc3339(t).expect("lastUsed").timestamp_millis();
            app["lastUsed"] = Value::from(ms);
        }
    }
    v
}

pub fn assert_matches_truth(report: &Value, truth: &Value) {
    let (r, t) = (comparable(report), comparable(truth));
    assert_eq!(r["summary"], t["summary"], "summary");
    assert_eq!(r["usageWindow"], t["usageWindow"]);
    let (ra, ta) = (r["apps"].as_array().expect("apps"), t["apps"].as_array().expect("apps"));
    assert_eq!(ra.len(), ta.len(), "apps");
    for (a, b) in ra.iter().zip(ta) {
        assert_eq!(a, b, "app rows differ (or are out of order)");
    }
}

pub fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(f)
}
