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

/// The value of attribute `name` in an HTML tag's text (the page escapes `&`, `<`, `>` and quotes).
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    tag[at..].split('"').next()
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Each app's seats / active users per department in the per-app table equal its JSON breakdown (the
/// values named in the header, and the rest summed); returns how many cells were compared.
fn assert_app_breakdowns(dom: &str, apps: &[serde_json::Value]) -> usize {
    let table = dom.split("<table class=\"matrix\" data-attribute=\"department\"").nth(1).expect("the table");
    let table = table.split("</table>").next().unwrap_or_default();
    let head = table.split("</thead>").next().unwrap_or_default();
    let named: Vec<String> =
        head.split("<th ").filter_map(|th| attribute(th.split('>').next()?, "data-value").map(unescape)).collect();
    let by_id: std::collections::HashMap<&str, &serde_json::Value> =
        apps.iter().map(|a| (a["id"].as_str().unwrap_or_default(), a)).collect();
    let mut compared = 0;
    for row in table.split("<tr data-breakdown-app=\"").skip(1) {
        let id = row.split('"').next().unwrap_or_default();
        let rows = by_id[id]["breakdown"]["department"].as_array().expect("the app's breakdown");
        let row = row.split("</tr>").next().unwrap_or_default();
        let cells: Vec<(u64, u64)> = row
            .split("<td class=\"n\">")
            .skip(1)
            .map(|cell| {
                let text = cell.replace("<span class=\"sub\">", "").replace("</span>", "");
                let mut n =
                    text.split("</td>").next().unwrap_or_default().split(" / ").map(|x| x.trim().parse::<u64>());
                match (n.next(), n.next()) {
                    (Some(Ok(seats)), Some(Ok(active))) => (seats, active),
                    _ => panic!("{id}: a cell that is not seats / active: {cell}"),
                }
            })
            .collect();
        assert_eq!(cells.len(), named.len() + 1, "{id}: one cell per value and one for the rest");
        let of = |r: &serde_json::Value| (r["seats"].as_u64().unwrap_or(0), r["activeUsers"].as_u64().unwrap_or(0));
        for (value, got) in named.iter().zip(&cells) {
            let want = rows.iter().find(|r| r["value"] == value.as_str()).map_or((0, 0), of);
            assert_eq!(*got, want, "{id}: {value}");
        }
        let rest = rows.iter().filter(|r| !named.iter().any(|n| r["value"] == n.as_str())).map(of);
        assert_eq!(cells[named.len()], rest.fold((0, 0), |(s, a), (x, y)| (s + x, a + y)), "{id}: the rest");
        compared += cells.len();
    }
    assert!(compared > 0, "no per-app breakdown on the page");
    compared
}

/// The org's active users per month by department on the page equal the JSON history's; returns how many
/// cells were compared.
fn assert_months_by_value(dom: &str, months: &serde_json::Value) -> usize {
    let table = dom.split("<table class=\"value-months\" data-attribute=\"department\"").nth(1).expect("the table");
    let table = table.split("</table>").next().unwrap_or_default();
    let mut compared = 0;
    for row in table.split("<tr><th scope=\"row\">").skip(1) {
        let value = unescape(row.split('<').next().unwrap_or_default());
        let value = if value == "(none)" { String::new() } else { value };
        for cell in row.split("<td class=\"n\" data-month=\"").skip(1) {
            let month = cell.split('"').next().unwrap_or_default();
            let got: u64 = cell.split('>').nth(1).and_then(|t| t.split('<').next()?.parse().ok()).expect("a count");
            let m = months.as_array().into_iter().flatten().find(|m| m["month"] == month).expect("the month");
            let rows = m["breakdown"]["department"].as_array().expect("by department");
            let want = rows
                .iter()
                .find(|r| r["value"] == value.as_str())
                .map_or(0, |r| r["activeUsers"].as_u64().unwrap_or(0));
            assert_eq!(got, want, "{month} {value}");
            compared += 1;
        }
    }
    assert!(compared > 0, "no months by department on the page");
    compared
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
    let cells = assert_app_breakdowns(&dom, apps);
    let months = assert_months_by_value(&dom, &s["history"]["months"]);
    eprintln!("{scale}: {cells} per-app breakdown cells and {months} month-by-value cells equal the JSON");
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
    use super::{app_rows, assert_app_breakdowns, metric, open, output_dir};

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

    /// The ui's page of integration `acme` in `ns`, kept as `name`.html, and its DOM as Chromium made it
    /// (a screenshot beside it).
    async fn browse(ui: &Ui, ns: &str, name: &str) -> String {
        let page = reqwest::get(format!("{}/{ns}/acme", ui.base)).await.expect("page");
        assert_eq!(page.status(), 200);
        let dir = output_dir();
        let file = dir.join(format!("{name}.html"));
        std::fs::write(&file, page.text().await.expect("html")).expect("write");
        open(&file, &dir.join(format!("{name}.png"))).0
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
        let dom = browse(&admin, &ns, "ui-small").await;
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

    /// The ui's page for a medium org with a breakdown: every number on it equals the cluster's objects
    /// (the cards the integration's summary, each app row and its departments the OktaApp's status).
    #[tokio::test]
    async fn kubectl_dti_ui_pages_equal_the_cluster_on_medium() {
        let cp = super::support::control_plane();
        let client = cp.client().await;
        let ns = cp.namespace(&client, "ui-medium").await;
        let sim = Sim::start(&["--scale", "medium", "--no-rate-limit"]);
        let _operator = Operator::start(cp, &ns, &["--app-writes-per-second", "1000"]);
        create_secret(&client, &ns, "okta", "demo").await;
        let spec = json!({"domain": sim.host_port, "credentials": {"apiToken": {"secretRef": {"name": "okta"}}},
            "breakdown": {"attributes": ["department"]}});
        apply_integration(&client, &ns, "acme", spec).await;
        let obj = wait_for(&client, &ns, "acme", Duration::from_secs(240), "Ready", is_ready).await;
        let summary = serde_json::to_value(obj.status.as_ref().and_then(|s| s.summary.clone())).expect("summary");
        let apps: Vec<serde_json::Value> = okta_apps(&client, &ns, "acme")
            .await
            .values()
            .map(|a| {
                let mut status = serde_json::to_value(a.status.as_ref()).expect("status");
                status["id"] = json!(a.spec.app_id);
                status
            })
            .collect();
        let admin = ui(cp.kubeconfig_path(), &ns);
        let dom = browse(&admin, &ns, "ui-medium").await;
        for key in ["users", "activeUsers", "apps", "assignedUsers", "unusedSeats", "ssoEvents"] {
            assert_eq!(metric(&dom, key), summary[key].as_u64(), "the card {key}");
        }
        let rows = app_rows(&dom);
        assert_eq!(rows.len(), apps.len(), "one row per OktaApp");
        for (id, numbers) in &rows {
            let a = apps.iter().find(|a| a["id"] == id.as_str()).expect("an OktaApp for each row");
            let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
            let want = vec![
                n(&a["assignedUsers"]),
                n(&a["activeUsers"]),
                n(&a["unusedSeats"]),
                n(&a["reclaim"]["seats"]),
                n(&a["ssoEvents"]),
            ];
            assert_eq!(numbers, &want, "{id}");
        }
        let cells = assert_app_breakdowns(&dom, &apps);
        eprintln!("ui, medium: {} app rows and {cells} department cells equal the cluster's objects", rows.len());
    }
}
