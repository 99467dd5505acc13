//! Usage history over 14 months of simulated time, through the real binaries: okta-sim's movable clock
//! and living org (churn and sign-ins each simulated day), `dti-operator sync --state` on a clock file a
//! day at a time, and every closed month and ISO week, per app and for the org, compared with okta-sim's
//! truth (which remembers every sign-in; its System Log still serves only 90 days). Halfway the usage
//! window changes, which starts the rest of the state afresh but must keep the history. Each closed month's
//! active users per department and cost center must equal the truth as it stood when the month closed,
//! although the living org moves people between departments every day.

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
                "--breakdown",
                "department",
                "--breakdown",
                "costCenter",
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
    let mut at_close = ValuesAtClose::default();
    at_close.record(&t.sync("30d"), &t.run.sim);
    for day in 1..=425i64 {
        let before = now.clone();
        now = block(advance(&t.run.sim, &t.clock, DAY_S));
        if month_of(&before) != month_of(&now) {
            seats.record(&month_of(&before), block(seats_now(&t.run.sim))); // then the sync samples the same org
        }
        at_close.record(&t.sync(if day < 150 { "30d" } else { "14d" }), &t.run.sim);
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
    let by_value = at_close.compare(&last);
    eprintln!(
        "{scale}: {compared} closed months and weeks equal to the truth, and {by_value} months' active users per \
         department and cost center as they stood at the close, in {:?}",
        started.elapsed()
    );
    assert!(compared > 14 + 60, "{compared}");
    assert!(by_value > 14 + 30, "{by_value}");
    let moved = at_close.moved_since(&t.run.sim);
    assert!(moved > 3, "only {moved} months would read otherwise with today's values: the check is too weak");
}

/// Each closed month's active users per breakdown value, as okta-sim's truth gave them right after the
/// sync that closed the month (before the next day's churn moved anybody): a month keeps the values its
/// users had when it closed, so profile changes later must not show in it.
#[derive(Default)]
struct ValuesAtClose {
    /// Per series ("org" or an app id), per month label: the truth's breakdown then.
    months: std::collections::BTreeMap<String, std::collections::BTreeMap<String, Value>>,
}

fn closed_months(history: &Value) -> Vec<&Value> {
    history["months"].as_array().into_iter().flatten().filter(|m| m["inProgress"] != true).collect()
}

impl ValuesAtClose {
    fn record(&mut self, product: &Value, sim: &support::sim::Sim) {
        let org = self.months.entry("org".into()).or_default();
        let fresh: Vec<String> = closed_months(&product["summary"]["history"])
            .iter()
            .filter_map(|m| m["month"].as_str())
            .filter(|label| !org.contains_key(*label))
            .map(String::from)
            .collect();
        if fresh.is_empty() {
            return;
        }
        let url = format!("{}/__sim/truth?window=30d&asOf=now&history=true&breakdown=department,costCenter", sim.base);
        let truth: Value = block(async { reqwest::get(url).await.expect("truth").json().await.expect("json") });
        let mut series: Vec<(String, &Value)> = vec![("org".into(), &truth["summary"]["history"])];
        for app in truth["apps"].as_array().into_iter().flatten() {
            series.push((app["id"].as_str().unwrap_or_default().to_string(), &app["history"]));
        }
        for (id, history) in series {
            let kept = self.months.entry(id).or_default();
            for m in history["months"].as_array().into_iter().flatten() {
                let label = m["month"].as_str().unwrap_or_default();
                if fresh.iter().any(|f| f == label) {
                    kept.insert(label.to_string(), m["breakdown"].clone());
                }
            }
        }
    }

    /// How many recorded org months the truth now gives otherwise: people moved since, so a product that
    /// counted by today's values would fail [`ValuesAtClose::compare`].
    fn moved_since(&self, sim: &support::sim::Sim) -> usize {
        let url = format!("{}/__sim/truth?window=30d&asOf=now&history=true&breakdown=department,costCenter", sim.base);
        let now: Value = block(async { reqwest::get(url).await.expect("truth").json().await.expect("json") });
        let org = self.months.get("org").cloned().unwrap_or_default();
        closed_months(&now["summary"]["history"])
            .iter()
            .filter(|m| org.get(m["month"].as_str().unwrap_or_default()).is_some_and(|then| *then != m["breakdown"]))
            .count()
    }

    /// Every closed month of the org and each app with active users equals what the truth said at its
    /// close; returns how many were compared.
    fn compare(&self, product: &Value) -> usize {
        let mut series: Vec<(&str, &Value)> = vec![("org", &product["summary"]["history"])];
        for app in product["apps"].as_array().into_iter().flatten() {
            series.push((app["id"].as_str().unwrap_or_default(), &app["history"]));
        }
        let mut compared = 0;
        for (id, history) in series {
            for m in closed_months(history) {
                let label = m["month"].as_str().unwrap_or_default();
                let Some(want) = self.months.get(id).and_then(|k| k.get(label)) else {
                    assert_eq!(m["activeUsers"], 0, "{id} {label}: active users, but no truth recorded at its close");
                    continue;
                };
                assert_eq!(&m["breakdown"], want, "{id} {label}: active users per value at its close");
                compared += 1;
            }
        }
        compared
    }
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
