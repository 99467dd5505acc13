//! The HTML report in a real browser: Debian's Chromium in headless mode opens the page `sync --format html`
//! writes for okta-sim orgs (small and medium), and the DOM's numbers equal the JSON report's; the page
//! loads nothing from anywhere (no external script, style, font or image) and logs no console error; an
//! org with hostile app labels (markup, quotes, a right-to-left override) shows them as text. A screenshot
//! of each page is kept under the test's output directory for a person to look at.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use support::cli::{block, report, start, sync};

fn chromium() -> &'static str {
    let found =
        ["chromium", "chromium-browser"].into_iter().find(|b| Command::new(b).arg("--version").output().is_ok());
    found.expect("Debian's chromium is needed for the HTML tests (.ci/run installs it: apt-get install chromium)")
}

fn output_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html-report");
    std::fs::create_dir_all(&dir).expect("output dir");
    dir
}

/// Chromium's serialised DOM of `page` after its scripts ran, and what it logged.
fn open(page: &Path, shot: &Path) -> (String, String) {
    let url = format!("file://{}", page.display());
    let common = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars"];
    let dom = Command::new(chromium())
        .args(common)
        .args(["--enable-logging=stderr", "--v=0", "--dump-dom", &url])
        .output()
        .expect("chromium --dump-dom");
    assert!(dom.status.success(), "chromium failed: {}", String::from_utf8_lossy(&dom.stderr));
    let shot_arg = format!("--screenshot={}", shot.display());
    let taken = Command::new(chromium()).args(common).args(["--window-size=1280,1800", &shot_arg, &url]).output();
    assert!(taken.is_ok_and(|o| o.status.success()) && shot.exists(), "a screenshot at {}", shot.display());
    (String::from_utf8_lossy(&dom.stdout).into_owned(), String::from_utf8_lossy(&dom.stderr).into_owned())
}

/// The text of every element carrying `attr="value"`-style markers: `data-metric` cards and cells.
fn metric(dom: &str, key: &str) -> Option<u64> {
    let at = dom.find(&format!("data-metric=\"{key}\""))?;
    let rest = &dom[at..];
    let start = rest.find("class=\"v\">").map(|i| i + 10).or_else(|| rest.find('>').map(|i| i + 1))?;
    let end = rest[start..].find('<')?;
    rest[start..start + end].trim().parse().ok()
}

/// Each app row's id and numbers (seats, active users, unused seats, to reclaim, sign-ins).
fn app_rows(dom: &str) -> Vec<(String, Vec<u64>)> {
    dom.split("<tr data-app-id=\"")
        .skip(1)
        .map(|row| {
            let id = row.split('"').next().unwrap_or_default().to_string();
            let row = row.split("</tr>").next().unwrap_or_default();
            let numbers = row
                .split("<td class=\"n\" data-v=\"")
                .skip(1)
                .filter_map(|cell| cell.split('"').next()?.parse().ok())
                .collect();
            (id, numbers)
        })
        .collect()
}

fn assert_self_contained(dom: &str, log: &str) {
    for external in ["src=\"http", "href=\"http", "src=\"//", "@import", "url(http"] {
        assert!(!dom.contains(external), "the page loads {external}…");
    }
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE") || l.contains("Uncaught")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
}

fn page_equals_json(scale: &str) {
    let run = start(&["--scale", scale, "--no-rate-limit"], "demo");
    let args = ["--breakdown", "department", "--inactive-after", "20d"];
    let json_report = report(&sync(&run, &[&["--format", "json"][..], &args].concat()));
    let html = sync(&run, &[&["--format", "html"][..], &args].concat());
    assert!(html.status.success(), "{}", String::from_utf8_lossy(&html.stderr));
    let dir = output_dir();
    let page = dir.join(format!("report-{scale}.html"));
    std::fs::write(&page, &html.stdout).expect("write the page");
    let (dom, log) = open(&page, &dir.join(format!("report-{scale}.png")));
    assert_self_contained(&dom, &log);
    let s = &json_report["summary"];
    for key in ["users", "activeUsers", "apps", "usedApps", "unusedApps", "assignedUsers", "unusedSeats", "ssoEvents"] {
        assert_eq!(metric(&dom, key), s[key].as_u64(), "{scale}: {key}");
    }
    assert_eq!(metric(&dom, "reclaimSeats"), s["reclaim"]["seats"].as_u64(), "{scale}: seats to reclaim");
    let rows = app_rows(&dom);
    let apps = json_report["apps"].as_array().expect("apps");
    assert_eq!(rows.len(), apps.len(), "{scale}: one row per app");
    for (want, (id, numbers)) in apps.iter().zip(&rows) {
        assert_eq!(want["id"].as_str(), Some(id.as_str()), "{scale}: rows in the report's order");
        let expect: Vec<u64> = ["assignedUsers", "activeUsers", "unusedSeats"]
            .iter()
            .map(|k| want[k].as_u64().unwrap_or(0))
            .chain([want["reclaim"]["seats"].as_u64().unwrap_or(0), want["ssoEvents"].as_u64().unwrap_or(0)])
            .collect();
        assert_eq!(numbers, &expect, "{scale}: {id}");
    }
    assert!(dom.contains("data-attribute=\"department\""), "{scale}: the breakdown by department");
    let kib = html.stdout.len() / 1024;
    eprintln!("html report, {scale}: {kib} KiB for {} apps", apps.len());
}

#[test]
fn the_page_shows_the_json_reports_numbers_in_chromium_on_small() {
    page_equals_json("small");
}

#[test]
fn the_page_shows_the_json_reports_numbers_in_chromium_on_medium() {
    page_equals_json("medium");
}

#[test]
fn hostile_labels_render_as_text() {
    let run = start(&["--scale", "small", "--no-rate-limit"], "demo");
    let hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>\"quoted' \u{202E}evil";
    block(run.sim.change(json!({"op": "app-add", "label": hostile})));
    let html = sync(&run, &["--format", "html"]);
    assert!(html.status.success(), "{}", String::from_utf8_lossy(&html.stderr));
    let dir = output_dir();
    let page = dir.join("report-hostile.html");
    std::fs::write(&page, &html.stdout).expect("write the page");
    let (dom, log) = open(&page, &dir.join("report-hostile.png"));
    assert_self_contained(&dom, &log);
    assert!(!dom.contains("<img") && dom.matches("<script").count() == 1, "markup in a label stays text");
    assert!(
        dom.contains("&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;\"quoted' evil"),
        "the label as text, the override removed"
    );
}

mod ui {
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};
    use std::time::Duration;

    use dti_operator::crd::AppContract;
    use serde_json::json;

    use super::support::operator::{Operator, apply_integration, create_secret, is_ready, okta_apps, wait_for};
    use super::support::sim::Sim;
    use super::{metric, open, output_dir};

    struct Ui {
        base: String,
        child: Child,
    }

    impl Drop for Ui {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn ui(kubeconfig: &std::path::Path, ns: &str) -> Ui {
        let dir = std::env::temp_dir().join(format!("kubectl-dti-ui-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let plugin = dir.join("kubectl-dti");
        if !plugin.exists() {
            let _ = std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_dti-operator"), &plugin);
        }
        let mut child = Command::new(&plugin)
            .args(["ui", "-n", ns, "--port", "0"])
            .env("KUBECONFIG", kubeconfig)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("kubectl dti ui");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut first).expect("the address");
        let base = first.trim().to_string();
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        Ui { base, child }
    }

    #[tokio::test]
    async fn kubectl_dti_ui_serves_live_pages_under_the_callers_rbac() {
        let cp = super::support::control_plane();
        let client = cp.client().await;
        let ns = cp.namespace(&client, "ui").await;
        let sim = Sim::start(&["--log-lag", "3s", "--scale", "small", "--no-rate-limit"]);
        let _operator = Operator::start(cp, &ns, &["--app-writes-per-second", "500"]);
        create_secret(&client, &ns, "okta", "demo").await;
        let spec = json!({"domain": sim.host_port, "credentials": {"apiToken": {"secretRef": {"name": "okta"}}}});
        apply_integration(&client, &ns, "acme", spec).await;
        let obj = wait_for(&client, &ns, "acme", Duration::from_secs(120), "Ready", is_ready).await;
        let summary = obj.status.as_ref().and_then(|s| s.summary.clone()).expect("summary");
        // A contract for the most used app: its wasted spend appears on the page.
        let apps = okta_apps(&client, &ns, "acme").await;
        let top = apps.values().max_by_key(|a| a.status.as_ref().map_or(0, |s| s.active_users)).expect("an app");
        let contracts: kube::Api<AppContract> = kube::Api::namespaced(client.clone(), &ns);
        let contract: AppContract =
            serde_json::from_value(json!({"apiVersion": "dti.dev/v1alpha1", "kind": "AppContract",
            "metadata": {"name": "top"}, "spec": {"integration": "acme", "app": {"id": top.spec.app_id},
            "seats": 500, "price": {"amount": "10", "currency": "EUR", "per": "year"}, "renewal": "2027-06-30"}}))
            .expect("a contract");
        contracts.create(&Default::default(), &contract).await.expect("create");
        let wasted = loop {
            let c = contracts.get("top").await.expect("contract");
            if let Some(w) = c.status.and_then(|s| s.wasted_spend) {
                break w.display;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        };
        let admin = ui(cp.kubeconfig_path(), &ns);
        let index = reqwest::get(format!("{}/", admin.base)).await.expect("index").text().await.expect("text");
        assert!(index.contains(&format!("href=\"/{ns}/acme\"")), "{index}");
        let page = reqwest::get(format!("{}/{ns}/acme", admin.base)).await.expect("page");
        assert_eq!(page.status(), 200);
        let dir = output_dir();
        let file = dir.join("ui-small.html");
        std::fs::write(&file, page.text().await.expect("html")).expect("write");
        let (dom, _) = open(&file, &dir.join("ui-small.png"));
        assert_eq!(metric(&dom, "activeUsers"), Some(summary.active_users), "live from the cluster");
        assert_eq!(metric(&dom, "apps"), Some(summary.apps));
        assert!(
            dom.contains(&format!("<span data-metric=\"wasted\">{wasted}</span>")),
            "the contract's waste: {wasted}"
        );
        let rows = dom.matches("<tr data-app-id=").count();
        assert_eq!(rows, okta_apps(&client, &ns, "acme").await.len(), "one row per OktaApp");
        // A caller whose RBAC allows nothing here sees why, not data.
        let nobody = super::support::kubeconfig_as(cp, &format!("system:serviceaccount:{ns}:nobody"));
        let refused = ui(&nobody, &ns);
        let answer = reqwest::get(format!("{}/", refused.base)).await.expect("index");
        assert_eq!(answer.status(), 403);
        assert!(answer.text().await.expect("text").contains("you may not list OktaIntegrations"));
        let answer = reqwest::get(format!("{}/{ns}/acme", refused.base)).await.expect("page");
        assert_eq!(answer.status(), 403);
    }
}
