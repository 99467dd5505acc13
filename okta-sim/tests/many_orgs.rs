//! `--orgs N`: one process serves independent orgs, one listener each, each with its own users, rate-limit
//! budget and truth (Okta's limits are per org), so a test can run hundreds of orgs without hundreds of
//! processes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

struct Orgs {
    bases: Vec<String>,
    child: std::process::Child,
}

impl Drop for Orgs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(n: usize, args: &[&str]) -> Orgs {
    let mut child = Command::new(env!("CARGO_BIN_EXE_okta-sim"))
        .args(["--port", "0", "--orgs", &n.to_string()])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start okta-sim");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let bases = (0..n).map(|_| lines.next().expect("a line").expect("an address").trim().to_string()).collect();
    Orgs { bases, child }
}

async fn get(url: &str) -> reqwest::Response {
    reqwest::Client::new().get(url).header("Authorization", "SSWS demo").send().await.expect("request")
}

#[tokio::test]
async fn each_org_has_its_own_users_budget_and_truth() {
    let orgs = start(3, &["--scale", "small", "--rate-limit", "users=4"]);
    assert_eq!(orgs.bases.len(), 3);
    let mut first_users = Vec::new();
    for base in &orgs.bases {
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        let users: serde_json::Value = get(&format!("{base}/api/v1/users?limit=1")).await.json().await.expect("users");
        first_users.push(users[0]["id"].as_str().expect("a user").to_string());
    }
    first_users.dedup();
    assert_eq!(first_users.len(), 3, "three orgs, three seeds: {first_users:?}");
    // Spend the first org's users budget (4 a minute, half of it per token): it answers 429, the
    // second org, one request into its own budget, still answers.
    let mut refused = false;
    for _ in 0..6 {
        refused |= get(&format!("{}/api/v1/users?limit=1", orgs.bases[0])).await.status() == 429;
    }
    assert!(refused, "the first org's budget runs out");
    assert_eq!(get(&format!("{}/api/v1/users?limit=1", orgs.bases[1])).await.status(), 200, "the second has its own");
    let truths: Vec<serde_json::Value> = futures_truths(&orgs.bases).await;
    assert_ne!(truths[0]["summary"], truths[1]["summary"], "each org its own truth");
}

async fn futures_truths(bases: &[String]) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for base in bases {
        out.push(
            reqwest::get(format!("{base}/__sim/truth?window=30d")).await.expect("truth").json().await.expect("json"),
        );
    }
    out
}
