//! Seats to reclaim through `dti-operator sync` against okta-sim: every reason, grant and exemption
//! equal to okta-sim's truth, kept current when a user leaves, and the per-user export agreeing with
//! the counts.

mod support;

use serde_json::Value;
use support::cli::{assert_matches_truth, block, report, start, sync};

fn truth(run: &support::cli::Run, query: &str) -> Value {
    let url = format!("{}/__sim/truth?window=30d&asOf=demo&domain={}&{query}", run.sim.base, run.sim.host_port);
    block(async { reqwest::get(url).await.expect("truth").json().await.expect("json") })
}

fn reclaim_of(r: &Value) -> &Value {
    &r["summary"]["reclaim"]
}

#[test]
fn every_reason_and_grant_equals_truth_on_small_and_medium() {
    for scale in ["small", "medium"] {
        let run = start(&["--scale", scale, "--no-rate-limit"], "demo");
        for days in ["60d", "20d", "7d"] {
            let r = report(&sync(&run, &["--format", "json", "--inactive-after", days]));
            let t = truth(&run, &format!("inactiveAfter={days}"));
            assert_matches_truth(&r, &t);
            let s = reclaim_of(&r);
            let sum = |keys: &[&str]| keys.iter().map(|k| s[*k].as_u64().unwrap_or(0)).sum::<u64>();
            assert_eq!(s["seats"].as_u64(), Some(sum(&["inactive", "neverUsed", "leavers"])), "{scale} {days}: {s}");
            assert_eq!(s["seats"].as_u64(), Some(sum(&["direct", "group"])), "{scale} {days}: {s}");
            assert_eq!(r["summary"]["reclaimBasis"]["inactiveAfter"], days);
            assert!(r["summary"]["reclaimBasis"]["observedSince"].is_string());
            for key in ["neverUsed", "leavers", "direct", "group"] {
                assert!(s[key].as_u64().unwrap_or(0) > 0, "{scale} {days}: okta-sim serves {key} seats: {s}");
            }
            if days == "7d" {
                assert!(s["inactive"].as_u64().unwrap_or(0) > 0, "{scale}: seats idle for a week: {s}");
            }
        }
    }
}

#[test]
fn exempt_groups_leave_their_members_out_and_unknown_ones_are_named() {
    let run = start(&["--scale", "small", "--no-rate-limit"], "demo");
    let org = block(run.sim.directory());
    let engineering =
        org["groups"].as_array().expect("groups").iter().find(|g| g["name"] == "Engineering").expect("group");
    let id = engineering["id"].as_str().expect("id");
    let all = report(&sync(&run, &["--format", "json", "--inactive-after", "20d"]));
    let args = [
        "--format",
        "json",
        "--inactive-after",
        "20d",
        "--exempt-group",
        id,
        "--exempt-group",
        "00gnosuchgroup0000000",
    ];
    let exempt = report(&sync(&run, &args));
    assert_matches_truth(&exempt, &truth(&run, &format!("inactiveAfter=20d&exemptGroups={id}")));
    assert!(
        reclaim_of(&exempt)["seats"].as_u64() < reclaim_of(&all)["seats"].as_u64(),
        "exempt members leave the count"
    );
    assert_eq!(exempt["summary"]["reclaimBasis"]["exemptGroups"], 2);
    assert_eq!(exempt["summary"]["reclaimBasis"]["unknownExemptGroups"], serde_json::json!(["00gnosuchgroup0000000"]));
}

#[test]
fn a_leaver_after_an_incremental_sync_and_the_per_user_export_agree_with_the_counts() {
    let run = start(&["--scale", "small", "--no-rate-limit"], "demo");
    let state = run.dir.path().join("state");
    let state = state.to_str().expect("path");
    report(&sync(&run, &["--format", "json", "--state", state]));
    // Suspend an active user who holds seats: every seat they hold becomes a leaver's.
    let org = block(run.sim.directory());
    let user = org["users"].as_array().expect("users").iter().find(|u| u["status"] == "ACTIVE").expect("a user");
    block(run.sim.change(serde_json::json!({"op": "user-status", "user": user["id"], "status": "SUSPENDED"})));
    std::thread::sleep(std::time::Duration::from_secs(4)); // the log's lag
    let r = report(&sync(&run, &["--format", "json", "--state", state]));
    assert_matches_truth(&r, &truth(&run, "inactiveAfter=60d"));
    let csv_path = run.dir.path().join("users.csv");
    let r = report(&sync(&run, &["--format", "json", "--per-user", csv_path.to_str().expect("path")]));
    let csv = std::fs::read_to_string(&csv_path).expect("csv");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name} column"));
    let (reason, grant) = (column("reason"), column("grant"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let count = |f: &dyn Fn(&Vec<&str>) -> bool| rows.iter().filter(|r| f(r)).count() as u64;
    let s = reclaim_of(&r);
    assert_eq!(count(&|r| r[reason] == "leaver"), s["leavers"].as_u64().unwrap_or(0));
    assert_eq!(count(&|r| r[reason] == "neverUsed"), s["neverUsed"].as_u64().unwrap_or(0));
    assert_eq!(count(&|r| r[reason] == "inactive"), s["inactive"].as_u64().unwrap_or(0));
    let reclaimable = |r: &Vec<&str>| matches!(r[reason], "leaver" | "neverUsed" | "inactive");
    assert_eq!(count(&|r| reclaimable(r) && r[grant] == "group"), s["group"].as_u64().unwrap_or(0));
    let user_id = user["id"].as_str().expect("id");
    let theirs: Vec<_> = rows.iter().filter(|r| r[0] == user_id && r[column("userStatus")] == "SUSPENDED").collect();
    assert!(!theirs.is_empty(), "the suspended user's rows carry their status");
}
