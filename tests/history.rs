//! Usage history over 14 months of simulated time, through the real binaries: okta-sim's movable clock
//! and living org (churn and sign-ins each simulated day), `dti-operator sync --state` on a clock file a
//! day at a time, and every closed month and ISO week, per app and for the org, compared with okta-sim's
//! truth (which remembers every sign-in; its System Log still serves only 90 days). Halfway the usage
//! window changes, which starts the rest of the state afresh but must keep the history.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use support::cli::{Run, block, report, start, stderr, sync};

const DAY_S: i64 = 86_400;

/// Moves okta-sim's clock forward and the product's clock file to the same time; returns it.
fn advance(run: &Run, clock: &Path, seconds: i64) -> String {
    let answer = block(run.sim.control(reqwest::Method::POST, "/__sim/clock", json!({"advanceSeconds": seconds})));
    let now = answer["now"].as_str().unwrap_or_else(|| panic!("the clock did not move: {answer}")).to_string();
    std::fs::write(clock, &now).expect("clock file");
    now
}

fn month_of(rfc3339: &str) -> String {
    rfc3339[..7].to_string()
}

/// Rows of a history list by label: (activeUsers, signIns, partial, seats).
fn rows(list: &Value, key: &str) -> BTreeMap<String, (u64, u64, bool, Option<u64>, bool)> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let label = r[key].as_str().unwrap_or_default().to_string();
            let n = |f: &str| r[f].as_u64().unwrap_or(u64::MAX);
            let partial = r["partial"].as_bool().unwrap_or(false);
            (label, (n("activeUsers"), n("signIns"), partial, r["seats"].as_u64(), r["inProgress"] == true))
        })
        .collect()
}

/// Every closed month and week of one series equals the truth's; returns how many were compared.
fn compare(what: &str, product: &Value, truth: &Value, seats: &BTreeMap<String, u64>) -> usize {
    let mut compared = 0;
    for (list, key) in [("months", "month"), ("weeks", "week")] {
        let theirs = rows(&truth[list], key);
        for (i, (label, (active, sign_ins, partial, got_seats, open))) in
            rows(&product[list], key).into_iter().enumerate()
        {
            if open {
                continue;
            }
            let (t_active, t_sign_ins) = theirs.get(&label).map_or((0, 0), |t| (t.0, t.1));
            assert_eq!((active, sign_ins), (t_active, t_sign_ins), "{what} {label}: (activeUsers, signIns)");
            // okta-sim's generated log is younger than the 90 days read back: even the partial period is whole
            assert!(!partial || i == 0, "{what} {label}: only the oldest period may be partial");
            if key == "month" {
                assert_eq!(got_seats, seats.get(&label).copied(), "{what} {label}: seats when it closed");
            }
            compared += 1;
        }
    }
    compared
}

struct Timeline {
    run: Run,
    clock: PathBuf,
    state: PathBuf,
    /// Seats per month label when it closed: the org's under "org", each app's under its id.
    seats: BTreeMap<String, BTreeMap<String, u64>>,
    now: String,
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

    /// The seats okta-sim holds now, recorded as the closing seats of `month`.
    fn record_seats(&mut self, month: &str) {
        let truth = block(self.run.sim.truth("30d", "now"));
        let mut at = |series: &str, n: &Value| {
            self.seats.entry(series.to_string()).or_default().insert(month.to_string(), n.as_u64().unwrap_or(0));
        };
        at("org", &truth["summary"]["assignedUsers"]);
        for app in truth["apps"].as_array().into_iter().flatten() {
            at(app["id"].as_str().unwrap_or_default(), &app["assignedUsers"]);
        }
    }
}

fn fourteen_months(scale: &str, sign_ins_per_day: u64) {
    let run = start(&["--scale", scale, "--no-rate-limit", "--movable-clock"], "demo");
    let clock = run.dir.path().join("now");
    let state = run.dir.path().join("state");
    let mut t = Timeline { run, clock, state, seats: BTreeMap::new(), now: String::new() };
    t.now = advance(&t.run, &t.clock, 60);
    let started = std::time::Instant::now();
    t.sync("30d");
    for day in 1..=425i64 {
        let before = t.now.clone();
        t.now = advance(&t.run, &t.clock, DAY_S);
        if month_of(&before) != month_of(&t.now) {
            t.record_seats(&month_of(&before)); // then the sync samples the same org
        }
        t.sync(if day < 150 { "30d" } else { "14d" });
        let burst = json!({"changes": 3, "signIns": sign_ins_per_day, "seed": day * 1000});
        block(t.run.sim.control(reqwest::Method::POST, "/__sim/churn", burst));
    }
    advance(&t.run, &t.clock, 2 * 3600);
    let last = t.sync("14d");
    let truth = block(async {
        let url = format!("{}/__sim/truth?window=14d&asOf=now&history=true", t.run.sim.base);
        reqwest::get(url).await.expect("truth").json::<Value>().await.expect("truth json")
    });
    let empty = BTreeMap::new();
    let mut compared =
        compare("org", &last["summary"]["history"], &truth["summary"]["history"], t.seats.get("org").unwrap_or(&empty));
    let months = last["summary"]["history"]["months"].as_array().map_or(0, Vec::len);
    assert!(months >= 14, "{months} months of history after 14 months: {}", last["summary"]["history"]);
    let truth_apps: BTreeMap<&str, &Value> =
        truth["apps"].as_array().into_iter().flatten().map(|a| (a["id"].as_str().unwrap_or_default(), a)).collect();
    for app in last["apps"].as_array().into_iter().flatten() {
        let id = app["id"].as_str().unwrap_or_default();
        let theirs = truth_apps.get(id).map_or(&Value::Null, |a| &a["history"]);
        compared += compare(id, &app["history"], theirs, t.seats.get(id).unwrap_or(&empty));
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
