//! Usage history over 14 months of simulated time, through the real binaries: okta-sim's movable clock
//! and living org (churn and sign-ins each simulated day), `dti-operator sync --state` on a clock file a
//! day at a time, and every closed month and ISO week, per app and for the org, compared with okta-sim's
//! truth (which remembers every sign-in; its System Log still serves only 90 days). Halfway the usage
//! window changes, which starts the rest of the state afresh but must keep the history.

mod support;

use std::path::PathBuf;

use serde_json::{Value, json};
use support::cli::{Run, block, report, start, stderr, sync};
use support::history::{ClosingSeats, DAY_S, advance, compare, month_of, seats_now, truth};

struct Timeline {
    run: Run,
    clock: PathBuf,
    state: PathBuf,
}

impl Timeline {
    fn sync(&self, window: &str) -> Value {
        let out = sync(
            &self.run,
            &[
                "--format",
                "json",
                "--usage-window",
                window,
                "--history-months",
                "25",
                "--history-weeks",
                "104",
                "--assignments-refresh-interval",
                "168h", // a full listing weekly; seats follow the log's changes in between
                "--state",
                self.state.to_str().expect("utf-8"),
                "--test-clock-file",
                self.clock.to_str().expect("utf-8"),
            ],
        );
        assert!(!stderr(&out).contains("after their month"), "{}", stderr(&out));
        report(&out)
    }
}

fn fourteen_months(scale: &str, sign_ins_per_day: u64) {
    let run = start(&["--scale", scale, "--no-rate-limit", "--movable-clock"], "demo");
    let (clock, state) = (run.dir.path().join("now"), run.dir.path().join("state"));
    let t = Timeline { run, clock, state };
    let mut now = block(advance(&t.run.sim, &t.clock, 60));
    let started = std::time::Instant::now();
    let mut seats = ClosingSeats::default();
    t.sync("30d");
    for day in 1..=425i64 {
        let before = now.clone();
        now = block(advance(&t.run.sim, &t.clock, DAY_S));
        if month_of(&before) != month_of(&now) {
            seats.record(&month_of(&before), block(seats_now(&t.run.sim))); // then the sync samples the same org
        }
        t.sync(if day < 150 { "30d" } else { "14d" });
        let burst = json!({"changes": 3, "signIns": sign_ins_per_day, "seed": day * 1000});
        block(t.run.sim.control(reqwest::Method::POST, "/__sim/churn", burst));
    }
    block(advance(&t.run.sim, &t.clock, 2 * 3600));
    let last = t.sync("14d");
    let truth = block(truth(&t.run.sim, "14d"));
    let mut compared = compare("org", &last["summary"]["history"], &truth["summary"]["history"], seats.0.get("org"));
    let months = last["summary"]["history"]["months"].as_array().map_or(0, Vec::len);
    assert!(months >= 14, "{months} months of history after 14 months: {}", last["summary"]["history"]);
    let truth_apps: std::collections::BTreeMap<&str, &Value> =
        truth["apps"].as_array().into_iter().flatten().map(|a| (a["id"].as_str().unwrap_or_default(), a)).collect();
    for app in last["apps"].as_array().into_iter().flatten() {
        let id = app["id"].as_str().unwrap_or_default();
        let theirs = truth_apps.get(id).map_or(&Value::Null, |a| &a["history"]);
        compared += compare(id, &app["history"], theirs, seats.0.get(id));
    }
    eprintln!("{scale}: {compared} closed months and weeks equal to the truth, in {:?}", started.elapsed());
    assert!(compared > 14 + 60, "{compared}");
}

#[test]
fn fourteen_months_of_history_equal_the_truth_on_small() {
    fourteen_months("small", 60);
}

#[test]
fn fourteen_months_of_history_equal_the_truth_on_medium() {
    fourteen_months("medium", 400);
}

#[test]
fn the_test_clock_is_refused_outside_tests() {
    let out = support::cli::command()
        .args(["sync", "--domain", "acme.okta.com", "--token-file", "/dev/null", "--test-clock-file", "/tmp/now"])
        .output()
        .expect("run dti-operator sync");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("--test-clock-file is for tests only"), "{err}");
}
