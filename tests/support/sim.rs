//! Starts okta-sim (its own crate's binary, built by `cargo test --workspace`) on a free loopback port for
//! one test.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

/// okta-sim's binary: beside this test's own target directory, built on first use if it is missing.
pub fn binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("test executable");
            let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
            let bin = profile_dir.join("okta-sim");
            if !bin.exists() {
                let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
                let release = profile_dir.file_name().is_some_and(|n| n == "release");
                let mut build = Command::new(cargo);
                build.args(["build", "-p", "okta-sim", "--bin", "okta-sim"]);
                if release {
                    build.arg("--release");
                }
                let status = build.status().expect("cargo build -p okta-sim");
                assert!(status.success() && bin.exists(), "cannot build okta-sim at {}", bin.display());
            }
            bin
        })
        .clone()
}

pub struct Sim {
    pub base: String,
    pub host_port: String,
    child: Child,
}

impl Sim {
    pub fn start(args: &[&str]) -> Sim {
        Sim::start_on("127.0.0.1", args)
    }

    /// okta-sim listening on `host` (e.g. the node's bridge gateway, for pods).
    pub fn start_on(host: &str, args: &[&str]) -> Sim {
        let mut child = Command::new(binary())
            .args(["--host", host, "--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start okta-sim");
        let stdout = child.stdout.take().expect("okta-sim stdout");
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first).expect("okta-sim address line");
        let base = first.trim().to_string();
        assert!(base.starts_with(&format!("http://{host}:")), "okta-sim printed {base:?}");
        let host_port = base.trim_start_matches("http://").to_string();
        Sim { base, host_port, child }
    }

    pub async fn get(&self, path_and_query: &str, token: &str) -> reqwest::Response {
        self.get_url(&format!("{}{}", self.base, path_and_query), token).await
    }

    pub async fn get_url(&self, url: &str, token: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(url)
            .header("Authorization", format!("SSWS {token}"))
            .send()
            .await
            .expect("request to okta-sim")
    }

    pub async fn control(&self, method: reqwest::Method, path: &str, body: serde_json::Value) -> serde_json::Value {
        reqwest::Client::new()
            .request(method, format!("{}{}", self.base, path))
            .json(&body)
            .send()
            .await
            .expect("control request")
            .json()
            .await
            .expect("control answer")
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Many independent orgs from one okta-sim process (`--orgs N`), one listener each.
pub struct Orgs {
    /// host:port of each org, in seed order.
    pub host_ports: Vec<String>,
    child: Child,
}

impl Orgs {
    pub fn start(n: usize, args: &[&str]) -> Orgs {
        let mut child = Command::new(binary())
            .args(["--port", "0", "--orgs", &n.to_string()])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start okta-sim");
        let mut lines = BufReader::new(child.stdout.take().expect("okta-sim stdout")).lines();
        let host_ports = (0..n)
            .map(|_| {
                let line = lines.next().expect("an address line").expect("okta-sim stdout");
                line.trim().trim_start_matches("http://").to_string()
            })
            .collect();
        Orgs { host_ports, child }
    }

    /// Org `i`'s truth report as of the last caught-up read of `as_of`'s credential.
    pub async fn truth(&self, i: usize, as_of: &str) -> serde_json::Value {
        let url = format!("http://{}/__sim/truth?window=30d&asOf={as_of}", self.host_ports[i]);
        reqwest::get(url).await.expect("truth").json().await.expect("truth json")
    }
}

impl Drop for Orgs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `rel="next"` URL among a response's Link header lines.
pub fn next_link(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.ends_with("rel=\"next\""))
        .and_then(|v| v.split_once('<'))
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(url, _)| url.to_string())
}

/// The truth report as of now (or as of `as_of`: start, or a credential's last caught-up read).
impl Sim {
    pub async fn truth(&self, window: &str, as_of: &str) -> serde_json::Value {
        let url = format!("{}/__sim/truth?window={window}&asOf={as_of}&domain={}", self.base, self.host_port);
        reqwest::get(url).await.expect("truth").json().await.expect("truth json")
    }

    /// Applies one change to the living org (POST /__sim/changes).
    pub async fn change(&self, change: serde_json::Value) -> serde_json::Value {
        let answer = reqwest::Client::new()
            .post(format!("{}/__sim/changes", self.base))
            .json(&change)
            .send()
            .await
            .expect("change");
        let ok = answer.status().is_success();
        let body: serde_json::Value = answer.json().await.expect("change json");
        assert!(ok, "change {change} refused: {body}");
        body
    }

    /// The org's ids (GET /__sim/org).
    pub async fn directory(&self) -> serde_json::Value {
        reqwest::get(format!("{}/__sim/org", self.base)).await.expect("org").json().await.expect("org json")
    }
}

/// The Python interpreter of the fidelity tests' venv (created on first use by scripts/python-env.sh).
pub fn python() -> String {
    let out =
        Command::new(super::repo_root().join("scripts/python-env.sh")).output().expect("run scripts/python-env.sh");
    assert!(out.status.success(), "python env: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
