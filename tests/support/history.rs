//! Usage history against okta-sim's truth: moving both clocks, and comparing every closed month and week.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::sim::Sim;

pub const DAY_S: i64 = 86_400;

/// Moves okta-sim's clock forward and the product's clock file to the same time; returns it.
pub async fn advance(sim: &Sim, clock: &Path, seconds: i64) -> String {
    let answer = sim.control(reqwest::Method::POST, "/__sim/clock", json!({"advanceSeconds": seconds})).await;
    let now = answer["now"].as_str().unwrap_or_else(|| panic!("the clock did not move: {answer}")).to_string();
    std::fs::write(clock, &now).expect("clock file");
    now
}

/// The month of an RFC 3339 time, e.g. 2026-11.
pub fn month_of(rfc3339: &str) -> String {
    rfc3339.chars().take(7).collect()
}

/// The truth with every app's and the org's months and weeks.
pub async fn truth(sim: &Sim, window: &str) -> Value {
    let url = format!("{}/__sim/truth?window={window}&asOf=now&history=true", sim.base);
    reqwest::get(url).await.expect("truth").json::<Value>().await.expect("truth json")
}

/// The seats okta-sim holds now, per app id and "org".
pub async fn seats_now(sim: &Sim) -> BTreeMap<String, u64> {
    let truth = sim.truth("30d", "now").await;
    let mut out = BTreeMap::from([("org".to_string(), truth["summary"]["assignedUsers"].as_u64().unwrap_or(0))]);
    for app in truth["apps"].as_array().into_iter().flatten() {
        out.insert(app["id"].as_str().unwrap_or_default().to_string(), app["assignedUsers"].as_u64().unwrap_or(0));
    }
    out
}

/// Seats per series ("org" or an app id), per month label, as recorded when each month closed.
#[derive(Default)]
pub struct ClosingSeats(pub BTreeMap<String, BTreeMap<String, u64>>);

impl ClosingSeats {
    pub fn record(&mut self, month: &str, seats: BTreeMap<String, u64>) {
        for (series, n) in seats {
            self.0.entry(series).or_default().insert(month.to_string(), n);
        }
    }
}

type Row = (u64, u64, bool, Option<u64>, bool);

/// Rows of a history list by label: (activeUsers, signIns, partial, seats, inProgress).
fn rows(list: &Value, key: &str) -> BTreeMap<String, Row> {
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

/// Every closed month and week of one series equals the truth's (and each month's seats those recorded
/// when it closed); returns how many were compared.
pub fn compare(what: &str, product: &Value, truth: &Value, seats: Option<&BTreeMap<String, u64>>) -> usize {
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
                let want = seats.and_then(|s| s.get(&label)).copied();
                assert_eq!(got_seats, want, "{what} {label}: seats when it closed");
            }
            compared += 1;
        }
    }
    compared
}
