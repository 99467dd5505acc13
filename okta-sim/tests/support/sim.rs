//! Starts okta-sim for one test and speaks to it over plain HTTP.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct Sim {
    pub base: String,
    child: Child,
}

impl Sim {
    pub fn start(args: &[&str]) -> Sim {
        let mut child = Command::new(env!("CARGO_BIN_EXE_okta-sim"))
            .args(["--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start okta-sim");
        let stdout = child.stdout.take().expect("okta-sim stdout");
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first).expect("okta-sim address line");
        let base = first.trim().to_string();
        assert!(base.starts_with("http://127.0.0.1:"), "okta-sim printed {base:?}");
        Sim { base, child }
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
        let answer = reqwest::Client::new()
            .request(method, format!("{}{}", self.base, path))
            .json(&body)
            .send()
            .await
            .expect("control request");
        answer.json().await.expect("control answer")
    }
}

impl Drop for Sim {
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

/// Okta's public OpenAPI spec, read where the team keeps it (never copied into this repository);
/// DTI_OKTA_OPENAPI_DIR points elsewhere.
/// Okta's OpenAPI spec file, from `DTI_OKTA_OPENAPI_DIR` or `../shared/okta-openapi` beside the clone (it is
/// not in the repository). None when it is absent outside CI, after saying so; under CI (`CI=true`) a
/// missing spec fails the test, so a green CI always means the answers were checked against it.
pub fn openapi_spec(file: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("DTI_OKTA_OPENAPI_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| super::repo_root().join("../shared/okta-openapi"));
    let path = dir.join(file);
    if path.exists() {
        return Some(path);
    }
    let why = format!(
        "Okta's OpenAPI spec is not at {} (it lives beside the repository, in ../shared/okta-openapi, or where DTI_OKTA_OPENAPI_DIR says)",
        path.display()
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}: under CI it must be there");
    eprintln!("SKIPPED: {why}; the answers were not checked against the spec");
    None
}

/// The Python interpreter of the fidelity tests' venv (created on first use by scripts/python-env.sh).
pub fn python() -> String {
    let out =
        Command::new(super::repo_root().join("scripts/python-env.sh")).output().expect("run scripts/python-env.sh");
    assert!(out.status.success(), "python env: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
