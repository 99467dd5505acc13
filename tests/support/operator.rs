//! Runs the real `dti-operator run` binary against the test control plane, one per test, watching only the
//! test's namespace; and helpers to wait on OktaIntegrations.
#![allow(dead_code, unreachable_pub)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dti_operator::crd::OktaIntegration;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};

use super::ControlPlane;

pub struct Operator {
    child: Option<Child>,
    pub metrics: String,
    pub log: std::path::PathBuf,
    args: Vec<String>,
    kubeconfig: std::path::PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

impl Operator {
    pub fn start(cp: &ControlPlane, namespace: &str, extra: &[&str]) -> Operator {
        let mut args = vec!["--watch-namespace", namespace];
        args.extend(extra);
        Operator::start_with(&cp.kubeconfig, &format!("dti-operator-{namespace}"), &args)
    }

    /// An operator with its own kubeconfig (e.g. a ServiceAccount's), arguments after `run --insecure-allow-http`.
    pub fn start_with(kubeconfig: &std::path::Path, log_name: &str, extra: &[&str]) -> Operator {
        let mut args = vec!["run".to_string(), "--insecure-allow-http".into()];
        args.extend(extra.iter().map(|s| s.to_string()));
        let log = std::env::temp_dir().join(format!("{log_name}.log"));
        let _ = std::fs::remove_file(&log);
        let mut op = Operator { child: None, metrics: String::new(), log, args, kubeconfig: kubeconfig.to_path_buf() };
        op.restart();
        op
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Kills the process (SIGKILL, as a crashed pod) and starts a new one.
    pub fn restart(&mut self) {
        self.kill();
        let port = free_port();
        let (child, metrics) = spawn(&self.kubeconfig, &self.args, &self.log, port);
        self.child = Some(child);
        self.metrics = metrics;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("operator did not start: {}", std::fs::read_to_string(&self.log).unwrap_or_default());
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends a signal (STOP, CONT, TERM) to the operator process.
    pub fn signal(&self, signal: &str) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status();
        }
    }

    /// Waits for the process to exit by itself (after SIGTERM); whether it did within `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_)) = child.try_wait()
            {
                self.child = None;
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// The value of one metric series (the sum if several match the prefix).
    pub async fn metric(&self, series_prefix: &str) -> f64 {
        let text =
            reqwest::get(format!("{}/metrics", self.metrics)).await.expect("metrics").text().await.expect("text");
        text.lines()
            .filter(|l| l.starts_with(series_prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn spawn(kubeconfig: &std::path::Path, args: &[String], log: &std::path::Path, port: u16) -> (Child, String) {
    let addr = format!("127.0.0.1:{port}");
    let file = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_dti-operator"))
        .args(args)
        .args(["--metrics-addr", &addr, "--kubeconfig"])
        .arg(kubeconfig)
        .env("RUST_LOG", std::env::var("DTI_TEST_OPERATOR_LOG").unwrap_or_else(|_| "info,dti_operator=debug".into()))
        .env("POD_NAME", log.file_stem().and_then(|s| s.to_str()).unwrap_or("dti-operator"))
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .expect("start dti-operator");
    (child, format!("http://{addr}"))
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
        // a failing test shows what the operator saw (its last lines; the whole log is in the temp dir)
        if std::thread::panicking() {
            let logs = self.logs();
            let tail: Vec<&str> = logs.lines().rev().take(80).collect();
            eprintln!("--- operator log ({}), last lines ---", self.log.display());
            tail.iter().rev().for_each(|l| eprintln!("{l}"));
        }
    }
}

/// OktaApps of an integration, by app id.
pub async fn okta_apps(
    client: &Client,
    ns: &str,
    integration: &str,
) -> std::collections::BTreeMap<String, dti_operator::crd::OktaApp> {
    let api: Api<dti_operator::crd::OktaApp> = Api::namespaced(client.clone(), ns);
    api.list(&kube::api::ListParams::default().labels(&format!("dti.dev/integration={integration}")))
        .await
        .expect("list OktaApps")
        .items
        .into_iter()
        .map(|a| (a.spec.app_id.clone(), a))
        .collect()
}

pub async fn create_secret(client: &Client, ns: &str, name: &str, token: &str) {
    let secret: Secret =
        serde_json::from_value(json!({"metadata": {"name": name}, "stringData": {"token": token}})).expect("secret");
    Api::<Secret>::namespaced(client.clone(), ns).create(&PostParams::default(), &secret).await.expect("create secret");
}

pub async fn set_secret(client: &Client, ns: &str, name: &str, token: &str) {
    let patch =
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": {"token": token}});
    Api::<Secret>::namespaced(client.clone(), ns)
        .patch(name, &PatchParams::apply("dti-test").force(), &Patch::Apply(patch))
        .await
        .expect("patch secret");
}

pub async fn apply_integration(client: &Client, ns: &str, name: &str, spec: Value) {
    let object =
        json!({"apiVersion": "dti.dev/v1alpha1", "kind": "OktaIntegration", "metadata": {"name": name}, "spec": spec});
    Api::<OktaIntegration>::namespaced(client.clone(), ns)
        .patch(name, &PatchParams::apply("dti-test").force(), &Patch::Apply(object))
        .await
        .expect("apply OktaIntegration");
}

pub fn condition(obj: &OktaIntegration, type_: &str) -> Option<(String, String, String)> {
    obj.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// Polls the object until `check` holds; panics with the last seen status after `timeout`.
pub async fn wait_for(
    client: &Client,
    ns: &str,
    name: &str,
    timeout: Duration,
    what: &str,
    check: impl Fn(&OktaIntegration) -> bool,
) -> OktaIntegration {
    let api: Api<OktaIntegration> = Api::namespaced(client.clone(), ns);
    let deadline = Instant::now() + timeout;
    loop {
        let last = api.get_opt(name).await.expect("get");
        if let Some(obj) = &last
            && check(obj)
        {
            return obj.clone();
        }
        if Instant::now() > deadline {
            panic!(
                "timed out waiting for {what}; last status: {}",
                serde_json::to_string_pretty(&last.and_then(|o| o.status)).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn is_ready(obj: &OktaIntegration) -> bool {
    condition(obj, "Ready").is_some_and(|c| c.0 == "True")
        && obj.status.as_ref().and_then(|s| s.observed_generation) == obj.metadata.generation
}

/// Kubernetes Events about an object, as (type, reason, message).
pub async fn events(client: &Client, ns: &str, name: &str) -> Vec<(String, String, String)> {
    let api: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), ns);
    api.list(&Default::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .map(|e| (e.type_.unwrap_or_default(), e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
        .collect()
}

/// Asks for a sync (the dti.dev/sync-requested-at annotation) and waits until status says it was handled.
pub async fn request_sync(client: &Client, ns: &str, name: &str, token: &str, timeout: Duration) -> OktaIntegration {
    let api: Api<OktaIntegration> = Api::namespaced(client.clone(), ns);
    let patch = json!({"metadata": {"annotations": {"dti.dev/sync-requested-at": token}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(patch)).await.expect("annotate");
    wait_for(client, ns, name, timeout, &format!("the sync requested as {token}"), |o| {
        o.status.as_ref().and_then(|s| s.last_handled_sync_request.as_deref()) == Some(token)
    })
    .await
}

/// The holder of a Lease ("" when free or absent).
pub async fn lease_holder(client: &Client, ns: &str, lease: &str) -> String {
    let api: Api<k8s_openapi::api::coordination::v1::Lease> = Api::namespaced(client.clone(), ns);
    api.get_opt(lease).await.expect("lease").and_then(|l| l.spec?.holder_identity).unwrap_or_default()
}

/// Events about `name` with `reason`: (note, occurrences) each, series counted.
pub async fn events_of(client: &Client, ns: &str, name: &str, reason: &str) -> Vec<(String, i32)> {
    let api: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), ns);
    let list = api.list(&Default::default()).await.expect("events");
    list.items
        .into_iter()
        .filter(|e| {
            e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name) && e.reason.as_deref() == Some(reason)
        })
        .map(|e| (e.note.unwrap_or_default(), e.series.map_or(1, |s| s.count)))
        .collect()
}

/// Runs this build's binary as the kubectl plugin (`kubectl-dti`, by its name) with `kubeconfig`.
pub fn kubectl_dti(kubeconfig: &std::path::Path, args: &[&str]) -> std::process::Output {
    let dir = std::env::temp_dir().join(format!("kubectl-dti-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let plugin = dir.join("kubectl-dti");
    if !plugin.exists() {
        let _ = std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_dti-operator"), &plugin);
    }
    Command::new(&plugin).args(args).env("KUBECONFIG", kubeconfig).output().expect("kubectl-dti")
}

/// [`kubectl_dti`]'s success, stdout and stderr.
pub fn kubectl_dti_text(kubeconfig: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = kubectl_dti(kubeconfig, args);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}
